// Package modelscan reads the JSON report of Protect AI's ModelScan
// (`modelscan -p PATH -r json -o report.json`) and maps it to gatehouse's
// model scan evidence (schema model_scan/v1), the same shape the native
// model scanner produces: findings with a lowercase severity, and every
// error or skipped file as "not verified".
package modelscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// Schema names the version of the evidence format (shared with the native
// model scanner).
const Schema = "model_scan/v1"

// Evidence is input.evidence.modelscan.
type Evidence struct {
	Schema string `json:"schema"`
	// Subject is the report's summary.input_path, the path modelscan
	// scanned; absent when the report does not name it.
	Subject        *Subject              `json:"subject,omitempty"`
	Scanner        string                `json:"scanner"`
	ScannerVersion string                `json:"scanner_version"`
	Verified       bool                  `json:"verified"`
	FilesScanned   int                   `json:"files_scanned"`
	Findings       []finding.Finding     `json:"findings"`
	NotVerified    []finding.NotVerified `json:"not_verified"`
}

// Subject names what evidence is about.
type Subject struct {
	Path string `json:"path"`
}

// Limits bound the work on a report.
type Limits struct {
	MaxReportBytes int64 // the report file
	MaxEntries     int   // issues + errors + skipped files
	MaxTextBytes   int   // one description, kept in a reason
}

// DefaultLimits suit reports of large model repositories.
func DefaultLimits() Limits {
	return Limits{MaxReportBytes: 64 << 20, MaxEntries: 1_000_000, MaxTextBytes: 4096}
}

type report struct {
	// Error is what a collector records when it fails: not a report.
	Error   *string  `json:"error"`
	Summary *summary `json:"summary"`
	Issues  []issue  `json:"issues"`
	Errors  []entry  `json:"errors"`
}

type summary struct {
	TotalIssues      *int   `json:"total_issues"`
	InputPath        string `json:"input_path"`
	ModelscanVersion string `json:"modelscan_version"`
	Scanned          *struct {
		TotalScanned *int     `json:"total_scanned"`
		ScannedFiles []string `json:"scanned_files"`
	} `json:"scanned"`
	Skipped *struct {
		TotalSkipped int     `json:"total_skipped"`
		SkippedFiles []entry `json:"skipped_files"`
	} `json:"skipped"`
}

type issue struct {
	Description string `json:"description"`
	Operator    string `json:"operator"`
	Module      string `json:"module"`
	Source      string `json:"source"`
	Scanner     string `json:"scanner"`
	Severity    string `json:"severity"`
}

// entry is an error or a skipped file.
type entry struct {
	Category    string `json:"category"`
	Description string `json:"description"`
	Source      string `json:"source"`
}

// ParseReport reads a ModelScan JSON report. A report that is not JSON,
// lacks its summary, has a field of the wrong type, an unknown severity,
// or counts that disagree with its lists is an error naming the field.
func ParseReport(data []byte, limits Limits) (Evidence, error) {
	if limits == (Limits{}) {
		limits = DefaultLimits()
	}
	if int64(len(data)) > limits.MaxReportBytes {
		return Evidence{}, fmt.Errorf("modelscan report is %d bytes, more than the limit of %d", len(data), limits.MaxReportBytes)
	}
	var r report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Evidence{}, fmt.Errorf("modelscan report: field %s: want %s, found JSON %s", te.Field, te.Type, te.Value)
		}
		return Evidence{}, fmt.Errorf("modelscan report: not a JSON object: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return Evidence{}, errors.New("modelscan report: data after the JSON object (read the -o file, not wrapped stdout)")
	}
	if r.Error != nil {
		return Evidence{}, fmt.Errorf("modelscan report: the document records a collection error, not a scan: %q", clip(*r.Error, limits.MaxTextBytes))
	}
	if r.Summary == nil {
		return Evidence{}, errors.New(`modelscan report: "summary" is missing: is this a modelscan JSON report (modelscan -r json -o FILE)?`)
	}
	s := r.Summary
	n := len(r.Issues) + len(r.Errors)
	if s.Skipped != nil {
		n += len(s.Skipped.SkippedFiles)
	}
	if n > limits.MaxEntries {
		return Evidence{}, fmt.Errorf("modelscan report: %d issues, errors and skipped files, more than the limit of %d", n, limits.MaxEntries)
	}
	if s.TotalIssues != nil && *s.TotalIssues != len(r.Issues) {
		return Evidence{}, fmt.Errorf("modelscan report: summary.total_issues is %d but issues has %d entries: the report is truncated or altered", *s.TotalIssues, len(r.Issues))
	}
	ev := Evidence{
		Schema: Schema, Scanner: "modelscan", ScannerVersion: s.ModelscanVersion,
		Findings: []finding.Finding{}, NotVerified: []finding.NotVerified{},
	}
	if s.InputPath != "" {
		ev.Subject = &Subject{Path: s.InputPath}
	}
	if s.Scanned != nil && s.Scanned.TotalScanned != nil {
		ev.FilesScanned = *s.Scanned.TotalScanned
		if ev.FilesScanned < 0 {
			return Evidence{}, fmt.Errorf("modelscan report: summary.scanned.total_scanned is %d, want a count", ev.FilesScanned)
		}
	}
	where := func(src string) string {
		if src != "" {
			return src
		}
		if s.InputPath != "" {
			return s.InputPath
		}
		return "(not named in the report)"
	}
	for i, is := range r.Issues {
		sev, err := finding.ParseSeverity(is.Severity)
		if err != nil {
			return Evidence{}, fmt.Errorf("modelscan report: issues[%d].severity: %w", i, err)
		}
		reason := clip(is.Description, limits.MaxTextBytes)
		if reason == "" {
			reason = fmt.Sprintf("unsafe operator %q from module %q", is.Operator, is.Module)
		}
		if is.Scanner != "" {
			reason += " (" + is.Scanner + ")"
		}
		ev.Findings = append(ev.Findings, finding.Finding{Severity: sev, Location: where(is.Source), Module: is.Module, Name: is.Operator, Reason: reason})
	}
	for _, e := range r.Errors {
		ev.NotVerified = append(ev.NotVerified, finding.NotVerified{Location: where(e.Source), Reason: "modelscan error " + label(e, limits)})
	}
	if s.Skipped != nil {
		for _, e := range s.Skipped.SkippedFiles {
			ev.NotVerified = append(ev.NotVerified, finding.NotVerified{Location: where(e.Source), Reason: "skipped by modelscan " + label(e, limits)})
		}
		if unnamed := s.Skipped.TotalSkipped - len(s.Skipped.SkippedFiles); unnamed > 0 {
			ev.NotVerified = append(ev.NotVerified, finding.NotVerified{Location: where(""), Reason: fmt.Sprintf("modelscan skipped %d files it does not name (run it with --show-skipped)", unnamed)})
		}
	}
	if ev.FilesScanned == 0 {
		ev.NotVerified = append(ev.NotVerified, finding.NotVerified{Location: where(""), Reason: "modelscan scanned nothing (summary.scanned.total_scanned is 0 or absent)"})
	}
	ev.Verified = len(ev.NotVerified) == 0
	return ev, nil
}

func label(e entry, limits Limits) string {
	cat := e.Category
	if cat == "" {
		cat = "UNCATEGORIZED"
	}
	d := clip(e.Description, limits.MaxTextBytes)
	if d == "" {
		return "(" + cat + ")"
	}
	return "(" + cat + "): " + d
}

// clip cuts s to n bytes on a rune boundary and drops control characters.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
