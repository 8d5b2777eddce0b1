package oci

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/sigstore/pkg/signature"
)

// VSAPredicateType is SLSA's Verification Summary Attestation v1.
const VSAPredicateType = attest.PredicateVSA

// AttestFormat is how AttachVSA stores a VSA on an image.
type AttestFormat string

// The formats of AttachVSA. cosign verify-attestation reads only one of
// them per image: Sigstore bundle referrers when the image has any, the
// .att tag otherwise; AttestAuto writes the one it will read.
const (
	// AttestAuto (the zero value means it too): a bundle referrer when the
	// image already has Sigstore bundle referrers, the .att tag otherwise.
	AttestAuto AttestFormat = "auto"
	// AttestBundle: a Sigstore bundle v0.3 referrer, as `cosign attest
	// --new-bundle-format --key` writes it.
	AttestBundle AttestFormat = "bundle"
	// AttestTag: a layer of the sha256-<hex>.att tag, as `cosign attest --key`.
	AttestTag AttestFormat = "tag"
)

// AttestFormats are the accepted values, default first.
var AttestFormats = []AttestFormat{AttestAuto, AttestBundle, AttestTag}

// ParseAttestFormat reads a format name (a flag value): auto, bundle or tag.
func ParseAttestFormat(s string) (AttestFormat, error) {
	for _, f := range AttestFormats {
		if s == string(f) {
			return f, nil
		}
	}
	return "", fmt.Errorf("attest format %q is not one of auto, bundle, tag", s)
}

// AttachVSA signs the VSA described by o about the image d (attest.SignVSA:
// subject = the repository with d's digest, resourceUri = the digest
// reference unless o sets one) and attaches it in format f, as `cosign
// attest` does. It returns where the VSA went. In AttestAuto, an image
// whose referrers cannot be read gets no VSA: the error says why.
func (c *Client) AttachVSA(ctx context.Context, d name.Digest, o attest.VSAOptions, s signature.Signer, f AttestFormat) (string, error) {
	if f == "" {
		f = AttestAuto
	}
	if _, err := ParseAttestFormat(string(f)); err != nil {
		return "", fmt.Errorf("VSA for %s: %w", d, err)
	}
	if f == AttestAuto {
		has, err := c.hasBundleReferrers(ctx, d)
		if err != nil {
			return "", fmt.Errorf("VSA for %s: choosing its format (auto): %w", d, err)
		}
		f = AttestTag
		if has {
			f = AttestBundle
		}
	}
	o.SubjectName = d.Context().Name()
	o.Digest = d.DigestStr()
	if o.ResourceURI == "" {
		o.ResourceURI = d.String()
	}
	env, err := attest.SignVSA(ctx, s, o)
	if err != nil {
		return "", fmt.Errorf("VSA for %s: %w", d, err)
	}
	if f == AttestTag {
		return c.AttachAttestation(ctx, d, env, VSAPredicateType)
	}
	b, err := keyDSSEBundle(s, env)
	if err != nil {
		return "", fmt.Errorf("VSA for %s: %w", d, err)
	}
	return c.AttachBundle(ctx, d, b)
}

// keyDSSEBundle wraps a DSSE envelope signed by s into the Sigstore bundle
// v0.3 that `cosign attest --new-bundle-format --key` writes (cosign's own
// code): verification material = the public key hint (base64 SHA-256 of
// its PKIX form), no transparency-log entry, no timestamp.
func keyDSSEBundle(s signature.Signer, envelope []byte) ([]byte, error) {
	pub, err := s.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("bundle: public key: %w", err)
	}
	e, err := attest.ParseEnvelope(envelope)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := cbundle.MakeNewBundle(pub, nil, e.Payload, envelope, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}

// ErrNoValidVSA is returned (wrapped) when no VSA of the image verifies;
// the reasons wrap attest's sentinel errors (attest.ErrTooOld, ...).
var ErrNoValidVSA = errors.New("no valid gatehouse VSA")

// VerifiedVSA is a VSA that verified, with where it was found.
type VerifiedVSA struct {
	Digest   string `json:"digest"`
	Format   string `json:"format"`
	Location string `json:"location"`
	// Verifier is the index in the policy's Verifiers of the key that signed.
	Verifier int                 `json:"verifier"`
	VSA      attest.VSAPredicate `json:"vsa"`
}

// VerifyImageVSA fetches the VSAs of ref (both formats) and checks them
// with attest.VerifyVSA against p (p.Digest is set to the image's digest).
// To check the image's signatures too, call VerifyImage: it fetches what
// both need at once.
func (c *Client) VerifyImageVSA(ctx context.Context, ref string, p attest.VSAPolicy) (*VerifiedVSA, error) {
	res, err := c.VerifyImage(ctx, ref, ImagePolicy{VSA: &p})
	if err != nil {
		return nil, err
	}
	return res.VSA, nil
}

// checkVSAs returns the first VSA among the fetched attestations that
// attest.VerifyVSA accepts under p.
func checkVSAs(ctx context.Context, d name.Digest, f *found, p attest.VSAPolicy) (*VerifiedVSA, error) {
	if p.Digest != "" && p.Digest != d.DigestStr() {
		return nil, fmt.Errorf("VSA policy is for digest %s, the image is %s", p.Digest, d.DigestStr())
	}
	p.Digest = d.DigestStr()
	var errs []error
	for _, a := range append(append([]*attachment{}, f.atts...), f.refs...) {
		if a.bundle != nil && a.isSignature() || a.predicateType != "" && a.predicateType != VSAPredicateType {
			continue
		}
		if a.fetchErr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.where, a.fetchErr))
			continue
		}
		env, err := envelopeOf(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.where, err))
			continue
		}
		res, err := attest.VerifyVSA(ctx, env, p)
		if err != nil {
			if errors.Is(err, attest.ErrVSAPolicy) {
				return nil, err // the policy, not the VSA, is wrong
			}
			errs = append(errs, fmt.Errorf("%s: %w", a.where, err))
			continue
		}
		return &VerifiedVSA{Digest: d.DigestStr(), Format: a.format, Location: a.where, Verifier: res.Verifier, VSA: res.VSA}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, classify(d.String(), err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s: %w: the image has no VSA attestation (run gatehouse check --attest)", d, ErrNoValidVSA)
	}
	return nil, fmt.Errorf("%s: %w: %w", d, ErrNoValidVSA, errors.Join(errs...))
}

// envelopeOf returns the DSSE envelope (JSON) an attestation carries: the
// layer of cosign's tag schema, or the envelope inside a Sigstore bundle.
func envelopeOf(a *attachment) ([]byte, error) {
	if a.bundle == nil {
		return a.classic.Payload()
	}
	env := a.bundle.GetDsseEnvelope()
	if env == nil {
		return nil, errors.New("bundle holds a message signature, not an attestation")
	}
	type sig struct {
		KeyID string `json:"keyid,omitempty"`
		Sig   string `json:"sig"`
	}
	out := struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []sig  `json:"signatures"`
	}{PayloadType: env.GetPayloadType(), Payload: base64.StdEncoding.EncodeToString(env.GetPayload())}
	for _, s := range env.GetSignatures() {
		out.Signatures = append(out.Signatures, sig{KeyID: s.GetKeyid(), Sig: base64.StdEncoding.EncodeToString(s.GetSig())})
	}
	return json.Marshal(out)
}
