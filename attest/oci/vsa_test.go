package oci

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
)

// TestVSAFormats: a VSA is found and checked by attest.VerifyVSA in both
// formats (cosign's .att tag and a Sigstore bundle referrer), and each
// way a VSA can be wrong is reported with attest's sentinel error.
func TestVSAFormats(t *testing.T) {
	ctx := context.Background()
	host := inProcessRegistry(t)
	c := New(Options{Timeout: 10 * time.Second})
	k, other := newTestKey(t, "ecdsa-p256"), newTestKey(t, "ed25519")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	pd := "sha256:" + strings.Repeat("12", 32)
	now := time.Now()
	vsaStatement := func(t *testing.T, o attest.VSAOptions) []byte {
		st, err := attest.NewVSA(o)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		return b
	}
	tests := []struct {
		name   string
		attach func(t *testing.T, o attest.VSAOptions) error
		mod    func(*attest.VSAOptions)
		want   error // nil: verifies
		format string
	}{
		{name: "tag schema", format: FormatCosignTag, attach: func(t *testing.T, o attest.VSAOptions) error {
			_, err := c.AttachAttestation(ctx, mustDigest(t, o.ResourceURI), dsseSign(t, k, vsaStatement(t, o)), VSAPredicateType)
			return err
		}},
		{name: "bundle referrer", format: FormatBundleReferrer, attach: func(t *testing.T, o attest.VSAOptions) error {
			_, err := c.AttachBundle(ctx, mustDigest(t, o.ResourceURI), keyBundle(t, k, vsaStatement(t, o)))
			return err
		}},
		{name: "bundle signed by another key", want: attest.ErrSignature, attach: func(t *testing.T, o attest.VSAOptions) error {
			_, err := c.AttachBundle(ctx, mustDigest(t, o.ResourceURI), keyBundle(t, other, vsaStatement(t, o)))
			return err
		}},
		{name: "failed", want: attest.ErrNotPassed, mod: func(o *attest.VSAOptions) { o.Passed = false }},
		{name: "too old", want: attest.ErrTooOld, mod: func(o *attest.VSAOptions) { o.TimeVerified = now.Add(-2 * time.Hour) }},
		{name: "other policy", want: attest.ErrPolicyDigest, mod: func(o *attest.VSAOptions) { o.PolicyDigest = "sha256:" + strings.Repeat("34", 32) }},
		{name: "other verifier", want: attest.ErrVerifierID, mod: func(o *attest.VSAOptions) { o.VerifierID = "https://example.com/not-gatehouse" }},
		{name: "about another image", want: attest.ErrDigestMismatch, mod: func(o *attest.VSAOptions) { o.Digest = "sha256:" + strings.Repeat("56", 32) }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := pushRandomImage(t, host, "vsa/case"+string(rune('a'+i)))
			o := attest.VSAOptions{SubjectName: d.Context().Name(), Digest: d.DigestStr(), ResourceURI: d.String(), PolicyDigest: pd,
				Passed: true, VerifiedLevels: []string{"GATEHOUSE_PROD"}, TimeVerified: now}
			if tc.mod != nil {
				tc.mod(&o)
			}
			attach := tc.attach
			if attach == nil {
				attach = tests[0].attach
			}
			if err := attach(t, o); err != nil {
				t.Fatal(err)
			}
			got, err := c.VerifyImageVSA(ctx, d.String(), *vsaPolicy(p, pd))
			if tc.want != nil {
				if !errors.Is(err, ErrNoValidVSA) || !errors.Is(err, tc.want) {
					t.Fatalf("want %v, got %v", tc.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &VerifiedVSA{Digest: d.DigestStr(), Format: tc.format, VSA: attest.VSAPredicate{
				Verifier: attest.VSAVerifier{ID: attest.DefaultVerifierID}, TimeVerified: now.UTC().Truncate(time.Second),
				ResourceURI: d.String(), Policy: attest.Material{Digest: map[string]string{"sha256": strings.Repeat("12", 32)}},
				VerificationResult: "PASSED", VerifiedLevels: []string{"GATEHOUSE_PROD"}, SLSAVersion: "1.0"}}
			got.Location = ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	// No VSA at all, and a policy that cannot verify anything.
	d := pushRandomImage(t, host, "vsa/none")
	if _, err := c.VerifyImageVSA(ctx, d.String(), *vsaPolicy(p, pd)); !errors.Is(err, ErrNoValidVSA) || !strings.Contains(err.Error(), "no VSA") {
		t.Errorf("no VSA: %v", err)
	}
	if _, err := c.VerifyImageVSA(ctx, d.String(), attest.VSAPolicy{AcceptedPolicyDigests: []string{pd}, MaxAge: time.Hour}); !errors.Is(err, attest.ErrVSAPolicy) {
		t.Errorf("no keys: %v", err)
	}
}

func mustDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
