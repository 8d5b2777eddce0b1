package attest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/signature"
)

func TestVSA(t *testing.T) {
	ctx := context.Background()
	signer, verifier := loadPair(t, "ecdsa-p256")
	other, _ := loadPair(t, "ed25519")
	artifact := "sha256:" + strings.Repeat("ab", 32)
	policyDigest := "sha256:" + strings.Repeat("cd", 32)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	base := VSAOptions{
		SubjectName: "models/fraud-v3", Digest: artifact, PolicyDigest: policyDigest, PolicyURI: "https://github.com/acme/policies",
		Passed: true, VerifiedLevels: []string{"GATEHOUSE_PROD"}, TimeVerified: at,
		InputAttestations: []Material{{URI: "models/fraud-v3.sigstore.json", Digest: map[string]string{"sha256": strings.Repeat("ef", 32)}}},
	}
	policy := VSAPolicy{
		Verifiers: []signature.Verifier{verifier}, Digest: artifact, AcceptedPolicyDigests: []string{"sha256:" + strings.Repeat("00", 32), policyDigest},
		MaxAge: 24 * time.Hour, Level: "GATEHOUSE_PROD", Now: func() time.Time { return at.Add(time.Hour) },
	}
	sign := func(t *testing.T, s signature.Signer, o VSAOptions) []byte {
		env, err := SignVSA(ctx, s, o)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	// An envelope carrying another statement, signed by the right key.
	provenance := func(t *testing.T) []byte {
		st, _ := NewStatement(PredicateSLSAProvenanceV1, map[string]any{}, Subject{Name: "x", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}})
		b, _ := json.Marshal(st)
		e, err := SignEnvelope(ctx, signer, PayloadTypeInToto, b)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(e)
		return out
	}
	for _, tc := range []struct {
		name     string
		envelope func(t *testing.T) []byte
		policy   func(p *VSAPolicy)
		wantErr  error
		msg      string
	}{
		{name: "passes", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }},
		{name: "wrong key", envelope: func(t *testing.T) []byte { return sign(t, other, base) }, wantErr: ErrSignature},
		{name: "digest mismatch", envelope: func(t *testing.T) []byte {
			o := base
			o.Digest = "sha256:" + strings.Repeat("99", 32)
			return sign(t, signer, o)
		}, wantErr: ErrDigestMismatch, msg: "models/fraud-v3 (sha256:9999"},
		{name: "FAILED", envelope: func(t *testing.T) []byte { o := base; o.Passed = false; return sign(t, signer, o) }, wantErr: ErrNotPassed, msg: `"FAILED"`},
		{name: "policy digest not accepted", envelope: func(t *testing.T) []byte {
			o := base
			o.PolicyDigest = "sha256:" + strings.Repeat("77", 32)
			return sign(t, signer, o)
		}, wantErr: ErrPolicyDigest, msg: "sha256:7777"},
		{name: "other verifier", envelope: func(t *testing.T) []byte { o := base; o.VerifierID = "https://evil.example"; return sign(t, signer, o) }, wantErr: ErrVerifierID, msg: "https://evil.example"},
		{name: "too old", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.MaxAge = 30 * time.Minute }, wantErr: ErrTooOld, msg: "1h0m0s ago"},
		{name: "from the future", envelope: func(t *testing.T) []byte {
			o := base
			o.TimeVerified = at.Add(2 * time.Hour)
			return sign(t, signer, o)
		}, wantErr: ErrFuture},
		{name: "level not verified", envelope: func(t *testing.T) []byte {
			o := base
			o.VerifiedLevels = []string{"GATEHOUSE_DEV"}
			return sign(t, signer, o)
		}, wantErr: ErrLevel, msg: "GATEHOUSE_PROD"},
		{name: "provenance is not a VSA", envelope: provenance, wantErr: ErrNotVSA, msg: PredicateSLSAProvenanceV1},
		{name: "malformed envelope", envelope: func(*testing.T) []byte { return []byte(`{"payloadType":`) }, wantErr: ErrMalformed},
		{name: "payload altered", envelope: func(t *testing.T) []byte {
			e, _ := ParseEnvelope(sign(t, signer, base))
			e.Payload = []byte(strings.Replace(string(e.Payload), "PASSED", "PASSED ", 1))
			b, _ := json.Marshal(e)
			return b
		}, wantErr: ErrSignature},
		{name: "no keys", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.Verifiers = nil }, wantErr: ErrVSAPolicy},
		{name: "no accepted policy", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.AcceptedPolicyDigests = nil }, wantErr: ErrVSAPolicy},
		{name: "no max age", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.MaxAge = 0 }, wantErr: ErrVSAPolicy},
		{name: "bad policy digest", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.Digest = "abc" }, wantErr: ErrVSAPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if tc.policy != nil {
				tc.policy(&p)
			}
			res, err := VerifyVSA(ctx, tc.envelope(t), p)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				want := VSAPredicate{
					Verifier: VSAVerifier{ID: DefaultVerifierID}, TimeVerified: at, ResourceURI: "models/fraud-v3",
					Policy:             Material{URI: "https://github.com/acme/policies", Digest: map[string]string{"sha256": strings.Repeat("cd", 32)}},
					InputAttestations:  base.InputAttestations,
					VerificationResult: VSAPassed, VerifiedLevels: []string{"GATEHOUSE_PROD"}, SLSAVersion: "1.0",
				}
				if diff := cmp.Diff(want, res.VSA); diff != "" {
					t.Errorf("VSA (-want +got):\n%s", diff)
				}
				if res.Subject.Name != "models/fraud-v3" || res.Statement.Type != StatementTypeV1 {
					t.Errorf("subject %+v, statement type %s", res.Subject, res.Statement.Type)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			// Each failure is its own: no other VSA sentinel matches.
			for _, other := range []error{ErrSignature, ErrDigestMismatch, ErrNotPassed, ErrPolicyDigest, ErrVerifierID, ErrTooOld, ErrFuture, ErrLevel, ErrNotVSA} {
				if other != tc.wantErr && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

func TestNewVSAErrors(t *testing.T) {
	good := VSAOptions{SubjectName: "x", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32)}
	for _, tc := range []struct {
		name   string
		mutate func(o *VSAOptions)
		msg    string
	}{
		{"no subject", func(o *VSAOptions) { o.SubjectName = "" }, "SubjectName"},
		{"bad digest", func(o *VSAOptions) { o.Digest = "sha256:abc" }, "subject digest"},
		{"no policy digest", func(o *VSAOptions) { o.PolicyDigest = "" }, "policy digest"},
	} {
		o := good
		tc.mutate(&o)
		if _, err := NewVSA(o); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.msg)
		}
	}
	st, err := NewVSA(good)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVSAPredicate(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if v.VerificationResult != VSAFailed || v.ResourceURI != "x" || v.Verifier.ID != DefaultVerifierID || v.TimeVerified.IsZero() {
		t.Errorf("defaults: %+v", v)
	}
}

func TestParseVSAPredicateErrors(t *testing.T) {
	for _, tc := range []struct{ doc, msg string }{
		{`{"verifier":{},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED"}`, "verifier.id"},
		{`{"verifier":{"id":"v"},"resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED"}`, "timeVerified is missing"},
		{`{"verifier":{"id":"v"},"timeVerified":"yesterday","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED"}`, "cannot parse"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED"}`, "resourceUri"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{},"verificationResult":"PASSED"}`, "policy.digest"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"OK"}`, "verificationResult"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED","extra":1}`, "unknown field"},
	} {
		if _, err := ParseVSAPredicate([]byte(tc.doc)); !errors.Is(err, ErrMalformed) || !strings.Contains(fmtErr(err), tc.msg) {
			t.Errorf("error %v, want one saying %q", err, tc.msg)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
