// Package sources turns a model or dataset subject reference into a
// read-only, streaming file tree: a local folder, an OCI artifact (CNCF
// ModelPack, KitOps ModelKit, plain ORAS artifact or model-car image) or a
// gs:// bucket prefix. Scanners read Files; they never learn about
// registries or buckets.
//
// The tree is a Walk, not an io/fs.FS: an OCI layer is a compressed tar
// that can only be read front to back, once, so a file inside it can be
// handed out only while the layer streams past. fs.FS promises Open(name)
// in any order, which would mean holding the artifact on disk or in memory.
// Walk visits every file exactly once, reading up to Options.Concurrency
// layers (or objects) at the same time, with every byte counted against the
// limits and every layer's digest checked as it streams.
//
//	tree, err := sources.Open(ctx, "oci://registry.example/models/fraud@sha256:…", sources.Options{})
//	err = tree.Walk(ctx, func(ctx context.Context, f *sources.File) error {
//		r, err := f.Open(ctx) // only valid during this call for files inside tar layers
//		…
//	})
//
// A Walk that returns an error has not judged the tree: a layer whose digest
// or size did not match is only known once it has been read to its end, so
// what the callback saw must be thrown away when Walk fails.
package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Kind names where a tree comes from.
type Kind string

const (
	KindLocal Kind = "local"
	KindOCI   Kind = "oci"
	KindGCS   Kind = "gs"
)

// Format names the layout of an OCI artifact.
type Format string

const (
	FormatModelPack Format = "modelpack" // CNCF ModelPack (model-spec v1)
	FormatKitOps    Format = "kitops"    // KitOps ModelKit
	FormatORAS      Format = "oras"      // files named by org.opencontainers.image.title
	FormatModelCar  Format = "modelcar"  // an ordinary image whose layers hold /models
)

// FileType is what a tree entry is. Only regular files have content.
type FileType string

const (
	TypeRegular  FileType = "file"
	TypeSymlink  FileType = "symlink"  // never followed; Linkname says where it points
	TypeHardlink FileType = "hardlink" // never followed; Linkname names the other entry
	TypeOther    FileType = "other"    // device, FIFO: listed, never opened
)

// File is one entry of a tree.
type File struct {
	// Path is the slash-separated path inside the tree, cleaned, relative,
	// never with ".." (entries that would escape are refused, see
	// ErrUnsafePath).
	Path string
	// Size in bytes as the source states it (tar header, object metadata,
	// manifest descriptor); -1 when unknown.
	Size int64
	Type FileType
	// Linkname is the target of a symlink or hardlink, as written.
	Linkname string

	// OCI: the layer this file came from, its media type, and the entry
	// name inside the layer as written (for a raw layer: the annotation).
	Layer          string
	LayerMediaType string
	LayerPath      string

	// Digest is the sha256 of the file's content when the source states
	// it (a raw OCI layer is the file; local and tar entries leave it empty).
	Digest string

	// gs://: the object's generation and checksums, so a verdict names
	// exactly which bytes were judged. CRC32C is valid when HasCRC32C.
	Bucket     string
	Object     string
	Generation int64
	CRC32C     uint32
	HasCRC32C  bool
	MD5        []byte
	// Sampled is true when Open returns only the first SampleBytes bytes.
	Sampled     bool
	SampleBytes int64

	open func(ctx context.Context) (io.ReadCloser, error)
}

// Open returns the file's content. For an OCI file (inside a tar layer or
// a raw layer) it is only valid during the Walk callback that handed out
// the File, and may be called once: the layer streams past once. For local
// files and gs:// objects it may be called at any time; those reads are
// bounded by Options.MaxFileBytes and MaxTotalBytes (OCI files are checked
// against the limits from their header before the callback).
func (f *File) Open(ctx context.Context) (io.ReadCloser, error) {
	if f.Type != TypeRegular {
		return nil, fmt.Errorf("%s: is a %s, not a regular file", f.Path, f.Type)
	}
	if f.open == nil {
		return nil, fmt.Errorf("%s: content is not available outside its Walk callback", f.Path)
	}
	return f.open(ctx)
}

// WithContent returns a copy of f (path, size, origin) whose content
// comes from open: for wrappers of a Tree that keep a file's bytes
// elsewhere, such as a tee to disk, and hand the callback the copy.
func (f *File) WithContent(open func(ctx context.Context) (io.ReadCloser, error)) *File {
	c := *f
	c.open = open
	return &c
}

// Identity says what a tree is, for the evidence and the VSA subject.
type Identity struct {
	Kind Kind
	// Ref is the reference as given, normalised (oci://…, gs://…, or the
	// absolute local path).
	Ref string
	// Digest is the identity digest: for OCI the digest of the manifest the
	// reference resolved to (an index's digest when it named an index); for
	// gs:// the sha256 of the canonical listing (see docs/remote-artifacts.md); empty
	// for a local folder.
	Digest string
	// Pinned is the digest-pinned reference (see Pin); empty for local.
	Pinned string

	// OCI only.
	Format         Format
	MediaType      string // of the manifest that was read
	ArtifactType   string
	ManifestDigest string // of the image manifest read (differs from Digest for an index)
	ConfigDigest   string
	// Config is the config blob (ModelPack model config, Kitfile JSON),
	// at most MaxConfigBytes.
	Config []byte
}

