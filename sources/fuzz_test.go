package sources

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzLayer feeds arbitrary bytes through the layer reader (decompression
// and tar) with small limits: it must return (nil or an error), never
// panic, never hand out a path with "..", and never read past the limits.
func FuzzLayer(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(makeTar(f, []tarEntry{{name: "a", body: []byte("x")}, {name: "../b", body: []byte("y")}}), uint8(0))
	f.Add(gz(f, makeTar(f, []tarEntry{{name: "models/m.bin", body: []byte("abc")}})), uint8(1))
	f.Add(zst(f, makeTar(f, []tarEntry{{name: "l", typ: '2', link: "/etc"}})), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, comp uint8) {
		compression := []string{"", "gzip", "zstd"}[comp%3]
		opts := Options{MaxFiles: 50, MaxFileBytes: 1 << 16, MaxTotalBytes: 1 << 18}.withDefaults()
		w := &walkState{opts: opts}
		dec, done, err := decompressor(strings.NewReader(string(data)), compression)
		if err != nil {
			return
		}
		defer done()
		lp := layerPlan{desc: descriptor{Digest: "sha256:fuzz"}, enc: layerEncoding{archive: true, compression: compression}}
		var read int64
		err = walkTar(context.Background(), &countingReader{r: dec, w: w, layer: "fuzz"}, lp, w, func(ctx context.Context, f *File) error {
			if strings.Contains("/"+f.Path+"/", "/../") || strings.HasPrefix(f.Path, "/") {
				t.Fatalf("unsafe path handed out: %q", f.Path)
			}
			if f.Type == TypeRegular {
				r, err := f.Open(ctx)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, r)
				read += n
				return err
			}
			return nil
		})
		if read > opts.MaxTotalBytes {
			t.Fatalf("read %d bytes past the total limit", read)
		}
		_ = errors.Is(err, ErrLimit)
	})
}

// FuzzManifest feeds arbitrary manifests to the planner.
func FuzzManifest(f *testing.F) {
	f.Add(manifestJSON(ArtifactTypeModelManifest, descriptor{MediaType: MediaTypeModelConfig}, []descriptor{{MediaType: "application/vnd.cncf.model.weight.v1.raw", Digest: "sha256:" + strings.Repeat("a", 64), Size: 1, Annotations: map[string]string{AnnotationFilepath: "../x"}}}))
	f.Add(manifestJSON("", descriptor{MediaType: MediaTypeOCIConfig}, []descriptor{{MediaType: mediaTypeOCILayerTar, Digest: "sha256:" + strings.Repeat("b", 64), Size: -1}}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m manifest
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		tr := &ociTree{opts: Options{MaxLayers: 100}.withDefaults()}
		if err := tr.plan(&m); err != nil {
			return
		}
		for _, l := range tr.layers {
			if !l.enc.archive && (l.path == "" || strings.Contains("/"+l.path+"/", "/../")) {
				t.Fatalf("raw layer path %q", l.path)
			}
			if l.desc.Size < 0 {
				t.Fatalf("negative size accepted")
			}
		}
	})
}
