package oci

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/attest"
)

// ImagePolicy says what VerifyImage requires of an image. A nil part is
// neither checked nor fetched.
type ImagePolicy struct {
	// Signatures, when set, requires a signature that verifies under it.
	Signatures *Policy
	// VSA, when set, requires a gatehouse VSA that attest.VerifyVSA accepts
	// (its Digest is set to the image's).
	VSA *attest.VSAPolicy
}

// ImageVerification is what VerifyImage found.
type ImageVerification struct {
	// Digest is the image's digest ("sha256:...").
	Digest string
	// Signatures is every signature found and how it fared (when asked).
	Signatures *SignaturesEvidence
	// VSA is the VSA that passed (when asked and found).
	VSA *VerifiedVSA
}

// ErrNotSigned is returned (wrapped) by VerifyImage when signatures are
// required and none verifies.
var ErrNotSigned = errors.New("no signature of the image verifies")

// VerifyImage checks one image as admission does: its reference is
// resolved (a digest reference needs no network call), then everything the
// policy asks for is fetched in one go (the .sig and .att tags and the
// referrers at once, each blob read once) and verified.
//
// The result is returned with the error when the image fails the policy:
// the error wraps ErrNotSigned and/or ErrNoValidVSA and says why. Any other
// error means the registry could not be asked: the caller must fail closed.
func (c *Client) VerifyImage(ctx context.Context, ref string, p ImagePolicy) (*ImageVerification, error) {
	if p.Signatures == nil && p.VSA == nil {
		return nil, errors.New("verify image: the policy asks for neither signatures nor a VSA")
	}
	if p.Signatures != nil {
		if err := p.Signatures.Validate(); err != nil {
			return nil, fmt.Errorf("signature policy: %w", err)
		}
	}
	if p.VSA != nil && len(p.VSA.Verifiers) == 0 {
		return nil, fmt.Errorf("%w: no keys to verify VSAs with", attest.ErrVSAPolicy)
	}
	d, err := c.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	h, err := hashOf(d)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	w := want{sigs: p.Signatures != nil, atts: p.VSA != nil}
	if w.atts {
		w.predicateType = VSAPredicateType
	}
	f, err := c.fetchAttachments(ctx, d, w)
	if err != nil {
		return nil, err
	}
	res := &ImageVerification{Digest: d.DigestStr()}
	var failed []error
	if p.Signatures != nil {
		if res.Signatures, err = signaturesEvidence(ctx, d, h, p.Signatures, f); err != nil {
			return nil, err
		}
		if !res.Signatures.Verified {
			failed = append(failed, fmt.Errorf("%s: %w%s", d, ErrNotSigned, signatureReasons(res.Signatures)))
		}
	}
	if p.VSA != nil {
		if res.VSA, err = checkVSAs(ctx, d, f, *p.VSA); err != nil {
			if !errors.Is(err, ErrNoValidVSA) {
				return nil, err
			}
			failed = append(failed, err)
		}
	}
	return res, errors.Join(failed...)
}

func signatureReasons(ev *SignaturesEvidence) string {
	if len(ev.Signatures) == 0 {
		return ": the image has no signatures (sign it with cosign sign)"
	}
	s := ""
	for _, r := range ev.Signatures {
		s += fmt.Sprintf("; %s: %s", r.Location, r.Error)
	}
	return ":" + s[1:]
}
