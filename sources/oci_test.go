package sources

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestOCIFormats(t *testing.T) {
	addr := registry(t)
	weights := []byte("safetensors-ish bytes \x00\x01\x02")
	tarLayer := makeTar(t, []tarEntry{{name: "config.json", body: []byte(`{"a":1}`)}, {name: "sub/tokenizer.json", body: []byte(`{}`)}})
	tests := []struct {
		name         string
		artifactType string
		config       blob
		layers       []blob
		wantFormat   Format
		want         map[string]string
	}{
		{
			name:         "modelpack raw, tar, tar+gzip, tar+zstd",
			artifactType: ArtifactTypeModelManifest,
			config:       blob{mediaType: MediaTypeModelConfig, data: []byte(`{"descriptor":{"name":"m"},"modelfs":{"type":"layers","diffIds":[]},"config":{}}`)},
			layers: []blob{
				{mediaType: "application/vnd.cncf.model.weight.v1.raw", data: weights, annotations: map[string]string{AnnotationFilepath: "model.safetensors"}},
				{mediaType: "application/vnd.cncf.model.weight.config.v1.tar", data: tarLayer},
				{mediaType: "application/vnd.cncf.model.doc.v1.tar+gzip", data: gz(t, makeTar(t, []tarEntry{{name: "README.md", body: []byte("# m")}}))},
				{mediaType: "application/vnd.cncf.model.code.v1.tar+zstd", data: zst(t, makeTar(t, []tarEntry{{name: "serve.py", body: []byte("print(1)")}}))},
			},
			wantFormat: FormatModelPack,
			want: map[string]string{"model.safetensors": string(weights), "config.json": `{"a":1}`, "sub/tokenizer.json": `{}`,
				"README.md": "# m", "serve.py": "print(1)"},
		},
		{
			name:   "kitops modelkit",
			config: blob{mediaType: MediaTypeKitConfig, data: []byte(`{"manifestVersion":"1.0.0","model":{"path":"model.pkl"}}`)},
			layers: []blob{
				{mediaType: "application/vnd.kitops.modelkit.model.v1.tar+gzip", data: gz(t, makeTar(t, []tarEntry{{name: "model.pkl", body: []byte("\x80\x04.")}}))},
				{mediaType: "application/vnd.kitops.modelkit.dataset.v1.tar", data: makeTar(t, []tarEntry{{name: "data/train.csv", body: []byte("a,b\n1,2\n")}})},
			},
			wantFormat: FormatKitOps,
			want:       map[string]string{"model.pkl": "\x80\x04.", "data/train.csv": "a,b\n1,2\n"},
		},
		{
			name:         "oras files",
			artifactType: "application/vnd.example.model",
			config:       blob{mediaType: mediaTypeOCIEmptyJSON, data: []byte("{}")},
			layers: []blob{
				{mediaType: "application/octet-stream", data: weights, annotations: map[string]string{AnnotationTitle: "weights/model.bin"}},
				{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", data: gz(t, makeTar(t, []tarEntry{{name: "dir/a.txt", body: []byte("a")}})), annotations: map[string]string{AnnotationTitle: "dir", annotationORASUnpack: "true"}},
			},
			wantFormat: FormatORAS,
			want:       map[string]string{"weights/model.bin": string(weights), "dir/a.txt": "a"},
		},
		{
			name:   "model car image keeps /models only",
			config: blob{mediaType: MediaTypeOCIConfig, data: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)},
			layers: []blob{
				{mediaType: mediaTypeOCILayerTar + "+gzip", data: gz(t, makeTar(t, []tarEntry{{name: "bin/sh", body: []byte("ELF")}, {name: "etc/passwd", body: []byte("root")}}))},
				{mediaType: mediaTypeOCILayerTar, data: makeTar(t, []tarEntry{{name: "models/", typ: tar.TypeDir}, {name: "models/model.onnx", body: []byte("onnx")}, {name: "/models/abs.bin", body: []byte("abs")}})},
			},
			wantFormat: FormatModelCar,
			want:       map[string]string{"models/model.onnx": "onnx", "models/abs.bin": "abs"},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := addr + "/formats/t" + string(rune('a'+i)) + ":v1"
			digest := pushRaw(t, ref, tc.artifactType, tc.config, tc.layers)
			tree, err := Open(context.Background(), "oci://"+ref, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			id := tree.Identity()
			if id.Digest != digest || id.Format != tc.wantFormat {
				t.Errorf("identity digest %s format %s, want %s %s", id.Digest, id.Format, digest, tc.wantFormat)
			}
			if want := "oci://" + addr + "/formats/t" + string(rune('a'+i)) + "@" + digest; id.Pinned != want {
				t.Errorf("pinned %s, want %s", id.Pinned, want)
			}
			if string(id.Config) != string(tc.config.data) && tc.config.mediaType != mediaTypeOCIEmptyJSON {
				t.Errorf("config %q", id.Config)
			}
			got, files, err := walkAll(t, tree)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			for _, f := range files {
				if !strings.HasPrefix(f.Layer, "sha256:") || f.LayerPath == "" {
					t.Errorf("%s: layer %q path %q not recorded", f.Path, f.Layer, f.LayerPath)
				}
			}
			// The pinned form opens the same tree.
			pinned, err := Pin(context.Background(), "oci://"+ref, testOptions())
			if err != nil || pinned != id.Pinned {
				t.Errorf("Pin = %q, %v; want %q", pinned, err, id.Pinned)
			}
			again, err := Open(context.Background(), pinned, testOptions())
			if err != nil || again.Identity().Digest != digest {
				t.Errorf("open pinned: %v", err)
			}
		})
	}
}

