package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/signature"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/gatehouse-dev/gatehouse/attest/blob"
)

// Formats of signatures and attestations, as reported in evidence.
const (
	// FormatCosignTag: cosign's classic tag schema, sha256-<hex>.sig / .att.
	FormatCosignTag = "cosign-tag"
	// FormatBundleReferrer: a Sigstore bundle (v0.3) in an OCI 1.1 referrer
	// manifest, found through the referrers API or its tag-schema fallback.
	FormatBundleReferrer = "bundle-referrer"
	// FormatCosignReferrer: cosign's experimental OCI 1.1 mode
	// (COSIGN_EXPERIMENTAL=1 cosign sign --registry-referrers-mode=oci-1-1):
	// the tag schema's simple-signing (or DSSE) layers in a referrer manifest.
	FormatCosignReferrer = "cosign-referrer"
	// FormatBlobBundle: a Sigstore bundle file beside a file or folder.
	FormatBlobBundle = "blob-bundle"
)

// BundleArtifactType is the artifactType of referrers holding a Sigstore bundle v0.3.
const BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// bundleMediaTypePrefix starts the media type of every Sigstore bundle version.
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// CosignSignatureArtifactType is the artifactType (and config media type)
// of the referrers cosign's OCI 1.1 mode writes for signatures.
const CosignSignatureArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"

// CosignSignPredicateType marks a DSSE bundle that is an image signature
// (cosign v3's bundle format) rather than an attestation.
const CosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1"

// attachment is one signature or attestation found for an image.
type attachment struct {
	format string
	// where names it for messages: the tag or the referrer manifest digest.
	where   string
	classic oci.Signature    // FormatCosignTag, FormatCosignReferrer
	bundle  *sgbundle.Bundle // FormatBundleReferrer
	// predicateType of an attestation, from its annotation or statement.
	predicateType string
	// sig is set for attachments known to be signatures before their
	// content is read (cosign OCI 1.1 signature referrers).
	sig bool
	// fetchErr is set when the attachment was found but could not be read.
	fetchErr error
}

// isSignature tells image signatures from attestations among referrers.
func (a *attachment) isSignature() bool {
	if a.sig {
		return true
	}
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
	// sigs and atts: cosign's tag schema and its OCI 1.1 referrers.
	sigs, atts []*attachment
	// refs: Sigstore bundle referrers, both kinds, and referrers that
	// could not be read (unknown kind: reported to both).
	refs []*attachment
}

// fetchRun bounds one check's reads: requests in flight and attachments
// read from referrers.
type fetchRun struct {
	c      *Client
	sem    chan struct{}
	budget atomic.Int64
}

// do runs f holding one of the run's request slots.
func (r *fetchRun) do(ctx context.Context, f func()) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	f()
	return nil
}

// take counts one attachment read from referrers against MaxAttachments.
func (r *fetchRun) take(where string) error {
	if r.budget.Add(1) > MaxAttachments {
		return fmt.Errorf("%s: the image's referrers hold more than %d signatures and attestations, more than gatehouse reads: remove stale ones", where, MaxAttachments)
	}
	return nil
}

