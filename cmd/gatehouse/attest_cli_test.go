package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
)

// TestSignKeyFilesDoNotHang: every key, certificate or trusted-root file
// named by a flag of sign, verify and check --attest is opened without
// blocking: a FIFO (or a device) is refused within 2 s, exit 2, naming
// the file.
func TestSignKeyFilesDoNotHang(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.bin")
	if err := os.WriteFile(model, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	priv, pub := writeKeyPair(t, dir, "k")
	if r := gatehouse(t, nil, "sign", "--key", priv, model); r.code != 0 {
		t.Fatalf("sign: exit %d\n%s", r.code, r.stderr)
	}
	tests := []struct {
		name string
		file string
		args func(file string) []string
	}{
		{"sign --key FIFO", namedFIFO(t, "cosign.key"), func(f string) []string { return []string{"sign", "--key", f, model} }},
		{"sign --key /dev/zero", "/dev/zero", func(f string) []string { return []string{"sign", "--key", f, model} }},
		{"verify --key FIFO", namedFIFO(t, "cosign.pub"), func(f string) []string { return []string{"verify", "--key", f, model} }},
		{"verify --bundle FIFO", namedFIFO(t, "m.sigstore.json"), func(f string) []string { return []string{"verify", "--key", pub, "--bundle", f, model} }},
		{"verify --trusted-root FIFO", namedFIFO(t, "trusted_root.json"), func(f string) []string {
			return []string{"verify", "--certificate-identity", "a@example.com", "--certificate-oidc-issuer", "https://issuer.example", "--trusted-root", f, model}
		}},
		{"check --attest --key FIFO", namedFIFO(t, "attest.key"), func(f string) []string {
			return []string{"check", "--env", "dev", "--attest", "--key", f, "model:" + model}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBounded(t, 2*time.Second, tt.args(tt.file)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.file) || !strings.Contains(r.stderr, "not a regular file") {
				t.Fatalf("exit %d, want 2 naming %s as not a regular file\nstderr:\n%s", r.code, tt.file, r.stderr)
			}
		})
	}
}

// TestCheckAttestStatesWhatWasJudged: the VSA of a full run, written by
// check --attest, names the environment, the gates that ran and the
// configuration digest; VerifyVSA accepts it for what ran and refuses it
// where more gates (prod's) are required.
func TestCheckAttestStatesWhatWasJudged(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "clean")
	if err := os.CopyFS(model, os.DirFS(filepath.Join(repo, "testdata/models/clean"))); err != nil {
		t.Fatal(err)
	}
	priv, _ := writeKeyPair(t, dir, "k")
	r := gatehouse(t, nil, "check", "--env", "dev", "--format", "json", "--attest", "--key", priv, "model:"+model)
	if r.code != 0 || !strings.Contains(r.stderr, "verification summary for") {
		t.Fatalf("exit %d, want 0 with a VSA\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	env, err := blob.ReadVSA(model)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := blob.Digest(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := attest.LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.ParseStatement(mustPayload(t, env))
	if err != nil {
		t.Fatal(err)
	}
	v, err := attest.ParseVSAPredicate(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	x := v.Gatehouse
	if x == nil || x.Environment != "dev" || !slices.Contains(x.Gates, "model_scan") || len(x.ConfigDigest) == 0 {
		t.Fatalf("VSA does not state what was judged: %+v", x)
	}
	policy := attest.VSAPolicy{Verifiers: []signature.Verifier{sv}, Digest: dg, AcceptedPolicyDigests: []string{"sha256:" + v.Policy.Digest["sha256"]},
		MaxAge: time.Hour, Environment: "dev", RequiredGates: []string{"model_scan"}, AcceptedConfigDigests: []string{"sha256:" + x.ConfigDigest["sha256"]}}
	if _, err := attest.VerifyVSA(context.Background(), env, policy); err != nil {
		t.Fatalf("VSA of the dev run: %v", err)
	}
	policy.RequiredGates, policy.Environment = []string{"model_scan", "license", "model_card", "signature"}, ""
	if _, err := attest.VerifyVSA(context.Background(), env, policy); err == nil || !strings.Contains(err.Error(), "[license model_card signature] did not run") {
		t.Fatalf("VSA of a dev run accepted where prod's gates are required: %v", err)
	}
}

// mustPayload is the statement a DSSE envelope carries.
func mustPayload(t *testing.T, envelope []byte) []byte {
	t.Helper()
	e, err := attest.ParseEnvelope(envelope)
	if err != nil {
		t.Fatal(err)
	}
	return e.Payload
}

// TestSignHonoursSIGTERM: hashing a large file for `sign` ends on SIGTERM
// with exit 2, no bundle written.
func TestSignHonoursSIGTERM(t *testing.T) {
	dir := t.TempDir()
	priv, _ := writeKeyPair(t, dir, "k")
	big := filepath.Join(dir, "model.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(64 << 30) // sparse 64 GiB: minutes to hash, no disk
	f.Close()
	cmd, wait := startGatehouse(t, nil, nil, "sign", "--key", priv, big)
	waitOpened(t, cmd, big, 200*time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	r := wait()
	if took := time.Since(sent); took > 2*time.Second {
		t.Errorf("exited %v after SIGTERM, want within 2 s", took)
	}
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(big + ".sigstore.json"); err == nil {
		t.Error("a bundle was written for an interrupted run")
	}
}
