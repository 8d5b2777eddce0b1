package blob

import (
	"encoding/json"
	"errors"
	"fmt"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// ErrOldBundleFormat is returned (wrapped) for cosign's bundle format from
// before Sigstore bundles (base64Signature, cert, rekorBundle), which
// carries no media type or verification material in the Sigstore shape.
var ErrOldBundleFormat = errors.New("cosign's old bundle format (base64Signature/rekorBundle), not a Sigstore bundle v0.3")

// ParseBundle reads a Sigstore bundle (v0.3 or later) from JSON the caller
// read bounded. cosign's old bundle format and bundles older than v0.3 are
// refused with how to re-sign.
func ParseBundle(data []byte) (*sgbundle.Bundle, error) {
	if isOldCosignBundle(data) {
		return nil, fmt.Errorf("%w: re-sign with cosign sign --new-bundle-format (images) or cosign sign-blob --new-bundle-format --bundle FILE (files)", ErrOldBundleFormat)
	}
	b := &sgbundle.Bundle{}
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a valid Sigstore bundle: %w", err)
	}
	if !b.MinVersion("v0.3") {
		return nil, fmt.Errorf("Sigstore bundle %s is older than v0.3: re-sign with cosign sign --new-bundle-format (or sign-blob --new-bundle-format)", b.GetMediaType())
	}
	return b, nil
}

// isOldCosignBundle tells cosign's pre-Sigstore bundle JSON (the
// LocalSignedPayload of sign-blob --bundle, and the rekorBundle of the tag
// schema's annotations) by its top-level keys.
func isOldCosignBundle(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	_, media := top["mediaType"]
	_, sig := top["base64Signature"]
	_, rekor := top["rekorBundle"]
	_, set := top["SignedEntryTimestamp"]
	return !media && (sig || rekor || set)
}
