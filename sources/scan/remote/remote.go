// Package remote is the "remote" object of evidence gatehouse collected
// from a remote model or dataset (oci://, gs://): the tree's identity and
// where each file the evidence was computed from came from. sources/scan
// writes these types (its Source and Origin are these), and the evidence
// readers in scanners/ read them back from `--evidence NAME=FILE` with a
// strict shape: decoded with DisallowUnknownFields, an unknown field
// inside is refused like one at the top. The package has no dependencies,
// so scanners stay free of sources and registry clients.
package remote

import (
	"errors"
	"fmt"
	"time"
)

// Evidence is the "remote" object: {"source": {…}, "origins": [{…}, …]}.
type Evidence struct {
	Source  Source   `json:"source"`
	Origins []Origin `json:"origins"`
}

// Source is the identity of the tree that was judged.
type Source struct {
	Kind                  string            `json:"kind"`
	Ref                   string            `json:"ref"`
	Digest                string            `json:"digest,omitempty"`
	Pinned                string            `json:"pinned,omitempty"`
	Format                string            `json:"format,omitempty"`
	MediaType             string            `json:"media_type,omitempty"`
	ArtifactType          string            `json:"artifact_type,omitempty"`
	ManifestDigest        string            `json:"manifest_digest,omitempty"`
	ConfigDigest          string            `json:"config_digest,omitempty"`
	ArtifactRegistry      *ArtifactRegistry `json:"artifact_registry,omitempty"`
	ArtifactRegistryError string            `json:"artifact_registry_error,omitempty"`
}

// ArtifactRegistry is what Google Artifact Registry says about the version
// of a pinned digest (Source.ArtifactRegistry): its tags, when it was
// created and last updated, and its annotations. Package and Version are
// resource names (projects/P/locations/L/repositories/R/packages/NAME,
// …/versions/sha256:…). Metadata: the verdict never depends on it.
type ArtifactRegistry struct {
	Package     string            `json:"package"`
	Version     string            `json:"version"`
	Tags        []string          `json:"tags"`
	CreateTime  time.Time         `json:"create_time,omitzero"`
	UpdateTime  time.Time         `json:"update_time,omitzero"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Origin says where one file's bytes came from: the layer digest, its
// media type and the entry inside it, or the bucket object, generation,
// CRC32C (8 hex digits) and MD5 (hex); Sampled when only SampleBytes of it
// were read.
type Origin struct {
	Path           string `json:"path"`
	Layer          string `json:"layer,omitempty"`
	LayerMediaType string `json:"layer_media_type,omitempty"`
	LayerPath      string `json:"layer_path,omitempty"`
	Bucket         string `json:"bucket,omitempty"`
	Object         string `json:"object,omitempty"`
	Generation     int64  `json:"generation,omitempty"`
	CRC32C         string `json:"crc32c,omitempty"`
	MD5            string `json:"md5,omitempty"`
	Sampled        bool   `json:"sampled,omitempty"`
	SampleBytes    int64  `json:"sample_bytes,omitempty"`
}

// MaxOrigins bounds the origins one document may list (sources/scan lists
// at most 10,000 files of a tree; side files are at most 1,000).
const MaxOrigins = 10000

// Validate checks what a decoder cannot: the source names a kind and a
// reference, origins is a list (empty is fine), and every origin names its
// path and either a layer or an object, never both.
func (e *Evidence) Validate() error {
	if e == nil {
		return nil
	}
	if e.Source.Kind == "" || e.Source.Ref == "" {
		return errors.New(`"remote": "source" needs "kind" and "ref"`)
	}
	if e.Origins == nil {
		return errors.New(`"remote": "origins" is missing (an empty list is fine)`)
	}
	if len(e.Origins) > MaxOrigins {
		return fmt.Errorf(`"remote": %d origins, more than %d`, len(e.Origins), MaxOrigins)
	}
	for i, o := range e.Origins {
		switch {
		case o.Path == "":
			return fmt.Errorf(`"remote": origins[%d] has no "path"`, i)
		case o.Layer != "" && o.Object != "":
			return fmt.Errorf(`"remote": origins[%d] names both a layer and an object`, i)
		case o.Layer == "" && o.Object == "":
			return fmt.Errorf(`"remote": origins[%d] names neither a layer nor an object`, i)
		}
	}
	return nil
}
