// Package oci verifies what is attached to images and OCI artifacts in their
// registries: cosign signatures and attestations in both of the formats cosign
// writes (the classic tag schema, sha256-<digest>.sig / .att, and Sigstore
// bundles stored as OCI 1.1 referrers, with the referrers-tag fallback for
// registries without the referrers API), and it attaches gatehouse's signed
// Verification Summary Attestations (VSAs) the way `cosign attest` does.
//
// Every call is about a digest: tags are resolved first (Client.Resolve), and
// every network call runs under the caller's context and the client's timeout.
// Verification is offline apart from the registry: keys need nothing else,
// keyless signatures are checked against a trusted-root file (certificate
// chain, identity, and the transparency-log inclusion promise it carries).
package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/gatehouse-dev/gatehouse/internal/keychain"
)

// DefaultTimeout bounds one registry operation when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Limits on what is read from a registry: an attacker controls the registry's
// answers as much as the image.
const (
	// MaxAttachments is the most signatures, attestations or referrers
	// looked at per image and format.
	MaxAttachments = 100
	// MaxPayloadBytes bounds one signature payload, DSSE envelope or bundle.
	MaxPayloadBytes = 4 << 20
)

// Options configure a Client. The zero value is ready to use.
type Options struct {
	// Keychain authenticates to registries. Default: the Docker config
	// keychain plus Google's (gcloud, metadata server, GOOGLE_APPLICATION_CREDENTIALS)
	// for Artifact Registry and GCR.
	Keychain authn.Keychain
	// Transport replaces the HTTP transport (tests, proxies).
	Transport http.RoundTripper
	// Insecure allows plain HTTP to registries that are not on loopback
	// (loopback and RFC 1918 addresses use HTTP anyway).
	Insecure bool
	// Timeout bounds each operation; DefaultTimeout when zero.
	Timeout time.Duration
	// BlobCacheBytes bounds the in-memory cache of blobs and manifests
	// fetched by digest (immutable content; tags are never cached):
	// DefaultBlobCacheBytes when zero, no cache when negative.
	BlobCacheBytes int64
}

// Client talks to OCI registries. It is safe for concurrent use; keep one
// per process: it keeps authenticated connections per repository and
// remembers which registries have no referrers API.
type Client struct {
	opts Options
	// transport is opts.Transport (or remote.DefaultTransport) wrapped to
	// notice registries without the referrers API.
	transport http.RoundTripper
	// puller keeps one authenticated transport per repository across calls
	// (no ping and token exchange per request).
	puller *remote.Puller

	// noReferrers maps a registry host to when it was seen answering the
	// referrers API with "not supported"; such registries go straight to
	// the referrers tag schema until noReferrersTTL has passed.
	mu          sync.Mutex
	noReferrers map[string]time.Time
	// flights are referrers listings in progress, by digest reference:
	// concurrent checks of one image (the signatures and provenance
	// collectors) share one request.
	flights map[string]*flight
	// blobs caches content fetched by digest (nil: no cache).
	blobs *blobCache
}

// flight is one referrers listing in progress.
type flight struct {
	done chan struct{}
	im   *v1.IndexManifest
	err  error
}

// noReferrersTTL is how long a registry is remembered to lack the
// referrers API (it may be upgraded while a server runs).
const noReferrersTTL = time.Hour

// New returns a Client.
func New(opts Options) *Client {
	if opts.Keychain == nil {
		opts.Keychain = keychain.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.BlobCacheBytes == 0 {
		opts.BlobCacheBytes = DefaultBlobCacheBytes
	}
	c := &Client{opts: opts, noReferrers: map[string]time.Time{}, flights: map[string]*flight{}, blobs: newBlobCache(opts.BlobCacheBytes)}
	base := opts.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	c.transport = &referrersObserver{base: boundedManifests{base}, c: c}
	if p, err := remote.NewPuller(c.baseRemoteOptions()...); err == nil {
		c.puller = p
	}
	return c
}

// referrersObserver watches answers to the referrers API: a registry that
// answers it with 404, 400 or 406 (or not with an image index) does not
// implement it (the OCI spec has it answer 200 with an empty index for a
// digest without referrers).
type referrersObserver struct {
	base http.RoundTripper
	c    *Client
}

func (o *referrersObserver) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/referrers/") {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusNotAcceptable,
		resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "application/vnd.oci.image.index.v1+json":
		o.c.setNoReferrers(r.URL.Host)
	}
	return resp, err
}

// errTooLarge: a manifest or referrers listing larger than MaxPayloadBytes.
var errTooLarge = fmt.Errorf("registry answer is larger than the %d byte limit for a manifest or referrers listing", MaxPayloadBytes)

// boundedManifests refuses manifests and referrers listings larger than
// MaxPayloadBytes before they are read into memory (go-containerregistry
// allows 100 MiB): by Content-Length, else while the body is read.
type boundedManifests struct{ base http.RoundTripper }

