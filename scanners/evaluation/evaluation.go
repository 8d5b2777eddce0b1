// Package evaluation reads a model's evaluation results — the metrics a
// Kubeflow pipeline emits (KFP v2 system.Metrics, system.ClassificationMetrics
// and system.SlicedClassificationMetrics artifacts), a plain metrics JSON,
// or the model-index results of a Hugging Face model card — into one
// evaluation/v1 evidence shape in which every metric names the dataset,
// split and slice it was measured on. From a confusion matrix it derives
// accuracy and per-class precision, recall and F1 (with their macro
// averages); from ROC points it derives ROC AUC (trapezoid rule). Derived
// metrics are marked so.
package evaluation

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

// Schema is the evidence schema name.
const Schema = "evaluation/v1"

// BaselineSchema is the schema of the production model's evaluation as
// the evaluation_baseline evidence carries it: evaluation/v1 with the
// production model named in "model" rather than "subject", so the
// document is not taken for evidence about the candidate model.
const BaselineSchema = "evaluation_baseline/v1"

// OverallSlice is the slice of a metric measured on a whole dataset.
const OverallSlice = "overall"

// Source formats, the values of Source.Format.
const (
	FormatEvaluation        = "evaluation/v1"
	FormatKFPExecutorOutput = "kfp-executor-output"
	FormatKFPArtifact       = "kfp-artifact"
	FormatMetricsList       = "metrics-list"
	FormatMetricsMap        = "metrics-map"
	FormatModelIndex        = "model-index"
)

