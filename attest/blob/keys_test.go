package blob

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/internal/testkeys"
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

const testPassword = testkeys.Password

// keyTypes are the key kinds users sign with.
var keyTypes = []string{"ecdsa-p256", "ed25519", "rsa-2048", "cosign-encrypted"}

func newKey(t interface {
	testing.TB
	Setenv(string, string)
}, kind string) testKey {
	t.Helper()
	dir := t.TempDir()
	k := testKey{name: kind, privPath: filepath.Join(dir, kind+".key"), pubPath: filepath.Join(dir, kind+".pub")}
	pair := testkeys.New(t, kind)
	privPEM, pubPEM := pair.PrivPEM, pair.PubPEM
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
