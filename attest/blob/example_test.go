package blob_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Sign a model folder, verify it, then catch a file slipped in afterwards.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)

	// In practice: attest.LoadSigner("cosign.key"), attest.LoadVerifier("cosign.pub").
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, _ := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)

	bundle, err := blob.Sign(ctx, dir, blob.SignOptions{Signer: sv})
	fmt.Println(filepath.Base(bundle), err)

	res, err := blob.Verify(ctx, dir, blob.VerifyOptions{Keys: []signature.Verifier{sv}})
	fmt.Println(res.Kind, res.Files, err)

	os.WriteFile(filepath.Join(dir, "backdoor.pkl"), []byte("cos\nsystem\n"), 0o644)
	_, err = blob.Verify(ctx, dir, blob.VerifyOptions{Keys: []signature.Verifier{sv}})
	fmt.Println(errors.Is(err, blob.ErrNotVerified), errors.Is(err, blob.ErrContentMismatch))
	// Output:
	// .gatehouse.sigstore.json <nil>
	// folder 2 <nil>
	// true true
}
