package sources

import "strings"

// Media types and annotations of the CNCF ModelPack model-spec v1
// (github.com/modelpack/model-spec, specs-go/v1/mediatype.go and
// annotations.go). Its Go module is not served by the module proxy here, so
// they are written out from the spec.
const (
	ArtifactTypeModelManifest = "application/vnd.cncf.model.manifest.v1+json"
	MediaTypeModelConfig      = "application/vnd.cncf.model.config.v1+json"
	// Layer media types are application/vnd.cncf.model.KIND.v1.FORMAT with
	// KIND one of weight, weight.config, doc, code, dataset and FORMAT one
	// of raw, tar, tar+gzip, tar+zstd.
	modelPackLayerPrefix = "application/vnd.cncf.model."
	// AnnotationFilepath is the file path of a layer (for a raw layer, the
	// file it is).
	AnnotationFilepath = "org.cncf.model.filepath"
	// AnnotationFileMetadata carries the file's tar-like metadata as JSON.
	AnnotationFileMetadata = "org.cncf.model.file.metadata+json"
)

// ModelPack layer kinds, as in the media type.
var modelPackKinds = []string{"weight", "weight.config", "doc", "code", "dataset"}

// KitOps ModelKit media types (github.com/kitops-ml/kitops,
// pkg/lib/constants/mediatype): application/vnd.kitops.modelkit.BASE.v1.FORMAT[+COMPRESSION]
// with BASE one of model, modelpart, dataset, code, docs and FORMAT tar or raw.
const (
	ArtifactTypeKitManifest = "application/vnd.kitops.modelkit.manifest.v1+json"
	MediaTypeKitConfig      = "application/vnd.kitops.modelkit.config.v1+json"
	kitLayerPrefix          = "application/vnd.kitops.modelkit."
)

var kitBases = []string{"model", "modelpart", "dataset", "code", "docs"}

// OCI and ORAS.
const (
	MediaTypeOCIManifest   = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex      = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerV2      = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeOCIConfig     = "application/vnd.oci.image.config.v1+json"
	MediaTypeDockerConfig  = "application/vnd.docker.container.image.v1+json"
	AnnotationTitle        = "org.opencontainers.image.title"
	annotationORASUnpack   = "io.deis.oras.content.unpack"
	mediaTypeOCIEmptyJSON  = "application/vnd.oci.empty.v1+json"
	mediaTypeOCILayerTar   = "application/vnd.oci.image.layer.v1.tar"
	mediaTypeDockerLayerGz = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// layerEncoding says how a layer's bytes are laid out.
type layerEncoding struct {
	archive     bool   // a tar (else the layer is one file)
	compression string // "", "gzip", "zstd"
}

// versionedLayer parses PREFIX + KIND + ".v1." + FORMAT for ModelPack and
// KitOps layer media types. ok is false for anything else.
func versionedLayer(mt, prefix string, kinds []string) (enc layerEncoding, ok bool) {
	rest, found := strings.CutPrefix(mt, prefix)
	if !found {
		return enc, false
	}
	kind, format, found := strings.Cut(rest, ".v1.")
	if !found {
		return enc, false
	}
	known := false
	for _, k := range kinds {
		if k == kind {
			known = true
		}
	}
	if !known {
		return enc, false
	}
	switch format {
	case "raw":
		return layerEncoding{}, true
	case "tar":
		return layerEncoding{archive: true}, true
	case "tar+gzip", "tar+gzip-fastest":
		return layerEncoding{archive: true, compression: "gzip"}, true
	case "tar+zstd":
		return layerEncoding{archive: true, compression: "zstd"}, true
	}
	return enc, false
}

// imageLayer parses OCI and Docker image layer media types.
func imageLayer(mt string) (layerEncoding, bool) {
	switch mt {
	case mediaTypeOCILayerTar, "application/vnd.oci.image.layer.nondistributable.v1.tar":
		return layerEncoding{archive: true}, true
	case mediaTypeOCILayerTar + "+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", mediaTypeDockerLayerGz:
		return layerEncoding{archive: true, compression: "gzip"}, true
	case mediaTypeOCILayerTar + "+zstd", "application/vnd.docker.image.rootfs.diff.tar.zstd":
		return layerEncoding{archive: true, compression: "zstd"}, true
	}
	return layerEncoding{}, false
}

// orasLayer guesses an ORAS layer's encoding from its media type and the
// unpack annotation ORAS sets on directories.
func orasLayer(mt string, annotations map[string]string) layerEncoding {
	switch {
	case strings.HasSuffix(mt, "tar+gzip"), strings.HasSuffix(mt, ".tgz"), strings.HasSuffix(mt, "tar.gzip"):
		return layerEncoding{archive: true, compression: "gzip"}
	case strings.HasSuffix(mt, "tar+zstd"):
		return layerEncoding{archive: true, compression: "zstd"}
	case strings.HasSuffix(mt, ".tar"):
		return layerEncoding{archive: true}
	case annotations[annotationORASUnpack] == "true":
		return layerEncoding{archive: true, compression: "gzip"}
	}
	return layerEncoding{}
}
