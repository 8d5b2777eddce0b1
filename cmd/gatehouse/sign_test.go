package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCmd executes a fresh command (flags do not leak between runs) and
// maps its outcome to an exit code as run does.
func runCmd(t *testing.T, c *cobra.Command, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetArgs(args)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return undecided(err) })
	err := c.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		if ee.err != nil {
			errb.WriteString(ee.err.Error())
		}
		return ee.code, out.String(), errb.String()
	}
	return exitUndecided, out.String(), errb.String() + err.Error()
}

func writeKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pubDER, _ := x509.MarshalPKIXPublicKey(k.Public())
	priv, pub = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestSignVerifyCommands: the exit codes of gatehouse sign and verify for
// files and folders: 0 verified, 1 not verified (with the reason), 2
// could not verify.
func TestSignVerifyCommands(t *testing.T) {
	keys := t.TempDir()
	priv, pub := writeKeyPair(t, keys, "me")
	_, otherPub := writeKeyPair(t, keys, "other")

	for _, kind := range []string{"file", "folder"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			path, victim := filepath.Join(dir, "model.bin"), filepath.Join(dir, "model.bin")
			wantBundle := path + ".sigstore.json"
			if kind == "folder" {
				path = filepath.Join(dir, "model")
				victim = filepath.Join(path, "weights.bin")
				wantBundle = filepath.Join(path, ".gatehouse.sigstore.json")
				if err := os.MkdirAll(filepath.Join(path, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(path, "sub", "config.json"), []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(victim, []byte("weights"), 0o644); err != nil {
				t.Fatal(err)
			}

			code, out, errs := runCmd(t, newSignCmd(), "--key", priv, path)
			if code != 0 || !strings.Contains(out, wantBundle) {
				t.Fatalf("sign: exit %d, stdout %q, stderr %q; want 0 and the bundle path %s", code, out, errs, wantBundle)
			}
			code, out, errs = runCmd(t, newVerifyCmd(), "--key", pub, path)
			if code != 0 || !strings.Contains(out, "verified "+kind) {
				t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, out, errs)
			}
			code, out, _ = runCmd(t, newVerifyCmd(), "--key", pub, "--format", "json", path)
			var res map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res["kind"] != kind || !strings.HasPrefix(res["digest"].(string), "sha256:") {
				t.Errorf("verify --format json: exit %d, %q", code, out)
			}
			// Either of two keys may be the signer; text and JSON name it by its file.
			if code, out, errs = runCmd(t, newVerifyCmd(), "--key", otherPub, "--key", pub, path); code != 0 || !strings.Contains(out, "signed by "+pub) {
				t.Errorf("verify with two keys: exit %d, stdout %q, stderr %s; want it signed by %s", code, out, errs, pub)
			}
			code, out, _ = runCmd(t, newVerifyCmd(), "--key", otherPub, "--key", pub, "--format", "json", path)
			if json.Unmarshal([]byte(out), &res) != nil || res["key"] != pub {
				t.Errorf("verify --format json with two keys: key %v, want %s (%s)", res["key"], pub, out)
			}

			tests := []struct {
				name   string
				args   []string
				before func()
				code   int
				want   string
			}{
				{"wrong key", []string{"--key", otherPub, path}, nil, 1, "does not verify with the 1 key(s) given"},
				{"no key", []string{path}, nil, 2, "give --key"},
				{"unreadable key", []string{"--key", filepath.Join(keys, "missing.pub"), path}, nil, 2, "--key"},
				{"private key as public key", []string{"--key", priv, path}, nil, 2, `want "PUBLIC KEY"`},
				{"identity without trusted root", []string{"--certificate-identity", "a@b", "--certificate-oidc-issuer", "https://x", path}, nil, 2, "--trusted-root"},
				{"identity and identity regexp", []string{"--certificate-identity", "a@b", "--certificate-identity-regexp", "a@.*", "--certificate-oidc-issuer", "https://x", "--trusted-root", pub, path}, nil, 2, "exactly one of --certificate-identity"},
				{"identity without issuer", []string{"--certificate-identity", "a@b", "--trusted-root", pub, path}, nil, 2, "exactly one of --certificate-oidc-issuer"},
				{"unreadable trusted root", []string{"--certificate-identity", "a@b", "--certificate-oidc-issuer", "https://x", "--trusted-root", pub, path}, nil, 2, "--trusted-root"},
				{"bad format", []string{"--key", pub, "--format", "xml", path}, nil, 2, "--format"},
				{"missing bundle", []string{"--key", pub, "--bundle", filepath.Join(dir, "nope.json"), path}, nil, 2, "does not exist"},
				{"tampered", []string{"--key", pub, path}, func() { os.WriteFile(victim, []byte("poisoned"), 0o644) }, 1, "changed"},
			}
			for _, tc := range tests {
				if tc.before != nil {
					tc.before()
				}
				code, _, errs := runCmd(t, newVerifyCmd(), tc.args...)
				if code != tc.code || !strings.Contains(errs, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, code, errs, tc.code, tc.want)
				}
			}
		})
	}

	// sign: errors are exit 2.
	for name, args := range map[string][]string{
		"no key":       {filepath.Join(keys, "me.pub")},
		"public key":   {"--key", pub, filepath.Join(keys, "me.pub")},
		"no such file": {"--key", priv, filepath.Join(keys, "missing.bin")},
	} {
		if code, _, errs := runCmd(t, newSignCmd(), args...); code != 2 || errs == "" {
			t.Errorf("sign %s: exit %d, stderr %q; want 2 with a reason", name, code, errs)
		}
	}
}
