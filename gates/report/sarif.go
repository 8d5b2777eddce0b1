package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// SARIF 2.1.0, the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation map[string]string `json:"artifactLocation"`
	Region           map[string]int    `json:"region"`
}

// SARIFLocation is where results without a file of their own (image
// subjects, undecided subjects) are anchored: GitHub needs one per result.
var SARIFLocation = "gatehouse.yaml"

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(sev string) string {
	switch sev {
	case gates.SeverityCritical, gates.SeverityHigh:
		return "error"
	case gates.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub's numeric security-severity per severity.
func securitySeverity(sev string) string {
	switch sev {
	case gates.SeverityCritical:
		return "9.5"
	case gates.SeverityHigh:
		return "8.0"
	case gates.SeverityMedium:
		return "5.5"
	}
	return "3.0"
}

// WriteSARIF writes one SARIF run: a rule per gate/rule seen, a result per
// violation (and per warning, as a note or warning).
func WriteSARIF(w io.Writer, results []Result) error {
	type item struct {
		f       gates.Finding
		subject gates.Subject
		warning bool
	}
	var items []item
	for _, r := range results {
		if r.Decision == nil {
			items = append(items, item{subject: r.Subject, f: gates.Finding{
				Gate: "gatehouse", Rule: "undecided", Severity: gates.SeverityHigh,
				Message:     fmt.Sprintf("%s could not be decided and is denied: %v", r.Subject, r.Err),
				Remediation: "Fix the cause named in the message (configuration, evidence or policy) and run the check again.",
			}})
			continue
		}
		for _, f := range r.Decision.Violations {
			items = append(items, item{f: f, subject: r.Subject})
		}
		for _, f := range r.Decision.Warnings {
			items = append(items, item{f: f, subject: r.Subject, warning: true})
		}
	}
	rules := []sarifRule{}
	index := map[string]int{}
	out := []sarifResult{}
	for _, it := range items {
		id := it.f.Gate + "/" + it.f.Rule
		i, ok := index[id]
		if !ok {
			i = len(rules)
			index[id] = i
			help := it.f.Remediation
			if help == "" {
				help = "See the gate's documentation in the policy bundle."
			}
			rules = append(rules, sarifRule{
				ID:                   id,
				Name:                 sarifName(it.f.Gate, it.f.Rule),
				ShortDescription:     sarifText{Text: fmt.Sprintf("gatehouse gate %s, rule %s", it.f.Gate, it.f.Rule)},
				FullDescription:      sarifText{Text: fmt.Sprintf("The %s gate's %s rule denies artifacts that fail it.", it.f.Gate, it.f.Rule)},
				Help:                 sarifText{Text: help, Markdown: "**How to fix:** " + help},
				DefaultConfiguration: map[string]any{"level": sarifLevel(it.f.Severity)},
				Properties: map[string]any{
					"tags":              []string{"security", "supply-chain", it.f.Gate},
					"security-severity": securitySeverity(it.f.Severity),
				},
			})
		}
		level := sarifLevel(it.f.Severity)
		if it.warning && level == "error" {
			level = "warning"
		}
		uri, line := sarifPlace(it.f.Location, it.subject)
		msg := fmt.Sprintf("%s: %s", it.subject, it.f.Message)
		out = append(out, sarifResult{
			RuleID: id, RuleIndex: i, Level: level,
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: map[string]string{"uri": uri}, Region: map[string]int{"startLine": line}}}},
			// Stable across runs, so code scanning tracks an alert's life.
			PartialFingerprints: map[string]string{"gatehouse/v1": hashString(id + "\x00" + it.subject.String() + "\x00" + it.f.Message)},
			Properties:          map[string]any{"subject": it.subject.String(), "severity": it.f.Severity},
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RuleID < out[j].RuleID })
	doc := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: "gatehouse", InformationURI: "https://github.com/gatehouse-dev/gatehouse", Rules: rules}},
			Results: out,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// sarifName is a PascalCase rule name, as SARIF viewers expect.
func sarifName(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		for _, w := range strings.FieldsFunc(p, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == '/' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// sarifPlace picks the file (and line) a result points at: the finding's
// own location, else the subject's file, else SARIFLocation.
func sarifPlace(loc string, s gates.Subject) (string, int) {
	line := 1
	if loc != "" {
		file := loc
		// "path:line" and archive locations "outer.pt:member@offset".
		if i := strings.LastIndexByte(loc, ':'); i > 0 {
			if n, err := strconv.Atoi(loc[i+1:]); err == nil && n > 0 {
				file, line = loc[:i], n
			} else {
				file = loc[:i]
			}
		}
		if i := strings.IndexByte(file, '@'); i > 0 {
			file = file[:i]
		}
		return sarifURI(file), line
	}
	if s.Kind.IsFile() && s.Ref != "" {
		return sarifURI(s.Ref), line
	}
	return SARIFLocation, line
}

// sarifURI makes a repository-relative, slash-separated URI.
func sarifURI(p string) string {
	p = filepath.ToSlash(filepath.Clean(p))
	return strings.TrimPrefix(p, "./")
}
