package netpol

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/kubetest"
)

// The CRD file inside the cilium module go.mod names: the one Cilium's
// operator installs into a cluster.
const cnpCRDPath = "pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// kubeCluster is a real kube-apiserver with Cilium's CiliumNetworkPolicy
// CRD installed and Established.
type kubeCluster struct {
	cp       *kubetest.ControlPlane
	dyn      dynamic.Interface
	cs       kubernetes.Interface
	cnp      schema.GroupVersionResource
	kind     string
	warnings *kubetest.Warnings
}

// startKube starts etcd and kube-apiserver (skipping, with the reason,
// when scripts/kube.sh has not built them) and installs the CRD from the
// cilium module.
func startKube(t *testing.T, ctx context.Context) *kubeCluster {
	t.Helper()
	assets, err := kubetest.Assets()
	if err != nil {
		t.Skip(err)
	}
	crd := ciliumCRD(t)
	cp, err := kubetest.Start(ctx, kubetest.Options{Assets: assets, ReadyTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane logs:\n%s", cp.Logs())
		}
		cp.Stop()
	})
	t.Logf("kube-apiserver up at %s in %s", cp.URL, cp.Startup.Round(time.Millisecond))
	k := &kubeCluster{cp: cp, warnings: &kubetest.Warnings{}}
	cfg := cp.Config()
	cfg.WarningHandler = k.warnings
	if k.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if k.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}

	begin := time.Now()
	if _, err := k.dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}); err != nil {
		t.Fatalf("install the CiliumNetworkPolicy CRD: %v", err)
	}
	// Cilium's CRD draws warnings of its own (v1.20.2: "unrecognized
	// format \"idn-hostname\""); they are about upstream's file, not
	// about what gatehouse writes, so they are only logged.
	if w := k.warnings.Take(); len(w) > 0 {
		t.Logf("the API server warned about Cilium's CRD: %q", w)
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	k.kind, _, _ = unstructured.NestedString(crd.Object, "spec", "names", "kind")
	if group != "cilium.io" || plural == "" || k.kind != "CiliumNetworkPolicy" {
		t.Fatalf("the CRD is not CiliumNetworkPolicy in cilium.io: group %q, plural %q, kind %q", group, plural, k.kind)
	}
	k.cnp = schema.GroupVersionResource{Group: group, Version: "v2", Resource: plural}
	k.waitEstablished(t, ctx, crd.GetName())
	t.Logf("CRD %s Established in %s", crd.GetName(), time.Since(begin).Round(time.Millisecond))
	return k
}

// ciliumCRD reads the CRD from the cilium module's source, bounded (the
// v1.20.2 file is about 400 kB).
func ciliumCRD(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/cilium").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("cannot locate the cilium module's source to read its CRD (go list -m: %v)", err)
	}
	path := filepath.Join(dir, cnpCRDPath)
	st, err := os.Stat(path)
	if err != nil {
		t.Skipf("the cilium module has no CNP CRD where v1.20.2 keeps it: %v", err)
	}
	if !st.Mode().IsRegular() || st.Size() > 8<<20 {
		t.Fatalf("%s: not a regular file under 8 MiB (%d bytes)", path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.TrimPrefix(raw, []byte("---\n"))
	j, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if u.GetKind() != "CustomResourceDefinition" {
		t.Fatalf("%s: kind %q, want CustomResourceDefinition", path, u.GetKind())
	}
	return u
}

// waitEstablished polls the CRD until its Established condition is True
// and its kind is served (a create can race discovery right after).
func (k *kubeCluster) waitEstablished(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	last := "not read yet"
	for {
		got, err := k.dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			status := map[string]string{}
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok {
					status[fmt.Sprint(m["type"])] = fmt.Sprint(m["status"]) + " " + fmt.Sprint(m["message"])
				}
			}
			last = fmt.Sprint(status)
			if strings.HasPrefix(status["Established"], "True") {
				// Served: a list of the new resource answers.
				if _, err := k.dyn.Resource(k.cnp).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
					return
				} else {
					last = "Established, list: " + err.Error()
				}
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s not Established and served within a minute; last: %s", name, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (k *kubeCluster) ensureNamespace(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	_, err := k.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("namespace %s: %v", ns, err)
	}
}

// decodeDoc turns one YAML document into an object; a policy without a
// namespace goes to "default", as `kubectl apply` without -n would.
func decodeDoc(doc []byte) (*unstructured.Unstructured, error) {
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	if u.GetNamespace() == "" {
		u.SetNamespace("default")
	}
	return u, nil
}

// goldenDocs is every non-empty document of every testdata/*.golden.yaml,
// named file#index.
func goldenDocs(t *testing.T) (names []string, docs [][]byte) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range splitDocs(b) {
			if len(bytes.TrimSpace(stripComments(d))) == 0 {
				continue
			}
			names = append(names, fmt.Sprintf("%s#%d", filepath.Base(f), i))
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		t.Fatal("no documents in testdata/*.golden.yaml")
	}
	return names, docs
}

