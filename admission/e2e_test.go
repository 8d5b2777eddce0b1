package admission_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gatehouse-dev/gatehouse/admission"
	"github.com/gatehouse-dev/gatehouse/internal/kubetest"
	"github.com/gatehouse-dev/gatehouse/internal/testimage"
	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
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
	if gatehouseBuild.dir != "" {
		os.RemoveAll(gatehouseBuild.dir)
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

// nsSeq makes namespace names unique within the shared control plane: a
// deleted namespace stays Terminating (no namespace controller runs), so a
// name cannot be reused by -count=2.
var nsSeq atomic.Int64

// createNamespace creates a namespace named base-N with labels and returns
// its name; it is deleted when the test ends.
func createNamespace(t *testing.T, cs kubernetes.Interface, base string, labels map[string]string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("%s-%d", base, nsSeq.Add(1))
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}) })
	return name
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
	scope := map[string]string{"kubetest.gatehouse.dev/webhook": "toy"}
	ns := createNamespace(t, cs, "kubetest-harness", scope)

	hook := startToyWebhook(t, cp)
	remove, err := kubetest.RegisterValidating(ctx, cs, kubetest.Webhook{
		Name: "toy.kubetest.gatehouse.dev", URL: hook.url, CABundle: cp.CA.PEM, MatchLabels: scope,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remove(ctx) })
	if err := kubetest.WaitCalled(ctx, cs, ns, "example.invalid/probe:1", func(error) bool { return hook.calls.Load() > 0 }); err != nil {
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

// --- gatehouse's own webhook ---------------------------------------------

// e2eWebhookName names gatehouse's webhook registration in these tests.
const e2eWebhookName = "validate.gatehouse.dev"

// e2eImages are the images the cases run, in a loopback registry.
type e2eImages struct {
	// attested passed `gatehouse check --attest` for prod: signed by the
	// image key, with the gate's VSA.
	attested name.Digest
	// attestedTag is a tag of the attested image (not pinned).
	attestedTag string
	// unsigned has neither signature nor VSA.
	unsigned name.Digest
	// signedOnly is signed by the image key but never passed the gate.
	signedOnly name.Digest
}

// e2eSetup is everything a case needs: the control plane, a clientset, the
// configuration folder and the images.
type e2eSetup struct {
	cp     *kubetest.ControlPlane
	cs     *kubernetes.Clientset
	dir    string // gatehouse.yaml and keys/
	config string
	images e2eImages
}

// newE2ESetup writes gatehouse.yaml (testdata/e2e) and fresh keys into a
// temporary folder, starts Debian's docker-registry, pushes two images,
// signs one with the image key and has `gatehouse check --attest` sign its
// VSA for prod with the gate key, as CI does.
func newE2ESetup(t *testing.T) *e2eSetup {
	t.Helper()
	s := &e2eSetup{cp: controlPlane(t)}
	s.cs = clientset(t, s.cp, nil)
	host, stop, err := testregistry.Distribution()
	if err != nil {
		t.Skipf("end-to-end admission tests need a registry: %v", err)
	}
	t.Cleanup(stop)
	gh := gatehouseBinary(t)

	s.dir = t.TempDir()
	s.config = filepath.Join(s.dir, "gatehouse.yaml")
	cfg, err := os.ReadFile(filepath.Join("testdata", "e2e", "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.config, cfg)
	imageKey := newKey(t)
	gateKey := newKey(t)
	writeFile(t, filepath.Join(s.dir, "keys", "cosign.pub"), imageKey.pubPEM)
	writeFile(t, filepath.Join(s.dir, "keys", "gate.pub"), gateKey.pubPEM)
	writeFile(t, filepath.Join(s.dir, "keys", "gate.key"), gateKey.privPEM)

	s.images.attested = pushImage(t, host, "ml/app", "v1")
	s.images.attestedTag = host + "/ml/app:v1"
	s.images.unsigned = pushImage(t, host, "ml/unsigned", "v1")
	s.images.signedOnly = pushImage(t, host, "ml/signed-only", "v1")
	signImage(t, s.images.attested, imageKey)
	signImage(t, s.images.signedOnly, imageKey)

	out, err := exec.Command(gh, "check", "--config", s.config, "--env", "prod", "--attest", "--key", filepath.Join(s.dir, "keys", "gate.key"),
		"image:"+s.images.attested.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse check --attest %s: %v\n%s", s.images.attested, err, out)
	}
	return s
}

// testKey is an ECDSA P-256 key with its PEM files.
type testKey struct {
	signer  signature.SignerVerifier
	pubPEM  []byte
	privPEM []byte // PKCS#8
}

func newKey(t *testing.T) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{signer: sv, pubPEM: pub, privPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// pushImage pushes a small random image as host/repo:tag.
func pushImage(t *testing.T, host, repo, tag string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// signImage signs d as `cosign sign --key` does (simple signing payload,
// the .sig tag, no transparency log).
func signImage(t *testing.T, d name.Digest, k testKey) {
	t.Helper()
	if err := testimage.Sign(d, k.signer); err != nil {
		t.Fatal(err)
	}
}

// gatehouseBinary builds cmd/gatehouse once per test run.
var gatehouseBuild struct {
	once sync.Once
	path string
	dir  string
	err  error
	out  []byte
}

func gatehouseBinary(t *testing.T) string {
	t.Helper()
	b := &gatehouseBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "gatehouse-e2e-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "gatehouse")
		b.out, b.err = exec.Command("go", "build", "-o", b.path, "../cmd/gatehouse").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build ./cmd/gatehouse: %v\n%s", b.err, b.out)
	}
	return b.path
}

// serveWebhook is `gatehouse serve` run as its own process, as it runs in a
// cluster: certificate files from the control plane's CA, namespace labels
// read through a kubeconfig, decisions recorded to a JSON-lines file.
type serveWebhook struct {
	url   string // https://127.0.0.1:PORT
	proc  *kubetest.Process
	audit string
}

func startServe(t *testing.T, s *e2eSetup) *serveWebhook {
	t.Helper()
	gh := gatehouseBinary(t)
	if out, err := exec.Command(gh, "serve", "--help").CombinedOutput(); err != nil {
		t.Skipf("gatehouse serve is not there to test (cmd/gatehouse/serve.go): %v\n%s", err, out)
	}
	dir := t.TempDir()
	certPEM, keyPEM, err := s.cp.CA.Issue("gatehouse", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, kubeconfig := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "kubeconfig")
	writeFile(t, cert, certPEM)
	writeFile(t, key, keyPEM)
	if err := s.cp.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	w := &serveWebhook{url: "https://" + addr, audit: filepath.Join(dir, "audit.jsonl")}
	w.proc, err = kubetest.StartProcess("gatehouse serve", gh, filepath.Join(dir, "serve.log"), os.Environ(),
		"serve", "--addr", addr, "--tls-cert", cert, "--tls-key", key, "--config", s.config,
		"--kubeconfig", kubeconfig, "--audit", "jsonl:"+w.audit, "--shutdown-timeout", "5s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.proc.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("gatehouse serve's log ends:\n%s", w.proc.LogTail(8000))
		}
	})
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.cp.CA.Pool(), MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	last := "no answer"
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if done, err := w.proc.Exited(); done {
			t.Fatalf("gatehouse serve exited (%v); its log ends:\n%s", err, w.proc.LogTail(8000))
		}
		resp, err := client.Get(w.url + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return w
		}
		last = resp.Status
	}
	t.Fatalf("gatehouse serve not ready within 30s (last /readyz: %s); its log ends:\n%s", last, w.proc.LogTail(8000))
	return nil
}

// records reads the decisions gatehouse serve recorded.
func (w *serveWebhook) records(t *testing.T) []admission.JSONLRecord {
	t.Helper()
	b, err := os.ReadFile(w.audit)
	if err != nil {
		t.Fatal(err)
	}
	var out []admission.JSONLRecord
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r admission.JSONLRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s line %d: %v", w.audit, i+1, err)
		}
		out = append(out, r)
	}
	return out
}

