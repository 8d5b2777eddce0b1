package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// PolicySource is where the admission policy comes from. Load returns the
// policy in force at the source: the same *Policy as last time when
// nothing changed, so callers swap only on a new pointer.
type PolicySource interface {
	Load(ctx context.Context) (*Policy, error)
}

// FilePolicy loads the admission policy from folders of .rego files and
// data.json, or from Default (the embedded policy) when there are none.
// The folders are re-read when a file in them changes (size, time or name).
type FilePolicy struct {
	Dirs    []string
	Default fs.FS

	mu     sync.Mutex
	stamp  string
	policy *Policy
}

// Load implements PolicySource.
func (f *FilePolicy) Load(context.Context) (*Policy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stamp, err := FilesStamp(f.Dirs...)
	if err != nil {
		return nil, fmt.Errorf("admission policy: %w", err)
	}
	if f.policy != nil && stamp == f.stamp {
		return f.policy, nil
	}
	var fss []fs.FS
	for _, d := range f.Dirs {
		fss = append(fss, os.DirFS(d))
	}
	if len(fss) == 0 {
		if f.Default == nil {
			return nil, errors.New("admission policy: no folders and no default")
		}
		fss = []fs.FS{f.Default}
	}
	p, err := LoadPolicy(fss...)
	if err != nil {
		return nil, err
	}
	f.policy, f.stamp = p, stamp
	return p, nil
}

// maxStampFiles bounds the files FilesStamp looks at.
const maxStampFiles = 10000

// FilesStamp identifies the current version of files and folders (every
// file below a folder) by name, size and modification time. A missing
// path is part of the stamp, not an error, so that its appearance is a
// change.
func FilesStamp(paths ...string) (string, error) {
	h := sha256.New()
	n := 0
	for _, p := range paths {
		if p == "" {
			continue
		}
		err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(h, "%q missing\n", q)
				return nil
			}
			if err != nil {
				return err
			}
			if n++; n > maxStampFiles {
				return fmt.Errorf("%s: more than %d files", p, maxStampFiles)
			}
			// Stat follows a symbolic link: a Kubernetes ConfigMap volume
			// swaps its ..data link on update.
			st, err := os.Stat(q)
			if err != nil {
				fmt.Fprintf(h, "%q unreadable\n", q)
				return nil
			}
			if !st.IsDir() {
				fmt.Fprintf(h, "%q %d %d\n", q, st.Size(), st.ModTime().UnixNano())
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Bounds on a policy bundle from the network.
const (
	maxBundleBytes  = 32 << 20 // compressed, as downloaded
	bundleTimeout   = 30 * time.Second
	maxBundleLayers = 16
)

// BundleOptions configure a BundleSource.
type BundleOptions struct {
	// URL is https://host/path/bundle.tar.gz or oci://registry/repo:tag
	// (or @sha256:...).
	URL string
	// KeyFiles are PEM public keys that may sign the bundle (OPA's
	// .signatures.json); the key id is the file name without extension.
	KeyFiles []string
	// Insecure allows plain HTTP to a registry (not to an https URL).
	Insecure bool
	// Client fetches https bundles [a client with bundleTimeout].
	Client *http.Client
	// Keychain authenticates to registries [authn.DefaultKeychain].
	Keychain authn.Keychain
}

// BundleSource polls a signed OPA bundle of the admission policy over
// HTTPS or from an OCI registry. Every bundle must carry a signature that
// verifies with one of the keys; one that does not, or that fails to
// load, is an error and the caller keeps the policy it has.
type BundleSource struct {
	o      BundleOptions
	verify *bundle.VerificationConfig

	mu     sync.Mutex
	tag    string // ETag (https) or manifest digest (oci) of policy
	policy *Policy
}

// NewBundleSource checks the options and loads the keys.
func NewBundleSource(o BundleOptions) (*BundleSource, error) {
	if !strings.HasPrefix(o.URL, "https://") && !strings.HasPrefix(o.URL, "oci://") {
		return nil, fmt.Errorf("--bundle %s: want https://… or oci://registry/repo:tag", o.URL)
	}
	if len(o.KeyFiles) == 0 {
		return nil, errors.New("bundle: no keys: an unsigned policy bundle is not accepted")
	}
	keys := map[string]*bundle.KeyConfig{}
	for _, f := range o.KeyFiles {
		b, err := readlimit.File(f, maxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("bundle key: %w", err)
		}
		id := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		alg, err := keyAlgorithm(b)
		if err != nil {
			return nil, fmt.Errorf("bundle key %s: %w", f, err)
		}
		keys[id] = &bundle.KeyConfig{Key: string(b), Algorithm: alg}
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: bundleTimeout}
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	// No key id pinned: the signature's own kid picks among the keys given.
	return &BundleSource{o: o, verify: bundle.NewVerificationConfig(keys, "", "", nil)}, nil
}

// keyAlgorithm names the JWT algorithm OPA verifies a PEM public key with.
func keyAlgorithm(pemBytes []byte) (string, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return "", errors.New("not a PEM public key (-----BEGIN PUBLIC KEY-----)")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return "", err
	}
	switch k := k.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return "ES256", nil
		case 384:
			return "ES384", nil
		case 521:
			return "ES512", nil
		}
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("unsupported key type %T", k)
}

