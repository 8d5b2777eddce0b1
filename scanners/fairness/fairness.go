// Package fairness computes group fairness metrics of a binary classifier
// from its predictions (a CSV/TSV, JSON Lines or Parquet file with a label,
// a prediction, optionally a score, and one or more group columns) as
// fairness/v1 evidence: per group and per intersection of groups the
// confusion counts and rates (each with a Wilson interval), ROC AUC from a
// bounded histogram, and the gaps Fairlearn defines — demographic parity
// difference and ratio, equal opportunity difference, equalized odds
// difference — each with a confidence interval and the groups that define
// it. Rows are streamed: memory depends on the number of groups, never on
// the number of rows.
package fairness

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

// Schema is the evidence schema name.
const Schema = "fairness/v1"

// MissingGroup is the group of rows whose group column is empty or absent
// (with Options.Missing "group").
const MissingGroup = "(missing)"

// Confidence is the level of every interval in the evidence.
const Confidence = 0.95

// AUCBins is the number of equal-width score bins over [0, 1] ROC AUC is
// computed from.
const AUCBins = 1000

// Options say which columns to read and how.
type Options struct {
	Label      string   // column of true labels (required)
	Prediction string   // column of predicted labels (required)
	Score      string   // column of scores in [0, 1] (optional: ROC AUC)
	Groups     []string // group (sensitive feature) columns, at least one
	// Positive is the positive label and prediction value (default "1").
	Positive string
	// Missing is "group" (default: an empty or absent group value is the
	// group "(missing)") or "error".
	Missing string
	// MinGroupSize: groups with fewer rows are reported too small to judge
	// and left out of the gaps (default 30).
	MinGroupSize int
	// Format is "csv", "tsv", "jsonl" or "parquet"; "" takes it from the
	// file name's extension.
	Format string
	Limits Limits
}

// Limits bound what one predictions file may make the scanner do.
type Limits struct {
	MaxBytes        int64 // file size (default 64 GiB)
	MaxRecordBytes  int   // one CSV row or JSON line (default 1 MiB)
	MaxColumns      int   // columns of the file (default 4096)
	MaxGroupColumns int   // --group columns (default 8)
	MaxGroupValues  int   // distinct values of one group column (default 1000)
	MaxCells        int   // distinct intersections of all group columns (default 2048)
	MaxValueBytes   int   // one group, label or prediction value (default 256)
}

// DefaultLimits are the limits used for fields left zero.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 30, MaxRecordBytes: 1 << 20, MaxColumns: 4096, MaxGroupColumns: 8,
		MaxGroupValues: 1000, MaxCells: 2048, MaxValueBytes: 256}
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = d.MaxRecordBytes
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxGroupColumns <= 0 {
		l.MaxGroupColumns = d.MaxGroupColumns
	}
	if l.MaxGroupValues <= 0 {
		l.MaxGroupValues = d.MaxGroupValues
	}
	if l.MaxCells <= 0 {
		l.MaxCells = d.MaxCells
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = d.MaxValueBytes
	}
	return l
}

// ErrLimit is wrapped by every error caused by a limit.
var ErrLimit = errors.New("limit exceeded")

// ErrInput is wrapped by every error that is the input's or the options'
// fault (an unknown column, a third label value, a score outside [0, 1]).
var ErrInput = errors.New("bad input")

func (o Options) withDefaults() Options {
	if o.Positive == "" {
		o.Positive = "1"
	}
	if o.Missing == "" {
		o.Missing = "group"
	}
	if o.MinGroupSize == 0 {
		o.MinGroupSize = 30
	}
	o.Limits = o.Limits.orDefault()
	return o
}

func (o Options) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInput}, a...)...)
	}
	if o.Label == "" {
		return bad("no label column: pass --label COL")
	}
	if o.Prediction == "" {
		return bad("no prediction column: pass --prediction COL")
	}
	if len(o.Groups) == 0 {
		return bad("no group column: pass --group COL (once per sensitive feature)")
	}
	if len(o.Groups) > o.Limits.MaxGroupColumns {
		return fmt.Errorf("%d group columns, more than %d: %w", len(o.Groups), o.Limits.MaxGroupColumns, ErrLimit)
	}
	if o.Missing != "group" && o.Missing != "error" {
		return bad("missing %q: want group or error", o.Missing)
	}
	if o.MinGroupSize < 1 {
		return bad("min group size %d: want 1 or more", o.MinGroupSize)
	}
	seen := map[string]string{}
	named := []struct{ role, col string }{{"label", o.Label}, {"prediction", o.Prediction}, {"score", o.Score}}
	for _, g := range o.Groups {
		named = append(named, struct{ role, col string }{"group", g})
	}
	for _, n := range named {
		if n.col == "" {
			if n.role == "group" {
				return bad("an empty group column name")
			}
			continue
		}
		if prev, ok := seen[n.col]; ok {
			return bad("column %q is named twice (as %s and as %s)", n.col, prev, n.role)
		}
		seen[n.col] = n.role
	}
	return nil
}

