package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Document is the JSON output (docs/json-output.md documents it).
type Document struct {
	Schema  string       `json:"schema"`
	Allowed bool         `json:"allowed"`
	Results []JSONResult `json:"results"`
}

// JSONResult is one subject in the JSON output.
type JSONResult struct {
	Subject         gates.Subject         `json:"subject"`
	Allowed         bool                  `json:"allowed"`
	Environment     string                `json:"environment,omitempty"`
	Gates           []string              `json:"gates"`
	Violations      []gates.Finding       `json:"violations"`
	Warnings        []gates.Finding       `json:"warnings"`
	Waivers         []gates.AppliedWaiver `json:"waivers"`
	ExpiredWaivers  []gates.Waiver        `json:"expired_waivers"`
	PolicyDigest    string                `json:"policy_digest,omitempty"`
	EvidenceDigests map[string]string     `json:"evidence_digests,omitempty"`
	Time            *time.Time            `json:"time,omitempty"`
	// Error says why no decision was made; such a subject is not allowed.
	Error string `json:"error,omitempty"`
}

// NewDocument builds the JSON document for results.
func NewDocument(results []Result) Document {
	doc := Document{Schema: Schema, Allowed: AllAllowed(results), Results: make([]JSONResult, 0, len(results))}
	for _, r := range results {
		jr := JSONResult{
			Subject: r.Subject, Allowed: r.Allowed(),
			Gates: []string{}, Violations: []gates.Finding{}, Warnings: []gates.Finding{},
			Waivers: []gates.AppliedWaiver{}, ExpiredWaivers: []gates.Waiver{},
		}
		if d := r.Decision; d != nil {
			jr.Subject = d.Subject
			jr.Environment = d.Environment
			jr.Gates = d.Gates
			jr.Violations = d.Violations
			jr.Warnings = d.Warnings
			if d.Waived != nil {
				jr.Waivers = d.Waived
			}
			if d.ExpiredWaivers != nil {
				jr.ExpiredWaivers = d.ExpiredWaivers
			}
			jr.PolicyDigest = d.PolicyDigest
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

// WriteJSON writes the versioned JSON document.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDocument(results))
}
