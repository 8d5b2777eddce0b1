package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/signature"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// Formats of signatures and attestations, as reported in evidence.
const (
	// FormatCosignTag: cosign's classic tag schema, sha256-<hex>.sig / .att.
	FormatCosignTag = "cosign-tag"
	// FormatBundleReferrer: a Sigstore bundle (v0.3) in an OCI 1.1 referrer
	// manifest, found through the referrers API or its tag-schema fallback.
	FormatBundleReferrer = "bundle-referrer"
	// FormatBlobBundle: a Sigstore bundle file beside a file or folder.
	FormatBlobBundle = "blob-bundle"
)

// BundleArtifactType is the artifactType of referrers holding a Sigstore bundle v0.3.
const BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// CosignSignPredicateType marks a DSSE bundle that is an image signature
// (cosign v3's bundle format) rather than an attestation.
const CosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1"

// attachment is one signature or attestation found for an image.
type attachment struct {
	format string
	// where names it for messages: the tag or the referrer manifest digest.
	where   string
	classic oci.Signature    // FormatCosignTag
	bundle  *sgbundle.Bundle // FormatBundleReferrer
	// predicateType of an attestation, from its annotation or statement.
	predicateType string
	// fetchErr is set when the attachment was found but could not be read.
	fetchErr error
}

// isSignature tells image signatures from attestations among bundles.
func (a *attachment) isSignature() bool {
	if a.bundle == nil {
		return false
	}
	if a.bundle.GetMessageSignature() != nil {
		return true
	}
	return a.predicateType == CosignSignPredicateType
}

// fetchConcurrency bounds the blobs and manifests fetched at once for one
// check (the puller also bounds requests per registry).
const fetchConcurrency = 8

// want says which attachments a check needs: only those are fetched.
type want struct {
	// sigs: image signatures (the .sig tag and signature bundles).
	sigs bool
	// atts: attestations (the .att tag and DSSE bundles), optionally only
	// those whose (unsigned) annotations say predicateType.
	atts          bool
	predicateType string
}

// found is what is attached to one image, by where it was found.
type found struct {
	sigs, atts []*attachment // cosign's tag schema
	refs       []*attachment // Sigstore bundle referrers, both kinds
}

// fetchAttachments reads what w asks for from the registry, all lookups at
// once: the .sig and .att tags and the referrers (API or fallback tag) are
// independent round trips, and so are the blobs they list.
func (c *Client) fetchAttachments(ctx context.Context, d name.Digest, w want) (*found, error) {
	var f found
	var wg sync.WaitGroup
	var sigErr, attErr, refErr error
	if w.sigs {
		wg.Go(func() { f.sigs, sigErr = c.classicAttachments(ctx, d, "sig", "") })
	}
	if w.atts {
		wg.Go(func() { f.atts, attErr = c.classicAttachments(ctx, d, "att", w.predicateType) })
	}
	if w.sigs || w.atts {
		wg.Go(func() { f.refs, refErr = c.bundleReferrers(ctx, d, w) })
	}
	wg.Wait()
	for _, err := range []error{sigErr, attErr, refErr} {
		if err != nil {
			return nil, err
		}
	}
	return &f, nil
}

