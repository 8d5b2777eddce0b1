package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/gatehouse-dev/gatehouse/internal/keychain"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// RegistryOptions say how to reach OCI registries.
type RegistryOptions struct {
	// Keychain resolves credentials (default: the Docker config and
	// credential helpers, then Google's: ADC, gcloud, GKE workload identity,
	// for *.pkg.dev and gcr.io).
	Keychain authn.Keychain
	// Transport is the base HTTP transport (default remote.DefaultTransport).
	Transport http.RoundTripper
	// Insecure allows plain HTTP to a registry that is not on loopback.
	Insecure bool
}

func (r RegistryOptions) keychain() authn.Keychain {
	if r.Keychain != nil {
		return r.Keychain
	}
	return keychain.Default()
}

func (r RegistryOptions) transport() http.RoundTripper {
	if r.Transport != nil {
		return r.Transport
	}
	return remote.DefaultTransport
}

func (r RegistryOptions) parse(s string) (name.Reference, error) {
	var nopts []name.Option
	if r.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(s, nopts...)
	if err != nil {
		return nil, fmt.Errorf("oci://%s: %w", textsafe.Escape(s), err)
	}
	return ref, nil
}

func (r RegistryOptions) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(r.keychain()), remote.WithTransport(r.transport())}
}

// descriptor is the part of an OCI descriptor this package reads.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	} `json:"platform,omitempty"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	ArtifactType  string       `json:"artifactType,omitempty"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
	Manifests     []descriptor `json:"manifests"` // an index
}

type layerPlan struct {
	desc   descriptor
	enc    layerEncoding
	path   string // raw layer: the file's path
	filter string // archive: only entries under this prefix ("" = all)
}

type ociTree struct {
	ref    name.Reference
	opts   Options
	id     Identity
	layers []layerPlan
}

