// Package testimage signs images in a test registry the way
// `cosign sign --key` does (simple-signing payload in the .sig tag, no
// transparency log), for tests that need a signed image without the CLI.
package testimage

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// Sign signs d with s and writes the signature to d's .sig tag.
func Sign(d name.Digest, s signature.Signer) error {
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		return err
	}
	sig, err := s.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	st, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		return err
	}
	se, err := mutate.AttachSignatureToEntity(ociremote.SignedUnknown(d), st)
	if err != nil {
		return err
	}
	if err := ociremote.WriteSignatures(d.Repository, se); err != nil {
		return fmt.Errorf("sign %s: %w", d, err)
	}
	return nil
}
