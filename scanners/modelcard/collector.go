package modelcard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector gathers model card evidence (input.evidence.model_card) for
// model subjects.
type Collector struct {
	Limits Limits
}

// Name is the evidence key.
func (c *Collector) Name() string { return "model_card" }

// Applies to models.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindModel }

// Collect reads the card in or beside the model path.
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return Scan(s.Ref, c.Limits)
}

// MaxEvidenceBytes bounds what ParseEvidence reads: the card limit
// (default 4 MiB). Callers read the file with this limit (readlimit.File);
// ParseEvidence refuses more.
func (c *Collector) MaxEvidenceBytes() int64 { return c.Limits.orDefault().MaxCardBytes }

// ParseEvidence reads `--evidence model_card=FILE`: model_card/v1 evidence
// (checked and passed through), a Model Card Toolkit JSON card, or a
// Markdown card (README.md). A document recording a collection error is
// refused: it is no card.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	if max := c.MaxEvidenceBytes(); int64(len(data)) > max {
		return nil, fmt.Errorf("model card evidence: %d bytes, more than the limit of %d", len(data), max)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ParseMarkdown("evidence", data, c.Limits)
	}
	var head struct {
		Schema string  `json:"schema"`
		Error  *string `json:"error"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if head.Error != nil {
		return nil, fmt.Errorf("model card evidence records a collection error, not a card: %q", *head.Error)
	}
	if head.Schema == "" {
		return ParseJSON("evidence", data, c.Limits)
	}
	if head.Schema != Schema {
		return nil, fmt.Errorf("schema %q: want %q, a Model Card Toolkit JSON card or a Markdown card", head.Schema, Schema)
	}
	var ev Evidence
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("model_card/v1 evidence: %w", err)
	}
	if ev.Sections == nil {
		return nil, fmt.Errorf(`model_card/v1 evidence: "sections" is missing`)
	}
	if ev.Subject != nil && ev.Subject.Path == "" {
		return nil, fmt.Errorf(`model_card/v1 evidence: "subject" without a "path"`)
	}
	if err := ev.Remote.Validate(); err != nil {
		return nil, fmt.Errorf("model_card/v1 evidence: %w", err)
	}
	if ev.Metrics == nil {
		ev.Metrics = []Metric{}
	}
	return ev, nil
}
