package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/modelscan"
)

func init() {
	var format, failOn string
	c := &cobra.Command{
		Use:   "modelscan-report REPORT.json",
		Short: "Map a Protect AI ModelScan JSON report to gatehouse's model_scan/v1 evidence",
		Long: `Read a ModelScan JSON report (modelscan -p PATH -r json -o REPORT.json) and
print it as model_scan/v1 evidence, as "gatehouse check --evidence
modelscan=REPORT.json" would use it. Errors and skipped files are not verified.
Exit status: 0 clean, 1 a finding at or above --fail-on (even when other files
were not verified: a finding beats "could not verify", and both are said), 2
not verified (errors, skipped files, nothing scanned) or an invalid report; a FIFO or device given
as the report is refused, not read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanModelScanReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], format, failOn)
		},
	}
	c.Flags().StringVar(&format, "format", "json", "output format: json or text")
	c.Flags().StringVar(&failOn, "fail-on", "medium", "lowest finding severity that fails (exit 1): low, medium, high or critical")
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		return modelscan.NewCollector(env.Config.GateParams(env.Env, "modelscan"), env.Config.Path)
	})
}

func runScanModelScanReport(w, stderr io.Writer, file, format, failOn string) error {
	if format != "text" && format != "json" {
		return undecided(fmt.Errorf("--format %q: want json or text", format))
	}
	min, err := finding.ParseSeverity(failOn)
	if err != nil {
		return undecided(fmt.Errorf("--fail-on: %w", err))
	}
	data, err := modelscan.ReadReport(file, modelscan.Limits{})
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	ev, err := modelscan.ParseReport(data, modelscan.Limits{})
	if err != nil {
		return undecided(errors.New(textsafe.Escape(fmt.Sprintf("%s: %v", file, err))))
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ev); err != nil {
			return undecided(err)
		}
	} else {
		// Versions, paths and descriptions come from the report: escaped.
		esc := textsafe.Escape
		fmt.Fprintf(w, "modelscan %s: %d files scanned, verified=%v\n", esc(ev.ScannerVersion), ev.FilesScanned, ev.Verified)
		for _, f := range ev.Findings {
			fmt.Fprintf(w, "  %-8s %s: %s\n", f.Severity, esc(f.Location), esc(f.Reason))
		}
		for _, n := range ev.NotVerified {
			fmt.Fprintf(w, "  not verified %s: %s\n", esc(n.Location), esc(n.Reason))
		}
	}
	notVerified := fmt.Sprintf("%s: not verified: %d error(s), skipped file(s) or nothing scanned (see not_verified)", textsafe.Escape(file), len(ev.NotVerified))
	// As "gatehouse scan model": a finding (1) beats not verified (2).
	for _, f := range ev.Findings {
		if f.Severity >= min {
			if !ev.Verified {
				fmt.Fprintln(stderr, "gatehouse: also", notVerified)
			}
			return denied()
		}
	}
	if !ev.Verified {
		return undecided(errors.New(notVerified))
	}
	return nil
}