// TestE2EAdmission runs gatehouse's webhook against the real API server:
// real objects created through client-go, admitted or refused by what the
// CI gate attested.
func TestE2EAdmission(t *testing.T) {
	s := newE2ESetup(t)
	hook := startServe(t, s)
	ctx := context.Background()

	const (
		envL  = "gatehouse.dev/environment"
		modeL = "gatehouse.dev/mode"
		gpuL  = "gatehouse.dev/gpu"
	)
	prodNS := createNamespace(t, s.cs, "e2e-prod", map[string]string{envL: "prod"})
	warnNS := createNamespace(t, s.cs, "e2e-warn", map[string]string{envL: "prod", modeL: "warn"})
	gpuNS := createNamespace(t, s.cs, "e2e-gpu", map[string]string{envL: "prod", gpuL: "true"})

	remove, err := kubetest.RegisterValidating(ctx, s.cs, kubetest.Webhook{
		Name: e2eWebhookName, URL: hook.url + "/validate", CABundle: s.cp.CA.PEM,
		ExemptNamespaces: []string{"kube-system", "kube-public", "kube-node-lease", "gatehouse-system"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remove(ctx) })
	// Answered by this run's webhook (not failing to call an earlier one).
	err = kubetest.WaitCalled(ctx, s.cs, prodNS, s.images.unsigned.String(), func(err error) bool {
		return err != nil && strings.Contains(err.Error(), `admission webhook "`+e2eWebhookName+`" denied the request`)
	})
	if err != nil {
		t.Fatal(err)
	}

	attested, unsigned := s.images.attested.String(), s.images.unsigned.String()
	gpuPod := func(ns string) *corev1.Pod {
		p := pod(ns, "train", nil, attested)
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
		return p
	}
	type want struct {
		code     int32    // 0: created
		message  []string // in the API server's error
		warnings []string // among the warnings the client saw
		absent   []string // not in the API server's error
	}
	cases := []struct {
		name   string
		create func(cs kubernetes.Interface) error
		want   want
	}{
		{"attested pod is created", createPod(pod(prodNS, "attested", nil, attested)), want{}},
		{"unsigned pod is refused with gatehouse's reason", createPod(pod(prodNS, "unsigned", nil, unsigned)),
			want{code: 403, message: []string{`admission webhook "` + e2eWebhookName + `" denied the request`, "gatehouse denied Pod " + prodNS + "/unsigned", unsigned, "has no signatures"}}},
		{"signed image without the gate's VSA is refused", createPod(pod(prodNS, "signed-only", nil, s.images.signedOnly.String())),
			want{code: 403, message: []string{"gatehouse denied Pod " + prodNS + "/signed-only", "no valid gatehouse VSA"}, absent: []string{"no signature"}}},
		// The tag names the attested image: only the pinning rule denies.
		{"tag in an enforcing prod namespace is refused", createPod(pod(prodNS, "by-tag", nil, s.images.attestedTag)),
			want{code: 403, message: []string{"is not pinned by digest"}, absent: []string{"no signature", "VSA"}}},
		{"warn namespace creates and warns the client", createPod(pod(warnNS, "unsigned", nil, unsigned)),
			want{warnings: []string{"gatehouse: would be denied", unsigned, "has no signatures"}}},
		{"GPU pod without the GPU label is refused", createPod(gpuPod(prodNS)),
			want{code: 403, message: []string{"nvidia.com/gpu", gpuL + "=true"}}},
		{"GPU pod where GPUs are allowed is created", createPod(gpuPod(gpuNS)), want{}},
		{"deployment with a bad template is refused", createDeployment(prodNS, "web", unsigned),
			want{code: 403, message: []string{"gatehouse denied Deployment " + prodNS + "/web", "has no signatures"}}},
		{"exempt namespace is not reviewed", createPod(pod("kube-system", "gatehouse-e2e-unsigned", nil, unsigned)), want{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w kubetest.Warnings
			err := tc.create(clientset(t, s.cp, &w))
			checkOutcome(t, err, w.Take(), tc.want.code, tc.want.message, tc.want.warnings)
			for _, a := range tc.want.absent {
				if err != nil && strings.Contains(err.Error(), a) {
					t.Errorf("the API server's message has %q, which it should not:\n%v", a, err)
				}
			}
		})
	}

	// With /mutate registered too, a tag of an attested image is pinned
	// to the digest that was verified before /validate sees it: created.
	t.Run("mutate pins a verified tag to its digest", func(t *testing.T) {
		removeMutating, err := kubetest.RegisterMutating(ctx, s.cs, kubetest.Webhook{
			Name: "mutate.gatehouse.dev", URL: hook.url + "/mutate", CABundle: s.cp.CA.PEM,
			ExemptNamespaces: []string{"kube-system", "kube-public", "kube-node-lease", "gatehouse-system"},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = removeMutating(ctx) })
		want := s.images.attested.Context().Name() + "@" + s.images.attested.DigestStr()
		p := pod(prodNS, "pinned-by-mutate", nil, s.images.attestedTag)
		var got *corev1.Pod
		// The registration takes effect asynchronously: dry runs until the
		// answer comes back pinned.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			got, err = s.cs.CoreV1().Pods(prodNS).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("a tag of the attested image with /mutate registered: %v", err)
		}
		got, err = s.cs.CoreV1().Pods(prodNS).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if img := got.Spec.Containers[0].Image; img != want {
			t.Errorf("stored image %q, want the verified digest %q", img, want)
		}
		// An unsigned tag is not pinned (and /validate refuses it).
		_, err = s.cs.CoreV1().Pods(prodNS).Create(ctx, pod(prodNS, "unsigned-tag", nil, s.images.unsigned.Context().Tag("v1").String()), metav1.CreateOptions{})
		checkOutcome(t, err, nil, 403, []string{"has no signatures", "is not pinned by digest"}, nil)
	})

	// Every decision went to the recorder, with where it was taken.
	t.Run("decisions are recorded", func(t *testing.T) {
		found := map[string]bool{}
		for _, r := range hook.records(t) {
			if r.Context == nil || r.Decision == nil {
				t.Fatalf("record without context or decision: %+v", r)
			}
			key := fmt.Sprintf("%s/%s %s allowed=%v", r.Context.Namespace, r.Context.Name, r.Decision.Subject.Digest, r.Decision.Allowed)
			found[key] = true
			if r.Context.Door != "admission" || r.Context.User != "admin" || r.Decision.Environment != "prod" {
				t.Errorf("record %s: door %q, user %q, environment %q; want admission, admin (the API server's user), prod", key, r.Context.Door, r.Context.User, r.Decision.Environment)
			}
		}
		for _, want := range []string{
			prodNS + "/attested " + s.images.attested.DigestStr() + " allowed=true",
			prodNS + "/unsigned " + s.images.unsigned.DigestStr() + " allowed=false",
			prodNS + "/web " + s.images.unsigned.DigestStr() + " allowed=false",
		} {
			if !found[want] {
				t.Errorf("no record %q among %v", want, slices.Sorted(maps.Keys(found)))
			}
		}
	})

	// Last: SIGTERM ends gatehouse serve cleanly, and with the webhook
	// down the API server refuses (failurePolicy Fail), even a pod that
	// would pass.
	t.Run("webhook down fails closed", func(t *testing.T) {
		if err := hook.proc.Stop(10 * time.Second); err != nil {
			t.Errorf("gatehouse serve did not exit cleanly on SIGTERM: %v; its log ends:\n%s", err, hook.proc.LogTail(4000))
		}
		err := createPod(pod(prodNS, "while-down", nil, attested))(s.cs)
		checkOutcome(t, err, nil, 500, []string{"failed calling webhook", e2eWebhookName}, nil)
	})
	_ = s.cs.CoreV1().Pods("kube-system").Delete(ctx, "gatehouse-e2e-unsigned", metav1.DeleteOptions{})
}