// Evidence is fairness/v1.
type Evidence struct {
	Schema string `json:"schema"`
	// Subject is the model the predictions are of, when known (the
	// collector's subject, or scan --model): gatehouse check counts the
	// evidence for that model only.
	Subject *Subject `json:"subject,omitempty"`
	// Predictions binds the evidence to the file it was computed from.
	Predictions *Predictions `json:"predictions"`
	Settings    Settings     `json:"settings"`
	Rows        int64        `json:"rows"`
	Groupings   []Grouping   `json:"groupings"`
	// Remote is set when the predictions came from a remote model
	// (oci://, gs://): the tree's identity and the file's origin. Kept
	// when the evidence is read back.
	Remote *remote.Evidence `json:"remote,omitempty"`
}

// Subject names the model judged.
type Subject struct {
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
}

// Predictions names the predictions file the evidence was computed from.
type Predictions struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"` // of the bytes read
	Bytes  int64  `json:"bytes"`
	Format string `json:"format"`
}

// Settings record how the evidence was computed.
type Settings struct {
	Label      string   `json:"label"`
	Prediction string   `json:"prediction"`
	Score      string   `json:"score,omitempty"`
	Groups     []string `json:"groups"`
	Positive   string   `json:"positive"`
	// Negative is the other label value seen ("" when every label was positive).
	Negative     string  `json:"negative"`
	Missing      string  `json:"missing"`
	MinGroupSize int     `json:"min_group_size"`
	Confidence   float64 `json:"confidence"`
	RateInterval string  `json:"rate_interval"`
	AUCMethod    string  `json:"auc_method,omitempty"`
}

// Grouping is one way of splitting the rows: by one group column, or by
// the intersection of all of them.
type Grouping struct {
	Name         string   `json:"name"` // the columns joined by " & "
	Columns      []string `json:"columns"`
	Intersection bool     `json:"intersection"`
	Groups       []Group  `json:"groups"`
	Gaps         Gaps     `json:"gaps"`
}

// Group holds one group's counts and rates. A rate is null when its
// denominator is zero.
type Group struct {
	Name      string   `json:"name"`   // the values joined by " & "
	Values    []string `json:"values"` // one per column of the grouping
	Count     int64    `json:"count"`
	Positives int64    `json:"positives"` // label positive
	Negatives int64    `json:"negatives"` // label negative
	TP        int64    `json:"tp"`
	FP        int64    `json:"fp"`
	TN        int64    `json:"tn"`
	FN        int64    `json:"fn"`

	BaseRate      *Rate `json:"base_rate"`      // positives / count
	SelectionRate *Rate `json:"selection_rate"` // (tp+fp) / count
	TPR           *Rate `json:"tpr"`            // tp / positives
	FPR           *Rate `json:"fpr"`            // fp / negatives
	FNR           *Rate `json:"fnr"`            // fn / positives
	Precision     *Rate `json:"precision"`      // tp / (tp+fp)
	Accuracy      *Rate `json:"accuracy"`       // (tp+tn) / count
	ROCAUC        *AUC  `json:"roc_auc,omitempty"`

	// TooSmall: count < min group size; the group is in no gap.
	TooSmall bool     `json:"too_small"`
	Notes    []string `json:"notes,omitempty"`
}

// Rate is a proportion with its Wilson score interval.
type Rate struct {
	Value float64  `json:"value"`
	CI    Interval `json:"ci"`
}

// AUC is a binned ROC AUC: MaxError bounds its distance from the exact AUC.
type AUC struct {
	Value    float64 `json:"value"`
	MaxError float64 `json:"max_error"`
}

// Gaps are the between-group fairness gaps of a grouping.
type Gaps struct {
	DemographicParityDifference Gap `json:"demographic_parity_difference"`
	DemographicParityRatio      Gap `json:"demographic_parity_ratio"`
	EqualOpportunityDifference  Gap `json:"equal_opportunity_difference"`
	EqualizedOddsDifference     Gap `json:"equalized_odds_difference"`
}

// Gap is one fairness gap: a difference (max - min) or ratio (min / max)
// of a rate over the groups judged. Value and CI are null when fewer than
// two groups could be judged (Reason says why).
type Gap struct {
	Metric string    `json:"metric"` // the rate compared: selection_rate, tpr, fpr
	Value  *float64  `json:"value"`
	CI     *Interval `json:"ci"`
	Method string    `json:"method,omitempty"`
	// Max and Min are the groups with the highest and lowest rate: the
	// groups that define the gap.
	Max *GapEnd `json:"max,omitempty"`
	Min *GapEnd `json:"min,omitempty"`
	// Judged is the number of groups compared; Excluded the groups left out, with why.
	Judged   int        `json:"groups_judged"`
	Excluded []Excluded `json:"excluded"`
	Reason   string     `json:"reason,omitempty"`
	// Components of equalized odds: the TPR and FPR differences; Basis
	// names the larger one (the value).
	Components []Gap  `json:"components,omitempty"`
	Basis      string `json:"basis,omitempty"`
}

// GapEnd is a group at one end of a gap.
type GapEnd struct {
	Group string  `json:"group"`
	Rate  float64 `json:"rate"`
}

// Excluded is a group left out of a gap.
type Excluded struct {
	Group  string `json:"group"`
	Reason string `json:"reason"`
}

func joinName(v []string) string { return strings.Join(v, " & ") }
