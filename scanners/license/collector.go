package license

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector gathers licence evidence (input.evidence.license) for model
// and dataset subjects (their folder, or the folder of a file) and for
// image subjects from an SBOM file: gatehouse reads no registry here.
type Collector struct {
	// SBOMs are read for image subjects (param sbom).
	SBOMs   []string
	Options Options
}

// ErrNoSBOM is returned for an image subject when no SBOM was configured.
var ErrNoSBOM = errors.New("no SBOM was given for this image: set params.license.sbom in gatehouse.yaml to an SPDX or CycloneDX JSON file, or pass --evidence license=FILE")

// NewCollector builds the collector from the license gate's params:
// sbom (a path or a list of paths, for images) and min_coverage (percent,
// default 75). resolve turns a path written in the configuration into a
// usable one (may be nil).
func NewCollector(params map[string]any, resolve func(string) string) (*Collector, error) {
	c := &Collector{}
	if resolve == nil {
		resolve = func(p string) string { return p }
	}
	switch v := params["sbom"].(type) {
	case nil:
	case string:
		if v != "" {
			c.SBOMs = []string{resolve(v)}
		}
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("params.license.sbom[%d]: want a file path, found %v", i, e)
			}
			c.SBOMs = append(c.SBOMs, resolve(s))
		}
	default:
		return nil, fmt.Errorf("params.license.sbom: want a file path or a list of paths, found %T", v)
	}
	switch v := params["min_coverage"].(type) {
	case nil:
	case int:
		c.Options.MinCoverage = float64(v)
	case float64:
		c.Options.MinCoverage = v
	default:
		return nil, fmt.Errorf("params.license.min_coverage: want a percentage (number), found %T", v)
	}
	if c.Options.MinCoverage < 0 || c.Options.MinCoverage > 100 {
		return nil, fmt.Errorf("params.license.min_coverage: %v is not a percentage between 0 and 100", c.Options.MinCoverage)
	}
	return c, nil
}

// Name is the evidence key.
func (c *Collector) Name() string { return "license" }

// Applies to models, datasets and images.
func (c *Collector) Applies(s gates.Subject) bool {
	return s.Kind == gates.KindModel || s.Kind == gates.KindDataset || s.Kind == gates.KindImage
}

// Collect scans the subject; for an image it reads the configured SBOMs.
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := c.Options
	path := s.Ref
	if s.Kind == gates.KindImage {
		if len(c.SBOMs) == 0 {
			return nil, ErrNoSBOM
		}
		path, opts.SBOMs = "", c.SBOMs
	}
	ev, err := Scan(path, opts)
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// MaxEvidenceBytes bounds what ParseEvidence reads: the SBOM limit
// (default 128 MiB), which license/v1 documents share. Callers read the
// file with this limit (readlimit.File); ParseEvidence refuses more.
func (c *Collector) MaxEvidenceBytes() int64 {
	if l := c.Options.Limits.MaxSBOMBytes; l > 0 {
		return l
	}
	return DefaultLimits().MaxSBOMBytes
}

// ParseEvidence reads `--evidence license=FILE`: an SPDX or CycloneDX JSON
// SBOM is mapped to licence evidence; a document that already has
// "schema": "license/v1" is checked and passed through. A document that
// records a collection error is refused: it is no licence evidence.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	if max := c.MaxEvidenceBytes(); int64(len(data)) > max {
		return nil, fmt.Errorf("licence evidence: %d bytes, more than the limit of %d", len(data), max)
	}
	var head struct {
		Schema string  `json:"schema"`
		Error  *string `json:"error"`
	}
	err := decodeJSONPrefix(data, &head)
	if err == nil && head.Error != nil {
		return nil, fmt.Errorf("licence evidence records a collection error, not a scan: %q", *head.Error)
	}
	if err == nil && head.Schema != "" {
		if head.Schema != Schema {
			return nil, fmt.Errorf("schema %q: want %q or an SPDX/CycloneDX JSON SBOM", head.Schema, Schema)
		}
		var ev Evidence
		if err := decodeJSON(data, &ev); err != nil {
			return nil, err
		}
		if ev.Licenses == nil || ev.Unknown == nil || ev.NotVerified == nil {
			return nil, errors.New(`license/v1 evidence needs "licenses", "unknown" and "not_verified" lists (empty lists are fine)`)
		}
		if ev.Subject != nil && ev.Subject.Path == "" {
			return nil, errors.New(`license/v1 evidence: "subject" without a "path"`)
		}
		return ev, nil
	}
	ev, err := ParseSBOM("evidence", data, c.Options.Limits)
	if err != nil {
		return nil, err
	}
	if len(ev.Licenses) == 0 && len(ev.Unknown) == 0 {
		ev.Unknown = append(ev.Unknown, Unknown{Source: "evidence", Reason: "the SBOM names no packages or components"})
	}
	return ev, nil
}
