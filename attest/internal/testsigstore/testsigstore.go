// Package testsigstore writes the trust of sigstore-go's in-process
// VirtualSigstore (CA, CT log, transparency log, TSA) as a
// trusted_root.json file, the way users supply it, for offline keyless
// tests of the attest packages.
package testsigstore

import (
	"crypto"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// TrustedRootFile writes vs's trusted_root.json under t.TempDir.
func TrustedRootFile(t testing.TB, vs *ca.VirtualSigstore) string {
	t.Helper()
	// The virtual logs carry their hex log ID as ID bytes; a trusted root
	// file stores raw key IDs.
	fix := func(in map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
		out := map[string]*root.TransparencyLog{}
		for id, l := range in {
			cp := *l
			cp.ID, _ = hex.DecodeString(id)
			if cp.SignatureHashFunc == 0 {
				cp.SignatureHashFunc = crypto.SHA256
			}
			out[id] = &cp
		}
		return out
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), fix(vs.CTLogs()), vs.TimestampingAuthorities(), fix(vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
