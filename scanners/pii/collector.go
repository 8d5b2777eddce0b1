package pii

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector produces the evidence "pii" for dataset subjects.
type Collector struct {
	opts Options
}

// NewCollector builds the collector from the pii gate's params. It reads
// the optional "sample_rows" and "sample_bytes" (numbers; 0 or absent scans
// in full); the thresholds in the params are the gate's business.
func NewCollector(params map[string]any) (*Collector, error) {
	var o Options
	for key, dst := range map[string]*int64{"sample_rows": &o.SampleRows, "sample_bytes": &o.SampleBytes} {
		v, ok := params[key]
		if !ok || v == nil {
			continue
		}
		n, ok := toInt(v)
		if !ok || n < 0 {
			return nil, fmt.Errorf("pii params: %s = %v: want a whole number of at least 0", key, v)
		}
		*dst = n
	}
	return &Collector{opts: o}, nil
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		return int64(x), x < 1<<63
	case float64:
		return int64(x), x == float64(int64(x))
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

// Name is the evidence key.
func (c *Collector) Name() string { return "pii" }

// Applies to datasets only.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindDataset }

// Collect scans the dataset at s.Ref.
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	return Scan(ctx, s.Ref, c.opts)
}

// MaxEvidenceBytes bounds a pii/v1 document given as --evidence pii=FILE:
// callers read the file with this limit (readlimit.File) and ParseEvidence
// refuses more. Real evidence is a few KiB per file scanned.
const MaxEvidenceBytes = 64 << 20

// MaxEvidenceBytes is the size bound of ParseEvidence's input.
func (c *Collector) MaxEvidenceBytes() int64 { return MaxEvidenceBytes }

// ParseEvidence reads pii/v1 evidence written by `gatehouse scan dataset
// --format json`, checking its schema and shape. A document recording a
// collection error, or claiming a scan of nothing with nothing unverified,
// is refused: it is no evidence of a clean dataset.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	if len(data) > MaxEvidenceBytes {
		return nil, fmt.Errorf("pii evidence: %d bytes, more than the limit of %d", len(data), MaxEvidenceBytes)
	}
	var ev struct {
		Evidence
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("pii evidence: not pii/v1 JSON: %w", err)
	}
	if ev.Error != nil {
		return nil, fmt.Errorf("pii evidence records a collection error, not a scan: %q", *ev.Error)
	}
	if ev.Schema != Schema {
		return nil, fmt.Errorf("pii evidence: schema %q, want %q (write it with gatehouse scan dataset --format json)", ev.Schema, Schema)
	}
	if ev.Mode != "full" && ev.Mode != "sample" {
		return nil, fmt.Errorf("pii evidence: mode %q, want full or sample", ev.Mode)
	}
	for i, f := range ev.Findings {
		if f.Entity == "" || f.Count < 0 {
			return nil, fmt.Errorf("pii evidence: findings[%d]: want an entity and a count of at least 0", i)
		}
	}
	if ev.Totals == nil {
		ev.Totals = map[string]int64{}
	}
	if ev.NotVerified == nil {
		ev.NotVerified = []NotVerified{}
	}
	if ev.Findings == nil {
		ev.Findings = []Finding{}
	}
	if ev.FilesScanned <= 0 && len(ev.NotVerified) == 0 {
		return nil, fmt.Errorf("pii evidence: files_scanned is %d and not_verified is empty: it records no scan", ev.FilesScanned)
	}
	if ev.Subject != nil && ev.Subject.Path == "" {
		return nil, fmt.Errorf(`pii evidence: "subject" without a "path"`)
	}
	return &ev.Evidence, nil
}

var (
	_ gates.Collector      = (*Collector)(nil)
	_ gates.EvidenceParser = (*Collector)(nil)
)