// classicAttachments fetches the signatures (suffix "sig") or attestations
// ("att") stored under cosign's tag schema: one manifest, then its layers
// concurrently, each read once. A missing tag is no attachments. When
// predicateType is set, attestation layers annotated with another predicate
// type are not fetched (as with bundles: unsigned labels can only make an
// attestation be missed, never accepted).
func (c *Client) classicAttachments(ctx context.Context, d name.Digest, suffix, predicateType string) ([]*attachment, error) {
	opts := c.cosignOptions(ctx)
	var tag name.Tag
	var err error
	if suffix == "sig" {
		tag, err = ociremote.SignatureTag(d, opts...)
	} else {
		tag, err = ociremote.AttestationTag(d, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	m, err := c.getManifest(ctx, tag)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	// Check the size of every layer before anything reads it.
	if len(m.Layers) > MaxAttachments {
		return nil, fmt.Errorf("%s holds %d layers, more than the limit of %d", tag, len(m.Layers), MaxAttachments)
	}
	for i, l := range m.Layers {
		if l.Size > MaxPayloadBytes {
			return nil, fmt.Errorf("%s layer %d is %d bytes, more than the %d byte limit", tag, i, l.Size, MaxPayloadBytes)
		}
	}
	out := make([]*attachment, len(m.Layers))
	errs := make([]error, len(m.Layers))
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for i, ld := range m.Layers {
		if pt := ld.Annotations["predicateType"]; predicateType != "" && pt != "" && pt != predicateType {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			data, err := c.fetchBlob(ctx, tag.Context().Digest(ld.Digest.String()))
			if err != nil {
				errs[i] = fmt.Errorf("%s layer %d: %w", tag, i, err)
				return
			}
			// The same Signature cosign builds from a remote layer, over
			// bytes already read: cosign reads a payload more than once.
			s := signature.New(ggcrstatic.NewLayer(data, ld.MediaType), ld)
			out[i] = &attachment{format: FormatCosignTag, where: fmt.Sprintf("%s layer %d", tag, i), classic: s,
				predicateType: ld.Annotations["predicateType"]}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	kept := out[:0]
	for _, a := range out {
		if a != nil {
			kept = append(kept, a)
		}
	}
	return kept, nil
}

// getManifest fetches an image manifest (not an index) with its limits.
// Manifests fetched by digest are cached (go-containerregistry checks the
// digest of what it reads); by tag, never.
func (c *Client) getManifest(ctx context.Context, ref name.Reference) (*v1.Manifest, error) {
	_, byDigest := ref.(name.Digest)
	key := "manifest " + ref.String()
	raw, ok := c.blobs.get(key)
	if !ok {
		desc, err := remote.Get(ref, c.remoteOptions(ctx)...)
		if err != nil {
			return nil, classify(ref.String(), err)
		}
		if len(desc.Manifest) > MaxPayloadBytes {
			return nil, fmt.Errorf("%s: manifest is %d bytes, more than the %d byte limit", ref, len(desc.Manifest), MaxPayloadBytes)
		}
		if !desc.MediaType.IsImage() {
			return nil, fmt.Errorf("%s: media type %s is not an image manifest", ref, desc.MediaType)
		}
		raw = desc.Manifest
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: malformed manifest: %w", ref, err)
	}
	if !ok && byDigest {
		c.blobs.put(key, raw)
	}
	return m, nil
}

// fetchBlob reads one blob, at most MaxPayloadBytes, checking its digest;
// blobs are cached. The bytes returned must not be modified.
func (c *Client) fetchBlob(ctx context.Context, ref name.Digest) ([]byte, error) {
	key := "blob " + ref.String()
	if data, ok := c.blobs.get(key); ok {
		return data, nil
	}
	data, err := c.readBlob(ctx, ref)
	if err != nil {
		return nil, err
	}
	c.blobs.put(key, data)
	return data, nil
}

func (c *Client) readBlob(ctx context.Context, ref name.Digest) ([]byte, error) {
	l, err := remote.Layer(ref, c.remoteOptions(ctx)...)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	defer rc.Close()
	// go-containerregistry checks the digest when the body ends.
	data, err := readLimited(rc)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	return data, nil
}

// referrers lists what refers to d, sharing a listing already in flight
// for the same digest (read-only: nothing is cached after it lands).
func (c *Client) referrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, error) {
	key := d.String()
	c.mu.Lock()
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			// The leader's deadline is not ours: retry on its context errors.
			if f.err == nil || ctx.Err() != nil || !errors.Is(f.err, context.DeadlineExceeded) && !errors.Is(f.err, context.Canceled) {
				return f.im, f.err
			}
			return c.listReferrers(ctx, d)
		case <-ctx.Done():
			return nil, classify("referrers of "+key, ctx.Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()
	f.im, f.err = c.listReferrers(ctx, d)
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	close(f.done)
	return f.im, f.err
}

// listReferrers lists what refers to d: through the referrers API, or
// straight through the sha256-<hex> fallback tag on registries known to lack it.
func (c *Client) listReferrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, error) {
	what := "referrers of " + d.String()
	if c.hasNoReferrersAPI(d.RegistryStr()) {
		fallback := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
		desc, err := remote.Get(fallback, c.remoteOptions(ctx)...)
		if err != nil {
			if isNotFound(err) {
				return &v1.IndexManifest{}, nil
			}
			return nil, classify(what, err)
		}
		if len(desc.Manifest) > MaxPayloadBytes {
			return nil, fmt.Errorf("%s: referrers index %s is %d bytes, more than the %d byte limit", what, fallback, len(desc.Manifest), MaxPayloadBytes)
		}
		if !desc.MediaType.IsIndex() {
			return nil, fmt.Errorf("%s: referrers tag %s is a %s, not an image index", what, fallback, desc.MediaType)
		}
		im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return nil, fmt.Errorf("%s: malformed referrers index %s: %w", what, fallback, err)
		}
		return im, nil
	}
	idx, err := remote.Referrers(d, c.remoteOptions(ctx)...)
	if err != nil {
		return nil, classify(what, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, classify(what, err)
	}
	return im, nil
}

// bundleReferrers fetches the Sigstore bundles that refer to d and that w
// may need, concurrently. Bundles are picked by their annotations, which
// are unsigned: skipping a mislabelled bundle can only lose a signature or
// attestation (fail closed), never let a wrong one through, since what is
// fetched is verified on its signed content.
func (c *Client) bundleReferrers(ctx context.Context, d name.Digest, w want) ([]*attachment, error) {
	im, err := c.referrers(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []*attachment
	for _, desc := range im.Manifests {
		if !strings.HasPrefix(desc.ArtifactType, "application/vnd.dev.sigstore.bundle") {
			continue // other referrers (SBOMs, cosign OCI 1.1 experiments) are not ours to judge
		}
		if len(out) == MaxAttachments {
			return nil, fmt.Errorf("referrers of %s: more than %d Sigstore bundles", d, MaxAttachments)
		}
		pt := desc.Annotations["dev.sigstore.bundle.predicateType"]
		sigLike := desc.Annotations["dev.sigstore.bundle.content"] == "message-signature" || pt == CosignSignPredicateType
		attLike := desc.Annotations["dev.sigstore.bundle.content"] == "dsse-envelope" && pt != CosignSignPredicateType
		if !w.sigs && sigLike || !w.atts && attLike || w.predicateType != "" && attLike && pt != "" && pt != w.predicateType {
			continue
		}
		out = append(out, &attachment{format: FormatBundleReferrer, where: "referrer " + desc.Digest.String(), predicateType: pt})
	}
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for _, a := range out {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ref := d.Context().Digest(strings.TrimPrefix(a.where, "referrer "))
			a.bundle, a.fetchErr = c.fetchBundle(ctx, ref)
			if a.bundle != nil {
				if pt := bundlePredicateType(a.bundle); pt != "" {
					a.predicateType = pt
				}
			}
		})
	}
	wg.Wait()
	return out, nil
}

func (c *Client) fetchBundle(ctx context.Context, ref name.Digest) (*sgbundle.Bundle, error) {
	m, err := c.getManifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("bundle referrer %s: want exactly one layer, found %d", ref.DigestStr(), len(m.Layers))
	}
	ld := m.Layers[0]
	if !strings.HasPrefix(string(ld.MediaType), "application/vnd.dev.sigstore.bundle") {
		return nil, fmt.Errorf("bundle referrer %s: layer media type %q is not a Sigstore bundle", ref.DigestStr(), ld.MediaType)
	}
	if ld.Size > MaxPayloadBytes {
		return nil, fmt.Errorf("bundle referrer %s: bundle is %d bytes, more than the %d byte limit", ref.DigestStr(), ld.Size, MaxPayloadBytes)
	}
	data, err := c.fetchBlob(ctx, ref.Context().Digest(ld.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("bundle referrer %s: %w", ref.DigestStr(), err)
	}
	return ParseBundle(data)
}

// ParseBundle reads a Sigstore bundle (v0.3 or later) from JSON.
func ParseBundle(data []byte) (*sgbundle.Bundle, error) {
	if len(data) > MaxPayloadBytes {
		return nil, fmt.Errorf("bundle is %d bytes, more than the %d byte limit", len(data), MaxPayloadBytes)
	}
	b := &sgbundle.Bundle{}
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a valid Sigstore bundle: %w", err)
	}
	if !b.MinVersion("v0.3") {
		return nil, fmt.Errorf("Sigstore bundle is older than v0.3: re-sign with a current cosign")
	}
	return b, nil
}

// bundlePredicateType reads the in-toto predicateType of a DSSE bundle.
func bundlePredicateType(b *sgbundle.Bundle) string {
	env := b.GetDsseEnvelope()
	if env == nil {
		return ""
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(env.GetPayload(), &st) != nil {
		return ""
	}
	return st.PredicateType
}

// hashOf converts a digest reference to cosign's hash type.
func hashOf(d name.Digest) (v1.Hash, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest of %s: %w", d, err)
	}
	if h.Algorithm != "sha256" {
		return v1.Hash{}, fmt.Errorf("digest of %s: algorithm %s is not supported (want sha256)", d, h.Algorithm)
	}
	return h, nil
}
