package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/fairness"
)

// scanFairnessOptions are the flags of `gatehouse scan fairness`.
type scanFairnessOptions struct {
	label, prediction, score, positive, missing, format, model string
	groups                                                     []string
	minGroupSize                                               int
}

func init() {
	var o scanFairnessOptions
	c := &cobra.Command{
		Use:   "fairness PREDICTIONS",
		Short: "Compute group fairness metrics of a classifier from its predictions (CSV/TSV, JSON Lines, Parquet)",
		Long: `Read a predictions file (one row per example: true label, predicted label,
optionally a score in [0,1], and one or more group columns such as sex or age
band) and compute, per group and per intersection of the groups, the
selection rate, base rate, TPR, FPR, FNR, precision, accuracy (each with a
95% Wilson interval) and, with --score, ROC AUC; then the gaps Fairlearn
defines: demographic parity difference and ratio (the four-fifths rule),
equal opportunity difference and equalized odds difference, each with a
confidence interval and the two groups that define it. Groups with fewer
rows than --min-group-size are reported as too small and left out of the
gaps. Rows are streamed: memory does not grow with the file.
The fairness gate of "gatehouse check" judges the fairness/v1 evidence
(--format json; --model PATH binds it to that model for
"gatehouse check model:PATH --evidence fairness=FILE") against thresholds.
See docs/fairness.md.
Exit status: 0 computed, 2 bad input (an unknown column, a label column with
more than two values, a score outside [0,1], an empty or unreadable file, a
FIFO, device or socket, a limit) or an interrupted scan.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanFairness(cmd.Context(), cmd.OutOrStdout(), args[0], o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.label, "label", "", "column of true labels (required)")
	f.StringVar(&o.prediction, "prediction", "", "column of predicted labels (required)")
	f.StringVar(&o.score, "score", "", "column of scores in [0,1] (adds ROC AUC)")
	f.StringArrayVar(&o.groups, "group", nil, "group (sensitive feature) column; repeat for several")
	f.StringVar(&o.positive, "positive", "1", "the positive label and prediction value")
	f.StringVar(&o.missing, "missing", "group", `an empty group value: "group" (its own group, "(missing)") or "error"`)
	f.IntVar(&o.minGroupSize, "min-group-size", 30, "groups with fewer rows are too small to judge")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.model, "model", "", "the model the predictions are of: the evidence then counts for that model only in gatehouse check")
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		local, err := fairness.NewCollector(env.Config.GateParams(env.Env, "fairness"))
		if err != nil {
			return nil, err
		}
		return newRemoteSide(local, fairnessSide, env.Remote), nil // local paths, and oci:// / gs:// models (remote_side.go)
	})
}

func runScanFairness(ctx context.Context, w io.Writer, path string, o scanFairnessOptions) error {
	if o.format != "text" && o.format != "json" {
		return undecided(fmt.Errorf("--format %q: want text or json", o.format))
	}
	if o.missing != "group" && o.missing != "error" {
		return undecided(fmt.Errorf("--missing %q: want group or error", o.missing))
	}
	if o.minGroupSize < 1 {
		return undecided(fmt.Errorf("--min-group-size %d: want 1 or more", o.minGroupSize))
	}
	if o.positive == "" {
		return undecided(errors.New("--positive: empty"))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ev, err := fairness.Scan(ctx, path, fairness.Options{
		Label: o.label, Prediction: o.prediction, Score: o.score, Groups: o.groups,
		Positive: o.positive, Missing: o.missing, MinGroupSize: o.minGroupSize,
	})
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	if o.model != "" {
		ev.Subject = &fairness.Subject{Path: o.model}
	}
	return writeScan(w, o.format, ev, writeFairnessText)
}

// writeFairnessText prints the evidence for people. Group values and
// column names come from the file: escaped.
func writeFairnessText(w io.Writer, ev *fairness.Evidence) {
	esc := textsafe.Escape
	if ev.Subject != nil {
		fmt.Fprintf(w, "model: %s\n", esc(ev.Subject.Path))
	}
	fmt.Fprintf(w, "predictions: %s (%s, %d rows, sha256 %s)\n", esc(ev.Predictions.Path), ev.Predictions.Format, ev.Rows, ev.Predictions.SHA256)
	fmt.Fprintf(w, "positive: %s; min group size %d; intervals %.0f%%\n", esc(ev.Settings.Positive), ev.Settings.MinGroupSize, ev.Settings.Confidence*100)
	r := func(x *fairness.Rate) string {
		if x == nil {
			return "     -"
		}
		return fmt.Sprintf("%6.3f", x.Value)
	}
	for _, g := range ev.Groupings {
		fmt.Fprintf(w, "\n%s\n", esc(g.Name))
		auc := ev.Settings.Score != ""
		fmt.Fprintf(w, "  %-24s %8s %6s %6s %6s %6s %6s %6s %6s", "group", "count", "base", "select", "TPR", "FPR", "FNR", "prec", "acc")
		if auc {
			fmt.Fprintf(w, " %6s", "AUC")
		}
		fmt.Fprintln(w)
		for _, gr := range g.Groups {
			fmt.Fprintf(w, "  %-24s %8d %s %s %s %s %s %s %s", esc(gr.Name), gr.Count, r(gr.BaseRate), r(gr.SelectionRate), r(gr.TPR), r(gr.FPR), r(gr.FNR), r(gr.Precision), r(gr.Accuracy))
			if auc {
				if gr.ROCAUC != nil {
					fmt.Fprintf(w, " %6.3f", gr.ROCAUC.Value)
				} else {
					fmt.Fprintf(w, " %6s", "-")
				}
			}
			if gr.TooSmall {
				fmt.Fprint(w, "  too small to judge")
			}
			fmt.Fprintln(w)
		}
		for _, gp := range []struct {
			name string
			gap  fairness.Gap
		}{
			{"demographic parity difference", g.Gaps.DemographicParityDifference},
			{"demographic parity ratio", g.Gaps.DemographicParityRatio},
			{"equal opportunity difference", g.Gaps.EqualOpportunityDifference},
			{"equalized odds difference", g.Gaps.EqualizedOddsDifference},
		} {
			if gp.gap.Value == nil {
				fmt.Fprintf(w, "  %-30s  not computed: %s\n", gp.name, esc(gp.gap.Reason))
				continue
			}
			fmt.Fprintf(w, "  %-30s %6.3f  [%.3f, %.3f]  max %s (%.3f), min %s (%.3f)\n", gp.name, *gp.gap.Value,
				gp.gap.CI[0], gp.gap.CI[1], esc(gp.gap.Max.Group), gp.gap.Max.Rate, esc(gp.gap.Min.Group), gp.gap.Min.Rate)
		}
		var ex []string
		for _, e := range g.Gaps.EqualizedOddsDifference.Excluded {
			ex = append(ex, esc(e.Group)+": "+esc(e.Reason))
		}
		for _, e := range g.Gaps.DemographicParityDifference.Excluded {
			s := esc(e.Group) + ": " + esc(e.Reason)
			if !containsStr(ex, s) {
				ex = append(ex, s)
			}
		}
		if len(ex) > 0 {
			fmt.Fprintf(w, "  left out: %s\n", strings.Join(ex, "; "))
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
