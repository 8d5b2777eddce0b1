package fairness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// PredictionsFiles are the names the collector looks for beside a model.
var PredictionsFiles = []string{"predictions.csv", "predictions.tsv", "predictions.jsonl", "predictions.parquet"}

// MaxEvidenceBytes bounds a fairness/v1 document given with --evidence.
const MaxEvidenceBytes = 64 << 20

// Collector gathers fairness evidence (input.evidence.fairness) for model
// subjects from predictions.{csv,tsv,jsonl,parquet} in the model's folder
// (the folder itself, or the folder of a model file).
type Collector struct {
	Options Options
}

// ErrNoPredictions is wrapped when no predictions file lies beside the model.
var ErrNoPredictions = errors.New("no predictions file")

// NewCollector builds the collector from the fairness gate's params:
// label (default "label"), prediction (default "prediction"), score,
// groups (default required_groups), positive (default "1"), missing
// (group or error) and min_group_size (default 30).
func NewCollector(params map[string]any) (*Collector, error) {
	o := Options{Label: "label", Prediction: "prediction"}
	str := func(key string, dst *string) error {
		switch v := params[key].(type) {
		case nil:
		case string:
			if v == "" {
				return fmt.Errorf("params.fairness.%s: empty", key)
			}
			*dst = v
		default:
			return fmt.Errorf("params.fairness.%s: want a string, found %T", key, v)
		}
		return nil
	}
	for key, dst := range map[string]*string{"label": &o.Label, "prediction": &o.Prediction, "score": &o.Score, "positive": &o.Positive, "missing": &o.Missing} {
		if err := str(key, dst); err != nil {
			return nil, err
		}
	}
	if o.Missing != "" && o.Missing != "group" && o.Missing != "error" {
		return nil, fmt.Errorf("params.fairness.missing: %q, want group or error", o.Missing)
	}
	list := func(key string) ([]string, error) {
		switch v := params[key].(type) {
		case nil:
			return nil, nil
		case []any:
			var out []string
			for i, e := range v {
				s, ok := e.(string)
				if !ok || s == "" {
					return nil, fmt.Errorf("params.fairness.%s[%d]: want a column name, found %v", key, i, e)
				}
				out = append(out, s)
			}
			return out, nil
		case []string:
			return v, nil
		default:
			return nil, fmt.Errorf("params.fairness.%s: want a list of column names, found %T", key, v)
		}
	}
	groups, err := list("groups")
	if err != nil {
		return nil, err
	}
	required, err := list("required_groups")
	if err != nil {
		return nil, err
	}
	// the groups read: groups, then each required group not already named
	o.Groups = groups
	for _, r := range required {
		if !slices.Contains(o.Groups, r) {
			o.Groups = append(o.Groups, r)
		}
	}
	switch v := params["min_group_size"].(type) {
	case nil:
	case int:
		o.MinGroupSize = v
	case float64:
		if v != float64(int(v)) {
			return nil, fmt.Errorf("params.fairness.min_group_size: %v is not a whole number", v)
		}
		o.MinGroupSize = int(v)
	default:
		return nil, fmt.Errorf("params.fairness.min_group_size: want a number, found %T", v)
	}
	if o.MinGroupSize < 0 {
		return nil, fmt.Errorf("params.fairness.min_group_size: %d, want 1 or more", o.MinGroupSize)
	}
	return &Collector{Options: o}, nil
}

// Name is the evidence key.
func (c *Collector) Name() string { return "fairness" }

// Applies to models.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindModel }

// Collect reads the predictions file beside the model.
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := s.Ref
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("fairness: %w", err)
	}
	if !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	var found []string
	for _, n := range PredictionsFiles {
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); err == nil {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w beside the model in %s: put the model's predictions on a held-out set there as one of %s (columns %s), or pass --evidence fairness=FILE with the output of `gatehouse scan fairness --format json`",
			ErrNoPredictions, dir, strings.Join(PredictionsFiles, ", "), c.columnsHint())
	case 1:
	default:
		return nil, fmt.Errorf("several predictions files beside the model (%s): keep one", strings.Join(found, ", "))
	}
	if len(c.Options.Groups) == 0 {
		return nil, errors.New("no group columns configured: set params.fairness.required_groups (or groups) in gatehouse.yaml to the sensitive-feature columns of " + found[0])
	}
	ev, err := Scan(ctx, found[0], c.Options)
	if err != nil {
		return nil, err
	}
	ev.Subject = &Subject{Path: s.Ref, Digest: s.Digest}
	return ev, nil
}

func (c *Collector) columnsHint() string {
	cols := []string{c.Options.Label, c.Options.Prediction}
	if c.Options.Score != "" {
		cols = append(cols, c.Options.Score)
	}
	cols = append(cols, c.Options.Groups...)
	return strings.Join(cols, ", ")
}

// MaxEvidenceBytes bounds what ParseEvidence reads.
func (c *Collector) MaxEvidenceBytes() int64 { return MaxEvidenceBytes }

// ParseEvidence reads `--evidence fairness=FILE`: fairness/v1 evidence as
// `gatehouse scan fairness --format json` prints it, checked strictly.
// A document recording a collection error is refused.
func (c *Collector) ParseEvidence(data []byte) (any, error) {
	if len(data) > MaxEvidenceBytes {
		return nil, fmt.Errorf("fairness evidence: %d bytes, more than the limit of %d", len(data), MaxEvidenceBytes)
	}
	var head struct {
		Schema string  `json:"schema"`
		Error  *string `json:"error"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("fairness evidence: not JSON (want the output of `gatehouse scan fairness --format json`): %w", err)
	}
	if head.Error != nil {
		return nil, fmt.Errorf("fairness evidence records a collection error, not a scan: %q", *head.Error)
	}
	if head.Schema != Schema {
		return nil, fmt.Errorf("fairness evidence: schema %q, want %q (the output of `gatehouse scan fairness --format json`)", head.Schema, Schema)
	}
	var ev Evidence
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("fairness/v1 evidence: %w", err)
	}
	if dec.More() {
		return nil, errors.New("fairness/v1 evidence: more than one JSON value")
	}
	if len(ev.Groupings) == 0 {
		return nil, errors.New(`fairness/v1 evidence: "groupings" is missing or empty`)
	}
	if ev.Predictions == nil || ev.Predictions.Path == "" || len(ev.Predictions.SHA256) != 64 {
		return nil, errors.New(`fairness/v1 evidence: "predictions" needs "path" and "sha256" (the file the metrics were computed from)`)
	}
	if ev.Subject != nil && ev.Subject.Path == "" {
		return nil, errors.New(`fairness/v1 evidence: "subject" without a "path"`)
	}
	if err := ev.Remote.Validate(); err != nil {
		return nil, fmt.Errorf("fairness/v1 evidence: %w", err)
	}
	return ev, nil
}
