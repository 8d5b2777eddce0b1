package modelscan

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse-dev/gatehouse/gates"
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
	limits := c.Limits
	if limits == (Limits{}) {
		limits = DefaultLimits()
	}
	f, err := os.Open(c.Report)
	if err != nil {
		return nil, fmt.Errorf("modelscan report: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limits.MaxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("modelscan report %s: %w", c.Report, err)
	}
	ev, err := ParseReport(data, limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Report, err)
	}
	return ev, nil
}

// ParseEvidence maps `--evidence modelscan=REPORT.json`.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	return ParseReport(data, c.Limits)
}
