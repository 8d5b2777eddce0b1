package blob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// oldCosignBundle is the shape `cosign sign-blob --bundle` wrote before
// Sigstore bundles.
const oldCosignBundle = `{"base64Signature":"MEUCIQ==","cert":"","rekorBundle":{"SignedEntryTimestamp":"MEUC","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"00"}}}`

// TestVerifyOldBundleFormat: an old-format cosign bundle beside a file is
// not verified, with a message that names the format and how to re-sign,
// not a proto parse error.
func TestVerifyOldBundleFormat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.bin")
	if err := os.WriteFile(p, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+BundleSuffix, []byte(oldCosignBundle), 0o644); err != nil {
		t.Fatal(err)
	}
	k := newKey(t, "ecdsa-p256")
	_, err := Verify(context.Background(), p, VerifyOptions{Keys: []signature.Verifier{k.verifier}})
	if !errors.Is(err, ErrNotVerified) || !errors.Is(err, ErrOldBundleFormat) || !strings.Contains(err.Error(), "sign-blob --new-bundle-format") {
		t.Fatalf("err %v, want ErrNotVerified and ErrOldBundleFormat with how to re-sign", err)
	}
}

func FuzzParseBundleShapes(f *testing.F) {
	f.Add([]byte(oldCosignBundle))
	f.Add([]byte(`{"base64Signature":"","Payload":{}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","base64Signature":"x"}`))
	f.Add([]byte(`{"SignedEntryTimestamp":"MEUC","Payload":{"body":"e30="}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err == nil {
			if b == nil || !b.MinVersion("v0.3") {
				t.Fatal("accepted a bundle that is nil or older than v0.3")
			}
			return
		}
		if isOldCosignBundle(data) != errors.Is(err, ErrOldBundleFormat) {
			t.Fatalf("old format %v but error %v", isOldCosignBundle(data), err)
		}
		if errors.Is(err, ErrOldBundleFormat) && !strings.Contains(err.Error(), "--new-bundle-format") {
			t.Fatalf("old format error without how to re-sign: %v", err)
		}
	})
}
