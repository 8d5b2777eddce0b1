package oci

import (
	"bytes"
	"encoding/hex"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

type staticSig = oci.Signature

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o600) }

func cryptoutilsSHA256(b []byte) ([]byte, int64, error) {
	h, n, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return nil, 0, err
	}
	raw, err := hex.DecodeString(h.Hex)
	return raw, n, err
}
