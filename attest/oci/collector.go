package oci

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
	if _, inRegistry := RegistryRef(s); !inRegistry {
		if strings.Contains(s.Ref, "://") {
			return nil, fmt.Errorf("%s %s: signatures are read from OCI registries and from bundles beside local files; this reference is neither (publish the %s as an OCI artifact to sign it)", s.Kind, s.Ref, s.Kind)
		}
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

// Applies implements gates.Collector: images, and models and datasets
// stored as OCI artifacts (oci://…), whose attestations are found the same
// way.
func (*ProvenanceCollector) Applies(s gates.Subject) bool {
	_, ok := RegistryRef(s)
	return ok
}

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

// RegistryRef returns the registry reference of a subject that lives in an
// OCI registry: an image's reference, or a model's or dataset's
// oci://REGISTRY/REPO… without the scheme. Such subjects are signed,
// attested and given VSAs in the registry, as cosign does for images.
func RegistryRef(s gates.Subject) (string, bool) {
	if s.Kind == gates.KindImage {
		return s.Ref, true
	}
	if s.Kind == gates.KindModel || s.Kind == gates.KindDataset {
		if ref, ok := strings.CutPrefix(s.Ref, "oci://"); ok {
			return ref, true
		}
	}
	return "", false
}

// subjectDigest is the digest reference a decision is about: the subject's
// resolved digest, which must agree with a digest written in its reference.
func (c *Client) subjectDigest(ctx context.Context, s gates.Subject) (name.Digest, error) {
	ref, ok := RegistryRef(s)
	if !ok {
		return name.Digest{}, fmt.Errorf("%s %s is not in an OCI registry", s.Kind, s.Ref)
	}
	s.Ref = ref
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
	if _, inRegistry := RegistryRef(*s); inRegistry {
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
	dg, err := blob.Digest(ctx, s.Ref)
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
	// Format is how an image's VSA is attached (AttachVSA); "" is AttestAuto.
	Format AttestFormat
	Now    func() time.Time
}

// Reasons not to attest a decision (Attestable, Attester.Attest). Only a
// decision that is allowed, of a run that evaluated every gate its
// environment requires, and that states what it judged, gets a VSA.
var (
	// ErrNotAllowed: the decision is denied.
	ErrNotAllowed = errors.New("decision did not pass: no VSA is issued")
	// ErrNotDecided: the decision could not be made (evidence missing,
	// unreachable, not verified; a run interrupted).
	ErrNotDecided = errors.New("decision was not reached: no VSA is issued")
	// ErrPartial: the run skipped gates the environment requires (--gate).
	ErrPartial = attest.ErrPartial
	// ErrIncompleteDecision: the decision lacks what a VSA must state
	// (subject digest, environment, gates, policy or configuration digest).
	ErrIncompleteDecision = errors.New("decision does not state what was judged: no VSA is issued")
)

// Attestable returns nil when d may be attested, or why not, wrapping one
// of ErrNotAllowed, ErrNotDecided, ErrPartial, ErrIncompleteDecision.
func Attestable(d *gates.Decision) error {
	if d == nil {
		return fmt.Errorf("no decision: %w", ErrNotDecided)
	}
	switch v := d.Verdict(); v {
	case gates.VerdictAllowed:
	case gates.VerdictDenied:
		return fmt.Errorf("%s is denied: %w", d.Subject.Ref, ErrNotAllowed)
	default:
		why := ""
		if len(d.Undecided) > 0 {
			why = fmt.Sprintf(" (%s)", strings.Join(d.Undecided, "; "))
		}
		return fmt.Errorf("%s is %s%s: %w", d.Subject.Ref, v, why, ErrNotDecided)
	}
	if missing := attest.MissingGates(d.Gates, d.RequiredGates); len(missing) > 0 {
		return fmt.Errorf("%s: the run skipped required gates %v: %w", d.Subject.Ref, missing, ErrPartial)
	}
	if d.Partial {
		return fmt.Errorf("%s: the decision is marked partial: %w", d.Subject.Ref, ErrPartial)
	}
	incomplete := func(what string) error {
		return fmt.Errorf("%s: %s: %w", d.Subject.Ref, what, ErrIncompleteDecision)
	}
	switch {
	case d.Subject.Digest == "":
		return incomplete("the decision has no subject digest (a VSA is only issued for a digest)")
	case d.Environment == "":
		return incomplete("the decision has no environment")
	case len(d.Gates) == 0:
		return incomplete("the run evaluated no gate")
	case d.ConfigDigest == "":
		return incomplete("the decision has no configuration digest")
	}
	for _, g := range d.Gates {
		if g == "" {
			return incomplete("a gate name is empty")
		}
	}
	for _, c := range []struct{ what, digest string }{{"subject", d.Subject.Digest}, {"policy", d.PolicyDigest}, {"configuration", d.ConfigDigest}} {
		if _, _, err := attest.SplitDigest(c.digest); err != nil {
			return incomplete(c.what + " " + err.Error())
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.EvidenceDigests)) {
		if _, _, err := attest.SplitDigest(d.EvidenceDigests[name]); err != nil {
			return incomplete(fmt.Sprintf("evidence %s: %v", name, err))
		}
	}
	return nil
}

// VSAOptions are the VSA options of an attestable decision (see
// Attestable): PASSED at EnvironmentLevel(d.Environment), the gate set,
// required gates, policy and configuration digests, and each evidence
// document read as an input attestation {name, digest}. The subject's name
// (and resource URI) are left for where the VSA goes to set.
func VSAOptions(d *gates.Decision, now time.Time) (attest.VSAOptions, error) {
	if err := Attestable(d); err != nil {
		return attest.VSAOptions{}, err
	}
	o := attest.VSAOptions{
		Digest:         d.Subject.Digest,
		PolicyDigest:   d.PolicyDigest,
		Passed:         true,
		VerifiedLevels: []string{attest.EnvironmentLevel(d.Environment)},
		TimeVerified:   now,
		Environment:    d.Environment,
		Gates:          d.Gates,
		RequiredGates:  d.RequiredGates,
		ConfigDigest:   d.ConfigDigest,
	}
	for _, name := range slices.Sorted(maps.Keys(d.EvidenceDigests)) {
		alg, h, _ := attest.SplitDigest(d.EvidenceDigests[name]) // checked by Attestable
		o.InputAttestations = append(o.InputAttestations, attest.Material{Name: name, Digest: map[string]string{alg: h}})
	}
	return o, nil
}

// Attest signs and attaches the VSA of a passed decision; it returns where
// the VSA went. A decision that Attestable refuses gets none.
func (a *Attester) Attest(ctx context.Context, d *gates.Decision) (string, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	o, err := VSAOptions(d, now())
	if err != nil {
		return "", err
	}
	if _, inRegistry := RegistryRef(d.Subject); !inRegistry {
		if strings.Contains(d.Subject.Ref, "://") {
			return "", fmt.Errorf("VSA for %s: a VSA is attached in an OCI registry or written beside a local file; %s is neither", d.Subject.Ref, d.Subject.Ref)
		}
		return attestFile(ctx, d, a.Signer, o)
	}
	dg, err := a.Client.subjectDigest(ctx, d.Subject)
	if err != nil {
		return "", err
	}
	if d.Subject.Kind != gates.KindImage {
		// What KServe's storageUri and gatehouse's model subjects name.
		o.ResourceURI = "oci://" + dg.String()
	}
	return a.Client.AttachVSA(ctx, dg, o, a.Signer, a.Format)
}
