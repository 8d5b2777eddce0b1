package attest

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/gatehouse-dev/gatehouse/attest/internal/testkeys"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

const testPassword = testkeys.Password

type keyPair struct {
	priv, pub []byte // PEM
}

// genKey makes the key files users bring: openssl-style PKCS#8 and PKIX
// PEM, or cosign's encrypted key pair.
func genKey(t testing.TB, kind string) keyPair {
	t.Helper()
	k := testkeys.New(t, kind)
	return keyPair{k.PrivPEM, k.PubPEM}
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadPair loads a generated key pair from files.
func loadPair(t testing.TB, kind string) (signature.SignerVerifier, signature.Verifier) {
	t.Helper()
	kp := genKey(t, kind)
	t.Setenv(PasswordEnv, testPassword)
	s, err := LoadSigner(writeTemp(t, "key", kp.priv))
	if err != nil {
		t.Fatalf("LoadSigner %s: %v", kind, err)
	}
	v, err := LoadVerifier(writeTemp(t, "key.pub", kp.pub))
	if err != nil {
		t.Fatalf("LoadVerifier %s: %v", kind, err)
	}
	return s, v
}

func TestLoadKeys(t *testing.T) {
	for _, kind := range []string{"ecdsa-p256", "ed25519", "rsa-2048", "cosign-encrypted"} {
		t.Run(kind, func(t *testing.T) {
			s, v := loadPair(t, kind)
			msg := []byte("the model")
			sig, err := s.SignMessage(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err != nil {
				t.Errorf("signature by the private key does not verify with the public key: %v", err)
			}
			sp, _ := s.PublicKey()
			vp, _ := v.PublicKey()
			a, _ := Fingerprint(sp)
			b, _ := Fingerprint(vp)
			if a != b || !strings.HasPrefix(a, "sha256:") || len(a) != 71 {
				t.Errorf("fingerprints %s and %s", a, b)
			}
		})
	}
}

func TestLoadKeyErrors(t *testing.T) {
	ec := genKey(t, "ecdsa-p256")
	cos := genKey(t, "cosign-encrypted")
	encPKCS8 := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	for _, tc := range []struct {
		name     string
		data     []byte
		public   bool
		password string
		msg      string
	}{
		{"wrong cosign password", cos.priv, false, "wrong password", "COSIGN_PASSWORD"},
		{"no cosign password", cos.priv, false, "", "COSIGN_PASSWORD"},
		{"not PEM", []byte("hello"), false, "", "not a PEM file"},
		{"public key as private", ec.pub, false, "", "not a private key"},
		{"private key as public", ec.priv, true, "", `want "PUBLIC KEY"`},
		{"encrypted PKCS#8", encPKCS8, false, "", "password-protected PEM keys are not supported"},
		{"RSA 1024", genKey(t, "rsa-1024").priv, false, "", "too small"},
		{"RSA 1024 public", genKey(t, "rsa-1024").pub, true, "", "too small"},
		{"P-224", genKey(t, "ecdsa-p224").priv, false, "", "P-224"},
		{"too large", bytes.Repeat([]byte("A"), MaxKeyFileBytes+1), false, "", "not a key file"},
		{"garbage public", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), true, "", "key.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, tc.password)
			p := writeTemp(t, "key.pem", tc.data)
			var err error
			if tc.public {
				_, err = LoadVerifier(p)
			} else {
				_, err = LoadSigner(p)
			}
			if !errors.Is(err, ErrKey) {
				t.Fatalf("error %v, want ErrKey", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			// Never key material or passwords in messages.
			if tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("error reveals the password: %q", err)
			}
			if body := pemBody(tc.data); len(body) > 20 && strings.Contains(err.Error(), body[:20]) {
				t.Errorf("error reveals key material: %q", err)
			}
		})
	}
	if _, err := LoadSigner(filepath.Join(t.TempDir(), "missing.key")); !errors.Is(err, ErrKey) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: %v", err)
	}
}

func pemBody(b []byte) string {
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 {
		return ""
	}
	return lines[len(lines)/2]
}

// TestKeyFileSpecial: a key path naming a FIFO or a device is refused at
// once, naming the file, never waited on or read without end.
func TestKeyFileSpecial(t *testing.T) {
	for name, p := range testkeys.SpecialFiles(t) {
		for _, load := range []struct {
			what string
			fn   func(string) error
		}{
			{"LoadSigner", func(p string) error { _, err := LoadSigner(p); return err }},
			{"LoadVerifier", func(p string) error { _, err := LoadVerifier(p); return err }},
		} {
			t.Run(name+"/"+load.what, func(t *testing.T) {
				err := testkeys.Within(t, 2*time.Second, func() error { return load.fn(p) })
				if !errors.Is(err, ErrKey) || !errors.Is(err, readlimit.ErrNotRegular) || !strings.Contains(err.Error(), p) {
					t.Errorf("error %v, want ErrKey and ErrNotRegular naming %s", err, p)
				}
			})
		}
	}
}
