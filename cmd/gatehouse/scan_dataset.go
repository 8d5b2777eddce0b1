package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
)

// scanDatasetOptions are the flags of `gatehouse scan dataset`.
type scanDatasetOptions struct {
	format      string
	sample      string
	maxFileSize int64
	maxFiles    int
	workers     int
}

func init() {
	var o scanDatasetOptions
	c := &cobra.Command{
		Use:   "dataset PATH",
		Short: "Find personal data and secrets in a dataset (CSV/TSV, JSON Lines, JSON, Parquet, text; .gz too)",
		Long: `Find personal data (Presidio's entities: EMAIL_ADDRESS, PHONE_NUMBER,
CREDIT_CARD, IBAN_CODE, US_SSN, IP_ADDRESS, PERSON) and secrets (private keys,
AWS/GCP/GitHub/Slack keys, GCP service-account key files) in a dataset file or
folder. Prints pii/v1 evidence per file and column with redacted examples;
the pii gate of "gatehouse check" judges it against per-entity thresholds.
Exit status: 0 nothing found, 1 some entity found, 2 not decided: an error,
a file that could not be read or held no records (empty), a FIFO, device or
socket given as PATH (refused, not read), or an interrupted scan (SIGINT,
SIGTERM) — 1 wins over 2 when something was found.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanDataset(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.sample, "sample", "", "scan only the first N rows of each file (10000) or about N bytes (64MB); deterministic")
	f.Int64Var(&o.maxFileSize, "max-file-size", 64<<30, "largest file scanned, in bytes after decompression")
	f.IntVar(&o.maxFiles, "max-files", 100000, "most files a folder may hold")
	f.IntVar(&o.workers, "workers", 0, "files scanned in parallel (0: one per CPU)")
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		return newPIICollector(env.Config.GateParams(env.Env, "pii"), env.Remote) // local paths, and oci:// / gs:// (remote.go)
	})
}

func runScanDataset(ctx context.Context, w, stderr io.Writer, path string, o scanDatasetOptions) error {
	if o.format != "text" && o.format != "json" {
		return undecided(fmt.Errorf("--format %q: want text or json", o.format))
	}
	rows, bytes, err := pii.ParseSample(o.sample)
	if err != nil {
		return undecided(err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ev, err := pii.Scan(ctx, path, pii.Options{SampleRows: rows, SampleBytes: bytes,
		MaxFileSize: o.maxFileSize, MaxFiles: o.maxFiles, Workers: o.workers})
	if ctx.Err() != nil {
		// Whatever was read before the signal decides nothing.
		return undecided(fmt.Errorf("scan dataset %s: interrupted, not decided: no verdict on the dataset", textsafe.Escape(path)))
	}
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	if o.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(ev)
	} else {
		err = pii.WriteText(w, ev)
	}
	if err != nil {
		return undecided(err)
	}
	unread := make([]string, len(ev.NotVerified))
	for i, n := range ev.NotVerified {
		unread[i] = textsafe.Escape(n.Location)
	}
	switch {
	case ev.Found():
		if len(unread) > 0 {
			fmt.Fprintf(stderr, "gatehouse: also not verified: %s (see not_verified)\n", strings.Join(unread, ", "))
		}
		return denied()
	case len(unread) > 0:
		return undecided(fmt.Errorf("not verified, not decided: %s (unreadable or empty, see not_verified)", strings.Join(unread, ", ")))
	}
	return nil
}
