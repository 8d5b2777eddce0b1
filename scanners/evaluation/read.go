package evaluation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// SourceFiles are the metrics files the collector reads beside a model,
// all that are there, merged.
var SourceFiles = []string{"evaluation.json", "metrics.json", "executor_output.json"}

// CardFiles are the model card files read when no metrics file is there
// (the first found).
var CardFiles = []string{"README.md", "MODEL_CARD.md", "model_card.md", "MODELCARD.md"}

// Options say how to read sources.
type Options struct {
	// Dataset and Split name the data the metrics were measured on where
	// a source does not (a KFP artifact never does).
	Dataset, Split string
	Limits         Limits
}

// ErrNoMetrics is wrapped when a model folder holds no metrics file and
// no model card with model-index results.
var ErrNoMetrics = errors.New("no evaluation metrics")

// Scan reads each path — a metrics file, a model card, or a model folder
// (its SourceFiles, else its model card) — and merges what they hold into
// one evidence document. It names no subject; the caller does.
func Scan(ctx context.Context, paths []string, o Options) (*Evidence, error) {
	o.Limits = o.Limits.orDefault()
	b := &builder{lim: o.Limits}
	ev := &Evidence{Schema: Schema, Sources: []Source{}}
	for _, p := range paths {
		files, err := filesOf(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if len(ev.Sources) >= o.Limits.MaxSources {
				return nil, fmt.Errorf("%s: more than %d source files: %w", f, o.Limits.MaxSources, ErrTooMany)
			}
			data, err := readlimit.File(f, o.Limits.MaxFileBytes)
			if err != nil {
				return nil, err
			}
			format, err := parse(f, data, o, b)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(data)
			ev.Sources = append(ev.Sources, Source{Path: f, Format: format, SHA256: hex.EncodeToString(sum[:])})
		}
	}
	return finish(ev, b)
}

func finish(ev *Evidence, b *builder) (*Evidence, error) {
	var err error
	if ev.Metrics, err = b.merge(); err != nil {
		return nil, err
	}
	ev.Skipped = b.skipped
	if len(ev.Metrics) == 0 {
		names := make([]string, len(ev.Sources))
		for i, s := range ev.Sources {
			names[i] = s.Path
		}
		return nil, fmt.Errorf("%w in %s", ErrNoMetrics, strings.Join(names, ", "))
	}
	return ev, nil
}

// filesOf lists the files a path stands for: itself, or for a folder its
// metrics files (else its model card). A FIFO, device or socket is
// refused by the read that follows (readlimit), never opened blocking.
func filesOf(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("evaluation: %w", err)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	var found []string
	for _, n := range SourceFiles {
		f := filepath.Join(p, n)
		if _, err := os.Lstat(f); err == nil {
			found = append(found, f)
		}
	}
	if len(found) > 0 {
		return found, nil
	}
	for _, n := range CardFiles {
		f := filepath.Join(p, n)
		if _, err := os.Lstat(f); err == nil {
			return []string{f}, nil
		}
	}
	return nil, fmt.Errorf("%w in %s: put the model's evaluation there as one of %s (a KFP executor output or metrics artifact, or a plain metrics JSON), or give the model card (README.md) model-index results",
		ErrNoMetrics, p, strings.Join(SourceFiles, ", "))
}

// ParseSource reads one source's bytes (name is for errors): evaluation/v1
// evidence, a KFP executor output or metrics artifact, a plain metrics
// JSON, or a Markdown model card. It names no subject.
func ParseSource(name string, data []byte, o Options) (*Evidence, string, error) {
	o.Limits = o.Limits.orDefault()
	if int64(len(data)) > o.Limits.MaxFileBytes {
		return nil, "", fmt.Errorf("%s: %d bytes, more than the limit of %d", name, len(data), o.Limits.MaxFileBytes)
	}
	b := &builder{lim: o.Limits}
	format, err := parse(name, data, o, b)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	ev := &Evidence{Schema: Schema, Sources: []Source{{Path: name, Format: format, SHA256: hex.EncodeToString(sum[:])}}}
	ev, err = finish(ev, b)
	return ev, format, err
}

// parse reads one source into b and says which format it was.
func parse(name string, data []byte, o Options, b *builder) (string, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%s: empty file", name)
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		if bytes.HasPrefix(trimmed, []byte("---")) {
			return FormatModelIndex, parseCard(name, data, o, b)
		}
		return "", fmt.Errorf("%s: neither JSON nor a model card with YAML front matter", name)
	}
	if d := jsonscan.Depth(trimmed, o.Limits.MaxDepth); d > o.Limits.MaxDepth {
		return "", fmt.Errorf("%s: JSON nests deeper than %d levels", name, o.Limits.MaxDepth)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&doc); err != nil {
		return "", fmt.Errorf("%s: not JSON: %w", name, err)
	}
	if dec.More() {
		return "", fmt.Errorf("%s: more than one JSON value", name)
	}
	switch d := doc.(type) {
	case []any:
		return FormatKFPArtifact, kfpArtifacts(name, "", d, o, b)
	case map[string]any:
		if _, ok := d["error"]; ok {
			return "", fmt.Errorf("%s records a collection error, not metrics: %v", name, d["error"])
		}
		switch {
		case d["schema"] != nil:
			return FormatEvaluation, parseEvidenceDoc(name, trimmed, d, b)
		case d["artifacts"] != nil || d["parameterValues"] != nil:
			return FormatKFPExecutorOutput, kfpExecutorOutput(name, d, o, b)
		case d["outputs"] != nil:
			out, ok := d["outputs"].(map[string]any)
			if !ok {
				return "", fmt.Errorf("%s: outputs: want an object, found %s", name, jsonscan.TypeName(d["outputs"]))
			}
			list, ok := out["artifacts"].([]any)
			if !ok {
				return "", fmt.Errorf("%s: outputs.artifacts: want a list of artifacts, found %s", name, jsonscan.TypeName(out["artifacts"]))
			}
			return FormatKFPArtifact, kfpArtifacts(name, "outputs.artifacts", list, o, b)
		case d["metadata"] != nil:
			return FormatKFPArtifact, kfpArtifact(name, "", d, o, b)
		case d["metrics"] != nil:
			return FormatMetricsList, metricsList(name, d, o, b)
		default:
			return FormatMetricsMap, metricsMap(name, d, o, b)
		}
	}
	return "", fmt.Errorf("%s: want a JSON object or list", name)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// field joins a JSON path for errors.
