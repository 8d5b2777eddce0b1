package sources

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// Push packs the regular files of the local folder dir as a CNCF ModelPack
// artifact and pushes it to ref (oci://REGISTRY/REPO:TAG, or without the
// scheme). It returns the manifest digest.
//
// The artifact is deterministic: the same folder gives the same digest.
// One layer per file, in path order, each an uncompressed tar
// (application/vnd.cncf.model.KIND.v1.tar) holding that one file with mode
// 0644, uid/gid 0, no user or group names and mtime 1970-01-01, annotated
// with org.cncf.model.filepath; the config records the layers' diffIds and
// nothing time-dependent. Symlinks and special files are refused, not
// followed.
func Push(ctx context.Context, dir, ref string, opts Options) (string, error) {
	opts = opts.withDefaults()
	ref = strings.TrimPrefix(ref, "oci://")
	tag, err := opts.Registry.parse(ref)
	if err != nil {
		return "", err
	}
	files, err := packList(dir, opts)
	if err != nil {
		return "", err
	}
	ropts := opts.Registry.remoteOptions(ctx)
	repo := tag.Context()
	var layers []descriptor
	var diffIDs []string
	for _, f := range files {
		l := &fileLayer{abs: f.abs, rel: f.rel, mediaType: types.MediaType(modelPackMediaType(f.rel))}
		if err := l.hash(); err != nil {
			return "", err
		}
		if err := remote.WriteLayer(repo, l, ropts...); err != nil {
			return "", registryError("oci://"+ref, "push layer for "+textsafe.Escape(f.rel), err)
		}
		layers = append(layers, descriptor{MediaType: string(l.mediaType), Digest: l.digest.String(), Size: l.size,
			Annotations: map[string]string{AnnotationFilepath: f.rel}})
		diffIDs = append(diffIDs, l.digest.String())
	}
	if diffIDs == nil {
		diffIDs = []string{}
	}
	cfg, err := json.Marshal(map[string]any{
		"descriptor": map[string]any{},
		"modelfs":    map[string]any{"type": "layers", "diffIds": diffIDs},
		"config":     map[string]any{},
	})
	if err != nil {
		return "", err
	}
	cfgLayer := static.NewLayer(cfg, types.MediaType(MediaTypeModelConfig))
	if err := remote.WriteLayer(repo, cfgLayer, ropts...); err != nil {
		return "", registryError("oci://"+ref, "push config", err)
	}
	if layers == nil {
		layers = []descriptor{}
	}
	m := manifest{SchemaVersion: 2, MediaType: MediaTypeOCIManifest, ArtifactType: ArtifactTypeModelManifest,
		Config: descriptor{MediaType: MediaTypeModelConfig, Digest: "sha256:" + sha256Hex(cfg), Size: int64(len(cfg))},
		Layers: layers}
	raw, err := json.Marshal(pushManifest(m))
	if err != nil {
		return "", err
	}
	if err := remote.Put(tag, rawManifest{raw: raw, mt: MediaTypeOCIManifest}, ropts...); err != nil {
		return "", registryError("oci://"+ref, "push manifest", err)
	}
	return "sha256:" + sha256Hex(raw), nil
}

// pushManifest drops the index-only field so the JSON is a plain manifest.
func pushManifest(m manifest) any {
	return struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		ArtifactType  string       `json:"artifactType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{m.SchemaVersion, m.MediaType, m.ArtifactType, m.Config, m.Layers}
}

type packFile struct{ abs, rel string }

func packList(dir string, opts Options) ([]packFile, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var files []packFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: %s is a %s; only regular files are packed", dir, textsafe.Escape(rel), readlimit.Describe(d.Type()))
		}
		if len(files) >= opts.MaxFiles {
			return fmt.Errorf("%s: more than %d files: %w", dir, opts.MaxFiles, ErrLimit)
		}
		files = append(files, packFile{abs: p, rel: rel})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no files to pack", dir)
	}
	return files, nil // WalkDir visits in lexical order: deterministic
}

// modelPackMediaType picks the ModelPack layer kind from the file name.
func modelPackMediaType(rel string) string {
	base := strings.ToLower(path.Base(rel))
	ext := path.Ext(base)
	kind := "weight"
	switch {
	case strings.HasPrefix(base, "readme"), strings.HasPrefix(base, "license"), strings.HasPrefix(base, "licence"),
		strings.HasPrefix(base, "notice"), ext == ".md", ext == ".rst", ext == ".pdf":
		kind = "doc"
	case ext == ".py", ext == ".ipynb", ext == ".sh", ext == ".js", ext == ".go", ext == ".r":
		kind = "code"
	case ext == ".csv", ext == ".tsv", ext == ".jsonl", ext == ".parquet", ext == ".arrow":
		kind = "dataset"
	case ext == ".json", ext == ".yaml", ext == ".yml", ext == ".toml", ext == ".txt", base == "tokenizer.model":
		kind = "weight.config"
	}
	return modelPackLayerPrefix + kind + ".v1.tar"
}

// fileLayer is one file as a single-entry tar, generated on the fly each
// time it is read (hashed once, then streamed to the registry, which
// checks the digest again).
type fileLayer struct {
	abs, rel  string
	mediaType types.MediaType
	digest    v1.Hash
	size      int64
}

var epoch = time.Unix(0, 0).UTC()

func (l *fileLayer) stream() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		f, err := readlimit.Open(l.abs)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		tw := tar.NewWriter(pw)
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: l.rel, Size: st.Size(), Mode: 0o644, ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			pw.CloseWithError(err)
			return
		}
		n, err := io.Copy(tw, f)
		if err == nil && n != st.Size() {
			err = fmt.Errorf("%s changed while being packed", textsafe.Escape(l.rel))
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

func (l *fileLayer) hash() error {
	r := l.stream()
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("pack %s: %w", textsafe.Escape(l.rel), err)
	}
	l.size = n
	l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return nil
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return l.stream(), nil }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return l.stream(), nil }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return l.mediaType, nil }

type rawManifest struct {
	raw []byte
	mt  string
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(r.mt), nil }
