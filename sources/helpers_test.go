package sources

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
)

// anonymous keeps the tests away from the machine's docker config.
var testRegistryOptions = RegistryOptions{Keychain: authn.NewMultiKeychain()}

func testOptions() Options { return Options{Registry: testRegistryOptions} }

func TestMain(m *testing.M) {
	code := m.Run()
	testregistry.StopShared()
	os.Exit(code)
}

// registry returns the address of a real Distribution registry on
// loopback (GATEHOUSE_TEST_REGISTRY, or one started for this test binary).
func registry(t testing.TB) string {
	t.Helper()
	if a := os.Getenv("GATEHOUSE_TEST_REGISTRY"); a != "" {
		return a
	}
	regAddr, regErr := testregistry.Shared()
	if errors.Is(regErr, testregistry.ErrNoBinary) {
		t.Skip(regErr.Error())
	}
	if regErr != nil {
		t.Fatalf("start registry: %v", regErr)
	}
	return regAddr
}

type blob struct {
	mediaType   string
	data        []byte
	annotations map[string]string
}

// pushRaw writes blobs, config and a manifest to a real registry and
// returns the manifest digest.
func pushRaw(t testing.TB, ref string, artifactType string, config blob, layers []blob) string {
	t.Helper()
	tag, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ropts := testRegistryOptions.remoteOptions(ctx)
	write := func(b blob) descriptor {
		l := static.NewLayer(b.data, types.MediaType(b.mediaType))
		if err := remote.WriteLayer(tag.Context(), l, ropts...); err != nil {
			t.Fatalf("write blob: %v", err)
		}
		return descriptor{MediaType: b.mediaType, Digest: "sha256:" + sha256Hex(b.data), Size: int64(len(b.data)), Annotations: b.annotations}
	}
	raw := manifestJSON(artifactType, write(config), func() []descriptor {
		var ds []descriptor
		for _, l := range layers {
			ds = append(ds, write(l))
		}
		return ds
	}())
	if err := remote.Put(tag, rawManifest{raw: raw, mt: MediaTypeOCIManifest}, ropts...); err != nil {
		t.Fatalf("put manifest: %v", err)
	}
	return "sha256:" + sha256Hex(raw)
}

func manifestJSON(artifactType string, config descriptor, layers []descriptor) []byte {
	m := map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIManifest, "config": config, "layers": layers}
	if artifactType != "" {
		m["artifactType"] = artifactType
	}
	if layers == nil {
		m["layers"] = []descriptor{}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return raw
}

type tarEntry struct {
	name, link string
	typ        byte
	body       []byte
	size       int64 // header size when body is nil and size > 0 (streamed zeros)
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	writeTar(t, &buf, entries)
	return buf.Bytes()
}

func writeTar(t testing.TB, w io.Writer, entries []tarEntry) {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.body))
		if e.body == nil && e.size > 0 {
			size = e.size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: typ, Name: e.name, Linkname: e.link, Size: size, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		if e.body != nil {
			tw.Write(e.body)
		} else if size > 0 {
			if _, err := io.CopyN(tw, zeros{}, size); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	z, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

// walked collects what a walk saw: path → content (or "->target" for links).
func walkAll(t testing.TB, tree Tree) (map[string]string, []*File, error) {
	t.Helper()
	var mu sync.Mutex
	got := map[string]string{}
	var files []*File
	err := tree.Walk(context.Background(), func(ctx context.Context, f *File) error {
		content := ""
		if f.Type == TypeRegular {
			r, err := f.Open(ctx)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			content = string(b)
		} else {
			content = string(f.Type) + "->" + f.Linkname
		}
		mu.Lock()
		defer mu.Unlock()
		got[f.Path] = content
		files = append(files, f)
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return got, files, err
}

// fakeRegistry serves fixed manifests and blobs, which may lie, for the
// hostile-input tests a real registry would refuse to store.
type fakeRegistry struct {
	manifests map[string][]byte // tag or digest → manifest
	indexes   map[string]bool   // tag or digest → served as an OCI index
	blobs     map[string][]byte // digest → bytes served
	lengths   map[string]int64  // digest → Content-Length to claim (0: real)
	stall     bool              // accept requests, never answer
	status    int               // answer every request with this status
	user      string            // when set, Basic auth user:password is required
	srv       *httptest.Server
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	f := &fakeRegistry{manifests: map[string][]byte{}, indexes: map[string]bool{}, blobs: map[string][]byte{}, lengths: map[string]int64{}}
	stop := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.stall {
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		if f.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u+":"+p != f.user {
				w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		if f.status != 0 {
			if f.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			}
			w.WriteHeader(f.status)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case len(parts) >= 3 && parts[len(parts)-2] == "manifests":
			m, ok := f.manifests[parts[len(parts)-1]]
			if !ok {
				http.NotFound(w, r)
				return
			}
			if f.indexes[parts[len(parts)-1]] {
				w.Header().Set("Content-Type", MediaTypeOCIIndex)
			} else {
				w.Header().Set("Content-Type", MediaTypeOCIManifest)
			}
			w.Header().Set("Docker-Content-Digest", "sha256:"+sha256Hex(m))
			w.Header().Set("Content-Length", fmt.Sprint(len(m)))
			if r.Method != http.MethodHead {
				w.Write(m)
			}
		case len(parts) >= 3 && parts[len(parts)-2] == "blobs":
			d := parts[len(parts)-1]
			b, ok := f.blobs[d]
			if !ok {
				http.NotFound(w, r)
				return
			}
			if n := f.lengths[d]; n > 0 {
				w.Header().Set("Content-Length", fmt.Sprint(n))
			} else if n < 0 {
				w.(http.Flusher).Flush() // chunked: no Content-Length
			} else {
				w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			}
			if r.Method != http.MethodHead {
				w.Write(b)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() { close(stop); f.srv.Close() })
	return f
}

func (f *fakeRegistry) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// add stores a blob under its true digest and returns its descriptor.
func (f *fakeRegistry) add(mediaType string, b []byte, annotations map[string]string) descriptor {
	d := "sha256:" + sha256Hex(b)
	f.blobs[d] = b
	return descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b)), Annotations: annotations}
}

// modelPack stores a ModelPack manifest with the given layers under tag.
func (f *fakeRegistry) modelPack(tag string, layers []descriptor) {
	cfg := f.add(MediaTypeModelConfig, []byte(`{"descriptor":{},"modelfs":{"type":"layers","diffIds":[]},"config":{}}`), nil)
	raw := manifestJSON(ArtifactTypeModelManifest, cfg, layers)
	f.manifests[tag] = raw
	f.manifests["sha256:"+sha256Hex(raw)] = raw
}
