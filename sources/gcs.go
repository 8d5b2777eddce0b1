package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"cloud.google.com/go/storage"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// StorageOptions say how to reach Cloud Storage.
type StorageOptions struct {
	// Client is used as is when set (the caller closes it).
	Client *storage.Client
	// ClientOptions are passed to storage.NewClient otherwise. Credentials
	// come the usual way: GOOGLE_APPLICATION_CREDENTIALS, gcloud's
	// application default credentials, the GKE metadata server.
	// STORAGE_EMULATOR_HOST points the client at an emulator (no
	// credentials needed).
	ClientOptions []option.ClientOption
}

type gcsObject struct {
	name       string
	size       int64
	generation int64
	crc32c     uint32
	md5        []byte
	sample     int64 // bytes to read; -1 = all
}

type gcsTree struct {
	bucket  string
	prefix  string // "" or ends with "/" for a prefix; the object name for one object
	single  bool
	objects []gcsObject
	client  *storage.Client
	owned   bool
	opts    Options
	id      Identity
}

// parseGS splits gs://BUCKET[/PATH][#FRAGMENT].
func parseGS(ref string) (bucket, object, fragment string, err error) {
	rest := strings.TrimPrefix(ref, "gs://")
	rest, fragment, _ = strings.Cut(rest, "#")
	bucket, object, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", "", fmt.Errorf("%q: no bucket name", textsafe.Escape(ref))
	}
	if strings.ContainsAny(bucket, " \t\r\n") || strings.ContainsAny(object, "\r\n") {
		return "", "", "", fmt.Errorf("%q: not a valid bucket or object name", textsafe.Escape(ref))
	}
	return bucket, object, fragment, nil
}

func openGCS(ctx context.Context, ref string, opts Options) (Tree, error) {
	bucket, name, fragment, err := parseGS(ref)
	if err != nil {
		return nil, err
	}
	t := &gcsTree{bucket: bucket, opts: opts, client: opts.Storage.Client}
	if t.client == nil {
		c, err := storage.NewClient(ctx, opts.Storage.ClientOptions...)
		if err != nil {
			return nil, fmt.Errorf("%s: storage client: %w: %v (set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default login`, or run on GKE with workload identity)", textsafe.Escape(ref), ErrCredentials, err)
		}
		t.client, t.owned = c, true
	}
	fail := func(err error) (Tree, error) {
		t.Close()
		return nil, err
	}
	var wantGen int64
	var wantListing string
	switch {
	case fragment == "":
	case strings.HasPrefix(fragment, "sha256:"):
		wantListing = fragment
	default:
		g, err := strconv.ParseInt(fragment, 10, 64)
		if err != nil || g <= 0 {
			return fail(fmt.Errorf("%s: fragment %q is neither a generation number nor a sha256: listing digest", textsafe.Escape(ref), textsafe.Escape(fragment)))
		}
		wantGen = g
	}
	b := t.client.Bucket(bucket)
	if wantGen != 0 {
		attrs, err := b.Object(name).Generation(wantGen).Attrs(ctx)
		if err != nil {
			return fail(gcsError(ref, err))
		}
		t.single, t.prefix = true, name
		t.objects = []gcsObject{objectOf(attrs)}
	} else {
		// One paged, bounded listing of PATH; then PATH is one object if it
		// exists and nothing lies under PATH/, else the folder PATH/.
		q := &storage.Query{Prefix: name}
		if err := q.SetAttrSelection([]string{"Name", "Size", "Generation", "CRC32C", "MD5"}); err != nil {
			return fail(err)
		}
		it := b.Objects(ctx, q)
		var exact *gcsObject
		var under []gcsObject
		dir := name
		if dir != "" && !strings.HasSuffix(dir, "/") {
			dir += "/"
		}
		listed := 0
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				return fail(gcsError(ref, err))
			}
			listed++
			if listed > opts.MaxObjects {
				return fail(fmt.Errorf("%s: more than %d objects under the prefix: %w (narrow the prefix, or raise the object limit)", textsafe.Escape(ref), opts.MaxObjects, ErrLimit))
			}
			o := objectOf(attrs)
			switch {
			case attrs.Name == name && name != "" && !strings.HasSuffix(name, "/"):
				exact = &o
			case strings.HasPrefix(attrs.Name, dir):
				if strings.HasSuffix(attrs.Name, "/") && attrs.Size == 0 {
					continue // a folder placeholder
				}
				under = append(under, o)
			}
		}
		switch {
		case exact != nil && len(under) > 0:
			return fail(fmt.Errorf("%s: both an object and a folder of that name: say which (gs://%s/%s/ for the folder, #GENERATION for the object)", textsafe.Escape(ref), bucket, textsafe.Escape(name)))
		case exact != nil:
			t.single, t.prefix, t.objects = true, name, []gcsObject{*exact}
		case len(under) == 0:
			return fail(fmt.Errorf("%s: no objects: %w", textsafe.Escape(ref), storage.ErrObjectNotExist))
		default:
			t.prefix, t.objects = dir, under
		}
	}
	sort.Slice(t.objects, func(i, j int) bool { return t.objects[i].name < t.objects[j].name })
	t.allotSamples()
	display := "gs://" + bucket + "/" + t.prefix
	t.id = Identity{Kind: KindGCS, Ref: display}
	if t.single {
		o := t.objects[0]
		t.id.Digest = listingDigest(t.objects[:1])
		t.id.Pinned = fmt.Sprintf("gs://%s/%s#%d", bucket, o.name, o.generation)
	} else {
		t.id.Digest = listingDigest(t.objects)
		t.id.Pinned = display + "#" + t.id.Digest
	}
	if wantListing != "" && wantListing != t.id.Digest {
		return fail(fmt.Errorf("%s: the listing is now %s, the reference pins %s (objects were added, removed or rewritten): %w", textsafe.Escape(ref), t.id.Digest, textsafe.Escape(wantListing), ErrIntegrity))
	}
	return t, nil
}

