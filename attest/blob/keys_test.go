package blob

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/signature"
)

// testKey is a key pair on disk, loaded the way users' keys are.
type testKey struct {
	name     string
	privPath string
	pubPath  string
	signer   signature.SignerVerifier
	verifier signature.Verifier
}

const testPassword = "correct horse battery staple"

// keyTypes are the key kinds users sign with.
var keyTypes = []string{"ecdsa-p256", "ed25519", "rsa-2048", "cosign-encrypted"}

func newKey(t interface {
	testing.TB
	Setenv(string, string)
}, kind string) testKey {
	t.Helper()
	dir := t.TempDir()
	k := testKey{name: kind, privPath: filepath.Join(dir, kind+".key"), pubPath: filepath.Join(dir, kind+".pub")}
	var privPEM, pubPEM []byte
	if kind == "cosign-encrypted" {
		kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(testPassword), nil })
		if err != nil {
			t.Fatal(err)
		}
		privPEM, pubPEM = kb.PrivateBytes, kb.PublicBytes
	} else {
		var priv crypto.Signer
		var err error
		switch kind {
		case "ecdsa-p256":
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case "ed25519":
			_, priv, err = ed25519.GenerateKey(rand.Reader)
		case "rsa-2048":
			priv, err = rsa.GenerateKey(rand.Reader, 2048)
		default:
			t.Fatalf("unknown key kind %s", kind)
		}
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		privPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		pubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	}
	if err := os.WriteFile(k.privPath, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.pubPath, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(attest.PasswordEnv, testPassword)
	var err error
	if k.signer, err = attest.LoadSigner(k.privPath); err != nil {
		t.Fatalf("LoadSigner(%s): %v", kind, err)
	}
	if k.verifier, err = attest.LoadVerifier(k.pubPath); err != nil {
		t.Fatalf("LoadVerifier(%s): %v", kind, err)
	}
	return k
}
