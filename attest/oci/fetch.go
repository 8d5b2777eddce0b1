package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
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

// classicAttachments fetches the signatures (suffix "sig") or attestations
// ("att") stored under cosign's tag schema. A missing tag is no attachments.
func (c *Client) classicAttachments(ctx context.Context, d name.Digest, suffix string) ([]*attachment, error) {
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
	sigs, err := ociremote.Signatures(tag, opts...)
	if err != nil {
		return nil, classify(tag.String(), err)
	}
	// Check the size of every layer before anything reads it.
	m, err := sigs.Manifest()
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, classify(tag.String(), err)
	}
	if len(m.Layers) > MaxAttachments {
		return nil, fmt.Errorf("%s holds %d layers, more than the limit of %d", tag, len(m.Layers), MaxAttachments)
	}
	for i, l := range m.Layers {
		if l.Size > MaxPayloadBytes {
			return nil, fmt.Errorf("%s layer %d is %d bytes, more than the %d byte limit", tag, i, l.Size, MaxPayloadBytes)
		}
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, classify(tag.String(), err)
	}
	out := make([]*attachment, 0, len(list))
	for i, s := range list {
		a := &attachment{format: FormatCosignTag, where: fmt.Sprintf("%s layer %d", tag, i), classic: s}
		if ann, err := s.Annotations(); err == nil {
			a.predicateType = ann["predicateType"]
		}
		out = append(out, a)
	}
	return out, nil
}

// bundleReferrers fetches the Sigstore bundles that refer to d, through the
// referrers API or, on registries without it, the sha256-<hex> index tag.
func (c *Client) bundleReferrers(ctx context.Context, d name.Digest) ([]*attachment, error) {
	ropts := c.remoteOptions(ctx)
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return nil, classify("referrers of "+d.String(), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, classify("referrers of "+d.String(), err)
	}
	var out []*attachment
	for _, desc := range im.Manifests {
		if !strings.HasPrefix(desc.ArtifactType, "application/vnd.dev.sigstore.bundle") {
			continue // other referrers (SBOMs, cosign OCI 1.1 experiments) are not ours to judge
		}
		if len(out) == MaxAttachments {
			return nil, fmt.Errorf("referrers of %s: more than %d Sigstore bundles", d, MaxAttachments)
		}
		ref := d.Context().Digest(desc.Digest.String())
		a := &attachment{format: FormatBundleReferrer, where: "referrer " + desc.Digest.String()}
		a.predicateType = desc.Annotations["dev.sigstore.bundle.predicateType"]
		a.bundle, a.fetchErr = c.fetchBundle(ctx, ref, ropts)
		if a.bundle != nil {
			if pt := bundlePredicateType(a.bundle); pt != "" {
				a.predicateType = pt
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func (c *Client) fetchBundle(ctx context.Context, ref name.Digest, ropts []remote.Option) (*sgbundle.Bundle, error) {
	img, err := remote.Image(ref, ropts...)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, classify(ref.String(), err)
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
	layer, err := img.LayerByDigest(ld.Digest)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	defer rc.Close()
	data, err := readLimited(rc)
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