func openOCI(ctx context.Context, s string, opts Options) (Tree, error) {
	ref, err := opts.Registry.parse(s)
	if err != nil {
		return nil, err
	}
	display := "oci://" + ref.Name()
	rdesc, err := remote.Get(ref, opts.Registry.remoteOptions(ctx)...)
	if err != nil {
		return nil, registryError(display, "manifest", err)
	}
	raw := rdesc.Manifest
	if int64(len(raw)) > opts.MaxManifestBytes {
		return nil, fmt.Errorf("%s: manifest of %d bytes is over the limit of %d: %w", display, len(raw), opts.MaxManifestBytes, ErrLimit)
	}
	topDigest := rdesc.Digest.String()
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != topDigest {
		return nil, fmt.Errorf("%s: registry returned a manifest with digest %s: %w", display, topDigest, ErrIntegrity)
	}
	if got := sha256Hex(raw); "sha256:"+got != topDigest {
		return nil, fmt.Errorf("%s: manifest bytes hash to sha256:%s, registry says %s: %w", display, got, topDigest, ErrIntegrity)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", display, err)
	}
	mediaType := string(rdesc.MediaType)
	manifestDigest := topDigest
	if mediaType == MediaTypeOCIIndex || mediaType == MediaTypeDockerList || (m.MediaType == MediaTypeOCIIndex && len(m.Manifests) > 0) {
		child, err := pickManifest(m.Manifests, opts.Platform)
		if err != nil {
			return nil, fmt.Errorf("%s: index: %w", display, err)
		}
		cref := ref.Context().Digest(child.Digest)
		cdesc, err := remote.Get(cref, opts.Registry.remoteOptions(ctx)...)
		if err != nil {
			return nil, registryError(display, "manifest "+child.Digest, err)
		}
		raw = cdesc.Manifest
		if int64(len(raw)) > opts.MaxManifestBytes {
			return nil, fmt.Errorf("%s: manifest %s of %d bytes is over the limit of %d: %w", display, child.Digest, len(raw), opts.MaxManifestBytes, ErrLimit)
		}
		if got := "sha256:" + sha256Hex(raw); got != child.Digest {
			return nil, fmt.Errorf("%s: manifest %s hashes to %s: %w", display, child.Digest, got, ErrIntegrity)
		}
		m = manifest{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: manifest %s: %w", display, child.Digest, err)
		}
		mediaType = string(cdesc.MediaType)
		manifestDigest = child.Digest
	}
	if mediaType != MediaTypeOCIManifest && mediaType != MediaTypeDockerV2 {
		return nil, fmt.Errorf("%s: manifest media type %q: %w (want an OCI image manifest)", display, textsafe.Escape(mediaType), ErrUnsupported)
	}
	if len(m.Layers) > opts.MaxLayers {
		return nil, fmt.Errorf("%s: %d layers, more than the limit of %d: %w", display, len(m.Layers), opts.MaxLayers, ErrLimit)
	}
	t := &ociTree{ref: ref, opts: opts}
	t.id = Identity{
		Kind:           KindOCI,
		Ref:            display,
		Digest:         topDigest,
		Pinned:         "oci://" + ref.Context().Name() + "@" + topDigest,
		MediaType:      mediaType,
		ArtifactType:   m.ArtifactType,
		ManifestDigest: manifestDigest,
		ConfigDigest:   m.Config.Digest,
	}
	if err := t.plan(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	if m.Config.Digest != "" && m.Config.MediaType != mediaTypeOCIEmptyJSON {
		cfg, err := t.fetchSmall(ctx, m.Config, opts.MaxConfigBytes)
		if err != nil {
			return nil, fmt.Errorf("%s: config: %w", display, err)
		}
		t.id.Config = cfg
	}
	return t, nil
}

func pickManifest(ms []descriptor, platform string) (descriptor, error) {
	if len(ms) == 0 {
		return descriptor{}, errors.New("no manifests")
	}
	var candidates []descriptor
	for _, d := range ms {
		// Skip attestation manifests BuildKit adds to indexes.
		if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		candidates = append(candidates, d)
	}
	if len(candidates) == 1 {
		return candidates[0], nil
	}
	var seen []string
	for _, d := range candidates {
		if d.Platform == nil {
			continue
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		if d.Platform.Variant != "" && strings.Count(platform, "/") == 2 {
			p += "/" + d.Platform.Variant
		}
		if p == platform {
			return d, nil
		}
		seen = append(seen, p)
	}
	return descriptor{}, fmt.Errorf("no manifest for platform %s (has %s)", platform, textsafe.Escape(strings.Join(seen, ", ")))
}

// plan classifies the artifact and decides how each layer is read.
func (t *ociTree) plan(m *manifest) error {
	layerErr := func(i int, d descriptor, why string) error {
		return fmt.Errorf("layer %d (%s, %s): %s: %w", i, d.Digest, textsafe.Escape(d.MediaType), why, ErrUnsupported)
	}
	switch {
	case m.ArtifactType == ArtifactTypeModelManifest || m.Config.MediaType == MediaTypeModelConfig:
		t.id.Format = FormatModelPack
	case m.ArtifactType == ArtifactTypeKitManifest || m.Config.MediaType == MediaTypeKitConfig:
		t.id.Format = FormatKitOps
	case m.Config.MediaType == MediaTypeOCIConfig || m.Config.MediaType == MediaTypeDockerConfig:
		t.id.Format = FormatModelCar
	default:
		t.id.Format = FormatORAS
	}
	for i, d := range m.Layers {
		if !strings.HasPrefix(d.Digest, "sha256:") || len(d.Digest) != 71 {
			return fmt.Errorf("layer %d: digest %q: %w (only sha256 is read)", i, textsafe.Escape(d.Digest), ErrUnsupported)
		}
		if _, err := hex.DecodeString(d.Digest[7:]); err != nil {
			return fmt.Errorf("layer %d: digest %q is not hex: %w", i, textsafe.Escape(d.Digest), ErrIntegrity)
		}
		if d.Size < 0 {
			return fmt.Errorf("layer %d (%s): negative size %d: %w", i, d.Digest, d.Size, ErrIntegrity)
		}
		p := layerPlan{desc: d}
		var ok bool
		fileName := d.Annotations[AnnotationFilepath]
		if fileName == "" {
			fileName = d.Annotations[AnnotationTitle]
		}
		switch t.id.Format {
		case FormatModelPack:
			p.enc, ok = versionedLayer(d.MediaType, modelPackLayerPrefix, modelPackKinds)
		case FormatKitOps:
			p.enc, ok = versionedLayer(d.MediaType, kitLayerPrefix, kitBases)
		case FormatModelCar:
			p.enc, ok = imageLayer(d.MediaType)
			p.filter = strings.TrimPrefix(t.opts.ImagePathPrefix, "/")
		case FormatORAS:
			if fileName == "" {
				return layerErr(i, d, "no "+AnnotationTitle+" annotation to name its file")
			}
			p.enc, ok = orasLayer(d.MediaType, d.Annotations), true
		}
		if !ok {
			return layerErr(i, d, "not a "+string(t.id.Format)+" layer media type")
		}
		if !p.enc.archive {
			if fileName == "" {
				return layerErr(i, d, "a raw layer needs an "+AnnotationFilepath+" or "+AnnotationTitle+" annotation")
			}
			clean, err := cleanEntry(fileName)
			if err != nil {
				return fmt.Errorf("layer %d (%s): annotation %q: %w", i, d.Digest, textsafe.Escape(fileName), err)
			}
			p.path = clean
		}
		t.layers = append(t.layers, p)
	}
	return nil
}

func (t *ociTree) Identity() Identity { return t.id }

// blobClient returns an HTTP client authenticated for pulls from the
// tree's repository.
func (t *ociTree) blobClient(ctx context.Context) (*http.Client, error) {
	reg := t.ref.Context().Registry
	auth, err := authn.Resolve(ctx, t.opts.Registry.keychain(), reg)
	if err != nil {
		return nil, fmt.Errorf("%s: credentials: %w: %v", reg.Name(), ErrCredentials, err)
	}
	rt, err := transport.NewWithContext(ctx, reg, auth, t.opts.Registry.transport(), []string{t.ref.Context().Scope(transport.PullScope)})
	if err != nil {
		return nil, registryError(t.id.Ref, "authenticate", err)
	}
	return &http.Client{Transport: rt}, nil
}

// fetchBlob starts the download of one blob; the body is wrapped so that
// it fails on more bytes than d.Size and Verify checks size and digest.
func (t *ociTree) fetchBlob(ctx context.Context, client *http.Client, d descriptor) (*verifier, error) {
	repo := t.ref.Context()
	url := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Registry.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), d.Digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, registryError(t.id.Ref, "blob "+d.Digest, err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, registryError(t.id.Ref, "blob "+d.Digest, err)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != d.Size {
		resp.Body.Close()
		return nil, fmt.Errorf("layer %s: registry sends %d bytes, the manifest says %d: %w", d.Digest, resp.ContentLength, d.Size, ErrIntegrity)
	}
	return &verifier{body: resp.Body, want: d.Digest, size: d.Size, h: sha256.New()}, nil
}

func (t *ociTree) fetchSmall(ctx context.Context, d descriptor, limit int64) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("blob %s of %d bytes is over the limit of %d: %w", d.Digest, d.Size, limit, ErrLimit)
	}
	client, err := t.blobClient(ctx)
	if err != nil {
		return nil, err
	}
	v, err := t.fetchBlob(ctx, client, d)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	b, err := io.ReadAll(v)
	if err != nil {
		return nil, err
	}
	if err := v.Verify(); err != nil {
		return nil, err
	}
	return b, nil
}

