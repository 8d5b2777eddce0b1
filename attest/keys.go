package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// PasswordEnv is the environment variable holding the password of a
// cosign-encrypted private key (as cosign itself reads it).
const PasswordEnv = "COSIGN_PASSWORD"

// MaxKeyFileBytes bounds key files: a PEM key is a few KiB at most.
const MaxKeyFileBytes = 64 << 10

// MinRSABits is the smallest RSA modulus accepted for signing or verifying.
const MinRSABits = 2048

// ErrKey is wrapped by every error about a key file that cannot be used.
var ErrKey = errors.New("unusable key")

// LoadSigner reads a private key file: a cosign-encrypted key
// ("ENCRYPTED SIGSTORE PRIVATE KEY" or the older "ENCRYPTED COSIGN PRIVATE
// KEY"; the password is read from COSIGN_PASSWORD) or an unencrypted PEM key
// (PKCS#8 as openssl writes it, SEC 1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE
// KEY"). ECDSA P-256/P-384/P-521, Ed25519 and RSA ≥ 2048 bits are accepted;
// ECDSA and RSA sign SHA-256 digests (RSA as PKCS#1 v1.5), as cosign does.
func LoadSigner(path string) (signature.SignerVerifier, error) {
	data, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSigner(path, data, []byte(os.Getenv(PasswordEnv)))
}

// ParseSigner is LoadSigner on bytes already read; name is used in errors.
// password is only used for cosign-encrypted keys.
func ParseSigner(name string, data, password []byte) (signature.SignerVerifier, error) {
	if bytes.Contains(data, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) || bytes.Contains(data, []byte("ENCRYPTED COSIGN PRIVATE KEY")) {
		sv, err := cosign.LoadPrivateKey(data, password, nil)
		if err != nil {
			// cosign's message says "decrypt: ..." for a wrong password; it
			// never contains the password or the key.
			return nil, fmt.Errorf("%w: %s: cosign-encrypted private key: %v (is %s set to the key's password?)", ErrKey, name, err, PasswordEnv)
		}
		if err := checkPublic(sv); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrKey, name, err)
		}
		return sv, nil
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: %s: not a PEM file (want a PKCS#8 \"PRIVATE KEY\" or a cosign key)", ErrKey, name)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, fmt.Errorf("%w: %s: password-protected PEM keys are not supported: use a cosign key (cosign import-key-pair) or an unencrypted PKCS#8 key", ErrKey, name)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.SkipPassword)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: PEM block %q is not a private key: %v", ErrKey, name, block.Type, err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, name, err)
	}
	if err := checkPublic(sv); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, name, err)
	}
	return sv, nil
}

// LoadVerifier reads a PEM public key file (PKIX "PUBLIC KEY", as cosign
// generate-key-pair and openssl write it).
func LoadVerifier(path string) (signature.Verifier, error) {
	data, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return ParseVerifier(path, data)
}

// ParseVerifier reads a PEM public key; name is used in errors.
func ParseVerifier(name string, data []byte) (signature.Verifier, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: %s: not a PEM file (want a \"PUBLIC KEY\")", ErrKey, name)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: %s: PEM block is %q, want \"PUBLIC KEY\" (a private key or certificate is not a verification key)", ErrKey, name, block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, name, err)
	}
	if err := checkKey(pub); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, name, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, name, err)
	}
	return v, nil
}

// Fingerprint is "sha256:<hex>" of the PKIX DER encoding of a public key:
// it names a key in evidence and errors without revealing anything.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// PublicKeyPEM encodes a verifier's public key as PEM (PKIX).
func PublicKeyPEM(v signature.PublicKeyProvider) ([]byte, error) {
	pub, err := v.PublicKey()
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}

// ReadKeyFile reads a key (or certificate) file named by a flag or a
// parameter: a regular file of at most MaxKeyFileBytes, opened without
// blocking (a FIFO or device is refused at once, never waited on). Errors
// wrap ErrKey and name the file.
func ReadKeyFile(path string) ([]byte, error) {
	data, err := readlimit.File(path, MaxKeyFileBytes)
	switch {
	case errors.Is(err, readlimit.ErrTooLarge):
		return nil, fmt.Errorf("%w: %s: more than %d bytes: not a key file", ErrKey, path, MaxKeyFileBytes)
	case err != nil:
		return nil, fmt.Errorf("%w: read key: %w", ErrKey, err)
	}
	return data, nil
}

func checkPublic(v signature.PublicKeyProvider) error {
	pub, err := v.PublicKey()
	if err != nil {
		return err
	}
	return checkKey(pub)
}

func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("ECDSA curve %s is not supported (want P-256, P-384 or P-521)", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits is too small (want at least %d)", k.N.BitLen(), MinRSABits)
		}
		return nil
	}
	return fmt.Errorf("key type %T is not supported (want ECDSA, Ed25519 or RSA)", pub)
}
