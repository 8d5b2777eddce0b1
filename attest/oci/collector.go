package oci

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
)

// SignaturesCollector is the "signatures" evidence collector: it verifies
// an image's signatures (both formats) with the signature gate's keys and
// identities; the gate judges the result.
type SignaturesCollector struct {
	Client *Client
	// Policy is built from the gate's params; PolicyErr is why it could not
	// be (no keys configured, unreadable key, ...): reported as evidence error.
	Policy    *Policy
	PolicyErr error
}

// Name implements gates.Collector.
func (*SignaturesCollector) Name() string { return "signatures" }

// Applies implements gates.Collector: images, and model and dataset files
// (whose bundles are verified beside the file).
func (*SignaturesCollector) Applies(s gates.Subject) bool {
	return s.Kind == gates.KindImage || s.Kind == gates.KindModel || s.Kind == gates.KindDataset
}

// Collect implements gates.Collector.
func (c *SignaturesCollector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if c.PolicyErr != nil {
		return nil, fmt.Errorf("signature policy: %w", c.PolicyErr)
	}
	if s.Kind != gates.KindImage {
		ev, err := VerifyFileSignature(ctx, s.Ref, c.Policy)
		if err != nil {
			return nil, err
		}
		if s.Digest != "" && ev.Digest != s.Digest {
			return nil, fmt.Errorf("%s %s changed since it was hashed (digest %s, decided on %s): check it again", s.Kind, s.Ref, ev.Digest, s.Digest)
		}
		return ev, nil
	}
	d, err := c.Client.subjectDigest(ctx, s)
	if err != nil {
		return nil, err
	}
	return c.Client.VerifySignatures(ctx, d, c.Policy)
}

// ProvenanceCollector is the "provenance" evidence collector: the image's
// attestations, verified, with SLSA provenance mapped for the gate.
type ProvenanceCollector struct {
	Client    *Client
	Policy    *Policy
	PolicyErr error
}

// Name implements gates.Collector.
func (*ProvenanceCollector) Name() string { return "provenance" }

// Applies implements gates.Collector.
func (*ProvenanceCollector) Applies(s gates.Subject) bool { return s.Kind == gates.KindImage }

// Collect implements gates.Collector.
func (c *ProvenanceCollector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if c.PolicyErr != nil {
		return nil, fmt.Errorf("provenance policy: %w", c.PolicyErr)
	}
	d, err := c.Client.subjectDigest(ctx, s)
	if err != nil {
		return nil, err
	}
	return c.Client.Provenance(ctx, d, c.Policy)
}

// subjectDigest is the digest reference a decision is about: the subject's
// resolved digest, which must agree with a digest written in its reference.
func (c *Client) subjectDigest(ctx context.Context, s gates.Subject) (name.Digest, error) {
	r, err := c.ParseReference(s.Ref)
	if err != nil {
		return name.Digest{}, err
	}
	if s.Digest == "" {
		return c.Resolve(ctx, s.Ref)
	}
	if rd, ok := r.(name.Digest); ok && rd.DigestStr() != s.Digest {
		return name.Digest{}, fmt.Errorf("digest mismatch: reference %s names %s but the subject's digest is %s", s.Ref, rd.DigestStr(), s.Digest)
	}
	d, err := name.NewDigest(r.Context().Name()+"@"+s.Digest, c.nameOptions()[1:]...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("subject digest %q: %w", s.Digest, err)
	}
	return d, nil
}

// Resolver fills in subjects' digests: an image tag is resolved in its
// registry (a reference carrying a digest needs no network call); a file
// gets its plain SHA-256 and a folder its tree digest (blob.Digest: the
// bundle and VSA stored inside are left out).
type Resolver struct {
	Client *Client
}

// Resolve implements gates.Resolver.
func (r *Resolver) Resolve(ctx context.Context, s *gates.Subject) error {
	if s.Kind == gates.KindImage {
		d, err := r.Client.subjectDigest(ctx, *s)
		if err != nil {
			return err
		}
		s.Digest = d.DigestStr()
		return nil
	}
	if s.Digest != "" {
		return nil
	}
	dg, err := blob.Digest(s.Ref)
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Kind, s.Ref, err)
	}
	s.Digest = dg
	return nil
}

// Attester signs a VSA for each subject that passed: attached to an image
// in its registry, written beside a file or folder.
type Attester struct {
	Client *Client
	Signer signature.Signer
	Now    func() time.Time
}

// ErrNotAllowed is returned when asked to attest a denied decision.
var ErrNotAllowed = errors.New("decision did not pass: no VSA is issued")

// Attest signs and attaches the VSA of a passed decision; it returns where
// the VSA went.
func (a *Attester) Attest(ctx context.Context, d *gates.Decision) (string, error) {
	if d == nil || !d.Allowed {
		return "", ErrNotAllowed
	}
	if d.Subject.Digest == "" {
		return "", fmt.Errorf("%s: the decision has no digest: a VSA is only issued for a digest", d.Subject.Ref)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	o := attest.VSAOptions{
		PolicyDigest:   d.PolicyDigest,
		Passed:         true,
		VerifiedLevels: []string{environmentLevel(d.Environment)},
		TimeVerified:   now(),
	}
	if d.Subject.Kind != gates.KindImage {
		return attestFile(ctx, d, a.Signer, o)
	}
	dg, err := a.Client.subjectDigest(ctx, d.Subject)
	if err != nil {
		return "", err
	}
	return a.Client.AttachVSA(ctx, dg, o, a.Signer)
}
