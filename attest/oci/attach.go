package oci

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
// It returns the subject whose referrers now list the bundle.
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
	return d.String(), nil
}
