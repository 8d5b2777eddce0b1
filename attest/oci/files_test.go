package oci

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/signature"
)

// fileSubjects makes a model file and a dataset folder in a fresh folder.
func fileSubjects(t *testing.T) (model, dataset string) {
	t.Helper()
	dir := t.TempDir()
	model = filepath.Join(dir, "fraud.safetensors")
	dataset = filepath.Join(dir, "claims")
	if err := os.WriteFile(model, []byte("weights v3"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dataset, "2026"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"2026/jan.csv": "id,amount\n1,10\n", "README.md": "# claims\n"} {
		if err := os.WriteFile(filepath.Join(dataset, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return model, dataset
}

// TestFileSignatures: the signatures collector verifies blob bundles of
// model files and dataset folders (key-based, each key type), and reports
// unsigned, tampered and wrongly signed subjects as not verified.
func TestFileSignatures(t *testing.T) {
	ctx := context.Background()
	keys := map[string]testKey{}
	for _, alg := range []string{"ecdsa-p256", "ed25519", "rsa"} {
		keys[alg] = newTestKey(t, alg)
	}
	other := newTestKey(t, "ecdsa-p256")
	type tc struct {
		name, subject, signer string
		tamper                func(model, dataset string)
		verified              bool
		wantErr               string // in the signature's error
		noBundle              bool
	}
	var tests []tc
	for _, subject := range []string{"model", "dataset"} {
		for _, alg := range []string{"ecdsa-p256", "ed25519", "rsa"} {
			tests = append(tests, tc{name: subject + "/" + alg, subject: subject, signer: alg, verified: true})
		}
		tests = append(tests,
			tc{name: subject + "/unsigned", subject: subject, noBundle: true},
			tc{name: subject + "/other key", subject: subject, signer: "other", wantErr: "not verified"},
		)
	}
	tests = append(tests,
		tc{name: "model/changed after signing", subject: "model", signer: "ecdsa-p256", wantErr: "not verified",
			tamper: func(model, _ string) { os.WriteFile(model, []byte("weights v4"), 0o600) }},
		tc{name: "dataset/file added after signing", subject: "dataset", signer: "ed25519", wantErr: "not verified",
			tamper: func(_, dataset string) { os.WriteFile(filepath.Join(dataset, "extra.csv"), []byte("x"), 0o600) }},
		tc{name: "dataset/file changed after signing", subject: "dataset", signer: "rsa", wantErr: "not verified",
			tamper: func(_, dataset string) {
				os.WriteFile(filepath.Join(dataset, "README.md"), []byte("# changed\n"), 0o600)
			}},
	)
	p, err := PolicyFromParams(map[string]any{"keys": []any{string(keys["ecdsa-p256"].pubPEM), string(keys["ed25519"].pubPEM), string(keys["rsa"].pubPEM)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyIndex := map[string]int{"ecdsa-p256": 0, "ed25519": 1, "rsa": 2}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model, dataset := fileSubjects(t)
			path, kind := model, gates.KindModel
			if tc.subject == "dataset" {
				path, kind = dataset, gates.KindDataset
			}
			if !tc.noBundle {
				k := other
				if tc.signer != "other" {
					k = keys[tc.signer]
				}
				if _, err := blob.Sign(ctx, path, blob.SignOptions{Signer: k.signer}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.tamper != nil {
				tc.tamper(model, dataset)
			}
			subj := gates.Subject{Kind: kind, Ref: path}
			if err := (&Resolver{Client: New(Options{})}).Resolve(ctx, &subj); err != nil {
				t.Fatal(err)
			}
			col := &SignaturesCollector{Client: New(Options{}), Policy: p}
			if !col.Applies(subj) {
				t.Fatal("collector does not apply")
			}
			out, err := col.Collect(ctx, subj)
			if err != nil {
				t.Fatal(err)
			}
			ev := out.(*SignaturesEvidence)
			if ev.Verified != tc.verified || ev.Digest != subj.Digest || ev.Schema != SignaturesSchema {
				t.Fatalf("verified=%v digest=%s (subject %s): %+v", ev.Verified, ev.Digest, subj.Digest, ev)
			}
			if tc.noBundle {
				if len(ev.Signatures) != 0 {
					t.Errorf("unsigned, yet signatures %+v", ev.Signatures)
				}
				return
			}
			if len(ev.Signatures) != 1 {
				t.Fatalf("signatures %+v", ev.Signatures)
			}
			got := ev.Signatures[0]
			bundle, _ := blob.BundlePath(path)
			if got.Location != bundle || got.Format != FormatBlobBundle {
				t.Errorf("location %s format %s, want %s %s", got.Location, got.Format, bundle, FormatBlobBundle)
			}
			if tc.verified {
				k := p.Keys[keyIndex[tc.signer]]
				want := SignatureResult{Format: FormatBlobBundle, Verified: true, Key: k.Ref, Fingerprint: k.Fingerprint, Location: bundle}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
			} else if got.Verified || !strings.Contains(got.Error, tc.wantErr) {
				t.Errorf("want unverified with %q, got %+v", tc.wantErr, got)
			}
		})
	}

	// Verification that cannot be done is an error (evidence error: deny).
	col := &SignaturesCollector{Client: New(Options{}), Policy: p}
	if _, err := col.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing model: no error")
	}
	noTrust := &SignaturesCollector{Client: New(Options{}), PolicyErr: ErrNoTrust}
	if _, err := noTrust.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: "x"}); !errors.Is(err, ErrNoTrust) {
		t.Errorf("no keys: %v", err)
	}
}

// TestFileVSA: check --attest writes the VSA of a passed file or folder
// decision beside it; attest.VerifyVSA accepts it; the folder's digest is
// unchanged by the VSA inside it; a subject changed since the decision
// gets no VSA.
func TestFileVSA(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	pd := "sha256:" + strings.Repeat("9a", 32)
	att := &Attester{Client: New(Options{}), Signer: k.signer, Now: func() time.Time { return now }}
	model, dataset := fileSubjects(t)
	for _, tc := range []struct {
		kind    gates.Kind
		path    string
		wantLoc string
	}{
		{gates.KindModel, model, model + blob.VSASuffix},
		{gates.KindDataset, dataset, filepath.Join(dataset, blob.FolderVSAName)},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			subj := gates.Subject{Kind: tc.kind, Ref: tc.path}
			if err := (&Resolver{Client: att.Client}).Resolve(ctx, &subj); err != nil {
				t.Fatal(err)
			}
			loc, err := att.Attest(ctx, passedDecision(subj, "staging", pd))
			if err != nil {
				t.Fatal(err)
			}
			if loc != tc.wantLoc {
				t.Errorf("VSA written to %s, want %s", loc, tc.wantLoc)
			}
			after, err := blob.Digest(context.Background(), tc.path)
			if err != nil || after != subj.Digest {
				t.Errorf("digest after writing the VSA: %s (%v), before %s", after, err, subj.Digest)
			}
			env, err := blob.ReadVSA(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := attest.VerifyVSA(ctx, env, attest.VSAPolicy{Verifiers: []signature.Verifier{k.signer}, Digest: subj.Digest, AcceptedPolicyDigests: []string{pd},
				MaxAge: time.Hour, Level: "GATEHOUSE_STAGING", Now: func() time.Time { return now.Add(time.Minute) },
				RequiredGates: testGates, AcceptedConfigDigests: []string{testConfigDigest}, Environment: "staging"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Subject.Name != filepath.Base(tc.path) || res.VSA.VerificationResult != attest.VSAPassed {
				t.Errorf("VSA %+v subject %+v", res.VSA, res.Subject)
			}
		})
	}
	// Changed since the decision: refused.
	subj := gates.Subject{Kind: gates.KindModel, Ref: model}
	if err := (&Resolver{Client: att.Client}).Resolve(ctx, &subj); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(model, []byte("weights v9"), 0o600)
	if _, err := att.Attest(ctx, passedDecision(subj, "prod", pd)); err == nil || !strings.Contains(err.Error(), "changed since the decision") {
		t.Errorf("changed model: %v", err)
	}
	if _, err := att.Attest(ctx, &gates.Decision{Subject: subj, Allowed: false}); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("denied decision: %v", err)
	}
}

// TestFileSignatureKeyless: a model signed keylessly (DSSE statement of
// the file's digest in a bundle with a certificate and a log entry) is
// verified against the trusted root and the configured identity.
func TestFileSignatureKeyless(t *testing.T) {
	ctx := context.Background()
	f := newFulcio(t)
	p, err := PolicyFromParams(map[string]any{"identities": []any{map[string]any{"issuer": testIssuer, "subject": testIdentity}},
		"trusted_root": f.trustedRootFile(t), "ignore_sct": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, identity string
		verified       bool
	}{
		{"configured identity", testIdentity, true},
		{"another identity", "mallory@example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model, _ := fileSubjects(t)
			dg, err := blob.Digest(context.Background(), model)
			if err != nil {
				t.Fatal(err)
			}
			st, err := attest.NewStatement(CosignSignPredicateType, map[string]any{},
				attest.Subject{Name: filepath.Base(model), Digest: map[string]string{"sha256": strings.TrimPrefix(dg, "sha256:")}})
			if err != nil {
				t.Fatal(err)
			}
			stmt, _ := json.Marshal(st)
			if err := os.WriteFile(model+blob.BundleSuffix, f.keylessBundle(t, stmt, tc.identity, testIssuer, 5*time.Minute), 0o600); err != nil {
				t.Fatal(err)
			}
			ev, err := VerifyFileSignature(ctx, model, p)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Verified != tc.verified || len(ev.Signatures) != 1 {
				t.Fatalf("verified=%v %+v", ev.Verified, ev.Signatures)
			}
			if got := ev.Signatures[0]; tc.verified && (got.Identity != testIdentity || got.Issuer != testIssuer || !got.Tlog) {
				t.Errorf("keyless result %+v", got)
			}
		})
	}
}
