package modelscan

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// Collector turns a ModelScan report named in the configuration
// (params.modelscan.report) into input.evidence.modelscan for model
// subjects. With no report configured it applies to nothing; reports can
// also be given per run with `--evidence modelscan=REPORT.json`.
type Collector struct {
	Report string
	Limits Limits
}

// NewCollector reads params.modelscan: report (a path). resolve turns a
// path written in the configuration into a usable one (may be nil).
func NewCollector(params map[string]any, resolve func(string) string) (*Collector, error) {
	c := &Collector{}
	switch v := params["report"].(type) {
	case nil:
	case string:
		c.Report = v
		if resolve != nil && v != "" {
			c.Report = resolve(v)
		}
	default:
		return nil, fmt.Errorf("params.modelscan.report: want the path of a modelscan JSON report, found %T", v)
	}
	return c, nil
}

// Name is the evidence key.
func (c *Collector) Name() string { return "modelscan" }

// Applies to model subjects when a report is configured.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindModel && c.Report != "" }

// Collect reads and maps the configured report.
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := ReadReport(c.Report, c.Limits)
	if err != nil {
		return nil, err
	}
	ev, err := ParseReport(data, c.Limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Report, err)
	}
	return ev, nil
}

// ReadReport reads a report file without blocking (a FIFO or device is
// refused) and bounded by limits.MaxReportBytes (default 64 MiB).
func ReadReport(path string, limits Limits) ([]byte, error) {
	if limits == (Limits{}) {
		limits = DefaultLimits()
	}
	data, err := readlimit.File(path, limits.MaxReportBytes)
	if err != nil {
		return nil, fmt.Errorf("modelscan report: %w", err)
	}
	return data, nil
}

// MaxEvidenceBytes bounds what ParseEvidence reads: the report limit
// (default 64 MiB). Callers read the file with this limit (ReadReport or
// readlimit.File); ParseEvidence refuses more.
func (c *Collector) MaxEvidenceBytes() int64 {
	if c.Limits == (Limits{}) {
		return DefaultLimits().MaxReportBytes
	}
	return c.Limits.MaxReportBytes
}

// ParseEvidence maps `--evidence modelscan=REPORT.json`; the report's
// summary.input_path becomes the evidence's subject.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	return ParseReport(data, c.Limits)
}
