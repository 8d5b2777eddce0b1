package oci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// TestEndToEnd runs the check path against the real registry: unsigned is
// not verified; signed is; a VSA is attached, verified by cosign's own
// VerifyImageAttestations and by VerifyImageVSA; a tampered VSA is rejected.
func TestEndToEnd(t *testing.T) {
	host := needRealRegistry(t)
	ctx := context.Background()
	c := New(Options{Timeout: 20 * time.Second})
	k := newTestKey(t, "ecdsa-p256")
	d := pushRandomImage(t, host, "e2e/app")
	tagRef := d.Context().Tag("latest").String()

	p, err := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	col := &SignaturesCollector{Client: c, Policy: p}
	res := &Resolver{Client: c}
	subj := gates.Subject{Kind: gates.KindImage, Ref: tagRef}
	if err := res.Resolve(ctx, &subj); err != nil {
		t.Fatal(err)
	}
	if subj.Digest != d.DigestStr() {
		t.Fatalf("resolved %s, pushed %s", subj.Digest, d.DigestStr())
	}
	ev, err := col.Collect(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	if ev.(*SignaturesEvidence).Verified {
		t.Fatal("unsigned image verified")
	}

	signClassicKey(t, d, k)
	ev, err = col.Collect(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.(*SignaturesEvidence).Verified {
		t.Fatalf("signed image not verified: %+v", ev)
	}

	att := &Attester{Client: c, Signer: k.signer}
	loc, err := att.Attest(ctx, passedDecision(subj, "prod", "sha256:"+strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, ".att") {
		t.Errorf("VSA went to %s, want the .att tag", loc)
	}
	if _, err := att.Attest(ctx, &gates.Decision{Subject: subj, Allowed: false}); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("attesting a denied decision: %v", err)
	}

	// cosign verify-attestation --type slsaverificationsummary --key PUB
	co := &cosign.CheckOpts{SigVerifier: p.Keys[0].Verifier, IgnoreTlog: true, IgnoreSCT: true, ClaimVerifier: cosign.IntotoSubjectClaimVerifier}
	checked, _, err := cosign.VerifyImageAttestations(ctx, d, co)
	if err != nil || len(checked) != 1 {
		t.Fatalf("cosign VerifyImageAttestations: %d, %v", len(checked), err)
	}
	ann, _ := checked[0].Annotations()
	if ann["predicateType"] != VSAPredicateType {
		t.Errorf("predicateType annotation %q", ann["predicateType"])
	}
	mt, _ := checked[0].MediaType()
	if mt != "application/vnd.dsse.envelope.v1+json" {
		t.Errorf("layer media type %q", mt)
	}

	vp := vsaPolicy(p, "sha256:"+strings.Repeat("ab", 32))
	vp.Level = "GATEHOUSE_PROD"
	got, err := c.VerifyImageVSA(ctx, tagRef, *vp)
	if err != nil {
		t.Fatal(err)
	}
	if got.VSA.VerificationResult != "PASSED" || got.Digest != d.DigestStr() || got.VSA.ResourceURI != d.String() {
		t.Errorf("VSA %+v", got)
	}
	if got.VSA.Gatehouse == nil || got.VSA.Gatehouse.Environment != "prod" {
		t.Errorf("VSA extension %+v", got.VSA.Gatehouse)
	}
	// What the admission side requires of the gate set, configuration and
	// environment is checked through VerifyImageVSA too.
	vp.RequiredGates, vp.AcceptedConfigDigests, vp.Environment = testGates, []string{testConfigDigest}, "prod"
	if _, err := c.VerifyImageVSA(ctx, tagRef, *vp); err != nil {
		t.Errorf("full gate set: %v", err)
	}
	for _, tc := range []struct {
		edit func(p *attest.VSAPolicy)
		want error
	}{
		{func(p *attest.VSAPolicy) { p.RequiredGates = append(slices.Clone(testGates), "sonarqube") }, attest.ErrGates},
		{func(p *attest.VSAPolicy) { p.AcceptedConfigDigests = []string{"sha256:" + strings.Repeat("99", 32)} }, attest.ErrConfigDigest},
		{func(p *attest.VSAPolicy) { p.Environment = "staging" }, attest.ErrEnvironment},
	} {
		p := *vp
		tc.edit(&p)
		if _, err := c.VerifyImageVSA(ctx, tagRef, p); !errors.Is(err, ErrNoValidVSA) || !errors.Is(err, tc.want) {
			t.Errorf("want %v: %v", tc.want, err)
		}
	}
	vp.RequiredGates, vp.AcceptedConfigDigests, vp.Environment = nil, nil, ""
	vp.Level = "GATEHOUSE_STAGING"
	if _, err := c.VerifyImageVSA(ctx, tagRef, *vp); !errors.Is(err, ErrNoValidVSA) || !errors.Is(err, attest.ErrLevel) {
		t.Errorf("wrong level: %v", err)
	}
	vp.Level = ""
	other := vsaPolicy(p, "sha256:"+strings.Repeat("cd", 32))
	if _, err := c.VerifyImageVSA(ctx, tagRef, *other); !errors.Is(err, attest.ErrPolicyDigest) {
		t.Errorf("VSA under another policy: %v", err)
	}

	// Tamper: rewrite the .att layer with a changed payload, same signature.
	tamperAttestation(t, d)
	_, err = c.VerifyImageVSA(ctx, tagRef, *vp)
	if !errors.Is(err, ErrNoValidVSA) || !errors.Is(err, attest.ErrSignature) {
		t.Fatalf("tampered VSA: %v", err)
	}
}

// tamperAttestation replaces the payload inside the DSSE envelope of the
// image's .att layer, keeping the signature and annotations.
func tamperAttestation(t testing.TB, d name.Digest) {
	t.Helper()
	tag, _ := ociremote.AttestationTag(d)
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	layers, _ := img.Layers()
	rc, _ := layers[0].Uncompressed()
	env, _ := io.ReadAll(rc)
	rc.Close()
	// Flip one base64 character of the payload (still valid base64).
	i := bytes.Index(env, []byte(`"payload":"`)) + len(`"payload":"`) + 40
	if env[i] == 'A' {
		env[i] = 'B'
	} else {
		env[i] = 'A'
	}
	nl := static.NewLayer(env, types.MediaType("application/vnd.dsse.envelope.v1+json"))
	base, err := mutate.Config(mutate.MediaType(emptyImageLike(img), m.MediaType), v1.Config{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.Append(base, mutate.Addendum{Layer: nl, Annotations: m.Layers[0].Annotations, MediaType: m.Layers[0].MediaType})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, out); err != nil {
		t.Fatal(err)
	}
}

func emptyImageLike(v1.Image) v1.Image {
	return mutate.ConfigMediaType(emptyImage(), types.OCIConfigJSON)
}

// TestBadInput: every failure is a clear error or an unverified result,
// within the deadline, never a pass.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	host := inProcessRegistry(t)
	c := New(Options{Timeout: 5 * time.Second})
	good, wrong := newTestKey(t, "ecdsa-p256"), newTestKey(t, "ecdsa-p256")
	pGood, _ := PolicyFromParams(map[string]any{"keys": []any{string(good.pubPEM)}}, nil)
	f := newFulcio(t)
	trPath := f.trustedRootFile(t)
	pKeyless, err := PolicyFromParams(map[string]any{"identities": []any{map[string]any{"issuer": testIssuer, "subject": testIdentity}}, "trusted_root": trPath, "ignore_sct": true}, nil)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		setup   func(d name.Digest)
		policy  *Policy
		wantErr string // in the signature's error
	}{
		{"unsigned", func(name.Digest) {}, pGood, ""},
		{"wrong key", func(d name.Digest) { signClassicKey(t, d, wrong) }, pGood, "invalid signature"},
		{"signature for another digest", func(d name.Digest) {
			other := pushRandomImage(t, host, "bad/other")
			p := simpleSigningPayload(t, other)
			sig, _ := good.signer.SignMessage(bytes.NewReader(p))
			s, _ := newStaticSignature(p, sig)
			writeClassicSignature(t, d, s)
		}, pGood, "digest"},
		{"wrong identity", func(d name.Digest) { f.signClassicKeyless(t, d, "mallory@example.com", testIssuer, 5*time.Minute) }, pKeyless, "none of the expected identities matched"},
		{"wrong issuer", func(d name.Digest) { f.signClassicKeyless(t, d, testIdentity, "https://evil.example", 5*time.Minute) }, pKeyless, "none of the expected identities matched"},
		{"expired certificate", func(d name.Digest) { f.signClassicKeyless(t, d, testIdentity, testIssuer, 30*time.Minute) }, pKeyless, "expire"},
		{"expired certificate (bundle)", func(d name.Digest) {
			if _, err := c.AttachBundle(ctx, d, f.keylessBundle(t, statement(t, d, CosignSignPredicateType, map[string]any{}), testIdentity, testIssuer, 30*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, pKeyless, "certificate"},
		{"bundle for another digest", func(d name.Digest) {
			other := pushRandomImage(t, host, "bad/other2")
			if _, err := c.AttachBundle(ctx, d, keyBundle(t, good, statement(t, other, CosignSignPredicateType, map[string]any{}))); err != nil {
				t.Fatal(err)
			}
		}, pGood, "digest"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := pushRandomImage(t, host, "bad/case"+string(rune('a'+i)))
			tc.setup(d)
			ev, err := c.VerifySignatures(ctx, d, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Verified {
				t.Fatalf("verified: %+v", ev)
			}
			if tc.wantErr == "" {
				if len(ev.Signatures) != 0 {
					t.Errorf("signatures %+v", ev.Signatures)
				}
				return
			}
			if len(ev.Signatures) != 1 || !strings.Contains(ev.Signatures[0].Error, tc.wantErr) {
				t.Errorf("want error containing %q, got %+v", tc.wantErr, ev.Signatures)
			}
		})
	}
}

func TestMalformedDSSE(t *testing.T) {
	ctx := context.Background()
	host := inProcessRegistry(t)
	c := New(Options{})
	k := newTestKey(t, "ed25519")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	for _, tc := range []struct{ name, env string }{
		{"not json", "{not json"},
		{"no signatures", `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`},
		{"bad base64", `{"payloadType":"application/vnd.in-toto+json","payload":"!!!","signatures":[{"sig":"AAAA"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := pushRandomImage(t, host, "dsse/"+strings.ReplaceAll(tc.name, " ", "-"))
			if _, err := c.AttachAttestation(ctx, d, []byte(tc.env), SLSAProvenanceV1); err != nil {
				t.Fatal(err)
			}
			ev, err := c.Provenance(ctx, d, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(ev.Attestations) != 1 || ev.Attestations[0].Verified || ev.Attestations[0].Error == "" {
				t.Fatalf("want one rejected attestation with a reason, got %+v", ev.Attestations)
			}
		})
	}
}

func TestUnknownPredicateIsPassedRaw(t *testing.T) {
	ctx := context.Background()
	host := inProcessRegistry(t)
	c := New(Options{})
	k := newTestKey(t, "rsa")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	d := pushRandomImage(t, host, "pred/unknown")
	if _, err := c.AttachAttestation(ctx, d, dsseSign(t, k, statement(t, d, "https://example.com/custom/v9", map[string]any{"x": 1.0})), "https://example.com/custom/v9"); err != nil {
		t.Fatal(err)
	}
	ev, err := c.Provenance(ctx, d, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []ProvenanceAttestation{{PredicateType: "https://example.com/custom/v9", Format: FormatCosignTag, Verified: true, Key: "inline[0]", Predicate: map[string]any{"x": 1.0}}}
	for i := range ev.Attestations {
		ev.Attestations[i].Location = ""
	}
	if diff := cmpDiff(want, ev.Attestations); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestRegistryDownAndSlow(t *testing.T) {
	k := newTestKey(t, "ecdsa-p256")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	// Down: a port nothing listens on.
	srv := httptest.NewServer(http.NotFoundHandler())
	down := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	// Slow: answers after 10s; the client gives up after 300ms.
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(stop)
	tests := []struct {
		name, host, want string
	}{
		{"connection refused", down, "refused"},
		{"slow registry", strings.TrimPrefix(slow.URL, "http://"), "in time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Options{Timeout: 300 * time.Millisecond})
			d, _ := name.NewDigest(tc.host + "/app@sha256:" + strings.Repeat("a", 64))
			start := time.Now()
			_, err := c.VerifySignatures(context.Background(), d, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error with %q, got %v", tc.want, err)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %s despite a 300ms timeout", el)
			}
			col := &SignaturesCollector{Client: c, Policy: p}
			if _, err := col.Collect(context.Background(), gates.Subject{Kind: gates.KindImage, Ref: tc.host + "/app:latest"}); err == nil {
				t.Error("collector passed with the registry unreachable")
			}
		})
	}
}

func TestDigestMismatch(t *testing.T) {
	c := New(Options{})
	_, err := c.subjectDigest(context.Background(), gates.Subject{Kind: gates.KindImage,
		Ref: "127.0.0.1:1/app@sha256:" + strings.Repeat("a", 64), Digest: "sha256:" + strings.Repeat("b", 64)})
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("got %v", err)
	}
}

func TestNoKeysConfigured(t *testing.T) {
	_, err := PolicyFromParams(map[string]any{}, nil)
	if !errors.Is(err, ErrNoTrust) {
		t.Fatalf("got %v", err)
	}
	_, err = PolicyFromParams(map[string]any{"identities": []any{map[string]any{"issuer": "x", "subject": "y"}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "trusted_root") {
		t.Fatalf("identities without trusted_root: %v", err)
	}
}
