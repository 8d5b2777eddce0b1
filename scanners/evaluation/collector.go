package evaluation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

// Collector gathers evaluation evidence (input.evidence.evaluation) for
// model subjects from the metrics files beside the model (SourceFiles,
// all that are there), else from the model card's model-index results.
type Collector struct {
	Options Options
}

// NewCollector builds the collector from the evaluation gate's params:
// dataset and split name the data of sources that do not name it.
func NewCollector(params map[string]any) (*Collector, error) {
	c := &Collector{}
	for key, dst := range map[string]*string{"dataset": &c.Options.Dataset, "split": &c.Options.Split} {
		switch v := params[key].(type) {
		case nil:
		case string:
			*dst = v
		default:
			return nil, fmt.Errorf("params.evaluation.%s: want a string, found %T", key, v)
		}
	}
	return c, nil
}

// Name is the evidence key.
func (c *Collector) Name() string { return "evaluation" }

// Applies to models.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindModel }

// Collect reads the evaluation beside the model: the model's folder, or
// the folder of a model file.
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := s.Ref
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w (or pass --evidence evaluation=FILE)", err)
	}
	if !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	ev, err := Scan(ctx, []string{dir}, c.Options)
	if errors.Is(err, ErrNoMetrics) {
		return nil, fmt.Errorf("%w; or pass --evidence evaluation=FILE with the output of `gatehouse scan evaluation --format json`", err)
	}
	if err != nil {
		return nil, err
	}
	ev.Subject = &Subject{Path: s.Ref, Digest: s.Digest}
	return ev, nil
}

// MaxEvidenceBytes bounds what ParseEvidence reads.
func (c *Collector) MaxEvidenceBytes() int64 { return c.Options.Limits.orDefault().MaxFileBytes }

// ParseEvidence reads `--evidence evaluation=FILE`: evaluation/v1 evidence
// (its subject kept, so it binds to that model), or any source Scan reads
// (a KFP executor output or artifact, a plain metrics JSON, a model card),
// which names no subject.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	ev, subject, err := parseGiven("evaluation evidence", data, c.Options)
	if err != nil {
		return nil, err
	}
	if ev.Schema == BaselineSchema {
		return nil, errors.New("evaluation evidence: this is a baseline (evaluation_baseline/v1): pass it as --evidence evaluation_baseline=FILE")
	}
	ev.Subject = subject
	return ev, nil
}

// parseGiven parses a document given with --evidence and, for evidence,
// the subject it names.
func parseGiven(name string, data []byte, o Options) (*Evidence, *Subject, error) {
	ev, format, err := ParseSource(name, data, o)
	if err != nil {
		return nil, nil, err
	}
	if format != FormatEvaluation {
		return ev, nil, nil
	}
	var head struct {
		Schema  string           `json:"schema"`
		Subject *Subject         `json:"subject"`
		Model   *Subject         `json:"model"`
		Sources []Source         `json:"sources"`
		Remote  *remote.Evidence `json:"remote"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if head.Subject != nil && head.Subject.Path == "" {
		return nil, nil, fmt.Errorf(`%s: "subject" without a "path"`, name)
	}
	if err := head.Remote.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	ev.Remote = head.Remote
	// the evidence's own sources, not the bytes it was given as
	ev.Sources = head.Sources
	if ev.Sources == nil {
		ev.Sources = []Source{}
	}
	ev.Schema = head.Schema
	if head.Schema == BaselineSchema {
		ev.Model = head.Model
		return ev, nil, nil
	}
	return ev, head.Subject, nil
}

// BaselineCollector reads the production model's evaluation given as
// `--evidence evaluation_baseline=FILE` (input.evidence.evaluation_baseline)
// for the evaluation gate's no-regression rule. It collects nothing by
// itself: without the file there is no baseline.
type BaselineCollector struct {
	Options Options
}

// Name is the evidence key.
func (c *BaselineCollector) Name() string { return "evaluation_baseline" }

// Applies to nothing: a baseline is only ever given.
func (c *BaselineCollector) Applies(gates.Subject) bool { return false }

// Collect is never called (Applies is false); it fails closed if it is.
func (c *BaselineCollector) Collect(context.Context, gates.Subject) (any, error) {
	return nil, errors.New("evaluation_baseline is given, never collected: pass --evidence evaluation_baseline=FILE with the production model's evaluation")
}

// MaxEvidenceBytes bounds what ParseEvidence reads.
func (c *BaselineCollector) MaxEvidenceBytes() int64 {
	return c.Options.Limits.orDefault().MaxFileBytes
}

// ParseEvidence reads the production model's evaluation — evaluation/v1
// evidence or any source Scan reads — as evaluation_baseline/v1: the
// production model it names moves from "subject" to "model", so the
// document is not taken for evidence about the candidate (whose path it
// does not name) and binds like a document that names no subject.
func (c *BaselineCollector) ParseEvidence(data []byte) (any, error) {
	ev, subject, err := parseGiven("evaluation_baseline evidence", data, c.Options)
	if err != nil {
		return nil, err
	}
	if ev.Schema != BaselineSchema {
		ev.Model = subject
	}
	ev.Schema, ev.Subject = BaselineSchema, nil
	return ev, nil
}

// Describe is a one-line summary of where a document's metrics came from.
func (ev *Evidence) Describe() string {
	parts := make([]string, 0, len(ev.Sources))
	for _, s := range ev.Sources {
		parts = append(parts, fmt.Sprintf("%s (%s)", s.Path, s.Format))
	}
	return strings.Join(parts, ", ")
}

var (
	_ gates.EvidenceParser = (*Collector)(nil)
	_ gates.EvidenceParser = (*BaselineCollector)(nil)
)