// verifier hashes and counts a blob as it streams.
type verifier struct {
	body io.ReadCloser
	h    hash.Hash
	n    int64
	size int64
	want string
	// bodyErr is the first error the body itself returned (not io.EOF):
	// the connection, not the content, failed.
	bodyErr error
}

func (v *verifier) Read(p []byte) (int, error) {
	// Allow one byte past the stated size, so a longer body is noticed
	// without reading it all.
	if room := v.size + 1 - v.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := v.body.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if err != nil && err != io.EOF && v.bodyErr == nil {
		v.bodyErr = err
	}
	if v.n > v.size {
		return n, fmt.Errorf("layer %s: more bytes than the manifest's size %d: %w", v.want, v.size, ErrIntegrity)
	}
	return n, err
}

// Verify reads what is left of the blob and checks size and digest.
func (v *verifier) Verify() error {
	if _, err := io.Copy(io.Discard, v); err != nil {
		return fmt.Errorf("layer %s: %w", v.want, err)
	}
	if v.n != v.size {
		return fmt.Errorf("layer %s: %d bytes, the manifest says %d: %w", v.want, v.n, v.size, ErrIntegrity)
	}
	if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return fmt.Errorf("layer %s: content hashes to %s: %w", v.want, got, ErrIntegrity)
	}
	return nil
}

