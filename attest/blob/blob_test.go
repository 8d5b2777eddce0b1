package blob

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/digest"
	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// artifact makes a model file or a model folder.
func artifact(t *testing.T, kind string) string {
	t.Helper()
	dir := t.TempDir()
	switch kind {
	case "file":
		p := filepath.Join(dir, "model.safetensors")
		if err := os.WriteFile(p, []byte(strings.Repeat("weights ", 5000)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	case "folder":
		p := filepath.Join(dir, "fraud-v3")
		for name, content := range map[string]string{
			"config.json":                   `{"arch":"bert"}`,
			"model-00001.safetensors":       strings.Repeat("a", 10000),
			"model-00002.safetensors":       strings.Repeat("b", 10000),
			"tokenizer/vocab.txt":           "hello\nworld\n",
			"tokenizer/special_tokens.json": "{}",
		} {
			f := filepath.Join(p, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(f), 0o755)
			if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	t.Fatalf("kind %s", kind)
	return ""
}

// tamper changes the artifact after signing.
func tamper(t *testing.T, p string) {
	t.Helper()
	if st, _ := os.Stat(p); st.IsDir() {
		p = filepath.Join(p, "tokenizer/vocab.txt")
	}
	if err := os.WriteFile(p, []byte("poisoned"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// flipSignature alters one bit of the bundle's signature.
func flipSignature(t *testing.T, bundlePath string) {
	t.Helper()
	b, err := sgbundle.LoadJSONFromPath(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	if ms := b.GetMessageSignature(); ms != nil {
		ms.Signature[len(ms.Signature)/2] ^= 1
	} else {
		sig := b.GetDsseEnvelope().Signatures[0].Sig
		sig[len(sig)/2] ^= 1
	}
	out, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bundlePath, out, 0o644)
}

func TestKeyMatrix(t *testing.T) {
	ctx := context.Background()
	keys := map[string]testKey{}
	for _, kt := range keyTypes {
		keys[kt] = newKey(t, kt)
	}
	other := newKey(t, "ecdsa-p256")
	for _, kt := range keyTypes {
		k := keys[kt]
		for _, kind := range []string{"file", "folder"} {
			for _, tc := range []struct {
				name    string
				mutate  func(t *testing.T, path, bundle string)
				keys    []signature.Verifier
				wantErr []error // all must match; nil: verifies
				msg     string
			}{
				{name: "verifies", keys: []signature.Verifier{k.verifier}},
				{name: "verifies with the second key", keys: []signature.Verifier{other.verifier, k.verifier}},
				{name: "tampered content", mutate: func(t *testing.T, p, _ string) { tamper(t, p) }, keys: []signature.Verifier{k.verifier},
					wantErr: []error{ErrNotVerified, ErrContentMismatch}, msg: "changed"},
				{name: "wrong key", keys: []signature.Verifier{other.verifier},
					wantErr: []error{ErrNotVerified, attest.ErrSignature}, msg: "another key"},
				{name: "tampered signature", mutate: func(t *testing.T, _, b string) { flipSignature(t, b) }, keys: []signature.Verifier{k.verifier},
					wantErr: []error{ErrNotVerified, attest.ErrSignature}},
				{name: "missing bundle", mutate: func(t *testing.T, _, b string) { os.Remove(b) }, keys: []signature.Verifier{k.verifier},
					wantErr: []error{ErrNoBundle}, msg: "does not exist"},
				{name: "garbage bundle", mutate: func(t *testing.T, _, b string) { os.WriteFile(b, []byte(`{"mediaType":"x"}`), 0o644) }, keys: []signature.Verifier{k.verifier},
					wantErr: []error{ErrNotVerified}, msg: "not a valid Sigstore bundle"},
			} {
				t.Run(kt+"/"+kind+"/"+tc.name, func(t *testing.T) {
					p := artifact(t, kind)
					bp, err := Sign(ctx, p, SignOptions{Signer: k.signer})
					if err != nil {
						t.Fatal(err)
					}
					wantBP, _ := BundlePath(p)
					if bp != wantBP {
						t.Errorf("bundle written to %s, want %s", bp, wantBP)
					}
					if tc.mutate != nil {
						tc.mutate(t, p, bp)
					}
					res, err := Verify(ctx, p, VerifyOptions{Keys: tc.keys})
					if tc.wantErr == nil {
						if err != nil {
							t.Fatalf("Verify: %v", err)
						}
						wantDigest, _ := Digest(context.Background(), p)
						if res.Digest != wantDigest || res.Kind != kind || res.Bundle != bp || tc.keys[res.Key] != k.verifier {
							t.Errorf("result %+v, want digest %s kind %s", res, wantDigest, kind)
						}
						return
					}
					if err == nil {
						t.Fatal("Verify succeeded")
					}
					t.Logf("rejected: %v", err)
					for _, w := range tc.wantErr {
						if !errors.Is(err, w) {
							t.Errorf("error %q does not wrap %q", err, w)
						}
					}
					if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
						t.Errorf("error %q does not say %q", err, tc.msg)
					}
				})
			}
		}
	}
}

// TestBundleFormat checks what is written against cosign's sign-blob
// format: media type, key hint, digest, no log entry.
func TestBundleFormat(t *testing.T) {
	k := newKey(t, "ecdsa-p256")
	p := artifact(t, "file")
	bp, err := Sign(context.Background(), p, SignOptions{Signer: k.signer})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(bp)
	var got struct {
		MediaType            string `json:"mediaType"`
		VerificationMaterial struct {
			PublicKey   struct{ Hint string } `json:"publicKey"`
			TlogEntries []any                 `json:"tlogEntries"`
		} `json:"verificationMaterial"`
		MessageSignature struct {
			MessageDigest struct{ Algorithm, Digest string } `json:"messageDigest"`
		} `json:"messageSignature"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	d, _, _ := digest.File(context.Background(), p)
	h, _ := hex.DecodeString(strings.TrimPrefix(d, "sha256:"))
	fp, _ := attest.Fingerprint(mustPub(t, k.verifier))
	hint, _ := hex.DecodeString(strings.TrimPrefix(fp, "sha256:"))
	if diff := cmp.Diff([]string{"application/vnd.dev.sigstore.bundle.v0.3+json", "SHA2_256", base64.StdEncoding.EncodeToString(h), base64.StdEncoding.EncodeToString(hint)},
		[]string{got.MediaType, got.MessageSignature.MessageDigest.Algorithm, got.MessageSignature.MessageDigest.Digest, got.VerificationMaterial.PublicKey.Hint}); diff != "" {
		t.Errorf("bundle fields (-want +got):\n%s", diff)
	}
	if len(got.VerificationMaterial.TlogEntries) != 0 {
		t.Errorf("key bundle has %d log entries", len(got.VerificationMaterial.TlogEntries))
	}
}

func mustPub(t *testing.T, v signature.Verifier) any {
	pub, err := v.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestCosignVerifiesOurBundles runs cosign's own bundle verification (the
// code `cosign verify-blob --new-bundle-format --key` ends in) on bundles
// this package wrote.
func TestCosignVerifiesOurBundles(t *testing.T) {
	vs := newVirtualSigstore(t) // any trusted material: cosign requires one
	for _, kt := range keyTypes {
		k := newKey(t, kt)
		t.Run(kt, func(t *testing.T) {
			p := artifact(t, "file")
			bp, err := Sign(context.Background(), p, SignOptions{Signer: k.signer})
			if err != nil {
				t.Fatal(err)
			}
			b, err := sgbundle.LoadJSONFromPath(bp)
			if err != nil {
				t.Fatal(err)
			}
			d, _, _ := digest.File(context.Background(), p)
			h, _ := hex.DecodeString(strings.TrimPrefix(d, "sha256:"))
			co := &cosign.CheckOpts{SigVerifier: k.verifier, IgnoreTlog: true, NewBundleFormat: true, TrustedMaterial: vs.vs}
			if _, err := cosign.VerifyNewBundle(context.Background(), co, verify.WithArtifactDigest("sha256", h), b); err != nil {
				t.Fatalf("cosign rejects our bundle: %v", err)
			}
			other := newKey(t, "ecdsa-p256")
			co.SigVerifier = other.verifier
			if _, err := cosign.VerifyNewBundle(context.Background(), co, verify.WithArtifactDigest("sha256", h), b); err == nil {
				t.Fatal("cosign accepts our bundle with another key")
			}
		})
	}
}

func TestFolderChanges(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, "ecdsa-p256")
	for _, tc := range []struct {
		name   string
		mutate func(dir string)
		msg    string
	}{
		{"file added", func(d string) { os.WriteFile(filepath.Join(d, "backdoor.pkl"), []byte("x"), 0o644) }, "1 not signed (added): backdoor.pkl"},
		{"file removed", func(d string) { os.Remove(filepath.Join(d, "config.json")) }, "1 missing: config.json"},
		{"file renamed", func(d string) {
			os.Rename(filepath.Join(d, "config.json"), filepath.Join(d, "config2.json"))
		}, "1 missing: config.json; 1 not signed (added): config2.json"},
		{"symlink added", func(d string) { os.Symlink("/etc/passwd", filepath.Join(d, "link")) }, "symbolic link"},
		{"file changed", func(d string) { os.WriteFile(filepath.Join(d, "model-00002.safetensors"), []byte("b"), 0o644) }, "1 changed: model-00002.safetensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := artifact(t, "folder")
			if _, err := Sign(ctx, dir, SignOptions{Signer: k.signer}); err != nil {
				t.Fatal(err)
			}
			// The bundle and a VSA inside the folder do not disturb it.
			if _, err := Verify(ctx, dir, VerifyOptions{Keys: []signature.Verifier{k.verifier}}); err != nil {
				t.Fatalf("untouched folder: %v", err)
			}
			tc.mutate(dir)
			_, err := Verify(ctx, dir, VerifyOptions{Keys: []signature.Verifier{k.verifier}})
			if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want ErrNotVerified saying %q", err, tc.msg)
			}
		})
	}
	t.Run("symlink refused when signing", func(t *testing.T) {
		dir := artifact(t, "folder")
		os.Symlink("config.json", filepath.Join(dir, "alias.json"))
		if _, err := Sign(ctx, dir, SignOptions{Signer: k.signer}); !errors.Is(err, digest.ErrSpecialFile) {
			t.Errorf("Sign error %v, want ErrSpecialFile", err)
		}
	})
	t.Run("folder bundle on one of its files", func(t *testing.T) {
		// The manifest names the file's digest, but signs a folder, not it.
		dir := artifact(t, "folder")
		bp, _ := Sign(ctx, dir, SignOptions{Signer: k.signer})
		_, err := Verify(ctx, filepath.Join(dir, "config.json"), VerifyOptions{Keys: []signature.Verifier{k.verifier}, BundlePath: bp})
		if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "not a signature") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("file bundle on a folder", func(t *testing.T) {
		dir := artifact(t, "folder")
		f := artifact(t, "file")
		bp, _ := Sign(ctx, f, SignOptions{Signer: k.signer})
		_, err := Verify(ctx, dir, VerifyOptions{Keys: []signature.Verifier{k.verifier}, BundlePath: bp})
		if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "message signature") {
			t.Errorf("error %v", err)
		}
	})
}

func TestNoTrust(t *testing.T) {
	p := artifact(t, "file")
	if _, err := Verify(context.Background(), p, VerifyOptions{}); !errors.Is(err, attest.ErrNoTrust) || errors.Is(err, ErrNotVerified) {
		t.Errorf("error %v, want ErrNoTrust and not ErrNotVerified", err)
	}
	if _, err := Sign(context.Background(), p, SignOptions{}); !errors.Is(err, attest.ErrNoTrust) {
		t.Errorf("Sign without key: %v", err)
	}
}

func TestVSABesideSubjects(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, "ecdsa-p256")
	for _, kind := range []string{"file", "folder"} {
		t.Run(kind, func(t *testing.T) {
			p := artifact(t, kind)
			if _, err := Sign(ctx, p, SignOptions{Signer: k.signer}); err != nil {
				t.Fatal(err)
			}
			d, err := Digest(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			env, err := attest.SignVSA(ctx, k.signer, attest.VSAOptions{SubjectName: filepath.Base(p), Digest: d, PolicyDigest: "sha256:" + strings.Repeat("ab", 32), Passed: true, VerifiedLevels: []string{"GATEHOUSE_PROD"}, TimeVerified: now})
			if err != nil {
				t.Fatal(err)
			}
			where, err := WriteVSA(p, env)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := VSAPath(p); where != want {
				t.Errorf("written to %s, want %s", where, want)
			}
			// The VSA inside a folder changes neither its digest nor its signature.
			if d2, _ := Digest(context.Background(), p); d2 != d {
				t.Errorf("digest changed by the VSA: %s -> %s", d, d2)
			}
			if _, err := Verify(ctx, p, VerifyOptions{Keys: []signature.Verifier{k.verifier}}); err != nil {
				t.Errorf("Verify after WriteVSA: %v", err)
			}
			got, err := ReadVSA(p)
			if err != nil {
				t.Fatal(err)
			}
			res, err := attest.VerifyVSA(ctx, got, attest.VSAPolicy{Verifiers: []signature.Verifier{k.verifier}, Digest: d, AcceptedPolicyDigests: []string{"sha256:" + strings.Repeat("ab", 32)}, MaxAge: time.Hour, Now: func() time.Time { return now.Add(time.Minute) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Subject.Name != filepath.Base(p) {
				t.Errorf("subject %+v", res.Subject)
			}
		})
	}
	if _, err := ReadVSA(artifact(t, "file")); !errors.Is(err, ErrNoVSA) {
		t.Errorf("ReadVSA without a VSA: %v", err)
	}
	if _, err := WriteVSA(artifact(t, "file"), []byte("{}")); !errors.Is(err, attest.ErrMalformed) {
		t.Errorf("WriteVSA of garbage: %v", err)
	}
}