func TestPushDeterministic(t *testing.T) {
	addr := registry(t)
	dir := t.TempDir()
	files := map[string]string{"model.safetensors": "weights", "config.json": "{}", "README.md": "# card", "src/serve.py": "print()", "data/eval.csv": "a\n1\n"}
	for p, c := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	d1, err := Push(ctx, dir, "oci://"+addr+"/push/model:a", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Other mtimes and modes, same bytes: same digest.
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for p := range files {
		os.Chtimes(filepath.Join(dir, p), old, old)
		os.Chmod(filepath.Join(dir, p), 0o755)
	}
	d2, err := Push(ctx, dir, addr+"/push/model:b", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("same folder, digests %s and %s", d1, d2)
	}
	tree, err := Open(ctx, "oci://"+addr+"/push/model@"+d1, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if tree.Identity().Format != FormatModelPack || tree.Identity().ArtifactType != ArtifactTypeModelManifest {
		t.Errorf("identity %+v", tree.Identity())
	}
	got, walked, err := walkAll(t, tree)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	kinds := map[string]string{}
	for _, f := range walked {
		kinds[f.Path] = f.LayerMediaType
	}
	if kinds["README.md"] != "application/vnd.cncf.model.doc.v1.tar" || kinds["model.safetensors"] != "application/vnd.cncf.model.weight.v1.tar" {
		t.Errorf("layer kinds %v", kinds)
	}
	// A changed byte changes the digest.
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{ }"), 0o600)
	d3, err := Push(ctx, dir, addr+"/push/model:c", testOptions())
	if err != nil || d3 == d1 {
		t.Errorf("changed folder: digest %s (was %s), %v", d3, d1, err)
	}
	// Symlinks are refused, not followed.
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	if _, err := Push(ctx, dir, addr+"/push/model:d", testOptions()); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("symlink: %v", err)
	}
}

// TestOCIHostile feeds lying and hostile artifacts from a fake registry;
// each must end quickly with an error that names the layer.
func TestOCIHostile(t *testing.T) {
	reg := newFakeRegistry(t)
	good := makeTar(t, []tarEntry{{name: "a.bin", body: []byte("aaaa")}})

	// Size lie: the manifest says fewer bytes than the blob has.
	d := reg.add("application/vnd.cncf.model.weight.v1.tar", good, nil)
	short := d
	short.Size = d.Size - 10
	reg.modelPack("short", []descriptor{short})
	reg.lengths[d.Digest] = -1 // no Content-Length: caught while streaming

	// Digest mismatch: the registry serves other bytes of the same size.
	bad := reg.add("application/vnd.cncf.model.weight.v1.tar", makeTar(t, []tarEntry{{name: "b.bin", body: []byte("bbbb")}}), nil)
	evil := makeTar(t, []tarEntry{{name: "b.bin", body: []byte("BBBB")}})
	reg.blobs[bad.Digest] = evil
	reg.modelPack("mismatch", []descriptor{bad})

	// Size lie caught by Content-Length before reading.
	long := reg.add("application/vnd.cncf.model.weight.v1.raw", []byte("0123456789"), map[string]string{AnnotationFilepath: "x.bin"})
	longLie := long
	longLie.Size = 5
	reg.modelPack("contentlength", []descriptor{longLie})

	// A gzip bomb: one 256 MiB file of zeros, about 256 KiB compressed.
	bomb := gzipBomb(t, 256<<20)
	reg.modelPack("gzipbomb", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.tar+gzip", bomb, nil)})
	// The same, as zstd.
	zbomb := zstdBomb(t, 256<<20)
	reg.modelPack("zstdbomb", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.tar+zstd", zbomb, nil)})
	// Many small files whose sum is over the total limit.
	many := gz(t, makeTar(t, []tarEntry{{name: "1", size: 600 << 10}, {name: "2", size: 600 << 10}}))
	reg.modelPack("total", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.tar+gzip", many, nil)})

	// 10,000 tiny layers.
	var tiny []descriptor
	one := reg.add("application/vnd.cncf.model.weight.v1.raw", []byte("x"), map[string]string{AnnotationFilepath: "x"})
	for i := 0; i < 10000; i++ {
		tiny = append(tiny, one)
	}
	reg.modelPack("tiny", tiny)

	// Path traversal and symlinks inside a tar layer.
	reg.modelPack("traversal", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.tar", makeTar(t, []tarEntry{{name: "ok.bin", body: []byte("ok")}, {name: "../../etc/cron.d/x", body: []byte("pwn")}}), nil)})
	reg.modelPack("rawtraversal", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.raw", []byte("pwn"), map[string]string{AnnotationFilepath: "../x"})})
	reg.modelPack("unknownlayer", []descriptor{reg.add("application/vnd.cncf.model.weights.v9.tar", good, nil)})

	tests := []struct {
		tag     string
		opts    func(*Options)
		openErr bool
		is      error
		mention string
	}{
		{tag: "short", is: ErrIntegrity, mention: d.Digest},
		{tag: "mismatch", is: ErrIntegrity, mention: bad.Digest},
		{tag: "contentlength", is: ErrIntegrity, mention: long.Digest},
		{tag: "gzipbomb", opts: func(o *Options) { o.MaxFileBytes = 64 << 20 }, is: ErrLimit, mention: "per-file limit"},
		{tag: "zstdbomb", opts: func(o *Options) { o.MaxFileBytes = 64 << 20 }, is: ErrLimit, mention: "per-file limit"},
		{tag: "gzipbomb", opts: func(o *Options) { o.MaxTotalBytes = 64 << 20 }, is: ErrLimit, mention: "in total"},
		{tag: "total", opts: func(o *Options) { o.MaxTotalBytes = 1 << 20 }, is: ErrLimit, mention: "in total"},
		{tag: "tiny", openErr: true, is: ErrLimit, mention: "10000 layers"},
		{tag: "traversal", is: ErrUnsafePath, mention: "../../etc/cron.d/x"},
		{tag: "rawtraversal", openErr: true, is: ErrUnsafePath, mention: "../x"},
		{tag: "unknownlayer", openErr: true, is: ErrUnsupported, mention: "weights.v9"},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opts := testOptions()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			tree, err := Open(ctx, "oci://"+reg.addr()+"/hostile/m:"+tc.tag, opts)
			if tc.openErr {
				if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.mention) {
					t.Fatalf("open: %v; want %v naming %q", err, tc.is, tc.mention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = walkAll(t, tree)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("walk: %v; want %v naming %q", err, tc.is, tc.mention)
			}
			if ctx.Err() != nil {
				t.Fatal("ran into the test deadline")
			}
		})
	}
}

func TestOCISymlinkReportedNotFollowed(t *testing.T) {
	reg := newFakeRegistry(t)
	layer := makeTar(t, []tarEntry{{name: "model.bin", body: []byte("w")}, {name: "latest", typ: tar.TypeSymlink, link: "/etc/shadow"}, {name: "hard", typ: tar.TypeLink, link: "model.bin"}})
	reg.modelPack("v1", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.tar", layer, nil)})
	tree, err := Open(context.Background(), "oci://"+reg.addr()+"/m:v1", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, files, err := walkAll(t, tree)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model.bin": "w", "latest": "symlink->/etc/shadow", "hard": "hardlink->model.bin"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, f := range files {
		if f.Type == TypeSymlink {
			if _, err := f.Open(context.Background()); err == nil {
				t.Error("a symlink opened")
			}
		}
	}
}

func TestOCIStallEndsAtDeadline(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.stall = true
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Open(ctx, "oci://"+reg.addr()+"/m:v1", testOptions())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("stalled registry: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestOCIStallDuringLayer(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.modelPack("v1", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.tar", makeTar(t, []tarEntry{{name: "a", body: []byte("a")}}), nil)})
	tree, err := Open(context.Background(), "oci://"+reg.addr()+"/m:v1", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	reg.stall = true
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = tree.Walk(ctx, func(context.Context, *File) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("walk against a stalled registry: %v", err)
	}
}

func TestOCICredentialsMissing(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.status = http.StatusUnauthorized
	_, err := Open(context.Background(), "oci://"+reg.addr()+"/private/m:v1", testOptions())
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "docker login") {
		t.Fatalf("401: %v", err)
	}
}

// TestOCIKeychain: credentials from the keychain reach the manifest and
// every blob request (as Google's keychain does for *.pkg.dev); a wrong
// keychain is ErrCredentials.
func TestOCIKeychain(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.user = "oauth2accesstoken:token-from-adc"
	reg.modelPack("v1", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.raw", []byte("w"), map[string]string{AnnotationFilepath: "m.bin"})})
	opts := testOptions()
	opts.Registry.Keychain = staticKeychain{user: "oauth2accesstoken", pass: "token-from-adc"}
	tree, err := Open(context.Background(), "oci://"+reg.addr()+"/proj/repo/m:v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := walkAll(t, tree); err != nil || got["m.bin"] != "w" {
		t.Fatalf("walk with credentials: %v %v", got, err)
	}
	opts.Registry.Keychain = staticKeychain{user: "oauth2accesstoken", pass: "expired"}
	if _, err := Open(context.Background(), "oci://"+reg.addr()+"/proj/repo/m:v1", opts); !errors.Is(err, ErrCredentials) {
		t.Fatalf("wrong credentials: %v", err)
	}
}

type staticKeychain struct{ user, pass string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

// TestOCIShortBlob: the manifest claims more bytes than the registry sends.
func TestOCIShortBlob(t *testing.T) {
	reg := newFakeRegistry(t)
	d := reg.add("application/vnd.cncf.model.weight.v1.tar", makeTar(t, []tarEntry{{name: "a", body: []byte("a")}}), nil)
	lie := d
	lie.Size += 4096
	reg.lengths[d.Digest] = -1
	reg.modelPack("v1", []descriptor{lie})
	tree, err := Open(context.Background(), "oci://"+reg.addr()+"/m:v1", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = walkAll(t, tree)
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), d.Digest) {
		t.Fatalf("short blob: %v", err)
	}
}

// TestOCIIndex: a multi-platform model-car index resolves to the platform's
// manifest; the identity stays the index digest (what a runtime pulls).
func TestOCIIndex(t *testing.T) {
	reg := newFakeRegistry(t)
	image := func(body string) descriptor {
		cfg := reg.add(MediaTypeOCIConfig, []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`), nil)
		layer := reg.add(mediaTypeOCILayerTar, makeTar(t, []tarEntry{{name: "models/m.onnx", body: []byte(body)}}), nil)
		raw := manifestJSON("", cfg, []descriptor{layer})
		d := "sha256:" + sha256Hex(raw)
		reg.manifests[d] = raw
		return descriptor{MediaType: MediaTypeOCIManifest, Digest: d, Size: int64(len(raw))}
	}
	amd, arm := image("amd64 weights"), image("arm64 weights")
	amd.Platform = &struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	}{OS: "linux", Architecture: "amd64"}
	arm.Platform = &struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant,omitempty"`
	}{OS: "linux", Architecture: "arm64"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": MediaTypeOCIIndex, "manifests": []descriptor{arm, amd}})
	indexDigest := "sha256:" + sha256Hex(index)
	reg.manifests["v1"], reg.indexes["v1"] = index, true
	for _, tc := range []struct{ platform, want string }{{"", "amd64 weights"}, {"linux/arm64", "arm64 weights"}} {
		opts := testOptions()
		opts.Platform = tc.platform
		tree, err := Open(context.Background(), "oci://"+reg.addr()+"/car:v1", opts)
		if err != nil {
			t.Fatal(err)
		}
		id := tree.Identity()
		if id.Digest != indexDigest || id.ManifestDigest == indexDigest || id.Format != FormatModelCar {
			t.Errorf("%s: identity %+v", tc.platform, id)
		}
		got, _, err := walkAll(t, tree)
		if err != nil || got["models/m.onnx"] != tc.want {
			t.Errorf("%s: %v %v", tc.platform, got, err)
		}
	}
	opts := testOptions()
	opts.Platform = "windows/amd64"
	if _, err := Open(context.Background(), "oci://"+reg.addr()+"/car:v1", opts); err == nil || !strings.Contains(err.Error(), "linux/arm64") {
		t.Errorf("missing platform: %v", err)
	}
}

func TestOCIManifestLimit(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.modelPack("v1", []descriptor{reg.add("application/vnd.cncf.model.weight.v1.raw", []byte("x"), map[string]string{AnnotationFilepath: "x", "pad": strings.Repeat("p", 4096)})})
	opts := testOptions()
	opts.MaxManifestBytes = 1024
	_, err := Open(context.Background(), "oci://"+reg.addr()+"/m:v1", opts)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("big manifest: %v", err)
	}
}

func gzipBomb(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	writeTar(t, z, []tarEntry{{name: "bomb.bin", size: n}})
	z.Close()
	return buf.Bytes()
}

func zstdBomb(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	z, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	writeTar(t, z, []tarEntry{{name: "bomb.bin", size: n}})
	z.Close()
	return buf.Bytes()
}
