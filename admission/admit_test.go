package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/policies"
)

// fakeImage is one repository of the fake registry.
type fakeImage struct {
	digest      string
	signed, vsa bool
	err         error // the registry cannot be asked
}

// fakeVerifier answers VerifyImage and Resolve from a table, by repository.
type fakeVerifier struct {
	mu       sync.Mutex
	images   map[string]fakeImage
	calls    int
	resolves int
	delay    time.Duration
	policies []oci.ImagePolicy
}

func (f *fakeVerifier) lookup(ref string) (name.Reference, fakeImage, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fakeImage{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.images[r.Context().Name()]
	if !ok {
		return nil, fakeImage{}, fmt.Errorf("%s: MANIFEST_UNKNOWN", ref)
	}
	return r, img, img.err
}

func (f *fakeVerifier) Resolve(_ context.Context, ref string) (name.Digest, error) {
	f.mu.Lock()
	f.resolves++
	f.mu.Unlock()
	r, img, err := f.lookup(ref)
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(img.digest), nil
}

func (f *fakeVerifier) VerifyImage(ctx context.Context, ref string, p oci.ImagePolicy) (*oci.ImageVerification, error) {
	f.mu.Lock()
	f.calls++
	f.policies = append(f.policies, p)
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", ref, ctx.Err())
		}
	}
	r, img, err := f.lookup(ref)
	if err != nil {
		return nil, err
	}
	d := r.Context().Digest(img.digest).String()
	res := &oci.ImageVerification{Digest: img.digest, Signatures: &oci.SignaturesEvidence{Verified: img.signed}}
	var failed []error
	if !img.signed {
		failed = append(failed, fmt.Errorf("%s: %w: the image has no signatures (sign it with cosign sign)", d, oci.ErrNotSigned))
	}
	if img.vsa {
		res.VSA = &oci.VerifiedVSA{Digest: img.digest, VSA: attest.VSAPredicate{TimeVerified: time.Now()}}
	} else {
		failed = append(failed, fmt.Errorf("%s: %w: the image has no VSA attestation (run gatehouse check --attest)", d, oci.ErrNoValidVSA))
	}
	return res, errors.Join(failed...)
}

func (f *fakeVerifier) set(repo string, img fakeImage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[repo] = img
}

func (f *fakeVerifier) counts() (calls, resolves int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.resolves
}

