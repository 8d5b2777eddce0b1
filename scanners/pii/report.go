package pii

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// ParseSample reads the --sample value: a number of rows ("10000") or of
// bytes with a unit ("64MB", "1GiB", "500kB"; units k/M/G and their
// binary forms Ki/Mi/Gi, with or without a trailing B).
func ParseSample(s string) (rows, bytes int64, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("--sample %q: want a positive number of rows (10000) or bytes with a unit (64MB)", s)
	}
	unit := strings.TrimSuffix(strings.ToLower(s[i:]), "b")
	mult := map[string]int64{"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30}
	m, ok := mult[unit]
	switch {
	case s[i:] == "":
		return n, 0, nil
	case !ok:
		return 0, 0, fmt.Errorf("--sample %q: unknown unit %q (want B, kB, MB, GB, KiB, MiB or GiB)", s, s[i:])
	case n > (1<<62)/m:
		return 0, 0, fmt.Errorf("--sample %q: too large", s)
	}
	return 0, n * m, nil
}

// WriteText prints the evidence for people: one line per finding, then
// what was not verified or skipped, then a summary line. Every string read
// from the dataset (file and column names, examples, reasons that quote
// them) is escaped, so each entry stays on one line of a terminal or CI log.
func WriteText(w io.Writer, ev *Evidence) error {
	esc := textsafe.Escape
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(ev.Findings) > 0 {
		fmt.Fprintln(tw, "FILE\tCOLUMN\tENTITY\tCOUNT\tRATE\tEXAMPLE")
	}
	for _, f := range ev.Findings {
		col := f.Column
		if col == "" {
			col = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.4g\t%s\n", esc(f.File), esc(col), esc(f.Entity), f.Count, f.Rate, esc(f.Example))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range ev.NotVerified {
		fmt.Fprintf(w, "not verified  %s: %s\n", esc(n.Location), esc(n.Reason))
	}
	for _, n := range ev.Skipped {
		fmt.Fprintf(w, "skipped       %s: %s\n", esc(n.Location), esc(n.Reason))
	}
	mode := ev.Mode
	if ev.SampleRows > 0 {
		mode += fmt.Sprintf(" (first %d rows per file)", ev.SampleRows)
	} else if ev.SampleBytes > 0 {
		mode += fmt.Sprintf(" (first %d bytes per file)", ev.SampleBytes)
	}
	_, err := fmt.Fprintf(w, "%d file(s), %d bytes, %d records scanned, %s: %d finding(s)\n",
		ev.FilesScanned, ev.BytesScanned, ev.RowsScanned, mode, len(ev.Findings))
	return err
}
