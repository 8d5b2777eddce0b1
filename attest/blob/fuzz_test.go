package blob

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// FuzzVerifyBundle feeds arbitrary bundle files to Verify: it must never
// panic and never pass, since nothing here was signed by the key.
func FuzzVerifyBundle(f *testing.F) {
	k := newKey(f, "ecdsa-p256")
	other := newKey(f, "ecdsa-p256")
	dir := f.TempDir()
	file := filepath.Join(dir, "model.bin")
	os.WriteFile(file, []byte("weights"), 0o644)
	folder := filepath.Join(dir, "model")
	os.MkdirAll(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "a.bin"), []byte("a"), 0o644)
	// Seeds: real bundles by another key, for a file and a folder.
	for _, p := range []string{file, folder} {
		bp, err := Sign(context.Background(), p, SignOptions{Signer: other.signer})
		if err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(bp)
		f.Add(b, p == folder)
		os.Remove(bp)
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), false)
	f.Fuzz(func(t *testing.T, bundle []byte, isFolder bool) {
		bp := filepath.Join(t.TempDir(), "b.json")
		if err := os.WriteFile(bp, bundle, 0o644); err != nil {
			t.Fatal(err)
		}
		p := file
		if isFolder {
			p = folder
		}
		if _, err := Verify(context.Background(), p, VerifyOptions{BundlePath: bp, Keys: []signature.Verifier{k.verifier}}); err == nil {
			t.Fatalf("a bundle not signed by the key verified: %s", bundle)
		}
	})
}