func (b boundedManifests) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.base.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "/referrers/") {
		return resp, err
	}
	if resp.ContentLength > MaxPayloadBytes {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %d bytes: %w", r.URL.Path, resp.ContentLength, errTooLarge)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: MaxPayloadBytes}
	return resp, nil
}

// limitedBody fails a read past its limit instead of ending the body short.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body exactly at the limit from a longer one.
		var one [1]byte
		if n, _ := l.ReadCloser.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return l.ReadCloser.Read(p)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.ReadCloser.Read(p)
	l.left -= int64(n)
	return n, err
}

func (c *Client) setNoReferrers(host string) {
	c.mu.Lock()
	c.noReferrers[host] = time.Now()
	c.mu.Unlock()
}

// hasNoReferrersAPI reports whether registry was recently seen without the
// referrers API.
func (c *Client) hasNoReferrersAPI(registry string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.noReferrers[registry]
	if ok && time.Since(at) > noReferrersTTL {
		delete(c.noReferrers, registry)
		return false
	}
	return ok
}

// ErrNotFound is returned (wrapped) when an image or tag does not exist.
var ErrNotFound = errors.New("not found in registry")

func (c *Client) nameOptions() []name.Option {
	opts := []name.Option{name.StrictValidation}
	if c.opts.Insecure {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// ParseReference parses an image reference (tag or digest). References
// without a registry mean Docker Hub, as with docker and cosign.
func (c *Client) ParseReference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(strings.TrimPrefix(ref, "image:"), c.nameOptions()[1:]...)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return r, nil
}

func (c *Client) remoteOptions(ctx context.Context) []remote.Option {
	opts := append(c.baseRemoteOptions(), remote.WithContext(ctx))
	if c.puller != nil {
		opts = append(opts, remote.Reuse(c.puller))
	}
	return opts
}

func (c *Client) baseRemoteOptions() []remote.Option {
	opts := []remote.Option{
		remote.WithAuthFromKeychain(c.opts.Keychain),
		// One quick retry at most: a gate must answer within its deadline.
		remote.WithRetryBackoff(remote.Backoff{Duration: 50 * time.Millisecond, Factor: 2, Steps: 2}),
	}
	return append(opts, remote.WithTransport(c.transport))
}

func (c *Client) cosignOptions(ctx context.Context) []ociremote.Option {
	return []ociremote.Option{
		ociremote.WithRemoteOptions(c.remoteOptions(ctx)...),
		ociremote.WithNameOptions(c.nameOptions()[1:]...),
	}
}

// withTimeout applies the client's per-operation timeout.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// Resolve turns a reference into a digest reference: a tag is looked up in
// its registry (HEAD, falling back to GET); a digest reference is returned
// as it is, without a network call.
func (c *Client) Resolve(ctx context.Context, ref string) (name.Digest, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return name.Digest{}, err
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	desc, err := c.head(ctx, r)
	if err != nil {
		return name.Digest{}, err // names r already
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// Describe returns the manifest descriptor of an image, index or artifact,
// including its artifactType when the registry reports one.
func (c *Client) Describe(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	desc, err := remote.Get(ref, c.remoteOptions(ctx)...)
	if err != nil {
		return nil, classify(ref.String(), err)
	}
	out := desc.Descriptor
	if out.ArtifactType == "" {
		// OCI 1.1 artifacts carry artifactType in the manifest; older ones
		// only the config media type.
		var m struct {
			ArtifactType string `json:"artifactType"`
			Config       struct {
				MediaType string `json:"mediaType"`
			} `json:"config"`
		}
		if err := jsonUnmarshalLimited(desc.Manifest, &m); err == nil {
			out.ArtifactType = m.ArtifactType
			if out.ArtifactType == "" && !strings.Contains(m.Config.MediaType, "container.image") &&
				!strings.Contains(m.Config.MediaType, "image.config") {
				out.ArtifactType = m.Config.MediaType
			}
		}
	}
	return &out, nil
}

func (c *Client) head(ctx context.Context, r name.Reference) (*v1.Descriptor, error) {
	desc, err := remote.Head(r, c.remoteOptions(ctx)...)
	if err == nil {
		return desc, nil
	}
	if ctx.Err() != nil {
		return nil, classify(r.String(), err)
	}
	// Some registries answer HEAD badly; GET is authoritative.
	gd, gerr := remote.Get(r, c.remoteOptions(ctx)...)
	if gerr != nil {
		return nil, classify(r.String(), gerr)
	}
	return &gd.Descriptor, nil
}

// classify turns transport errors into messages that say what to do.
func classify(what string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("registry did not answer for %s in time (%w): check that the registry is up and reachable, or raise the timeout", what, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, err)
	case isNotFound(err):
		return fmt.Errorf("%s: %w: %v", what, ErrNotFound, err)
	case strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("registry for %s refused the connection (is it running at that address?): %w", what, err)
	case strings.Contains(err.Error(), "no such host"), strings.Contains(err.Error(), "network is unreachable"):
		return fmt.Errorf("registry for %s is unreachable (check the network, DNS or proxy; a digest reference, REPO@sha256:..., needs no lookup): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