// Evidence is what the evaluation collector reports (input.evidence.evaluation).
type Evidence struct {
	Schema string `json:"schema"`
	// Subject names the model the metrics are of (absent when files were
	// scanned without naming one).
	Subject *Subject `json:"subject,omitempty"`
	// Model names the production model a baseline is of (BaselineSchema only).
	Model   *Subject  `json:"model,omitempty"`
	Sources []Source  `json:"sources"`
	Metrics []Metric  `json:"metrics"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Remote is set when the metrics came from a remote model (oci://,
	// gs://): the tree's identity and each source file's origin. Kept
	// when the evidence is read back.
	Remote *remote.Evidence `json:"remote,omitempty"`
}

// Subject names what evidence is about.
type Subject struct {
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
}

// Source is one file the metrics were read from.
type Source struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	SHA256 string `json:"sha256,omitempty"`
}

// Metric is one evaluation result. Name is lower-cased; Slice is
// "overall" unless the source names a slice; Class is set for per-class
// metrics derived from a confusion matrix.
type Metric struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Dataset string  `json:"dataset,omitempty"`
	Split   string  `json:"split,omitempty"`
	Slice   string  `json:"slice"`
	Class   string  `json:"class,omitempty"`
	Derived bool    `json:"derived,omitempty"`
	// From says what a derived metric was computed from.
	From string `json:"from,omitempty"`
	// Source is the file and field the value (or its inputs) came from.
	Source string `json:"source"`
}

// Key identifies a metric: two metrics with the same key measure the same
// thing and are compared (baseline) or must agree (merging sources).
type Key struct{ Name, Dataset, Split, Slice, Class string }

// Key of m.
func (m Metric) Key() Key { return Key{m.Name, m.Dataset, m.Split, m.Slice, m.Class} }

func (k Key) String() string {
	var b strings.Builder
	b.WriteString(k.Name)
	if k.Class != "" {
		fmt.Fprintf(&b, " [class %s]", k.Class)
	}
	where := []string{}
	if k.Dataset != "" {
		where = append(where, "dataset "+k.Dataset)
	}
	if k.Split != "" {
		where = append(where, "split "+k.Split)
	}
	where = append(where, "slice "+k.Slice)
	fmt.Fprintf(&b, " (%s)", strings.Join(where, ", "))
	return b.String()
}

// Skipped is a value in a source that is not a metric the gate can use
// (a string in a model card, a derived value a reported one overrides):
// listed, never dropped silently.
type Skipped struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Limits bound what one source may make the scanner do.
type Limits struct {
	MaxFileBytes        int64 // one source file (default 16 MiB)
	MaxDepth            int   // JSON/YAML nesting (default 32)
	MaxMetrics          int   // metrics in the evidence, derived included (default 10000)
	MaxClasses          int   // confusion matrix categories (default 1000)
	MaxROCPoints        int   // ROC points of one curve (default 100000)
	MaxNameBytes        int   // a metric, dataset, split, slice or class name (default 256)
	MaxFrontMatterBytes int   // a model card's YAML front matter (default 256 KiB)
	MaxSources          int   // files merged into one evidence (default 64)
}

// DefaultLimits suit real evaluation outputs.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 16 << 20, MaxDepth: 32, MaxMetrics: 10000, MaxClasses: 1000,
		MaxROCPoints: 100000, MaxNameBytes: 256, MaxFrontMatterBytes: 256 << 10, MaxSources: 64}
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxMetrics <= 0 {
		l.MaxMetrics = d.MaxMetrics
	}
	if l.MaxClasses <= 0 {
		l.MaxClasses = d.MaxClasses
	}
	if l.MaxROCPoints <= 0 {
		l.MaxROCPoints = d.MaxROCPoints
	}
	if l.MaxNameBytes <= 0 {
		l.MaxNameBytes = d.MaxNameBytes
	}
	if l.MaxFrontMatterBytes <= 0 {
		l.MaxFrontMatterBytes = d.MaxFrontMatterBytes
	}
	if l.MaxSources <= 0 {
		l.MaxSources = d.MaxSources
	}
	return l
}

// ErrTooMany is wrapped when a limit on counts is passed.
var ErrTooMany = errors.New("limit passed")

// builder collects metrics from sources, checking names and values.
type builder struct {
	lim     Limits
	metrics []Metric
	skipped []Skipped
}

// name checks a name from a source: not too long, no NUL; metric names
// are lower-cased and trimmed.
func (b *builder) name(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > b.lim.MaxNameBytes {
		return "", fmt.Errorf("%s: %d bytes, more than the limit of %d", field, len(s), b.lim.MaxNameBytes)
	}
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("%s: contains a NUL byte", field)
	}
	return s, nil
}

func (b *builder) add(m Metric, field string) error {
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		return fmt.Errorf("%s: %v is not a finite number", field, m.Value)
	}
	var err error
	if m.Name, err = b.name(field+" name", m.Name); err != nil {
		return err
	}
	m.Name = strings.ToLower(m.Name)
	if m.Name == "" {
		return fmt.Errorf("%s: the metric has no name", field)
	}
	for _, s := range []*string{&m.Dataset, &m.Split, &m.Slice, &m.Class} {
		if *s, err = b.name(field, *s); err != nil {
			return err
		}
	}
	if m.Slice == "" {
		m.Slice = OverallSlice
	}
	if len(b.metrics) >= b.lim.MaxMetrics {
		return fmt.Errorf("%s: more than %d metrics: %w", field, b.lim.MaxMetrics, ErrTooMany)
	}
	b.metrics = append(b.metrics, m)
	return nil
}

func (b *builder) skip(source, reason string) {
	if len(b.skipped) < b.lim.MaxMetrics {
		b.skipped = append(b.skipped, Skipped{Source: source, Reason: reason})
	}
}

// merge settles metrics with the same key: reported values that disagree
// are an error naming both; a reported value overrides a derived one (the
// derived one is listed as skipped); equal values are kept once. The
// result is sorted by key.
func (b *builder) merge() ([]Metric, error) {
	byKey := make(map[Key]int, len(b.metrics))
	out := make([]Metric, 0, len(b.metrics))
	for _, m := range b.metrics {
		i, seen := byKey[m.Key()]
		if !seen {
			byKey[m.Key()] = len(out)
			out = append(out, m)
			continue
		}
		prev := out[i]
		switch {
		case prev.Derived && !m.Derived:
			b.skip(prev.Source, fmt.Sprintf("derived %s = %v not used: %s reports %v", m.Key(), prev.Value, m.Source, m.Value))
			out[i] = m
		case !prev.Derived && m.Derived:
			b.skip(m.Source, fmt.Sprintf("derived %s = %v not used: %s reports %v", m.Key(), m.Value, prev.Source, prev.Value))
		case prev.Value == m.Value:
		default:
			return nil, fmt.Errorf("%s is %v in %s but %v in %s: give each dataset/slice its own name, or one value", m.Key(), prev.Value, prev.Source, m.Value, m.Source)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return lessKey(out[i].Key(), out[j].Key()) })
	return out, nil
}

func lessKey(a, b Key) bool {
	for _, p := range [][2]string{{a.Dataset, b.Dataset}, {a.Split, b.Split}, {a.Slice, b.Slice}, {a.Name, b.Name}, {a.Class, b.Class}} {
		if p[0] != p[1] {
			return p[0] < p[1]
		}
	}
	return false
}
