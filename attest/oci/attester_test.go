package oci

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/gatehouse-dev/gatehouse/attest/internal/testkeys"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/signature"
)

// TestAttesterRefuses: only a decision that is allowed, of a run that
// evaluated every required gate, and that states what it judged gets a
// VSA; each refusal names its reason, and nothing is written.
func TestAttesterRefuses(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	model, _ := fileSubjects(t)
	subj := gates.Subject{Kind: gates.KindModel, Ref: model}
	if err := (&Resolver{}).Resolve(ctx, &subj); err != nil {
		t.Fatal(err)
	}
	pd := "sha256:" + strings.Repeat("9a", 32)
	att := &Attester{Client: New(Options{}), Signer: k.signer}
	finding := func(rule string) []gates.Finding {
		return []gates.Finding{{Gate: "model_scan", Rule: rule, Severity: gates.SeverityCritical, Message: "m"}}
	}
	for _, tc := range []struct {
		name string
		edit func(d *gates.Decision)
		nil_ bool
		want error
		msg  string
	}{
		{name: "nil decision", nil_: true, want: ErrNotDecided},
		{name: "denied", edit: func(d *gates.Decision) { d.Allowed, d.Violations = false, finding("unsafe_global") }, want: ErrNotAllowed, msg: "is denied"},
		{name: "not allowed without violations", edit: func(d *gates.Decision) { d.Allowed = false }, want: ErrNotAllowed},
		{name: "allowed but a violation", edit: func(d *gates.Decision) { d.Violations = finding("unsafe_global") }, want: ErrNotAllowed},
		{name: "evidence missing", edit: func(d *gates.Decision) { d.Allowed, d.Violations = false, finding("evidence_missing") }, want: ErrNotDecided, msg: "not decided"},
		{name: "undecided reasons", edit: func(d *gates.Decision) { d.Undecided = []string{"sonarqube: connection refused"} }, want: ErrNotDecided, msg: "sonarqube: connection refused"},
		{name: "partial run (--gate sonarqube)", edit: func(d *gates.Decision) { d.Gates, d.Partial = []string{"signature"}, true }, want: ErrPartial,
			msg: "skipped required gates [license model_scan]: a partial run is not attested"},
		{name: "required gates not covered, not marked partial", edit: func(d *gates.Decision) { d.Gates = []string{"license", "signature"} }, want: ErrPartial, msg: "[model_scan]"},
		{name: "marked partial", edit: func(d *gates.Decision) { d.Partial = true }, want: ErrPartial, msg: "marked partial"},
		{name: "no configuration digest", edit: func(d *gates.Decision) { d.ConfigDigest = "" }, want: ErrIncompleteDecision, msg: "no configuration digest"},
		{name: "bad configuration digest", edit: func(d *gates.Decision) { d.ConfigDigest = "sha256:c0" }, want: ErrIncompleteDecision, msg: "configuration digest"},
		{name: "bad policy digest", edit: func(d *gates.Decision) { d.PolicyDigest = "" }, want: ErrIncompleteDecision, msg: "policy digest"},
		{name: "no environment", edit: func(d *gates.Decision) { d.Environment = "" }, want: ErrIncompleteDecision, msg: "no environment"},
		{name: "no gates", edit: func(d *gates.Decision) { d.Gates, d.RequiredGates = nil, nil }, want: ErrIncompleteDecision, msg: "evaluated no gate"},
		{name: "no subject digest", edit: func(d *gates.Decision) { d.Subject.Digest = "" }, want: ErrIncompleteDecision, msg: "no subject digest"},
		{name: "bad evidence digest", edit: func(d *gates.Decision) { d.EvidenceDigests["pii"] = "md5:00" }, want: ErrIncompleteDecision, msg: "evidence pii"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := passedDecision(subj, "prod", pd)
			if tc.edit != nil {
				tc.edit(d)
			}
			if tc.nil_ {
				d = nil
			}
			loc, err := att.Attest(ctx, d)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v (VSA at %q), want %v saying %q", err, loc, tc.want, tc.msg)
			}
			for _, other := range []error{ErrNotAllowed, ErrNotDecided, ErrPartial, ErrIncompleteDecision} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			if _, err := os.Stat(model + blob.VSASuffix); !os.IsNotExist(err) {
				t.Errorf("a VSA was written: %v", err)
			}
		})
	}
}