func field(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// parseEvidenceDoc adopts evaluation/v1 (or evaluation_baseline/v1)
// evidence, checked strictly; its metrics are checked as any source's.
func parseEvidenceDoc(name string, data []byte, head map[string]any, b *builder) error {
	if head["schema"] != Schema && head["schema"] != BaselineSchema {
		return fmt.Errorf("%s: schema %v, want %q (the output of `gatehouse scan evaluation --format json`)", name, head["schema"], Schema)
	}
	var ev Evidence
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return fmt.Errorf("%s: %s evidence: %w", name, ev.Schema, err)
	}
	if ev.Metrics == nil {
		return fmt.Errorf(`%s: %s evidence: "metrics" is missing`, name, ev.Schema)
	}
	for i, m := range ev.Metrics {
		if err := b.add(m, fmt.Sprintf("%s: metrics[%d]", name, i)); err != nil {
			return err
		}
	}
	b.skipped = append(b.skipped, ev.Skipped...)
	return nil
}

// metricsList reads {"metrics": [{"name", "value", "dataset", "split",
// "slice", "class"}], "dataset", "split", "slice"}: the top-level names are
// the defaults of the entries. Unknown keys are errors (a typo such as
// "vaule" must not pass).
func metricsList(name string, d map[string]any, o Options, b *builder) error {
	defaults := map[string]string{"dataset": o.Dataset, "split": o.Split, "slice": ""}
	for _, k := range sortedKeys(d) {
		if k == "metrics" {
			continue
		}
		if _, ok := defaults[k]; !ok {
			return fmt.Errorf("%s: unknown key %q (a metrics list has metrics, dataset, split, slice)", name, k)
		}
		s, ok := d[k].(string)
		if !ok {
			return fmt.Errorf("%s: %s: want a string, found %s", name, k, jsonscan.TypeName(d[k]))
		}
		defaults[k] = s
	}
	list, ok := d["metrics"].([]any)
	if !ok {
		return fmt.Errorf("%s: metrics: want a list of {name, value, dataset, split, slice}, found %s", name, jsonscan.TypeName(d["metrics"]))
	}
	for i, e := range list {
		at := fmt.Sprintf("%s: metrics[%d]", name, i)
		obj, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, found %s", at, jsonscan.TypeName(e))
		}
		m := Metric{Dataset: defaults["dataset"], Split: defaults["split"], Slice: defaults["slice"], Source: at}
		for _, k := range sortedKeys(obj) {
			v := obj[k]
			switch k {
			case "value":
				f, ok := v.(float64)
				if !ok {
					return fmt.Errorf("%s.value: want a number, found %s", at, jsonscan.TypeName(v))
				}
				m.Value = f
			case "name", "dataset", "split", "slice", "class":
				s, ok := v.(string)
				if !ok {
					return fmt.Errorf("%s.%s: want a string, found %s", at, k, jsonscan.TypeName(v))
				}
				*map[string]*string{"name": &m.Name, "dataset": &m.Dataset, "split": &m.Split, "slice": &m.Slice, "class": &m.Class}[k] = s
			default:
				return fmt.Errorf("%s: unknown key %q (want name, value, dataset, split, slice, class)", at, k)
			}
		}
		if _, ok := obj["value"]; !ok {
			return fmt.Errorf("%s: no value", at)
		}
		if err := b.add(m, at); err != nil {
			return err
		}
	}
	return nil
}

// metricsMap reads a flat {"accuracy": 0.91, "f1": 0.88}: every value a
// number.
func metricsMap(name string, d map[string]any, o Options, b *builder) error {
	if len(d) == 0 {
		return fmt.Errorf("%s: an empty object holds no metrics", name)
	}
	for _, k := range sortedKeys(d) {
		f, ok := d[k].(float64)
		if !ok {
			return fmt.Errorf("%s: %q: want a number (a flat metrics map is {\"accuracy\": 0.91, ...}), found %s", name, k, jsonscan.TypeName(d[k]))
		}
		at := fmt.Sprintf("%s: %s", name, k)
		if err := b.add(Metric{Name: k, Value: f, Dataset: o.Dataset, Split: o.Split, Source: at}, at); err != nil {
			return err
		}
	}
	return nil
}
