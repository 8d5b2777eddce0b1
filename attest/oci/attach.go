package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// AttachAttestation attaches a signed DSSE envelope (an in-toto statement
// about d) to the image exactly as `cosign attest` does: a layer of media
// type application/vnd.dsse.envelope.v1+json with the predicateType
// annotation, in the image's sha256-<hex>.att tag, keeping the attestations
// already there. It returns the tag written.
func (c *Client) AttachAttestation(ctx context.Context, d name.Digest, envelope []byte, predicateType string) (string, error) {
	if len(envelope) > MaxPayloadBytes {
		return "", fmt.Errorf("attestation is %d bytes, more than the %d byte limit", len(envelope), MaxPayloadBytes)
	}
	if predicateType == "" {
		return "", fmt.Errorf("attach attestation to %s: predicate type is empty", d)
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	opts := c.cosignOptions(ctx)
	att, err := static.NewAttestation(envelope,
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}))
	if err != nil {
		return "", fmt.Errorf("attach attestation to %s: %w", d, err)
	}
	se, err := mutate.AttachAttestationToEntity(ociremote.SignedUnknown(d, opts...), att)
	if err != nil {
		return "", fmt.Errorf("attach attestation to %s: %w", d, err)
	}
	if err := ociremote.WriteAttestations(d.Repository, se, opts...); err != nil {
		return "", classify("attach attestation to "+d.String(), err)
	}
	tag, err := ociremote.AttestationTag(d, opts...)
	if err != nil {
		return "", err
	}
	return tag.String(), nil
}

// AttachBundle stores a Sigstore bundle (v0.3) about d as an OCI 1.1
// referrer with artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
// as `cosign attest --new-bundle-format` does. On registries without the
// referrers API the sha256-<hex> referrers index tag is updated instead.
// It returns where the bundle went: "Sigstore bundle referrer of <d>".
func (c *Client) AttachBundle(ctx context.Context, d name.Digest, bundle []byte) (string, error) {
	b, err := ParseBundle(bundle)
	if err != nil {
		return "", fmt.Errorf("attach bundle to %s: %w", d, err)
	}
	ann := map[string]string{
		"org.opencontainers.image.created": time.Now().UTC().Format(time.RFC3339),
	}
	if b.GetDsseEnvelope() != nil {
		ann["dev.sigstore.bundle.content"] = "dsse-envelope"
		if pt := bundlePredicateType(b); pt != "" {
			ann["dev.sigstore.bundle.predicateType"] = pt
		}
	} else {
		ann["dev.sigstore.bundle.content"] = "message-signature"
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	layer := ggcrstatic.NewLayer(bundle, types.MediaType(BundleArtifactType))
	if err := ociremote.WriteReferrer(d, BundleArtifactType, []v1.Layer{layer}, ann, c.cosignOptions(ctx)...); err != nil {
		return "", classify("attach bundle to "+d.String(), err)
	}
	return "Sigstore bundle referrer of " + d.String(), nil
}

// hasBundleReferrers reports whether cosign verify-attestation would read
// d's attestations from Sigstore bundles (it does as soon as one referrer
// is a bundle, and then never reads the .att tag): whether a referrer's
// manifest has exactly one layer holding a bundle v0.3 or later. Each
// manifest is read, not what the referrers index claims (registries and
// cosign's fallback index differ there); at most MaxAttachments are read,
// likely bundles first, under one deadline. A referrer that is not a bundle is skipped, as cosign skips it;
// a registry that cannot be reached is an error, never a guess.
func (c *Client) hasBundleReferrers(ctx context.Context, d name.Digest) (bool, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	im, err := c.referrers(ctx, d)
	if err != nil {
		return false, err
	}
	// Likely bundles first, so one fetch usually settles it: those the
	// index calls bundles, then those it types by an empty config (cosign's
	// fallback index, registries that list the config media type) or not
	// at all, then the rest.
	rank := func(desc v1.Descriptor) int {
		switch {
		case strings.HasPrefix(desc.ArtifactType, "application/vnd.dev.sigstore.bundle"):
			return 0
		case desc.ArtifactType == "" || desc.ArtifactType == "application/vnd.oci.empty.v1+json":
			return 1
		}
		return 2
	}
	descs := slices.Clone(im.Manifests)
	slices.SortStableFunc(descs, func(a, b v1.Descriptor) int { return rank(a) - rank(b) })
	for i, desc := range descs {
		if i == MaxAttachments {
			return false, fmt.Errorf("referrers of %s: none of the first %d of %d referrers is a Sigstore bundle; choose the attestation format (bundle or tag) explicitly", d, MaxAttachments, len(descs))
		}
		if !desc.MediaType.IsImage() {
			continue // cosign reads bundles from image manifests only
		}
		_, err := c.fetchBundle(ctx, d.Context().Digest(desc.Digest.String()))
		if err == nil {
			return true, nil
		}
		if ctx.Err() != nil || unreachable(err) {
			return false, fmt.Errorf("referrer %s of %s: %w", desc.Digest, d, err)
		}
	}
	return false, nil
}

// unreachable tells a registry that could not answer (network, 5xx, 429:
// the same request may succeed later) from content that is not there or
// not a bundle.
func unreachable(err error) bool {
	var ne net.Error
	var te *transport.Error
	return errors.As(err, &ne) || errors.As(err, &te) && (te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests)
}