// Tree is a read-only file tree that is walked, not browsed.
type Tree interface {
	Identity() Identity
	// Walk calls fn for every entry (directories are not reported). fn is
	// called from up to Options.Concurrency goroutines at once and must be
	// safe for that. An error from fn, a limit, a digest mismatch or the
	// context ending stops the walk and is returned.
	Walk(ctx context.Context, fn func(ctx context.Context, f *File) error) error
	// Close releases what Open acquired (a storage client).
	Close() error
}

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrLimit: a count or size limit was reached (layers, files, objects,
	// decompressed bytes). The input is refused, not judged.
	ErrLimit = errors.New("limit exceeded")
	// ErrIntegrity: bytes did not match what the manifest or object
	// metadata promised (digest, size, CRC32C, listing digest). Hostile or
	// corrupt: deny.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrUnsafePath: an archive entry name would escape the tree ("../",
	// absolute). Hostile: deny.
	ErrUnsafePath = errors.New("unsafe path in archive")
	// ErrUnsupported: the reference or the artifact's layout is not one this
	// package reads.
	ErrUnsupported = errors.New("unsupported")
	// ErrCredentials: the registry or bucket refused for lack of
	// credentials.
	ErrCredentials = errors.New("credentials missing or refused")
)

// Options bound and tune a tree. The zero value is usable: every zero
// limit takes its default.
type Options struct {
	// Concurrency is how many layers or objects are read at once (default 4).
	Concurrency int
	// MaxLayers refuses a manifest with more layers (default 1000).
	MaxLayers int
	// MaxFiles refuses a tree with more entries (default 200,000).
	MaxFiles int
	// MaxObjects refuses a bucket prefix listing more objects (default
	// 100,000). The listing is paged and stops at this count.
	MaxObjects int
	// MaxFileBytes bounds one file's content, decompressed (default 64 GiB).
	MaxFileBytes int64
	// MaxTotalBytes bounds the whole tree's content, decompressed (default
	// 256 GiB); it also bounds the compressed bytes fetched.
	MaxTotalBytes int64
	// MaxManifestBytes bounds a manifest or index (default 4 MiB).
	MaxManifestBytes int64
	// MaxConfigBytes bounds an artifact's config blob (default 4 MiB).
	MaxConfigBytes int64
	// SamplePerObject, when > 0, makes gs:// Files open only their first
	// SamplePerObject bytes (for PII sampling of datasets).
	SamplePerObject int64
	// SampleTotal, when > 0, bounds the bytes read over all gs:// objects;
	// objects past the budget are opened with what is left (at least one
	// byte is never promised: a File with SampleBytes 0 opens empty).
	SampleTotal int64
	// SampleExcept, when set, names the gs:// files (by their path in the
	// tree and their listed size) that are always read whole, whatever the
	// sample options say, and are not charged to SampleTotal: a dataset's
	// LICENSE must be read whole while its data files are sampled. The
	// size lets the caller keep the sample's bound: a huge file that only
	// bears a licence file's name stays sampled.
	SampleExcept func(path string, size int64) bool
	// ImagePathPrefix restricts a model-car image to entries under this
	// path (default "models/"; set to "/" for every entry).
	ImagePathPrefix string
	// Platform picks the manifest of an index (default linux/amd64, or the
	// only manifest).
	Platform string

	// Registry access (OCI).
	Registry RegistryOptions
	// Bucket access (gs://).
	Storage StorageOptions
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxLayers <= 0 {
		o.MaxLayers = 1000
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 200_000
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = 100_000
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 64 << 30
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = 256 << 30
	}
	if o.MaxManifestBytes <= 0 {
		o.MaxManifestBytes = 4 << 20
	}
	if o.MaxConfigBytes <= 0 {
		o.MaxConfigBytes = 4 << 20
	}
	if o.ImagePathPrefix == "" {
		o.ImagePathPrefix = "models/"
	}
	if o.Platform == "" {
		o.Platform = "linux/amd64"
	}
	return o
}

// Open resolves ref and returns its tree. Accepted references:
//
//	/abs/path, ./rel/path, file:///abs/path         a local folder or file
//	oci://REGISTRY/REPO[:TAG|@sha256:…]             an OCI artifact or image
//	gs://BUCKET[/PREFIX][#GENERATION|#sha256:…]     an object or a prefix
//
// Opening an OCI reference fetches its manifest and config (so Identity is
// known at once); opening gs:// lists the prefix. Layers and object bodies
// are only read by Walk.
func Open(ctx context.Context, ref string, opts Options) (Tree, error) {
	opts = opts.withDefaults()
	switch {
	case strings.HasPrefix(ref, "oci://"):
		return openOCI(ctx, strings.TrimPrefix(ref, "oci://"), opts)
	case strings.HasPrefix(ref, "gs://"):
		return openGCS(ctx, ref, opts)
	case strings.HasPrefix(ref, "file://"):
		return openLocal(strings.TrimPrefix(ref, "file://"), opts)
	case strings.Contains(ref, "://"):
		return nil, fmt.Errorf("%q: %w scheme (use a local path, oci:// or gs://)", ref, ErrUnsupported)
	}
	return openLocal(ref, opts)
}

// IsRemote reports whether ref names an OCI artifact or a bucket rather
// than a local path.
func IsRemote(ref string) bool {
	return strings.HasPrefix(ref, "oci://") || strings.HasPrefix(ref, "gs://")
}

// Pin returns the digest-pinned form of ref: oci://REGISTRY/REPO@sha256:…
// (the digest of what the tag names now), gs://BUCKET/OBJECT#GENERATION for
// one object, gs://BUCKET/PREFIX/#sha256:… (the listing digest) for a
// prefix. Open accepts every pinned form and refuses it when the bytes
// have changed. A local path has no pinned form: it is an error.
func Pin(ctx context.Context, ref string, opts Options) (string, error) {
	if !IsRemote(ref) {
		return "", fmt.Errorf("%q: a local path cannot be pinned: %w", ref, ErrUnsupported)
	}
	t, err := Open(ctx, ref, opts)
	if err != nil {
		return "", err
	}
	defer t.Close()
	return t.Identity().Pinned, nil
}
