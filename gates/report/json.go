package report

import (
	"io"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Document is the JSON output (docs/json-output.md documents it).
type Document struct {
	Schema string `json:"schema"`
	// Verdict over all results: "denied" when any is denied, else "not
	// decided" when any is not decided, else "allowed" (ExitCode's rule).
	Verdict string `json:"verdict"`
	Allowed bool   `json:"allowed"`
	// Partial is true when any result is from a partial run.
	Partial bool         `json:"partial"`
	Results []JSONResult `json:"results"`
}

// JSONResult is one subject in the JSON output.
type JSONResult struct {
	Subject gates.Subject `json:"subject"`
	// Verdict is "allowed", "denied" or "not decided".
	Verdict     string   `json:"verdict"`
	Allowed     bool     `json:"allowed"`
	Environment string   `json:"environment,omitempty"`
	Gates       []string `json:"gates"`
	// RequiredGates are the gates the environment requires for the subject;
	// Partial is true when Gates did not cover them, MissingGates lists those
	// not run.
	RequiredGates []string `json:"required_gates"`
	Partial       bool     `json:"partial"`
	MissingGates  []string `json:"missing_gates"`
	// Undecided lists why the subject could not be decided (Error first).
	Undecided       []string              `json:"undecided"`
	Violations      []gates.Finding       `json:"violations"`
	Warnings        []gates.Finding       `json:"warnings"`
	Waivers         []gates.AppliedWaiver `json:"waivers"`
	ExpiredWaivers  []gates.Waiver        `json:"expired_waivers"`
	PolicyDigest    string                `json:"policy_digest,omitempty"`
	ConfigDigest    string                `json:"config_digest,omitempty"`
	EvidenceDigests map[string]string     `json:"evidence_digests,omitempty"`
	Time            *time.Time            `json:"time,omitempty"`
	// Error says why no decision was made; such a subject is not allowed.
	Error string `json:"error,omitempty"`
}

// NewDocument builds the JSON document for results.
func NewDocument(results []Result) Document {
	doc := Document{Schema: Schema, Verdict: Verdict(results), Allowed: AllAllowed(results), Partial: Partial(results),
		Results: make([]JSONResult, 0, len(results))}
	for _, r := range results {
		jr := JSONResult{
			Subject: r.Subject, Verdict: r.Verdict(), Allowed: r.Allowed(), Partial: r.Partial(), Environment: r.Environment,
			Gates: []string{}, RequiredGates: []string{}, MissingGates: nonNil(r.MissingGates()), Undecided: nonNil(r.Reasons()),
			Violations: []gates.Finding{}, Warnings: []gates.Finding{},
			Waivers: []gates.AppliedWaiver{}, ExpiredWaivers: []gates.Waiver{},
		}
		if d := r.Decision; d != nil {
			jr.Subject = d.Subject
			jr.Environment = d.Environment
			jr.Gates = nonNil(d.Gates)
			jr.RequiredGates = nonNil(d.RequiredGates)
			if d.Violations != nil {
				jr.Violations = d.Violations
			}
			if d.Warnings != nil {
				jr.Warnings = d.Warnings
			}
			if d.Waived != nil {
				jr.Waivers = d.Waived
			}
			if d.ExpiredWaivers != nil {
				jr.ExpiredWaivers = d.ExpiredWaivers
			}
			jr.PolicyDigest = d.PolicyDigest
			jr.ConfigDigest = d.ConfigDigest
			jr.EvidenceDigests = d.EvidenceDigests
			t := d.Time
			jr.Time = &t
		}
		if r.Err != nil {
			jr.Error = r.Err.Error()
		}
		doc.Results = append(doc.Results, jr)
	}
	return doc
}

// nonNil keeps list fields lists ([]) in the JSON, never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON writes the versioned JSON document.
func WriteJSON(w io.Writer, results []Result) error {
	return encodeJSON(w, NewDocument(results))
}
