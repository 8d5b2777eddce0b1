package oci

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Schema names of the evidence documents (versioned: a breaking change
// gets a new name, and the gates check it).
const (
	SignaturesSchema = "signatures/v1"
	ProvenanceSchema = "provenance/v1"
)

// SignaturesEvidence is input.evidence.signatures.
type SignaturesEvidence struct {
	Schema string `json:"schema"`
	// Digest is what was verified ("sha256:...").
	Digest string `json:"digest"`
	// Verified is true when at least one signature verified under the policy.
	Verified   bool              `json:"verified"`
	Signatures []SignatureResult `json:"signatures"`
}

// SignatureResult is one signature that was found, verified or not.
type SignatureResult struct {
	Format   string `json:"format"`
	Verified bool   `json:"verified"`
	// Key is the reference (path or inline[N]) of the key that verified it;
	// Fingerprint its sha256 fingerprint.
	Key         string `json:"key,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Identity and Issuer are the certificate's subject and OIDC issuer.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// Tlog is true when a transparency-log entry was verified with it.
	Tlog bool `json:"tlog"`
	// Location is where it was found (tag and layer, or referrer digest).
	Location string `json:"location,omitempty"`
	Error    string `json:"error,omitempty"`
}

func resultOf(a *attachment, o outcome) SignatureResult {
	r := SignatureResult{Format: a.format, Verified: o.verified, Identity: o.identity, Issuer: o.issuer, Tlog: o.tlog, Location: a.where}
	if o.key != nil {
		r.Key, r.Fingerprint = o.key.Ref, o.key.Fingerprint
	}
	if o.err != nil {
		r.Error = o.err.Error()
	}
	return r
}

// VerifySignatures finds every signature of the image d in every format
// cosign writes (the .sig tag, Sigstore bundle referrers, cosign's OCI 1.1
// referrers) and verifies each against the policy. An error means the
// registry could not be asked, at any step (or the policy is empty): the
// caller must not treat it as a pass, nor as a denial. Unsigned or badly
// signed images are not errors: Verified is false and each signature found,
// including one that could not be read (too large, old bundle format, not
// what its manifest claims), says why.
func (c *Client) VerifySignatures(ctx context.Context, d name.Digest, p *Policy) (*SignaturesEvidence, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h, err := hashOf(d)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	f, err := c.fetchAttachments(ctx, d, want{sigs: true})
	if err != nil {
		return nil, err
	}
	return signaturesEvidence(ctx, d, h, p, f)
}

// signaturesEvidence verifies the signatures among what was fetched.
func signaturesEvidence(ctx context.Context, d name.Digest, h v1.Hash, p *Policy, f *found) (*SignaturesEvidence, error) {
	ev := &SignaturesEvidence{Schema: SignaturesSchema, Digest: d.DigestStr(), Signatures: []SignatureResult{}}
	for _, a := range f.sigs {
		r := resultOf(a, verifyAttachment(ctx, a, h, p, false))
		ev.Signatures = append(ev.Signatures, r)
		ev.Verified = ev.Verified || r.Verified
	}
	// The registry's listing order is not stable: evidence is, so that
	// the same attachments give the same evidence digest.
	refs := slices.Clone(f.refs)
	slices.SortStableFunc(refs, func(a, b *attachment) int { return strings.Compare(a.where, b.where) })
	for _, a := range refs {
		if a.bundle != nil && !a.isSignature() {
			continue // an attestation: see Attestations
		}
		r := resultOf(a, verifyAttachment(ctx, a, h, p, false))
		ev.Signatures = append(ev.Signatures, r)
		ev.Verified = ev.Verified || r.Verified
	}
	if err := ctx.Err(); err != nil {
		return nil, classify(d.String(), err)
	}
	return ev, nil
}

// Attestation is one verified (or rejected) attestation of an image.
type Attestation struct {
	Format        string `json:"format"`
	PredicateType string `json:"predicate_type"`
	Verified      bool   `json:"verified"`
	Key           string `json:"key,omitempty"`
	Identity      string `json:"identity,omitempty"`
	Issuer        string `json:"issuer,omitempty"`
	Location      string `json:"location,omitempty"`
	Error         string `json:"error,omitempty"`
	// Statement is the in-toto statement, only when Verified.
	Statement []byte `json:"-"`
}

// Attestations finds the attestations of d in every format cosign writes
// (optionally only those of one predicate type) and verifies each against
// the policy; errors as for VerifySignatures.
func (c *Client) Attestations(ctx context.Context, d name.Digest, p *Policy, predicateType string) ([]Attestation, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h, err := hashOf(d)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	f, err := c.fetchAttachments(ctx, d, want{atts: true, predicateType: predicateType})
	if err != nil {
		return nil, err
	}
	return attestations(ctx, d, h, p, predicateType, f)
}

// attestations verifies the attestations among what was fetched.
func attestations(ctx context.Context, d name.Digest, h v1.Hash, p *Policy, predicateType string, f *found) ([]Attestation, error) {
	out := []Attestation{}
	refs := slices.Clone(f.refs)
	slices.SortStableFunc(refs, func(a, b *attachment) int { return strings.Compare(a.where, b.where) })
	for _, a := range append(append([]*attachment{}, f.atts...), refs...) {
		if a.bundle != nil && a.isSignature() {
			continue
		}
		if predicateType != "" && a.predicateType != "" && a.predicateType != predicateType {
			continue
		}
		o := verifyAttachment(ctx, a, h, p, true)
		at := Attestation{Format: a.format, PredicateType: a.predicateType, Verified: o.verified, Identity: o.identity, Issuer: o.issuer, Location: a.where}
		if o.key != nil {
			at.Key = o.key.Ref
		}
		if o.err != nil {
			at.Error = o.err.Error()
		}
		if o.verified {
			// The signed statement, not the unsigned annotation, says what it is.
			pt, err := statementPredicateType(o.statement)
			if err != nil {
				at.Verified, at.Error = false, err.Error()
			} else {
				at.PredicateType = pt
				at.Statement = o.statement
			}
		}
		if predicateType != "" && at.PredicateType != predicateType {
			continue
		}
		out = append(out, at)
	}
	if err := ctx.Err(); err != nil {
		return nil, classify(d.String(), err)
	}
	return out, nil
}

func statementPredicateType(st []byte) (string, error) {
	var s struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
	}
	if err := jsonUnmarshalLimited(st, &s); err != nil {
		return "", fmt.Errorf("in-toto statement: %w", err)
	}
	if s.PredicateType == "" {
		return "", errors.New("in-toto statement has no predicateType")
	}
	return s.PredicateType, nil
}