func (v *verifier) Close() error { return v.body.Close() }

// Walk streams the layers, up to Options.Concurrency at once.
func (t *ociTree) Walk(ctx context.Context, fn func(context.Context, *File) error) error {
	client, err := t.blobClient(ctx)
	if err != nil {
		return err
	}
	w := &walkState{opts: t.opts}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for _, lp := range t.layers {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := t.walkLayer(gctx, client, lp, w, fn); err != nil {
				return fmt.Errorf("%s: %w", t.id.Ref, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// walkState is shared by the layers of one Walk.
type walkState struct {
	opts  Options
	files atomic.Int64
	bytes atomic.Int64 // decompressed bytes, all layers
}

func (w *walkState) countFile(where string) error {
	if w.files.Add(1) > int64(w.opts.MaxFiles) {
		return fmt.Errorf("%s: more than %d files: %w", where, w.opts.MaxFiles, ErrLimit)
	}
	return nil
}

func (t *ociTree) walkLayer(ctx context.Context, client *http.Client, lp layerPlan, w *walkState, fn func(context.Context, *File) error) error {
	v, err := t.fetchBlob(ctx, client, lp.desc)
	if err != nil {
		return err
	}
	defer v.Close()
	d := lp.desc
	if !lp.enc.archive {
		if err := w.countFile("layer " + d.Digest); err != nil {
			return err
		}
		if d.Size > t.opts.MaxFileBytes {
			return fmt.Errorf("layer %s: %s is %d bytes, over the per-file limit of %d: %w", d.Digest, textsafe.Escape(lp.path), d.Size, t.opts.MaxFileBytes, ErrLimit)
		}
		if w.bytes.Add(d.Size) > t.opts.MaxTotalBytes {
			return fmt.Errorf("layer %s: the artifact holds more than %d bytes: %w", d.Digest, t.opts.MaxTotalBytes, ErrLimit)
		}
		f := &File{Path: lp.path, Size: d.Size, Type: TypeRegular, Layer: d.Digest, LayerMediaType: d.MediaType, LayerPath: lp.path, Digest: d.Digest}
		opened := false
		f.open = func(context.Context) (io.ReadCloser, error) {
			if opened {
				return nil, fmt.Errorf("%s: already opened (layer %s is read once)", f.Path, d.Digest)
			}
			opened = true
			return io.NopCloser(v), nil
		}
		err := fn(ctx, f)
		f.open = nil
		if err != nil {
			return layerFailed(ctx, v, err, nil)
		}
		return v.Verify()
	}
	dec, closeDec, err := decompressor(v, lp.enc.compression)
	if err != nil {
		return layerFailed(ctx, v, fmt.Errorf("layer %s: %w", d.Digest, err), &readFault{})
	}
	counted := &countingReader{r: dec, w: w, layer: d.Digest}
	// fault says where reading stopped, should the layer turn out to be
	// what the manifest promised: the archive itself is then malformed.
	fault := &readFault{}
	err = walkTar(ctx, counted, lp, w, func(ctx context.Context, f *File) error {
		fault.entry, fault.content = f.LayerPath, nil
		if inner := f.open; inner != nil {
			f.open = func(ctx context.Context) (io.ReadCloser, error) {
				rc, err := inner(ctx)
				if err != nil {
					return nil, err
				}
				return &faultReader{rc: rc, fault: fault}, nil
			}
		}
		if err := fn(ctx, f); err != nil {
			fault.fromFn = true
			return err
		}
		return nil
	})
	closeDec()
	if err != nil {
		return layerFailed(ctx, v, err, fault)
	}
	return v.Verify()
}

// readFault records where reading a tar layer failed: the last entry handed
// out (its name as written), whether the error came from the callback, and
// the first error reading that entry's content returned.
type readFault struct {
	entry   string
	fromFn  bool
	content error
}

// faultReader records the first read error of an entry's content.
type faultReader struct {
	rc    io.ReadCloser
	fault *readFault
}

func (r *faultReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF && r.fault.content == nil {
		r.fault.content = err
	}
	return n, err
}

func (r *faultReader) Close() error { return r.rc.Close() }

// ErrMalformed: a layer's bytes match its digest and size, but its archive
// (tar, gzip, zstd) cannot be read to its end: the artifact is broken as
// published. errors.Is(err, ErrUnsafePath) is true for it: a hostile tree,
// denied. Reading again cannot change a digest-checked layer, and another
// extractor (a container runtime, Python's tarfile) may read such an archive
// differently and unpack files no scanner saw.
var ErrMalformed error = malformedError{}

type malformedError struct{}

func (malformedError) Error() string        { return "archive malformed as published" }
func (malformedError) Is(target error) bool { return target == ErrUnsafePath }

// layerFailed is called when reading layer v stopped with err before its
// end. Unless the context ended or the connection failed, the rest of the
// layer is read (bounded by the manifest's size, which the verifier
// enforces) and hashed: bytes that do not match the manifest make it
// ErrIntegrity, whatever broke first (a flipped byte in a tar header makes
// the tar reader fail before the digest is known). When the layer is what
// the manifest promised and the archive itself broke (fault set, the error
// not from the callback or from reading an entry's content), it is
// ErrMalformed naming the layer and the entry. Otherwise err is returned.
func layerFailed(ctx context.Context, v *verifier, err error, fault *readFault) error {
	if ctx.Err() != nil || v.bodyErr != nil || errors.Is(err, ErrIntegrity) {
		return err
	}
	if verr := v.Verify(); verr != nil {
		if errors.Is(verr, ErrIntegrity) {
			return fmt.Errorf("%w (reading it had stopped at: %v)", verr, err)
		}
		return err // the drain failed (connection, context): the first error stands
	}
	if fault == nil || errors.Is(err, ErrLimit) || errors.Is(err, ErrUnsafePath) {
		return err
	}
	where, cause := "at its first entry", strings.TrimPrefix(err.Error(), "layer "+v.want+": ")
	switch {
	case fault.content != nil:
		where, cause = fmt.Sprintf("in the content of entry %q", textsafe.Escape(fault.entry)), fault.content.Error()
	case fault.fromFn:
		return err // the callback failed on its own
	case fault.entry != "":
		where = fmt.Sprintf("after entry %q", textsafe.Escape(fault.entry))
	}
	return fmt.Errorf("layer %s: its bytes match the manifest, but the archive breaks %s: %s: %w", v.want, where, cause, ErrMalformed)
}

// countingReader bounds the decompressed bytes of all layers together.
type countingReader struct {
	r     io.Reader
	w     *walkState
	layer string
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.w.bytes.Add(int64(n)) > c.w.opts.MaxTotalBytes {
		return n, fmt.Errorf("layer %s: decompresses to more than %d bytes in total: %w", c.layer, c.w.opts.MaxTotalBytes, ErrLimit)
	}
	return n, err
}

// registryError names the reference and turns 401/403 into ErrCredentials.
func registryError(ref, what string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%s: %s: %w: %v (log in with `docker login`, a credential helper, or for *.pkg.dev and gcr.io Google application default credentials, GKE workload identity or `gcloud auth configure-docker`)", ref, what, ErrCredentials, err)
	}
	return fmt.Errorf("%s: %s: %w", ref, what, err)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (t *ociTree) Close() error { return nil }
