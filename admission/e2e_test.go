package admission_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gatehouse-dev/gatehouse/admission/internal/kubetest"
)

// The end-to-end tests run a real kube-apiserver and etcd (scripts/kube.sh
// builds them; GATEHOUSE_KUBE_ASSETS names their folder) and create real
// objects through client-go. One control plane serves every test: it is
// started by the first test that needs it and stopped by TestMain.
var (
	cpOnce sync.Once
	cp     *kubetest.ControlPlane
	cpErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cp != nil {
		cp.Stop()
	}
	os.Exit(code)
}

// controlPlane returns the shared control plane, starting it on first use,
// or skips the test saying why the binaries are missing.
func controlPlane(t *testing.T) *kubetest.ControlPlane {
	t.Helper()
	assets, err := kubetest.Assets()
	if err != nil {
		t.Skipf("end-to-end admission tests need a real API server: %v", err)
	}
	cpOnce.Do(func() {
		cp, cpErr = kubetest.Start(context.Background(), kubetest.Options{Assets: assets})
		if cpErr == nil {
			fmt.Fprintf(os.Stderr, "kubetest: etcd and kube-apiserver ready in %s at %s\n", cp.Startup.Round(time.Millisecond), cp.URL)
		}
	})
	if cpErr != nil {
		t.Fatalf("start the control plane: %v", cpErr)
	}
	return cp
}

func clientset(t *testing.T, cp *kubetest.ControlPlane, w *kubetest.Warnings) *kubernetes.Clientset {
	t.Helper()
	cs, err := cp.Clientset(w)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// createNamespace creates ns with labels; it is deleted when the test ends.
func createNamespace(t *testing.T, cs kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
}

func pod(ns, name string, labels map[string]string, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}}
	for i, img := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	return p
}

// statusCode is the HTTP status of an API error (0 for success or a
// transport error).
func statusCode(err error) int32 {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Code
	}
	return 0
}

// toyWebhook is an in-test validating webhook: it denies pods labelled
// deny=yes and counts the reviews it answers. It proves the harness
// (registration, certificates, the API server calling out) apart from
// gatehouse's own webhook.
type toyWebhook struct {
	srv   *http.Server
	url   string
	calls atomic.Int64
}

func startToyWebhook(t *testing.T, cp *kubetest.ControlPlane) *toyWebhook {
	t.Helper()
	tlsCfg, err := cp.CA.ServerTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &toyWebhook{url: "https://" + l.Addr().String() + "/validate"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", func(rw http.ResponseWriter, r *http.Request) {
		w.calls.Add(1)
		var rev admissionv1.AdmissionReview
		if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<20)).Decode(&rev); err != nil || rev.Request == nil {
			http.Error(rw, "bad review", http.StatusBadRequest)
			return
		}
		var p corev1.Pod
		_ = json.Unmarshal(rev.Request.Object.Raw, &p)
		resp := &admissionv1.AdmissionResponse{UID: rev.Request.UID, Allowed: true}
		if p.Labels["deny"] == "yes" {
			resp.Allowed = false
			resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: "toy webhook says no to " + p.Name}
		}
		rev.Request, rev.Response = nil, resp
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(&rev)
	})
	w.srv = &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = w.srv.Close() })
	return w
}

// TestE2EHarness proves the harness with the toy webhook: the API server
// calls a webhook on 127.0.0.1 through the CA bundle, a deny is a 403 with
// the webhook's message, and a webhook that is down fails closed.
func TestE2EHarness(t *testing.T) {
	cp := controlPlane(t)
	cs := clientset(t, cp, nil)
	ctx := context.Background()
	const ns = "kubetest-harness"
	scope := map[string]string{"kubetest.gatehouse.dev/webhook": "toy"}
	createNamespace(t, cs, ns, scope)

	hook := startToyWebhook(t, cp)
	remove, err := kubetest.RegisterValidating(ctx, cs, kubetest.Webhook{
		Name: "toy.kubetest.gatehouse.dev", URL: hook.url, CABundle: cp.CA.PEM, MatchLabels: scope,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remove(ctx) })
	if err := kubetest.WaitCalled(ctx, cs, ns, func(error) bool { return hook.calls.Load() > 0 }); err != nil {
		t.Fatal(err)
	}

	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod(ns, "allowed", nil, "example.invalid/app:1"), metav1.CreateOptions{}); err != nil {
		t.Errorf("allowed pod: %v", err)
	}
	_, err = cs.CoreV1().Pods(ns).Create(ctx, pod(ns, "denied", map[string]string{"deny": "yes"}, "example.invalid/app:1"), metav1.CreateOptions{})
	if code := statusCode(err); code != http.StatusForbidden || !strings.Contains(err.Error(), "toy webhook says no to denied") {
		t.Errorf("denied pod: got HTTP %d, %v; want 403 with the webhook's message", code, err)
	}

	_ = hook.srv.Close()
	_, err = cs.CoreV1().Pods(ns).Create(ctx, pod(ns, "while-down", nil, "example.invalid/app:1"), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Errorf("webhook down: got %v; want the API server to refuse (failed calling webhook)", err)
	}
}
