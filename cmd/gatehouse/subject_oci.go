package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// modelFormats are the OCI layouts a subject written without oci:// may
// resolve to (gates.ParseSubject reads model:REGISTRY/REPO@sha256:… as
// oci:// when no such local path exists).
var modelFormats = []sources.Format{sources.FormatModelPack, sources.FormatKitOps, sources.FormatORAS, sources.FormatModelCar}

// implicitOCIError checks what pinning found for a subject ParseSubject read
// as oci:// although it was written without the scheme: the manifest must
// be a model artifact (ModelPack, KitOps, ORAS with file titles, or a
// model-car image). Otherwise — or when the reference could not be opened —
// the error says how it was read and to write oci:// (or ./PATH) to say
// what is meant. For any other subject it returns err.
func implicitOCIError(s gates.Subject, id sources.Identity, err error) error {
	written, ok := s.Labels[gates.ImplicitOCILabel]
	if !ok {
		return err
	}
	how := fmt.Sprintf("%s:%s is no local path and names a registry by digest, so it was read as %s:%s",
		s.Kind, textsafe.Escape(written), s.Kind, textsafe.Escape(s.Ref))
	hint := fmt.Sprintf("write %s:oci://%s to mean the registry artifact, or %s:./%s for a local path",
		s.Kind, textsafe.Escape(written), s.Kind, textsafe.Escape(written))
	switch {
	case err != nil && errors.Is(err, sources.ErrUnsupported):
		return fmt.Errorf("%s, but its manifest is not a model artifact gatehouse reads (ModelPack, KitOps, ORAS with file titles, a model-car image): %w; %s", how, err, hint)
	case err != nil:
		return fmt.Errorf("%s: %w (%s)", how, err, hint)
	case id.Kind != sources.KindOCI || !slices.Contains(modelFormats, id.Format):
		return fmt.Errorf("%s, but it is a %s %q, not a model artifact: %w; %s", how, id.Kind, id.Format, sources.ErrUnsupported, hint)
	}
	return nil
}
