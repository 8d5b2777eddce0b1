package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// scanModelFlags are the flags of `gatehouse scan model`.
type scanModelFlags struct {
	format          string
	failOn          string
	maxFileSize     int64
	maxDepth        int
	maxMembers      int
	maxDecompressed int64
	maxOpcodes      int64
	maxMemo         int
	progress        bool
}

func (f *scanModelFlags) register(c *cobra.Command) {
	d := finding.DefaultLimits()
	fl := c.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	fl.StringVar(&f.failOn, "fail-on", "medium", "lowest finding severity that fails (exit 1): low, medium, high or critical")
	fl.Int64Var(&f.maxFileSize, "max-file-size", d.MaxFileSize, "largest file scanned, in bytes")
	fl.IntVar(&f.maxDepth, "max-depth", d.MaxDepth, "deepest archive nesting opened")
	fl.IntVar(&f.maxMembers, "max-members", d.MaxMembers, "most members read from one archive")
	fl.Int64Var(&f.maxDecompressed, "max-decompressed", d.MaxDecompressedBytes, "most bytes decompressed in one scan (zip bombs stop here)")
	fl.Int64Var(&f.maxOpcodes, "max-opcodes", d.MaxOpcodes, "most opcodes walked in one pickle")
	fl.IntVar(&f.maxMemo, "max-memo", d.MaxMemo, "most pickle memo entries (and stack depth)")
	fl.BoolVar(&f.progress, "progress", true, "show a progress bar when stderr is a terminal")
}

func (f *scanModelFlags) options() (model.Options, finding.Severity, error) {
	sev, err := finding.ParseSeverity(f.failOn)
	if err != nil {
		return model.Options{}, 0, fmt.Errorf("--fail-on: %w", err)
	}
	if f.format != "text" && f.format != "json" {
		return model.Options{}, 0, fmt.Errorf("--format %q: want text or json", f.format)
	}
	o := model.DefaultOptions()
	o.Limits.MaxFileSize = f.maxFileSize
	o.Limits.MaxDepth = f.maxDepth
	o.Limits.MaxMembers = f.maxMembers
	o.Limits.MaxDecompressedBytes = f.maxDecompressed
	o.Limits.MaxOpcodes = f.maxOpcodes
	o.Limits.MaxMemo = f.maxMemo
	return o, sev, nil
}

func init() {
	var f scanModelFlags
	c := &cobra.Command{
		Use:   "model PATH",
		Short: "Scan a model file or folder for code that runs on load (pickle, PyTorch, archives, ...)",
		Long: `Scan a model file, archive or folder, or a pipe or FIFO read as a stream
(cat m.pkl | gatehouse scan model /dev/stdin), bounded by --max-file-size.
Every file is judged by its content. Devices and sockets are never opened.
Exit status: 1 a finding at or above --fail-on (even when other items could
not be verified: found beats not verified); 2 nothing found but something
could not be verified (unreadable, empty, truncated, malformed, encrypted,
unsupported, a limit reached, not a regular file), an error, or an
interrupted run (not decided); 0 everything read and nothing found.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, failOn, err := f.options()
			if err != nil {
				return undecided(err)
			}
			if f.progress {
				if bar := newProgress(args[0]); bar != nil {
					opts.Progress = func(n int64) { _ = bar.Add64(n) }
					defer func() { _ = bar.Finish(); fmt.Fprintln(os.Stderr) }()
				}
			}
			rep, err := model.Scan(cmd.Context(), args[0], opts)
			if err != nil {
				// Includes an interrupted scan: nothing is printed as a verdict.
				return undecided(err)
			}
			if err := writeModelReport(cmd.OutOrStdout(), rep, f.format); err != nil {
				return undecided(err)
			}
			return modelVerdictError(rep, failOn, args[0])
		},
	}
	f.register(c)
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		return newModelCollector(model.DefaultOptions(), env.Remote), nil // local paths, and oci:// / gs:// (remote.go)
	})
}

// newProgress returns a byte progress bar over PATH's total size, only
// when stderr is a terminal and the input is large enough to wait for.
func newProgress(path string) *progressbar.ProgressBar {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	total, err := model.TotalSize(path)
	if err != nil || total < 256<<20 {
		return nil
	}
	return progressbar.DefaultBytes(total, "scanning")
}

// modelVerdictError maps a report to the exit contract and says on stderr
// everything that decided it: a finding beats not verified, and the
// message names both when both are true.
func modelVerdictError(rep *model.Report, failOn finding.Severity, path string) error {
	failing := 0
	for _, f := range rep.Findings {
		if f.Severity >= failOn {
			failing++
		}
	}
	unread := ""
	if n := len(rep.NotVerified); n > 0 {
		unread = fmt.Sprintf("%d item(s) could not be verified (see not_verified)", n)
	}
	name := textsafe.Escape(path)
	switch rep.Verdict(failOn) {
	case model.VerdictFindings:
		msg := fmt.Sprintf("%s: %d finding(s) at or above %s", name, failing, failOn)
		if unread != "" {
			msg += "; also " + unread
		}
		return &exitError{code: exitDenied, err: errors.New(msg)}
	case model.VerdictNotVerified:
		return undecided(fmt.Errorf("%s: %s: not verified", name, unread))
	}
	return nil
}

func writeModelReport(w io.Writer, rep *model.Report, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return model.WriteText(w, rep)
}