// TestAttesterStatesWhatWasJudged: the VSA of a full run carries the gate
// set, configuration digest, environment and evidence read, and a
// verifier that requires more gates than ran refuses it.
func TestAttesterStatesWhatWasJudged(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	model, _ := fileSubjects(t)
	subj := gates.Subject{Kind: gates.KindModel, Ref: model}
	if err := (&Resolver{}).Resolve(ctx, &subj); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	pd := "sha256:" + strings.Repeat("9a", 32)
	d := passedDecision(subj, "prod", pd)
	d.Gates = []string{"signature", "model_scan", "license", "pii"} // more than required, any order
	d.EvidenceDigests["model_scan"] = "sha256:" + strings.Repeat("e2", 32)
	att := &Attester{Client: New(Options{}), Signer: k.signer, Now: func() time.Time { return now }}
	if _, err := att.Attest(ctx, d); err != nil {
		t.Fatal(err)
	}
	env, err := blob.ReadVSA(model)
	if err != nil {
		t.Fatal(err)
	}
	policy := attest.VSAPolicy{Verifiers: []signature.Verifier{k.signer}, Digest: subj.Digest, AcceptedPolicyDigests: []string{pd},
		MaxAge: time.Hour, Level: "GATEHOUSE_PROD", Now: func() time.Time { return now }, Environment: "prod",
		RequiredGates: testGates, AcceptedConfigDigests: []string{testConfigDigest}}
	res, err := attest.VerifyVSA(ctx, env, policy)
	if err != nil {
		t.Fatal(err)
	}
	want := &attest.VSAGatehouse{Environment: "prod", Gates: []string{"license", "model_scan", "pii", "signature"}, RequiredGates: testGates,
		ConfigDigest: map[string]string{"sha256": strings.Repeat("c0", 32)}}
	if diff := cmp.Diff(want, res.VSA.Gatehouse); diff != "" {
		t.Errorf("extension (-want +got):\n%s", diff)
	}
	wantInputs := []attest.Material{
		{Name: "model_scan", Digest: map[string]string{"sha256": strings.Repeat("e2", 32)}},
		{Name: "signatures", Digest: map[string]string{"sha256": strings.Repeat("e1", 32)}},
	}
	if diff := cmp.Diff(wantInputs, res.VSA.InputAttestations); diff != "" {
		t.Errorf("inputAttestations (-want +got):\n%s", diff)
	}
	policy.RequiredGates = append(policy.RequiredGates, "sonarqube")
	if _, err := attest.VerifyVSA(ctx, env, policy); !errors.Is(err, attest.ErrGates) || !strings.Contains(err.Error(), "[sonarqube]") {
		t.Errorf("verifier requiring sonarqube: %v", err)
	}
}

// TestPolicyFilesSpecial: key files and the trusted root named in a
// gate's params are opened without blocking and refused when they are a
// FIFO or a device, naming the file.
func TestPolicyFilesSpecial(t *testing.T) {
	for name, p := range testkeys.SpecialFiles(t) {
		for _, tc := range []struct {
			param  string
			params map[string]any
		}{
			{"keys", map[string]any{"keys": []any{p}}},
			{"trusted_root", map[string]any{"identities": []any{map[string]any{"issuer": testIssuer, "subject": testIdentity}}, "trusted_root": p}},
		} {
			t.Run(name+"/"+tc.param, func(t *testing.T) {
				err := testkeys.Within(t, 2*time.Second, func() error { _, err := PolicyFromParams(tc.params, nil); return err })
				if !errors.Is(err, readlimit.ErrNotRegular) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.param) {
					t.Errorf("error %v, want ErrNotRegular naming %s and %s", err, tc.param, p)
				}
			})
		}
	}
}
