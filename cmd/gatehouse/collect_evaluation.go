package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/evaluation"
)

// scanEvaluationOptions are the flags of `gatehouse scan evaluation`.
type scanEvaluationOptions struct {
	format, model, dataset, split string
}

// Evaluation metrics: `gatehouse scan evaluation` and the evaluation
// collector (metrics beside a model, else its card's model-index) for the
// evaluation gate; the evaluation_baseline parser reads the production
// model's evaluation given with --evidence evaluation_baseline=FILE.
func init() {
	var o scanEvaluationOptions
	c := &cobra.Command{
		Use:   "evaluation PATH...",
		Short: "Read a model's evaluation metrics (KFP metrics artifacts, a metrics JSON, a model card's model-index) as evaluation/v1 evidence",
		Long: `Read evaluation metrics from each PATH — a Kubeflow Pipelines v2 executor
output or metrics artifact (system.Metrics, system.ClassificationMetrics,
system.SlicedClassificationMetrics), a plain metrics JSON ({"metrics": [{"name",
"value", "dataset", "split", "slice"}]} or {"accuracy": 0.91, ...}), evaluation/v1
evidence, a model card (README.md) with model-index results, or a model folder
(its evaluation.json, metrics.json and executor_output.json, else its card) —
and merge them into one evaluation/v1 document. Every metric names the dataset,
split and slice it was measured on (slice "overall" unless the source names
one). From a confusion matrix, accuracy and per-class precision, recall and F1
(and their macro means) are derived; from ROC points, ROC AUC (trapezoid rule);
derived metrics are marked so, and a reported value wins over a derived one.
The evaluation gate of "gatehouse check" judges the evidence (--format json;
--model PATH, or a single model folder as PATH, binds it to that model for
"gatehouse check model:PATH --evidence evaluation=FILE"; the production
model's evaluation is given as --evidence evaluation_baseline=FILE). See
docs/evaluation.md.
Exit status: 0 read, 2 an error (no metrics, a malformed source naming the file
and field, two sources disagreeing on a metric, a FIFO, device or socket, a limit).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanEvaluation(cmd.Context(), cmd.OutOrStdout(), args, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.model, "model", "", "the model the metrics are of: the evidence then counts for that model only in gatehouse check")
	f.StringVar(&o.dataset, "dataset", "", "the dataset of metrics whose source names none (a KFP artifact never does)")
	f.StringVar(&o.split, "split", "", "the split of metrics whose source names none")
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		local, err := evaluation.NewCollector(env.Config.GateParams(env.Env, "evaluation"))
		if err != nil {
			return nil, err
		}
		return newRemoteSide(local, evaluationSide, env.Remote), nil // local paths, and oci:// / gs:// models (remote_side.go)
	})
	registerCollector(func(collectorEnv) (gates.Collector, error) { return &evaluation.BaselineCollector{}, nil })
}

func runScanEvaluation(ctx context.Context, w io.Writer, paths []string, o scanEvaluationOptions) error {
	if o.format != "text" && o.format != "json" {
		return undecided(fmt.Errorf("--format %q: want text or json", o.format))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ev, err := evaluation.Scan(ctx, paths, evaluation.Options{Dataset: o.dataset, Split: o.split})
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	switch {
	case o.model != "":
		ev.Subject = &evaluation.Subject{Path: o.model}
	case len(paths) == 1:
		// a model folder names the model
		if fi, err := os.Stat(paths[0]); err == nil && fi.IsDir() {
			ev.Subject = &evaluation.Subject{Path: paths[0]}
		}
	}
	return writeScan(w, o.format, ev, writeEvaluationText)
}

// writeEvaluationText prints the evidence for people. Names, datasets,
// slices and paths come from the files: escaped.
func writeEvaluationText(w io.Writer, ev *evaluation.Evidence) {
	esc := textsafe.Escape
	if ev.Subject != nil {
		fmt.Fprintf(w, "model: %s\n", esc(ev.Subject.Path))
	}
	for _, s := range ev.Sources {
		fmt.Fprintf(w, "source: %s (%s, sha256 %s)\n", esc(s.Path), s.Format, s.SHA256)
	}
	fmt.Fprintf(w, "%-18s %10s  %-24s %-10s %-14s %s\n", "metric", "value", "dataset", "split", "slice", "class / derived from")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return esc(s)
	}
	for _, m := range ev.Metrics {
		extra := []string{}
		if m.Class != "" {
			extra = append(extra, "class "+esc(m.Class))
		}
		if m.Derived {
			extra = append(extra, "derived: "+esc(m.From))
		}
		fmt.Fprintf(w, "%-18s %10.4g  %-24s %-10s %-14s %s\n", esc(m.Name), m.Value, dash(m.Dataset), dash(m.Split), esc(m.Slice), strings.Join(extra, "; "))
	}
	for _, s := range ev.Skipped {
		fmt.Fprintf(w, "skipped: %s: %s\n", esc(s.Source), esc(s.Reason))
	}
}
