// Package testkeys makes the key files users bring, for the attest
// packages' tests: openssl-style PKCS#8 private and PKIX public PEM keys,
// and cosign's encrypted key pairs. One place, so every test signs with
// the same kinds of key.
package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/sigstore/cosign/v2/pkg/cosign"
)

// Password encrypts the cosign key pairs (COSIGN_PASSWORD in tests).
const Password = "correct horse battery staple"

// Pair is a generated key: its PEM files and, except for cosign's
// encrypted keys, the private key itself.
type Pair struct {
	Signer  crypto.Signer // nil for "cosign-encrypted"
	PrivPEM []byte
	PubPEM  []byte
}

// New makes a key of kind: ecdsa-p256, ecdsa-p224, ed25519, rsa-2048,
// rsa-1024 or cosign-encrypted.
func New(t testing.TB, kind string) Pair {
	t.Helper()
	if kind == "cosign-encrypted" {
		kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(Password), nil })
		if err != nil {
			t.Fatal(err)
		}
		return Pair{PrivPEM: kb.PrivateBytes, PubPEM: kb.PublicBytes}
	}
	var priv crypto.Signer
	var err error
	switch kind {
	case "ecdsa-p256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p224":
		priv, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "rsa-2048":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa-1024":
		priv, err = rsa.GenerateKey(rand.Reader, 1024)
	default:
		t.Fatalf("testkeys: unknown key kind %q", kind)
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
	return Pair{
		Signer:  priv,
		PrivPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		PubPEM:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
	}
}