// Load implements PolicySource: fetches the bundle unless it is unchanged
// (ETag or manifest digest), verifies and compiles it.
func (b *BundleSource) Load(ctx context.Context) (*Policy, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, bundleTimeout)
	defer cancel()
	var (
		data []byte
		tag  string
		err  error
	)
	if ref, ok := strings.CutPrefix(b.o.URL, "oci://"); ok {
		data, tag, err = b.pullOCI(ctx, ref)
	} else {
		data, tag, err = b.getHTTPS(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", b.o.URL, err)
	}
	if data == nil { // unchanged
		return b.policy, nil
	}
	p, err := b.compile(data)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", b.o.URL, err)
	}
	b.policy, b.tag = p, tag
	return p, nil
}

func (b *BundleSource) getHTTPS(ctx context.Context) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.o.URL, nil)
	if err != nil {
		return nil, "", err
	}
	if b.policy != nil && b.tag != "" {
		req.Header.Set("If-None-Match", b.tag)
	}
	resp, err := b.o.Client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if b.policy != nil {
			return nil, b.tag, nil
		}
	case http.StatusOK:
		body, err := readlimit.Read(b.o.URL, resp.Body, maxBundleBytes)
		if err != nil {
			return nil, "", err
		}
		tag := resp.Header.Get("ETag")
		if tag == "" {
			sum := sha256.Sum256(body)
			tag = hex.EncodeToString(sum[:])
			if b.policy != nil && tag == b.tag {
				return nil, tag, nil
			}
		}
		return body, tag, nil
	}
	return nil, "", fmt.Errorf("HTTP %s", resp.Status)
}

// pullOCI fetches a bundle pushed as OPA does (`opa push`, oras): the
// manifest's first tar+gzip layer is the bundle.
func (b *BundleSource) pullOCI(ctx context.Context, ref string) ([]byte, string, error) {
	var opts []name.Option
	if b.o.Insecure {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, "", err
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(b.o.Keychain)}
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return nil, "", err
	}
	if b.policy != nil && desc.Digest.String() == b.tag {
		return nil, b.tag, nil
	}
	img, err := remote.Image(r.Context().Digest(desc.Digest.String()), ropts...)
	if err != nil {
		return nil, "", err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, "", err
	}
	if len(m.Layers) == 0 || len(m.Layers) > maxBundleLayers {
		return nil, "", fmt.Errorf("manifest has %d layers: want the bundle as a tar+gzip layer", len(m.Layers))
	}
	for _, l := range m.Layers {
		mt := string(l.MediaType)
		if !strings.Contains(mt, "tar+gzip") && !strings.HasSuffix(mt, ".gzip") && !strings.Contains(mt, "bundle") {
			continue
		}
		if l.Size > maxBundleBytes {
			return nil, "", fmt.Errorf("bundle layer of %d bytes: larger than %d", l.Size, maxBundleBytes)
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, "", err
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, "", err
		}
		body, err := readlimit.Read(ref, rc, maxBundleBytes)
		rc.Close()
		if err != nil {
			return nil, "", err
		}
		return body, desc.Digest.String(), nil
	}
	return nil, "", errors.New("no tar+gzip layer in the manifest: push the bundle with opa push or oras")
}

// compile verifies the bundle's signature and loads its modules and data.
func (b *BundleSource) compile(data []byte) (*Policy, error) {
	bd, err := bundle.NewReader(bytes.NewReader(data)).
		WithBundleVerificationConfig(b.verify).
		WithSkipBundleVerification(false).
		WithSizeLimitBytes(maxPolicyFileBytes).
		WithRegoVersion(ast.RegoV1).
		Read()
	if err != nil {
		return nil, err
	}
	if len(bd.Signatures.Signatures) == 0 {
		// OPA's reader skips verification of a bundle without signatures
		// when none are present; gatehouse never accepts one.
		return nil, errors.New("the bundle is not signed (opa build --signing-key …)")
	}
	files := fstest.MapFS{}
	for _, m := range bd.Modules {
		p := strings.TrimPrefix(path.Clean("/"+m.Path), "/")
		files[p] = &fstest.MapFile{Data: m.Raw}
	}
	if len(bd.Data) > 0 {
		b, err := json.Marshal(bd.Data)
		if err != nil {
			return nil, err
		}
		files["data.json"] = &fstest.MapFile{Data: b}
	}
	p, err := LoadPolicy(files)
	if err != nil {
		return nil, err
	}
	rev := bd.Manifest.Revision
	if rev == "" {
		rev = p.Digest()
	}
	return p.WithRevision(rev), nil
}