func objectOf(a *storage.ObjectAttrs) gcsObject {
	return gcsObject{name: a.Name, size: a.Size, generation: a.Generation, crc32c: a.CRC32C, md5: a.MD5, sample: -1}
}

// allotSamples decides, in name order, how many bytes of each object are
// read, so a sampled walk reads the same bytes every time.
func (t *gcsTree) allotSamples() {
	per, budget := t.opts.SamplePerObject, t.opts.SampleTotal
	if per <= 0 && budget <= 0 {
		return
	}
	limited := budget > 0
	for i := range t.objects {
		o := &t.objects[i]
		if t.opts.SampleExcept != nil && t.opts.SampleExcept(t.relPath(o.name), o.size) {
			continue
		}
		n := o.size
		if per > 0 && n > per {
			n = per
		}
		if limited {
			if n > budget {
				n = budget
			}
			budget -= n
		}
		if n < o.size {
			o.sample = n
		}
	}
}

// listingDigest is the identity of a set of objects: the sha256, as
// "sha256:HEX", of one JSON array per object, in name order, each
// [name, generation, size, crc32c as 8 hex digits, md5 as hex or ""]
// followed by "\n". Any object added, removed or rewritten changes it.
func listingDigest(objects []gcsObject) string {
	h := sha256.New()
	for _, o := range objects {
		line, _ := json.Marshal([]any{o.name, o.generation, o.size, fmt.Sprintf("%08x", o.crc32c), hex.EncodeToString(o.md5)})
		h.Write(line)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// relPath is an object's path in the tree, before cleaning.
func (t *gcsTree) relPath(name string) string {
	if t.single {
		return name[strings.LastIndex(name, "/")+1:]
	}
	return strings.TrimPrefix(name, t.prefix)
}

func (t *gcsTree) Identity() Identity { return t.id }

// Close releases the storage client the tree created.
func (t *gcsTree) Close() error {
	if t.owned && t.client != nil {
		return t.client.Close()
	}
	return nil
}

func (t *gcsTree) Walk(ctx context.Context, fn func(context.Context, *File) error) error {
	if len(t.objects) > t.opts.MaxFiles {
		return fmt.Errorf("%s: %d objects, more than %d files: %w", t.id.Ref, len(t.objects), t.opts.MaxFiles, ErrLimit)
	}
	var total atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for _, o := range t.objects {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			p, err := cleanEntry(t.relPath(o.name))
			if err != nil {
				return fmt.Errorf("gs://%s/%s: %w", t.bucket, textsafe.Escape(o.name), err)
			}
			f := &File{Path: p, Size: o.size, Type: TypeRegular, Bucket: t.bucket, Object: o.name,
				Generation: o.generation, CRC32C: o.crc32c, HasCRC32C: true, MD5: o.md5}
			if o.sample >= 0 {
				f.Sampled, f.SampleBytes = true, o.sample
			}
			f.open = func(ctx context.Context) (io.ReadCloser, error) { return t.openObject(ctx, o, &total) }
			return fn(gctx, f)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func (t *gcsTree) openObject(ctx context.Context, o gcsObject, total *atomic.Int64) (io.ReadCloser, error) {
	where := fmt.Sprintf("gs://%s/%s#%d", t.bucket, o.name, o.generation)
	length := int64(-1)
	if o.sample >= 0 {
		length = o.sample
		if length == 0 {
			return io.NopCloser(strings.NewReader("")), nil
		}
	}
	if length < 0 && o.size > t.opts.MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, over the per-file limit of %d: %w", textsafe.Escape(where), o.size, t.opts.MaxFileBytes, ErrLimit)
	}
	r, err := t.client.Bucket(t.bucket).Object(o.name).Generation(o.generation).ReadCompressed(true).NewRangeReader(ctx, 0, length)
	if err != nil {
		return nil, gcsError(where, err)
	}
	limit := o.size
	if length >= 0 {
		limit = length
	}
	cr := &crcReader{r: r, want: o.crc32c, check: length < 0, size: o.size, where: textsafe.Escape(where), h: crc32.New(crc32.MakeTable(crc32.Castagnoli))}
	return &boundedReader{r: cr, c: r, name: textsafe.Escape(where), left: limit, total: total, totalMax: t.opts.MaxTotalBytes}, nil
}

// crcReader checks a whole object's CRC32C and size at EOF.
type crcReader struct {
	r     io.Reader
	h     hash.Hash32
	n     int64
	size  int64
	want  uint32
	check bool
	where string
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.check {
		c.h.Write(p[:n])
	}
	if errors.Is(err, io.EOF) && c.check {
		if c.n != c.size {
			return n, fmt.Errorf("%s: read %d bytes, the listing says %d: %w", c.where, c.n, c.size, ErrIntegrity)
		}
		if got := c.h.Sum32(); got != c.want {
			return n, fmt.Errorf("%s: CRC32C %08x, the listing says %08x: %w", c.where, got, c.want, ErrIntegrity)
		}
	}
	return n, err
}

func gcsError(ref string, err error) error {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && (gerr.Code == http.StatusUnauthorized || gerr.Code == http.StatusForbidden) {
		return fmt.Errorf("%s: %w: %v", textsafe.Escape(ref), ErrCredentials, err)
	}
	return fmt.Errorf("%s: %w", textsafe.Escape(ref), err)
}
