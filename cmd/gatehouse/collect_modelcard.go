package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/modelcard"
)

func init() {
	var format string
	c := &cobra.Command{
		Use:   "modelcard PATH",
		Short: "Read a model's card (README.md or model_card.json) and report the sections it has",
		Long: `Read the model card in or beside PATH (a Hugging Face README.md or a Model Card
Toolkit model_card.json) and report which of intended use, training data,
evaluation (with metrics), limitations and ethical considerations it has.
Exit status: 0 all five present (evaluation with a metric), 1 no card or a
section missing, 2 an error (unreadable card, invalid front matter or JSON; a
FIFO, device or socket given as PATH or as the card is refused, not read).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanModelCard(cmd.OutOrStdout(), args[0], format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		return newRemoteSide(&modelcard.Collector{}, modelCardSide, env.Remote), nil // local paths, and oci:// / gs:// models (remote_side.go)
	})
}

func runScanModelCard(w io.Writer, path, format string) error {
	if format != "text" && format != "json" {
		return undecided(fmt.Errorf("--format %q: want text or json", format))
	}
	ev, err := modelcard.Scan(path, modelcard.Limits{})
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	// Paths, headings, metric names and datasets come from the card: escaped.
	esc := textsafe.Escape
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ev); err != nil {
			return undecided(err)
		}
	} else if !ev.Found {
		fmt.Fprintf(w, "no model card in %s (looked for README.md, MODEL_CARD.md, model_card.json)\n", esc(path))
	} else {
		fmt.Fprintf(w, "card: %s (%s)\n", esc(ev.Source), esc(ev.Format))
		for _, name := range modelcard.SectionNames {
			s := ev.Sections[name]
			switch {
			case s.Present:
				fmt.Fprintf(w, "  present  %-22s %s\n", name, esc(s.Source))
			case s.Reason != "":
				fmt.Fprintf(w, "  missing  %-22s %s\n", name, esc(s.Reason))
			default:
				fmt.Fprintf(w, "  missing  %s\n", name)
			}
		}
		for _, m := range ev.Metrics {
			fmt.Fprintf(w, "  metric   %s = %s %s\n", esc(m.Name), esc(fmt.Sprint(m.Value)), esc(m.Dataset))
		}
	}
	if !ev.Found || len(ev.Metrics) == 0 {
		return denied()
	}
	for _, s := range ev.Sections {
		if !s.Present {
			return denied()
		}
	}
	return nil
}