// TestKubeGoldenAccepted creates every golden policy in a real
// kube-apiserver that has Cilium's CRD installed, with strict field
// validation (an unknown or duplicate field is an error, not a warning
// or a silent prune), first as a dry run and then for real, and reads
// each back to check the server stored exactly what was sent: nothing
// pruned, nothing defaulted.
func TestKubeGoldenAccepted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	k := startKube(t, ctx)
	names, docs := goldenDocs(t)
	strictCreate := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	dryRun := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict, DryRun: []string{metav1.DryRunAll}}
	for i, doc := range docs {
		t.Run(names[i], func(t *testing.T) {
			obj, err := decodeDoc(doc)
			if err != nil {
				t.Fatal(err)
			}
			if obj.GetAPIVersion() != "cilium.io/v2" || obj.GetKind() != k.kind {
				t.Fatalf("%s/%s is not a cilium.io/v2 %s", obj.GetAPIVersion(), obj.GetKind(), k.kind)
			}
			k.ensureNamespace(t, ctx, obj.GetNamespace())
			client := k.dyn.Resource(k.cnp).Namespace(obj.GetNamespace())
			if _, err := client.Create(ctx, obj.DeepCopy(), dryRun); err != nil {
				t.Fatalf("dry-run create refused: %v", err)
			}
			if _, err := client.Create(ctx, obj.DeepCopy(), strictCreate); err != nil {
				t.Fatalf("create refused: %v", err)
			}
			t.Cleanup(func() {
				if err := client.Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{}); err != nil {
					t.Errorf("delete %s: %v", obj.GetName(), err)
				}
			})
			if w := k.warnings.Take(); len(w) > 0 {
				t.Errorf("the API server warned: %q", w)
			}
			got, err := client.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(obj.Object["spec"], got.Object["spec"]); d != "" {
				t.Errorf("stored spec differs from the one sent (-sent +stored):\n%s", d)
			}
			if d := cmp.Diff(obj.GetLabels(), got.GetLabels()); d != "" {
				t.Errorf("stored labels differ (-sent +stored):\n%s", d)
			}
			// What the server stored is what the Cilium agent reads: it
			// must still pass the agent's own checks.
			j, err := got.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var cnp ciliumv2.CiliumNetworkPolicy
			if err := sigsyaml.Unmarshal(j, &cnp); err != nil {
				t.Fatalf("stored object does not decode as a CiliumNetworkPolicy: %v", err)
			}
			if err := Validate(&cnp); err != nil {
				t.Errorf("stored object: %v", err)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		base := mustDoc(t, filepath.Join("testdata", "web.golden.yaml"))
		k.ensureNamespace(t, ctx, "shop")
		for _, c := range []struct {
			name, old, new, want string
		}{
			{"unknown rule field", "toEndpoints:", "toEndpoint:", `unknown field "spec.egress[0].toEndpoint"`},
			{"unknown spec field", "enableDefaultDeny:", "enableDefaultDenial:", `unknown field "spec.enableDefaultDenial"`},
			{"port as a number", `port: "8080"`, "port: 8080", "port"},
			{"negative port", `port: "8080"`, `port: "-1"`, "port"},
			{"bad protocol", "protocol: TCP", "protocol: HTTP", "protocol"},
			{"bad entity", "- ingress\n", "- internet\n", "fromEntities"},
			{"selector not an object", "endpointSelector:\n    matchLabels:", "endpointSelector:\n    - matchLabels:", "endpointSelector"},
		} {
			t.Run(c.name, func(t *testing.T) {
				bad := strings.Replace(string(base), c.old, c.new, 1)
				if bad == string(base) {
					t.Fatalf("the replacement %q did not apply", c.old)
				}
				obj, err := decodeDoc([]byte(bad))
				if err != nil {
					t.Fatal(err)
				}
				_, err = k.dyn.Resource(k.cnp).Namespace(obj.GetNamespace()).Create(ctx, obj, dryRun)
				if err == nil {
					t.Fatalf("the API server accepted it")
				}
				if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
					t.Fatalf("refused, but not as invalid input (%s): %v", apierrors.ReasonForError(err), err)
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error does not name %q: %v", c.want, err)
				}
				t.Logf("refused: %v", err)
			})
		}
	})

	// The CRD's port pattern is an unanchored alternation
	// (^(...numbers...)|(...names...)$), so a numeric prefix is enough:
	// the server stores "70000". The agent's own parse refuses it, which
	// is why gatehouse runs Validate on what it writes rather than trusting
	// the server. ("0x50" is no such gap: both read it as a named port.)
	t.Run("schema gap", func(t *testing.T) {
		base := mustDoc(t, filepath.Join("testdata", "web.golden.yaml"))
		bad := strings.Replace(string(base), `port: "8080"`, `port: "70000"`, 1)
		if bad == string(base) {
			t.Fatal("the replacement did not apply")
		}
		obj, err := decodeDoc([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.dyn.Resource(k.cnp).Namespace(obj.GetNamespace()).Create(ctx, obj, dryRun)
		t.Logf("the API server on port 70000: %v (nil: accepted)", err)
		var cnp ciliumv2.CiliumNetworkPolicy
		if err := sigsyaml.Unmarshal([]byte(bad), &cnp); err != nil {
			t.Fatal(err)
		}
		if err := Validate(&cnp); err == nil {
			t.Error("Validate accepted port 70000")
		} else if !strings.Contains(err.Error(), "port") {
			t.Errorf("Validate's error does not name the port: %v", err)
		}
	})
}

// mustDoc is the first document of a golden file.
func mustDoc(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return splitDocs(b)[0]
}