func createPod(p *corev1.Pod) func(kubernetes.Interface) error {
	return func(cs kubernetes.Interface) error {
		_, err := cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
		return err
	}
}

func createDeployment(ns, name, image string) func(kubernetes.Interface) error {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       pod(ns, name, nil, image).Spec,
			},
		},
	}
	return func(cs kubernetes.Interface) error {
		_, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
		return err
	}
}

// checkOutcome compares a creation's result with what was wanted: code 0
// means created, else the API error's HTTP status, with each of message in
// its text; each of warnings must appear in one warning the client saw.
func checkOutcome(t *testing.T, err error, warnings []string, code int32, message, wantWarnings []string) {
	t.Helper()
	t.Logf("HTTP %d: %v; warnings: %q", statusCode(err), err, warnings)
	if code == 0 {
		if err != nil {
			t.Fatalf("want created, got %v", err)
		}
	} else {
		if err == nil {
			t.Fatalf("want HTTP %d, the object was created", code)
		}
		if got := statusCode(err); got != code {
			t.Errorf("want HTTP %d, got %d: %v", code, got, err)
		}
		for _, m := range message {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("the API server's message lacks %q:\n%v", m, err)
			}
		}
	}
	joined := strings.Join(warnings, "\n")
	for _, w := range wantWarnings {
		if !strings.Contains(joined, w) {
			t.Errorf("the client saw no warning with %q; warnings:\n%s", w, joined)
		}
	}
}
