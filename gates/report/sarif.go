package report

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// SARIF 2.1.0, the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	Invocations        []sarifInvocation        `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult            `json:"results"`
	Properties         map[string]any           `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
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
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

// sarifSuppression marks a waived violation: code scanning shows it as
// dismissed, with the waiver's reason.
type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

// SARIFLocation is where results without a file of their own in the
// repository (image subjects, undecided subjects, files elsewhere) are
// anchored, relative to the repository root: GitHub needs one per result.
var SARIFLocation = "gatehouse.yaml"

// srcRoot is the uriBaseId of every location: the repository root.
const srcRoot = "%SRCROOT%"

// Rules gatehouse adds itself, beside the gates' own.
const (
	ruleNotDecided = "gatehouse/not_decided"
	rulePartial    = "gatehouse/partial_run"
)

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

// WriteSARIF writes one SARIF 2.1.0 run: a rule per gate/rule seen; a
// result per violation (level error), per warning (level warning), per
// waived violation (level error, with an accepted external suppression
// carrying the waiver's reason), per reason a subject was not decided
// (gatehouse/not_decided, error) and per partial subject
// (gatehouse/partial_run, warning). Locations are relative to RepoRoot
// (uriBaseId %SRCROOT%).
func WriteSARIF(w io.Writer, results []Result) error {
	type item struct {
		f          gates.Finding
		subject    gates.Subject
		level      string
		suppressed *gates.Waiver
	}
	var items []item
	var notes []sarifNotification
	for _, r := range results {
		for _, why := range r.Reasons() {
			items = append(items, item{subject: r.Subject, level: "error", f: gates.Finding{
				Gate: "gatehouse", Rule: "not_decided", Severity: gates.SeverityHigh,
				Message:     fmt.Sprintf("%s could not be decided, so it is not allowed: %s", r.Subject, why),
				Remediation: "Fix the cause named in the message (configuration, evidence or policy) and run the check again.",
			}})
			notes = append(notes, sarifNotification{Level: "error", Message: sarifText{Text: fmt.Sprintf("%s not decided: %s", r.Subject, why)}})
		}
		if r.Partial() {
			msg := fmt.Sprintf("%s was checked by a partial run: required gates not run: %s; the verdict covers only %s and is not attested",
				r.Subject, joinOr(r.MissingGates(), "unknown"), joinOr(r.Decision.Gates, "no gate"))
			items = append(items, item{subject: r.Subject, level: "warning", f: gates.Finding{
				Gate: "gatehouse", Rule: "partial_run", Severity: gates.SeverityMedium, Message: msg,
				Remediation: "Run the check without --gate so that every gate the environment requires is evaluated.",
			}})
			notes = append(notes, sarifNotification{Level: "warning", Message: sarifText{Text: msg}})
		}
		d := r.Decision
		if d == nil {
			continue
		}
		for _, f := range d.Violations {
			items = append(items, item{f: f, subject: r.Subject, level: "error"})
		}
		for _, f := range d.Warnings {
			items = append(items, item{f: f, subject: r.Subject, level: "warning"})
		}
		for _, a := range d.Waived {
			items = append(items, item{f: a.Finding, subject: r.Subject, level: "error", suppressed: &a.Waiver})
		}
	}
	pl := newPlaces()
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
				FullDescription:      sarifText{Text: fmt.Sprintf("The %s gate's %s rule judges artifacts before they may be deployed.", it.f.Gate, it.f.Rule)},
				Help:                 sarifText{Text: help, Markdown: "**How to fix:** " + escapeMarkdown(help)},
				DefaultConfiguration: map[string]any{"level": it.level},
				Properties: map[string]any{
					"tags":              []string{"security", "supply-chain", it.f.Gate},
					"security-severity": securitySeverity(it.f.Severity),
				},
			})
		}
		uri, line, inRepo := pl.file(it.f.Location, it.subject)
		if !inRepo {
			uri = SARIFLocation
		}
		props := map[string]any{"subject": it.subject.String(), "severity": it.f.Severity}
		if it.f.Location != "" {
			props["location"] = it.f.Location
		}
		res := sarifResult{
			RuleID: id, RuleIndex: i, Level: it.level,
			Message: sarifText{Text: fmt.Sprintf("%s: %s", it.subject, it.f.Message)},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: uriRef(uri), URIBaseID: srcRoot},
				Region:           sarifRegion{StartLine: line},
			}}},
			// Stable across runs, so code scanning tracks an alert's life.
			PartialFingerprints: map[string]string{"gatehouse/v1": hashString(id + "\x00" + it.subject.String() + "\x00" + it.f.Message)},
			Properties:          props,
		}
		if a := it.suppressed; a != nil {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: a.Reason}}
			props["waiver"] = map[string]any{"approver": a.Approver, "ticket": a.Ticket, "expires": a.Expires}
		}
		out = append(out, res)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RuleID < out[j].RuleID })
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: "gatehouse", InformationURI: "https://github.com/gatehouse-dev/gatehouse",
			Version: Version, Rules: rules}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: len(results) > 0 && !anyNotDecided(results),
			ToolExecutionNotifications: notes}},
		Results:    out,
		Properties: map[string]any{"verdict": Verdict(results), "partial": Partial(results)},
	}
	if filepath.IsAbs(pl.root) {
		run.OriginalURIBaseIDs = map[string]sarifArtifact{srcRoot: {URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(pl.root) + "/"}).String()}}
	}
	doc := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
	return encodeJSON(w, doc)
}

func anyNotDecided(results []Result) bool {
	for _, r := range results {
		if r.Verdict() == gates.VerdictNotDecided {
			return true
		}
	}
	return false
}

// uriRef makes a relative path a URI reference: spaces, '%', '?' and '#'
// are percent-encoded, and a first segment with ':' is not read as a scheme.
func uriRef(rel string) string {
	return (&url.URL{Path: rel}).String()
}

// sarifName is a PascalCase rule name, as SARIF viewers expect.
func sarifName(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		for _, w := range strings.FieldsFunc(p, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == '/' }) {
			r, n := utf8.DecodeRuneInString(w)
			b.WriteRune(unicode.ToUpper(r))
			b.WriteString(w[n:])
		}
	}
	return b.String()
}