func hexDigest(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// fakeRecorder keeps what it is given.
type fakeRecorder struct {
	mu   sync.Mutex
	got  []*gates.Decision
	ctxs []gates.RecordContext
	err  error
}

func (r *fakeRecorder) Record(ctx context.Context, d *gates.Decision) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rc, _ := gates.RecordContextFrom(ctx)
	r.got = append(r.got, d)
	r.ctxs = append(r.ctxs, rc)
	return r.err
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func pubPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

var policyDigestForTests = hexDigest("d")

// harness is an Admitter over the fake verifier with environments dev and
// prod and namespaces: prod (enforce, prod), dev (enforce, dev, GPUs),
// warn, audit, open (enforce, failing open), qa (an environment gatehouse.yaml
// lacks), and the exempt kube-system.
type harness struct {
	a   *Admitter
	v   *fakeVerifier
	rec *fakeRecorder
	clk *clock
	cfg *Config
}

func newHarness(t testing.TB, admissionYAML string) *harness {
	t.Helper()
	dir := t.TempDir()
	indent := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ") }
	doc := fmt.Sprintf(`environments:
  dev: {gates: {image: [sonarqube], model: [model_scan]}}
  prod: {gates: {image: [sonarqube, signature], model: [model_scan, signature]}}
params:
  signature:
    keys:
    - |
      %s
admission:
  vsa:
    keys:
    - |
      %s
    accepted_policy_digests: ["%s"]
  model_sources: [gs://acme-models/, oci://europe-docker.pkg.dev/acme/models/, hf://meta-llama/]
  namespaces:
    prod: {environment: prod}
    dev: {environment: dev, labels: {gatehouse.dev/gpu: "true"}}
    warn: {mode: warn}
    audit: {mode: audit}
    open: {failure_mode: open}
    qa: {environment: qa}
%s`, indent(pubPEM(t)), indent(pubPEM(t)), policyDigestForTests, admissionYAML)
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := gates.LoadConfig(filepath.Join(dir, "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(&g.Admission, filepath.Join(dir, "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := LoadPolicy(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{v: &fakeVerifier{images: map[string]fakeImage{}}, rec: &fakeRecorder{}, clk: &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}, cfg: cfg}
	h.a, err = New(Options{Config: cfg, Gates: g, Verifier: h.v, Policy: pol, Recorder: h.rec, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const (
	goodRepo     = "ghcr.io/acme/api"
	unsignedRepo = "ghcr.io/acme/unsigned"
	noVSARepo    = "ghcr.io/acme/novsa"
	downRepo     = "registry.down.example/acme/app"
)

func (h *harness) standardImages() {
	h.v.set(goodRepo, fakeImage{digest: hexDigest("a"), signed: true, vsa: true})
	h.v.set(unsignedRepo, fakeImage{digest: hexDigest("b"), vsa: true})
	h.v.set(noVSARepo, fakeImage{digest: hexDigest("c"), signed: true})
	h.v.set(downRepo, fakeImage{digest: hexDigest("e"), err: errors.New("dial tcp 10.0.0.1:443: connect: connection refused")})
}

func podRequest(ns string, images ...string) *admissionv1.AdmissionRequest {
	var cs []map[string]any
	for i, img := range images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	return request(ns, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": ns},
		"spec": map[string]any{"containers": cs},
	})
}

func request(ns string, gvk metav1.GroupVersionKind, obj any) *admissionv1.AdmissionRequest {
	raw, ok := obj.([]byte)
	if !ok {
		raw, _ = json.Marshal(obj)
	}
	return &admissionv1.AdmissionRequest{
		UID: "uid-1", Kind: gvk, Namespace: ns, Name: "p", Operation: admissionv1.Create,
		UserInfo: authenticationv1.UserInfo{Username: "alice"}, Object: runtime.RawExtension{Raw: raw},
	}
}

func pinnedRef(repo, c string) string { return repo + "@" + hexDigest(c) }

func message(r Result) string {
	if r.Response == nil || r.Response.Result == nil {
		return ""
	}
	return r.Response.Result.Message
}

func TestReviewModes(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	good, unsigned, noVSA := pinnedRef(goodRepo, "a"), pinnedRef(unsignedRepo, "b"), pinnedRef(noVSARepo, "c")
	tests := []struct {
		name     string
		req      *admissionv1.AdmissionRequest
		allowed  bool
		outcome  string
		msg      string // in the denial
		warning  string // in one warning
		recorded int
	}{
		{"verified and pinned", podRequest("prod", good), true, OutcomeAllowed, "", "", 1},
		{"unsigned", podRequest("prod", unsigned), false, OutcomeDenied,
			"image " + unsigned + ": no signature of the image verifies: the image has no signatures (sign it with cosign sign)", "", 1},
		{"no VSA", podRequest("prod", noVSA), false, OutcomeDenied,
			"image " + noVSA + ": no valid gatehouse VSA: the image has no VSA attestation (run gatehouse check --attest)", "", 1},
		{"tag in prod", podRequest("prod", goodRepo+":1.4"), false, OutcomeDenied, "image " + goodRepo + ":1.4 is not pinned by digest", "", 1},
		{"tag in dev warns", podRequest("dev", goodRepo+":1.4"), true, OutcomeWarned, "", "is not pinned by digest", 1},
		{"warn mode", podRequest("warn", unsigned), true, OutcomeWarned, "", "would be denied: image " + unsigned + ": no signature", 1},
		{"audit mode", podRequest("audit", unsigned), true, OutcomeAudited, "", "", 1},
		{"one bad image of two", podRequest("prod", good, noVSA), false, OutcomeDenied, "no valid gatehouse VSA", "", 2},
		{"unknown environment", podRequest("qa", good), false, OutcomeDenied, `labelled with environment "qa", which gatehouse.yaml does not define`, "", 1},
		{"exempt", podRequest("kube-system", unsigned), true, OutcomeSkipped, "", "", 0},
		{"out of scope", request("prod", metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, map[string]any{"data": map[string]any{}}), true, OutcomeSkipped, "", "", 0},
		{"image not in the registry", podRequest("prod", pinnedRef("ghcr.io/acme/ghost", "f")), false, OutcomeError, "failing closed: image ghcr.io/acme/ghost@", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.rec.got)
			r := h.a.Review(context.Background(), tt.req)
			if r.Response.Allowed != tt.allowed || r.Outcome != tt.outcome {
				t.Fatalf("allowed %v outcome %s (%s %v), want %v %s", r.Response.Allowed, r.Outcome, message(r), r.Response.Warnings, tt.allowed, tt.outcome)
			}
			if !tt.allowed && (r.Response.Result.Code != 403 || !strings.Contains(message(r), tt.msg)) {
				t.Fatalf("denial %d %q, want 403 with %q", r.Response.Result.Code, message(r), tt.msg)
			}
			if tt.warning != "" && !slices.ContainsFunc(r.Response.Warnings, func(w string) bool { return strings.Contains(w, tt.warning) }) {
				t.Fatalf("warnings %q, want one with %q", r.Response.Warnings, tt.warning)
			}
			if got := len(h.rec.got) - before; got != tt.recorded {
				t.Fatalf("%d decisions recorded, want %d", got, tt.recorded)
			}
		})
	}
	// The audit namespace's record says what would have been denied.
	r := h.a.Review(context.Background(), podRequest("audit", unsigned))
	if !strings.Contains(r.Response.AuditAnnotations["gatehouse.dev/would-deny"], "no signature") {
		t.Fatalf("audit annotations %v", r.Response.AuditAnnotations)
	}
	last := h.rec.got[len(h.rec.got)-1]
	if !last.Allowed || len(last.Violations) == 0 || last.Verdict() != gates.VerdictDenied || last.Subject.Digest != hexDigest("b") || last.Environment != "prod" {
		t.Fatalf("audit record %+v", last)
	}
	if rc := h.rec.ctxs[len(h.rec.ctxs)-1]; rc.Door != "admission" || rc.Namespace != "audit" || rc.User != "alice" || rc.RequestUID != "uid-1" || rc.Kind != "Pod" {
		t.Fatalf("record context %+v", rc)
	}
}

// TestVerificationPolicyPerEnvironment: the VSA asked for is the
// namespace's environment's, with its level and required gates.
func TestVerificationPolicyPerEnvironment(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	for _, ns := range []string{"prod", "dev"} {
		h.a.Review(context.Background(), podRequest(ns, pinnedRef(goodRepo, "a")))
	}
	if len(h.v.policies) != 2 {
		t.Fatalf("%d verifications, want 2 (one per environment)", len(h.v.policies))
	}
	for i, want := range []struct {
		env   string
		gates []string
	}{{"prod", []string{"sonarqube", "signature"}}, {"dev", []string{"sonarqube"}}} {
		p := h.v.policies[i]
		if p.VSA.Environment != want.env || p.VSA.Level != "GATEHOUSE_"+strings.ToUpper(want.env) || !slices.Equal(p.VSA.RequiredGates, want.gates) ||
			!slices.Equal(p.VSA.AcceptedPolicyDigests, []string{policyDigestForTests}) || p.VSA.MaxAge != DefaultVSAMaxAge || p.Signatures == nil || len(p.VSA.Verifiers) != 1 {
			t.Fatalf("policy %d: %+v", i, p.VSA)
		}
	}
}

func TestReviewKinds(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	entries, err := os.ReadDir(filepath.Join("testdata", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	// Every image of every fixture is signed and attested.
	for _, e := range entries {
		gvk, raw := fixture(t, e.Name())
		w, err := Extract(gvk, "", raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range w.Images {
			r, _ := name.ParseReference(img.Ref)
			h.v.set(r.Context().Name(), fakeImage{digest: hexDigest("a"), signed: true, vsa: true})
		}
		for _, m := range w.Models {
			if ref, ok := strings.CutPrefix(m.URI, "oci://"); ok {
				r, _ := name.ParseReference(ref)
				h.v.set(r.Context().Name(), fakeImage{digest: hexDigest("4"), signed: true, vsa: true})
			}
		}
	}
	denied := map[string]string{
		// A notebook with GPUs in a namespace that may use them is still
		// denied for running privileged with a hostPath.
		"notebook-v1beta1.yaml": "Notebook bob-gpu mounts a hostPath volume; Notebook bob-gpu runs a privileged container",
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			gvk, raw := fixture(t, e.Name())
			r := h.a.Review(context.Background(), request("dev", gvk, raw))
			if want, ok := denied[e.Name()]; ok {
				if r.Response.Allowed || !strings.Contains(message(r), want) {
					t.Fatalf("allowed %v: %s, want a denial with %q", r.Response.Allowed, message(r), want)
				}
				return
			}
			if !r.Response.Allowed {
				t.Fatalf("denied: %s", message(r))
			}
			// The same objects in prod: every tag is refused.
			r = h.a.Review(context.Background(), request("prod", gvk, raw))
			w, _ := Extract(gvk, "", raw)
			tagged := slices.ContainsFunc(w.Images, func(i Image) bool { return !strings.Contains(i.Ref, "@") })
			if tagged == r.Response.Allowed {
				t.Fatalf("prod: allowed %v with tagged images %v: %s", r.Response.Allowed, tagged, message(r))
			}
		})
	}
	// GPUs where the namespace has no right to them.
	gvk, raw := fixture(t, "job.yaml")
	r := h.a.Review(context.Background(), request("warn", gvk, raw))
	if !slices.ContainsFunc(r.Response.Warnings, func(w string) bool {
		return strings.Contains(w, "Job batch-score requests 2 nvidia.com/gpu, but namespace warn is not labelled gatehouse.dev/gpu=true")
	}) {
		t.Fatalf("warnings %q", r.Response.Warnings)
	}
	// A Deployment whose template is bad.
	r = h.a.Review(context.Background(), request("prod", metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, map[string]any{
		"metadata": map[string]any{"name": "d"}, "spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "c", "image": pinnedRef(unsignedRepo, "b")}}}}},
	}))
	if r.Response.Allowed || !strings.Contains(message(r), "gatehouse denied Deployment prod/d: image "+pinnedRef(unsignedRepo, "b")) {
		t.Fatalf("bad Deployment: %v %s", r.Response.Allowed, message(r))
	}
}

func TestFailureModes(t *testing.T) {
	h := newHarness(t, "  timeout: 200ms\n")
	h.standardImages()
	down := pinnedRef(downRepo, "e")
	tests := []struct {
		name    string
		ns      string
		allowed bool
		text    string
	}{
		{"closed by default", "prod", false, "failing closed: image " + down + " could not be verified: dial tcp 10.0.0.1:443: connect: connection refused"},
		{"open namespace", "open", true, "failing open: image " + down},
		{"warn never denies", "warn", true, "could not verify (warn mode)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.a.Review(context.Background(), podRequest(tt.ns, down))
			if r.Response.Allowed != tt.allowed || r.Outcome != OutcomeError {
				t.Fatalf("allowed %v outcome %s: %s", r.Response.Allowed, r.Outcome, message(r))
			}
			text := message(r) + strings.Join(r.Response.Warnings, "|")
			if !strings.Contains(text, tt.text) {
				t.Fatalf("%q, want %q", text, tt.text)
			}
		})
	}
	// Registry errors are not cached: the next review asks again.
	calls, _ := h.v.counts()
	h.a.Review(context.Background(), podRequest("prod", down))
	if c, _ := h.v.counts(); c != calls+1 {
		t.Fatalf("registry error was cached: %d calls, want %d", c, calls+1)
	}
	// The deadline: a verifier slower than admission.timeout.
	h.v.mu.Lock()
	h.v.delay = 5 * time.Second
	h.v.mu.Unlock()
	start := time.Now()
	r := h.a.Review(context.Background(), podRequest("prod", pinnedRef(goodRepo, "a")))
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("review took %s past the 200ms deadline", took)
	}
	if r.Response.Allowed || r.Outcome != OutcomeError || !strings.Contains(message(r), "deadline exceeded") {
		t.Fatalf("slow registry: %v %s %s", r.Response.Allowed, r.Outcome, message(r))
	}
}

type failingNamespaces struct{}

func (failingNamespaces) Namespace(context.Context, string) (Namespace, error) {
	return Namespace{}, errors.New("the API server is unreachable")
}

func TestReviewBadInput(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	pod := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	many := []byte(`{"spec":{"containers":[` + strings.TrimSuffix(strings.Repeat(`{"name":"c","image":"a:1"},`, 100000), ",") + `]}}`)
	deep := []byte(`{"spec":{"x":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}}`)
	tests := []struct {
		name    string
		req     *admissionv1.AdmissionRequest
		allowed bool
		msg     string
	}{
		{"no request", nil, false, "has no request"},
		{"malformed object", request("prod", pod, []byte(`{"spec":`)), false, "malformed JSON"},
		{"no object", request("prod", pod, []byte{}), false, "carries no object"},
		{"100k containers", request("prod", pod, many), false, "more than 1000 containers"},
		{"deep nesting", request("prod", pod, deep), false, "nested deeper than 64"},
		{"missing pod spec", request("prod", pod, []byte(`{"metadata":{}}`)), false, "spec is missing"},
		{"unknown kind", request("prod", metav1.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, []byte(`{}`)), true, "out of scope"},
		{"bad object in an open namespace", request("open", pod, []byte(`[`)), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.a.Review(context.Background(), tt.req)
			if r.Response == nil || r.Response.Allowed != tt.allowed {
				t.Fatalf("response %+v, want allowed %v", r.Response, tt.allowed)
			}
			if !strings.Contains(message(r)+strings.Join(r.Response.Warnings, "|"), tt.msg) {
				t.Fatalf("%q, want %q", message(r), tt.msg)
			}
			var b strings.Builder
			if err := EncodeResponse(&b, "u", r.Response); err != nil || !json.Valid([]byte(b.String())) {
				t.Fatalf("encode: %v", err)
			}
		})
	}
	for _, op := range []admissionv1.Operation{admissionv1.Delete, admissionv1.Connect} {
		req := podRequest("prod", "x")
		req.Operation = op
		if r := h.a.Review(context.Background(), req); !r.Response.Allowed || r.Outcome != OutcomeSkipped {
			t.Fatalf("%s: %+v", op, r)
		}
	}
	// The namespace cannot be looked up: closed.
	a, err := New(Options{Config: h.cfg, Gates: mustGates(t), Verifier: h.v, Policy: h.a.policy.Load().policy, Namespaces: failingNamespaces{}, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Review(context.Background(), podRequest("prod", pinnedRef(goodRepo, "a"))); r.Response.Allowed || !strings.Contains(message(r), "namespace prod could not be looked up: the API server is unreachable") {
		t.Fatalf("namespace lookup failure: %+v", r.Response)
	}
}

func mustGates(t testing.TB) *gates.Config {
	g, err := gates.ParseConfig("g.yaml", []byte("environments:\n  prod: {gates: {image: [signature]}}\n  dev: {gates: {image: [sonarqube]}}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	pol, err := LoadPolicy(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ParseConfig(nil, "/etc/gatehouse.yaml")
	v := &fakeVerifier{}
	if _, err := New(Options{Config: cfg, Gates: mustGates(t), Verifier: v, Policy: pol}); err == nil || !strings.Contains(err.Error(), "admission.vsa.keys: no keys") {
		t.Fatalf("no VSA keys: %v", err)
	}
	cfg.VSA.Keys = []string{"/nonexistent/gate.pub"}
	if _, err := New(Options{Config: cfg, Gates: mustGates(t), Verifier: v, Policy: pol}); err == nil || !strings.Contains(err.Error(), "admission.vsa.keys[0]") {
		t.Fatalf("missing key file: %v", err)
	}
	cfg.VSA.Keys = []string{pubPEM(t)}
	if _, err := New(Options{Config: cfg, Gates: mustGates(t), Verifier: v, Policy: pol}); err == nil || !strings.Contains(err.Error(), "no accepted gates policy digest") {
		t.Fatalf("no policy digest: %v", err)
	}
	no := false
	cfg.VSA.Require = &no
	if _, err := New(Options{Config: cfg, Gates: mustGates(t), Verifier: v, Policy: pol}); err == nil || !strings.Contains(err.Error(), "nothing to verify images with") {
		t.Fatalf("nothing to verify: %v", err)
	}
}

func TestCache(t *testing.T) {
	h := newHarness(t, "  cache: {ttl: 1m, max_entries: 2}\n")
	h.standardImages()
	h.v.set("ghcr.io/acme/two", fakeImage{digest: hexDigest("2"), signed: true, vsa: true})
	h.v.set("ghcr.io/acme/three", fakeImage{digest: hexDigest("3"), signed: true, vsa: true})
	ctx := context.Background()
	review := func(ns string, refs ...string) Result {
		t.Helper()
		r := h.a.Review(ctx, podRequest(ns, refs...))
		if !r.Response.Allowed {
			t.Fatalf("denied: %s", message(r))
		}
		return r
	}
	good := pinnedRef(goodRepo, "a")
	if r := review("prod", good); r.CacheMisses != 1 || r.CacheHits != 0 {
		t.Fatalf("first: %+v", r)
	}
	if r := review("prod", good, good); r.CacheHits != 1 || r.CacheMisses != 0 {
		t.Fatalf("second (one distinct image): %+v", r)
	}
	if calls, _ := h.v.counts(); calls != 1 {
		t.Fatalf("%d verifications, want 1", calls)
	}
	// Another environment is another policy: a miss.
	if r := review("dev", good); r.CacheMisses != 1 {
		t.Fatalf("other environment: %+v", r)
	}
	// A tag is resolved, then found under its digest.
	if r := review("dev", goodRepo+":1.4"); r.CacheHits != 1 {
		t.Fatalf("tag of a cached digest: %+v", r)
	}
	if _, resolves := h.v.counts(); resolves != 1 {
		t.Fatalf("%d resolves, want 1", resolves)
	}
	// TTL.
	h.clk.Add(61 * time.Second)
	if r := review("prod", good); r.CacheMisses != 1 {
		t.Fatalf("after the TTL: %+v", r)
	}
	// Eviction: two entries at most, least recently used goes.
	review("prod", pinnedRef("ghcr.io/acme/two", "2"))
	review("prod", pinnedRef("ghcr.io/acme/three", "3"))
	if n := h.a.cache.len(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	if r := review("prod", good); r.CacheMisses != 1 {
		t.Fatalf("evicted entry: %+v", r)
	}
	if r := review("prod", pinnedRef("ghcr.io/acme/three", "3")); r.CacheHits != 1 {
		t.Fatalf("recent entry: %+v", r)
	}
	// Failures are remembered briefly: a VSA attached now is seen within 30s.
	bad := pinnedRef(noVSARepo, "c")
	h.a.Review(ctx, podRequest("prod", bad))
	h.v.set(noVSARepo, fakeImage{digest: hexDigest("c"), signed: true, vsa: true})
	if r := h.a.Review(ctx, podRequest("prod", bad)); r.Response.Allowed || r.CacheHits != 1 {
		t.Fatalf("negative entry within 30s: %+v", r)
	}
	h.clk.Add(31 * time.Second)
	if r := h.a.Review(ctx, podRequest("prod", bad)); !r.Response.Allowed {
		t.Fatalf("after 30s the new VSA counts: %s", message(r))
	}
}

// TestCacheOneFlight: concurrent reviews of one new image verify it once.
func TestCacheOneFlight(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	h.v.delay = 100 * time.Millisecond
	var wg sync.WaitGroup
	results := make([]Result, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.a.Review(context.Background(), podRequest("prod", pinnedRef(goodRepo, "a")))
		}()
	}
	wg.Wait()
	for _, r := range results {
		if !r.Response.Allowed {
			t.Fatalf("denied: %s", message(r))
		}
	}
	if calls, _ := h.v.counts(); calls != 1 {
		t.Fatalf("%d verifications for 20 concurrent reviews, want 1", calls)
	}
}

func TestMutate(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	gvk, raw := fixture(t, "pod.yaml")
	// pod.yaml: api (tag), envoy (tag), migrate (pinned), debugger (tag).
	for _, repo := range []string{goodRepo, "index.docker.io/envoyproxy/envoy", "ghcr.io/acme/migrate", "index.docker.io/library/busybox"} {
		h.v.set(repo, fakeImage{digest: hexDigest("9"), signed: true, vsa: true})
	}
	r := h.a.Mutate(context.Background(), request("dev", gvk, raw))
	if !r.Response.Allowed || r.Response.PatchType == nil || *r.Response.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("mutate: %+v", r.Response)
	}
	var ops []map[string]string
	if err := json.Unmarshal(r.Response.Patch, &ops); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"op": "replace", "path": "/spec/containers/0/image", "value": "ghcr.io/acme/api@" + hexDigest("9")},
		{"op": "replace", "path": "/spec/containers/1/image", "value": "envoyproxy/envoy@" + hexDigest("9")},
		{"op": "replace", "path": "/spec/ephemeralContainers/0/image", "value": "busybox@" + hexDigest("9")},
	}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Fatalf("patch (-want +got):\n%s", diff)
	}
	// One image that does not verify: nothing is pinned, nothing denied.
	h.v.set("index.docker.io/envoyproxy/envoy", fakeImage{digest: hexDigest("9"), signed: true})
	h.clk.Add(time.Hour)
	r = h.a.Mutate(context.Background(), request("dev", gvk, raw))
	if !r.Response.Allowed || r.Response.Patch != nil {
		t.Fatalf("mutate with an unverified image: %+v", r.Response)
	}
	// Mutate records nothing: /validate does.
	if len(h.rec.got) != 0 {
		t.Fatalf("mutate recorded %d decisions", len(h.rec.got))
	}
}

func TestSwapPolicy(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	before := h.a.PolicyRevision()
	if !strings.HasPrefix(before, "sha256:") {
		t.Fatalf("revision %q", before)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package gatehouse.admission\n\ndeny contains {\"rule\": \"freeze\", \"message\": sprintf(\"change freeze: %s\", [data.freeze.reason])} if true\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "freeze"), 0o700)
	os.WriteFile(filepath.Join(dir, "freeze", "data.json"), []byte(`{"reason": "end of quarter"}`), 0o600)
	p, err := LoadPolicy(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.a.SwapPolicy(p.WithRevision("bundle-42")); err != nil {
		t.Fatal(err)
	}
	if got := h.a.PolicyRevision(); got != "bundle-42" {
		t.Fatalf("revision %q", got)
	}
	if r := h.a.Review(context.Background(), podRequest("prod", pinnedRef(goodRepo, "a"))); r.Response.Allowed || !strings.Contains(message(r), "change freeze: end of quarter") {
		t.Fatalf("swapped policy not in force: %s", message(r))
	}
	// Policies that do not load.
	for name, src := range map[string]string{
		"no admission package": "package other\n\nx := 1\n",
		"syntax error":         "package gatehouse.admission\n\ndeny contains",
	} {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "p.rego"), []byte(src), 0o600)
		if _, err := LoadPolicy(os.DirFS(d)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if err := h.a.SwapPolicy(nil); err == nil || h.a.PolicyRevision() != "bundle-42" {
		t.Fatal("a nil policy replaced the one in force")
	}
	// A policy whose deny entries are not objects fails closed.
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "p.rego"), []byte("package gatehouse.admission\n\ndeny contains \"no\" if true\n"), 0o600)
	bad, err := LoadPolicy(os.DirFS(d))
	if err != nil {
		t.Fatal(err)
	}
	h.a.SwapPolicy(bad)
	if r := h.a.Review(context.Background(), podRequest("prod", pinnedRef(goodRepo, "a"))); r.Response.Allowed || r.Outcome != OutcomeError || !strings.Contains(message(r), "want an object with rule and message") {
		t.Fatalf("malformed policy output: %+v", r)
	}
}

func TestRecordErrorReported(t *testing.T) {
	h := newHarness(t, "")
	h.standardImages()
	h.rec.err = errors.New("disk full")
	r := h.a.Review(context.Background(), podRequest("prod", pinnedRef(goodRepo, "a")))
	if !r.Response.Allowed || r.RecordErr == nil || !strings.Contains(r.RecordErr.Error(), "disk full") {
		t.Fatalf("record error: %+v", r)
	}
}

func TestPin(t *testing.T) {
	d := "r/x@" + hexDigest("1")
	for ref, want := range map[string]string{
		"nginx:1.25":                    "nginx@" + hexDigest("1"),
		"nginx":                         "nginx@" + hexDigest("1"),
		"localhost:5000/app:v1":         "localhost:5000/app@" + hexDigest("1"),
		"localhost:5000/app":            "localhost:5000/app@" + hexDigest("1"),
		"ghcr.io/a/b@" + hexDigest("2"): "",
	} {
		if got := pin(ref, d); got != want {
			t.Errorf("pin(%s) = %q, want %q", ref, got, want)
		}
	}
}
