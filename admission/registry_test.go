package admission

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/testimage"
	"github.com/gatehouse-dev/gatehouse/policies"
)

// loopback is a real registry (go-containerregistry's, with the referrers
// API) on 127.0.0.1, a key that signs images and VSAs, and an Admitter
// verifying with the real oci.Client and a real gates engine.
type loopback struct {
	host   string
	client *oci.Client
	signer signature.SignerVerifier
	engine *gates.Engine
	a      *Admitter
}

func newLoopback(t testing.TB, cacheYAML string) *loopback {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.ReplaceAll(strings.TrimSpace(string(pemBytes)), "\n", "\n      ")
	doc := fmt.Sprintf(`environments:
  prod: {gates: {image: [signature], model: [model_scan, signature]}}
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
%s`, key, key, cacheYAML)
	g, err := gates.ParseConfig("gatehouse.yaml", []byte(doc), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	engine, err := gates.New(gates.WithConfig(g), gates.WithDefaultPolicies(policies.FS))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(&g.Admission, "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := LoadPolicy(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	client := oci.New(oci.Options{Timeout: 10 * time.Second})
	a, err := New(Options{Config: cfg, Gates: g, Engines: map[string]*gates.Engine{"prod": engine}, Verifier: client, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	return &loopback{host: strings.TrimPrefix(srv.URL, "http://"), client: client, signer: sv, engine: engine, a: a}
}

// push pushes a random image to repo:latest.
func (l *loopback) push(t testing.TB, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(l.host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}

// sign signs d as `cosign sign --key` does (tag schema).
func (l *loopback) sign(t testing.TB, d name.Digest) {
	t.Helper()
	if err := testimage.Sign(d, l.signer); err != nil {
		t.Fatal(err)
	}
}

// attest attaches the VSA of a passed prod decision, as `gatehouse check
// --attest` does, with gatehouse's own Attester.
func (l *loopback) attest(t testing.TB, d name.Digest, env string) {
	t.Helper()
	ev := sha256.Sum256([]byte(`{"verified":true}`))
	dec := &gates.Decision{
		Subject:     gates.Subject{Kind: gates.KindImage, Ref: d.String(), Digest: d.DigestStr()},
		Environment: env, Allowed: true, Gates: []string{"signature"}, RequiredGates: []string{"signature"},
		PolicyDigest: l.engine.PolicyDigest(), ConfigDigest: l.engine.ConfigDigest("prod"),
		EvidenceDigests: map[string]string{"signatures": "sha256:" + hex.EncodeToString(ev[:])},
	}
	if _, err := (&oci.Attester{Client: l.client, Signer: l.signer}).Attest(context.Background(), dec); err != nil {
		t.Fatal(err)
	}
}

// TestLoopbackRegistry: an image signed and VSA-attested by gatehouse is
// admitted, by digest and (through /mutate) pinned from its tag; an
// unsigned image, and one attested for another environment, are denied
// with gatehouse's reasons.
func TestLoopbackRegistry(t *testing.T) {
	l := newLoopback(t, "")
	good := l.push(t, "acme/api")
	l.sign(t, good)
	l.attest(t, good, "prod")
	unsigned := l.push(t, "acme/unsigned")
	otherEnv := l.push(t, "acme/staging-only")
	l.sign(t, otherEnv)
	l.attest(t, otherEnv, "staging")
	ctx := context.Background()

	r := l.a.Review(ctx, podRequest("ml", good.String()))
	if !r.Response.Allowed || r.Outcome != OutcomeAllowed {
		t.Fatalf("signed and attested image denied: %s %v", message(r), r.Response.Warnings)
	}
	if r = l.a.Review(ctx, podRequest("ml", good.String())); r.CacheHits != 1 {
		t.Fatalf("second review not from the cache: %+v", r)
	}

	r = l.a.Review(ctx, podRequest("ml", unsigned.String()))
	for _, want := range []string{
		"image " + unsigned.String() + ": no signature of the image verifies: the image has no signatures",
		"; no valid gatehouse VSA: the image has no VSA attestation (run gatehouse check --attest)",
	} {
		if r.Response.Allowed || !strings.Contains(message(r), want) {
			t.Fatalf("unsigned image: %v %q, want %q", r.Response.Allowed, message(r), want)
		}
	}
	r = l.a.Review(ctx, podRequest("ml", otherEnv.String()))
	if r.Response.Allowed || !strings.Contains(message(r), "no valid gatehouse VSA") || !strings.Contains(message(r), "staging") {
		t.Fatalf("VSA of another environment: %v %q", r.Response.Allowed, message(r))
	}

	// /mutate pins the tag to the digest that verified.
	tag := l.host + "/acme/api:latest"
	r = l.a.Mutate(ctx, podRequest("ml", tag))
	var ops []map[string]string
	if err := json.Unmarshal(r.Response.Patch, &ops); err != nil || r.Response.PatchType == nil || *r.Response.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("mutate: %v %+v", err, r.Response)
	}
	if len(ops) != 1 || ops[0]["path"] != "/spec/containers/0/image" || ops[0]["value"] != good.Context().String()+"@"+good.DigestStr() {
		t.Fatalf("patch %v, want the image pinned to %s", ops, good)
	}
	// The tag itself is denied in prod (not pinned), though it verified.
	r = l.a.Review(ctx, podRequest("ml", tag))
	if r.Response.Allowed || !strings.Contains(message(r), "is not pinned by digest") || strings.Contains(message(r), "no valid") {
		t.Fatalf("tag in prod: %q", message(r))
	}
}