// fetchAttachments reads what w asks for from the registry, all lookups at
// once: the .sig and .att tags and the referrers (API or fallback tag) are
// independent round trips, and so are the manifests and blobs they list.
// An error means the registry could not be asked (down, refusing, failing,
// past the deadline): never evidence.
func (c *Client) fetchAttachments(ctx context.Context, d name.Digest, w want) (*found, error) {
	r := &fetchRun{c: c, sem: make(chan struct{}, fetchConcurrency)}
	var f found
	var rf found
	var wg sync.WaitGroup
	var sigErr, attErr, refErr error
	if w.sigs {
		wg.Go(func() { f.sigs, sigErr = r.classicAttachments(ctx, d, "sig", "") })
	}
	if w.atts {
		wg.Go(func() { f.atts, attErr = r.classicAttachments(ctx, d, "att", w.predicateType) })
	}
	if w.sigs || w.atts {
		wg.Go(func() { refErr = r.referrerAttachments(ctx, d, w, &rf) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, classify(d.String(), err)
	}
	for _, err := range []error{sigErr, attErr, refErr} {
		if err != nil {
			return nil, err
		}
	}
	f.sigs = append(f.sigs, rf.sigs...)
	f.atts = append(f.atts, rf.atts...)
	f.refs = rf.refs
	return &f, nil
}

// classicAttachments fetches the signatures (suffix "sig") or attestations
// ("att") stored under cosign's tag schema: one manifest, then its layers
// (layerAttachments). A missing tag is no attachments.
func (r *fetchRun) classicAttachments(ctx context.Context, d name.Digest, suffix, predicateType string) ([]*attachment, error) {
	opts := r.c.cosignOptions(ctx)
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
	var m *v1.Manifest
	if err := r.do(ctx, func() { m, err = r.c.getManifest(ctx, tag) }); err != nil {
		return nil, classify(tag.String(), err)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return r.layerAttachments(ctx, tag.Context(), tag.String(), FormatCosignTag, m.Layers, predicateType, false)
}

// layerAttachments reads the layers of one of cosign's signature or
// attestation manifests (the .sig/.att tag, or an OCI 1.1 referrer), each a
// payload with its signature in annotations, concurrently, each read once.
// A layer that is too large, gone or unreadable is an attachment that says
// so; a registry that fails is an error. When predicateType is set,
// attestation layers annotated with another predicate type are not fetched
// (unsigned labels can only make an attestation be missed, never
// accepted). Layers read from referrers count against the run's budget.
func (r *fetchRun) layerAttachments(ctx context.Context, repo name.Repository, where, format string, layers []v1.Descriptor, predicateType string, referrer bool) ([]*attachment, error) {
	if len(layers) > MaxAttachments {
		return nil, fmt.Errorf("%s holds %d layers, more than the limit of %d", where, len(layers), MaxAttachments)
	}
	out := make([]*attachment, len(layers))
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i, ld := range layers {
		if pt := ld.Annotations["predicateType"]; predicateType != "" && pt != "" && pt != predicateType {
			continue
		}
		if referrer {
			if err := r.take(where); err != nil {
				wg.Wait()
				return nil, err
			}
		}
		a := &attachment{format: format, where: fmt.Sprintf("%s layer %d", where, i), predicateType: ld.Annotations["predicateType"]}
		out[i] = a
		if ld.Size > MaxPayloadBytes || ld.Size < 0 {
			a.fetchErr = fmt.Errorf("layer is %d bytes, outside the %d byte limit", ld.Size, MaxPayloadBytes)
			continue
		}
		wg.Go(func() {
			var data []byte
			var err error
			if e := r.do(ctx, func() { data, err = r.c.fetchBlob(ctx, repo.Digest(ld.Digest.String())) }); e != nil {
				err = e
			}
			switch {
			case err == nil:
				// The same Signature cosign builds from a remote layer, over
				// bytes already read: cosign reads a payload more than once.
				a.classic = signature.New(ggcrstatic.NewLayer(data, ld.MediaType), ld)
			case isUnusable(err):
				a.fetchErr = err
			default:
				errs[i] = fmt.Errorf("%s: %w", a.where, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, a := range out {
		if a != nil {
			kept = append(kept, a)
		}
	}
	return kept, nil
}

// unusableError marks content a registry served that cannot be used (gone
// although listed, too large, malformed, not what it claims): the
// attachment is reported unverified with the reason. Every other error
// means the registry could not be asked, and fails the whole check.
type unusableError struct{ error }

func (e unusableError) Unwrap() error { return e.error }

func unusable(format string, args ...any) error { return unusableError{fmt.Errorf(format, args...)} }

func isUnusable(err error) bool {
	var u unusableError
	return errors.As(err, &u) || errors.Is(err, ErrNotFound) || errors.Is(err, errTooLarge)
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
			return nil, unusable("%s: manifest is %d bytes, more than the %d byte limit", ref, len(desc.Manifest), MaxPayloadBytes)
		}
		if !desc.MediaType.IsImage() {
			return nil, unusable("%s: media type %s is not an image manifest", ref, desc.MediaType)
		}
		raw = desc.Manifest
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, unusable("%s: malformed manifest: %v", ref, err)
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

// The kinds of referrer, told from the manifest itself (see classifyReferrer).
type referrerKind int

const (
	// refOther: not a signature or attestation (an SBOM, a scan): ignored.
	refOther referrerKind = iota
	// refBundle: one Sigstore bundle layer (cosign --new-bundle-format).
	refBundle
	// refCosignSig: cosign's OCI 1.1 signatures, simple-signing layers.
	refCosignSig
	// refCosignAtt: cosign's OCI 1.1 attestations, DSSE envelope layers.
	refCosignAtt
)

func (k referrerKind) String() string {
	return [...]string{"other", "Sigstore bundle", "cosign signature", "cosign attestation"}[k]
}

// kindOfMediaType maps a media type (a layer's, or a manifest's claim) to a kind.
func kindOfMediaType(mt string) referrerKind {
	switch {
	case strings.HasPrefix(mt, bundleMediaTypePrefix):
		return refBundle
	case mt == ctypes.SimpleSigningMediaType, mt == CosignSignatureArtifactType:
		return refCosignSig
	case mt == ctypes.DssePayloadType, mt == ctypes.IntotoPayloadType:
		return refCosignAtt
	}
	return refOther
}

// classifyReferrer decides what a referrer manifest holds, as cosign does,
// from the manifest and never from what a referrers listing claims: its
// layers' media types decide. Its artifactType (or config media type) only
// makes a manifest that claims a signature kind but holds no such layer an
// error, so that it is reported rather than ignored. A manifest mixing
// kinds, or a bundle manifest with more than one layer, is an error too.
// The kind returned with an error is the one claimed or held.
func classifyReferrer(m *v1.Manifest) (referrerKind, error) {
	claim := m.ArtifactType
	if claim == "" {
		claim = string(m.Config.MediaType)
	}
	held := refOther
	for _, l := range m.Layers {
		if held = kindOfMediaType(string(l.MediaType)); held != refOther {
			break
		}
	}
	if held == refOther {
		if claimed := kindOfMediaType(claim); claimed != refOther {
			return claimed, fmt.Errorf("claims to be a %s (%s) but holds no such layer", claimed, claim)
		}
		return refOther, nil
	}
	for i, l := range m.Layers {
		if kindOfMediaType(string(l.MediaType)) != held {
			return held, fmt.Errorf("layer %d (%s) is not a %s like the others: a referrer holds one kind", i, l.MediaType, held)
		}
	}
	if held == refBundle && len(m.Layers) != 1 {
		return refBundle, fmt.Errorf("a Sigstore bundle referrer holds exactly one layer, this one %d", len(m.Layers))
	}
	return held, nil
}

// labelledOut reports whether a referrer's Sigstore annotations (unsigned,
// in the listing or the manifest) say positively that it is not what w
// asks for: then it is not read. A false label can only make a signature
// or attestation be missed (fail closed), never accepted: what is read is
// judged by its signed content. artifactType is never used to skip:
// registries and cosign's fallback index disagree about it.
func labelledOut(ann map[string]string, w want) bool {
	content, pt := ann["dev.sigstore.bundle.content"], ann["dev.sigstore.bundle.predicateType"]
	switch {
	case content == "message-signature" || pt == CosignSignPredicateType:
		return !w.sigs
	case content == "dsse-envelope" && pt != "":
		return !w.atts || w.predicateType != "" && pt != w.predicateType
	}
	return false
}

// referrerAttachments reads what refers to d and may be what w asks for:
// the listing's entries (at most MaxAttachments, duplicates once) are each
// read as a manifest and judged by classifyReferrer; Sigstore bundles and
// cosign's OCI 1.1 signatures and attestations among them are read into
// out (at most MaxAttachments in all), concurrently under the run's bounds.
// A referrer that cannot be used is reported unverified with the reason;
// a registry that fails is an error.
func (r *fetchRun) referrerAttachments(ctx context.Context, d name.Digest, w want, out *found) error {
	var im *v1.IndexManifest
	var err error
	if e := r.do(ctx, func() { im, err = r.c.referrers(ctx, d) }); e != nil {
		return classify("referrers of "+d.String(), e)
	}
	if err != nil {
		return err
	}
	seen := map[v1.Hash]bool{}
	var descs []v1.Descriptor
	for _, desc := range im.Manifests {
		if seen[desc.Digest] || labelledOut(desc.Annotations, w) {
			continue
		}
		seen[desc.Digest] = true
		descs = append(descs, desc)
	}
	if len(descs) > MaxAttachments {
		return fmt.Errorf("referrers of %s: the registry lists %d referrers that may be signatures or attestations, more than the %d gatehouse reads: remove stale referrers", d, len(descs), MaxAttachments)
	}
	results := make([]found, len(descs))
	errs := make([]error, len(descs))
	var wg sync.WaitGroup
	for i, desc := range descs {
		wg.Go(func() { errs[i] = r.referrer(ctx, d.Context().Digest(desc.Digest.String()), w, &results[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, res := range results {
		out.sigs = append(out.sigs, res.sigs...)
		out.atts = append(out.atts, res.atts...)
		out.refs = append(out.refs, res.refs...)
	}
	return nil
}

// referrer reads one referrer manifest and what w needs of it into out.
func (r *fetchRun) referrer(ctx context.Context, ref name.Digest, w want, out *found) error {
	where := "referrer " + ref.DigestStr()
	var m *v1.Manifest
	var err error
	if e := r.do(ctx, func() { m, err = r.c.getManifest(ctx, ref) }); e != nil {
		return classify(ref.String(), e)
	}
	if err != nil {
		if !isUnusable(err) {
			return err
		}
		if errors.Is(err, ErrNotFound) {
			err = unusable("listed by the registry but not found in it: %w", err)
		}
		// Not read: what it is cannot be known; both checks see it.
		out.refs = append(out.refs, &attachment{format: FormatBundleReferrer, where: where, fetchErr: err})
		return nil
	}
	kind, err := classifyReferrer(m)
	switch {
	case kind == refOther:
		return nil
	case kind == refCosignSig && !w.sigs, kind == refCosignAtt && !w.atts, kind == refBundle && labelledOut(m.Annotations, w):
		return nil
	case err != nil:
		a := &attachment{where: where, fetchErr: unusable("%v", err)}
		switch kind {
		case refCosignSig:
			a.format, a.sig = FormatCosignReferrer, true
			out.sigs = append(out.sigs, a)
		case refCosignAtt:
			a.format = FormatCosignReferrer
			out.atts = append(out.atts, a)
		default:
			a.format = FormatBundleReferrer
			out.refs = append(out.refs, a)
		}
		return nil
	case kind == refCosignSig:
		as, err := r.layerAttachments(ctx, ref.Context(), where, FormatCosignReferrer, m.Layers, "", true)
		for _, a := range as {
			a.sig = true
		}
		out.sigs = append(out.sigs, as...)
		return err
	case kind == refCosignAtt:
		as, err := r.layerAttachments(ctx, ref.Context(), where, FormatCosignReferrer, m.Layers, w.predicateType, true)
		out.atts = append(out.atts, as...)
		return err
	}
	if err := r.take(where); err != nil {
		return err
	}
	a := &attachment{format: FormatBundleReferrer, where: where, predicateType: m.Annotations["dev.sigstore.bundle.predicateType"]}
	var data []byte
	if e := r.do(ctx, func() { data, err = r.c.bundleLayer(ctx, ref, m) }); e != nil {
		return classify(ref.String(), e)
	}
	switch {
	case err != nil && !isUnusable(err):
		return err
	case err != nil:
		a.fetchErr = err
	default:
		// Everything ParseBundle refuses is the bundle's fault.
		if a.bundle, a.fetchErr = ParseBundle(data); a.bundle != nil {
			if pt := bundlePredicateType(a.bundle); pt != "" {
				a.predicateType = pt
			}
		}
	}
	out.refs = append(out.refs, a)
	return nil
}

// fetchBundle reads the Sigstore bundle a referrer manifest holds.
func (c *Client) fetchBundle(ctx context.Context, ref name.Digest) (*sgbundle.Bundle, error) {
	m, err := c.getManifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	if kind, err := classifyReferrer(m); err != nil || kind != refBundle {
		if err == nil {
			err = fmt.Errorf("holds no Sigstore bundle layer")
		}
		return nil, unusable("bundle referrer %s: %v", ref.DigestStr(), err)
	}
	data, err := c.bundleLayer(ctx, ref, m)
	if err != nil {
		return nil, err
	}
	return ParseBundle(data)
}

// bundleLayer reads the one layer of a bundle referrer (classifyReferrer: refBundle).
func (c *Client) bundleLayer(ctx context.Context, ref name.Digest, m *v1.Manifest) ([]byte, error) {
	ld := m.Layers[0]
	if ld.Size > MaxPayloadBytes || ld.Size < 0 {
		return nil, unusable("bundle referrer %s: bundle is %d bytes, outside the %d byte limit", ref.DigestStr(), ld.Size, MaxPayloadBytes)
	}
	data, err := c.fetchBlob(ctx, ref.Context().Digest(ld.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("bundle referrer %s: %w", ref.DigestStr(), err)
	}
	return data, nil
}

// ErrOldBundleFormat is blob.ErrOldBundleFormat: cosign's pre-Sigstore
// bundle format, refused with how to re-sign.
var ErrOldBundleFormat = blob.ErrOldBundleFormat

// ParseBundle reads a Sigstore bundle (v0.3 or later) of at most
// MaxPayloadBytes from JSON (blob.ParseBundle).
func ParseBundle(data []byte) (*sgbundle.Bundle, error) {
	if len(data) > MaxPayloadBytes {
		return nil, fmt.Errorf("bundle is %d bytes, more than the %d byte limit", len(data), MaxPayloadBytes)
	}
	return blob.ParseBundle(data)
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
