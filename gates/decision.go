package gates

import "time"

// Severities, lowest to highest.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Finding is one violation or warning a gate yielded.
type Finding struct {
	Gate        string `json:"gate"`
	Rule        string `json:"rule"`
	Severity    string `json:"severity"`
	Message     string `json:"message"`
	Remediation string `json:"remediation,omitempty"`
	// Location is a file (and optionally "path:line") the finding is about, when known.
	Location string `json:"location,omitempty"`
}

// AppliedWaiver is a violation that a waiver turned off, with the waiver.
type AppliedWaiver struct {
	Finding Finding `json:"finding"`
	Waiver  Waiver  `json:"waiver"`
}

// Decision is the engine's verdict on one subject.
type Decision struct {
	Subject     Subject `json:"subject"`
	Environment string  `json:"environment"`
	Allowed     bool    `json:"allowed"`
	// Gates are the gates evaluated, in order.
	Gates      []string        `json:"gates"`
	Violations []Finding       `json:"violations"`
	Warnings   []Finding       `json:"warnings"`
	Waived     []AppliedWaiver `json:"waivers"`
	// ExpiredWaivers matched this subject but are past their expiry: they
	// no longer apply, and are listed so that someone renews or removes them.
	ExpiredWaivers []Waiver `json:"expired_waivers,omitempty"`
	// PolicyDigest is the sha256 of the compiled policy bundle's sources.
	PolicyDigest string `json:"policy_digest"`
	// EvidenceDigests maps each evidence key to the sha256 of its JSON.
	EvidenceDigests map[string]string `json:"evidence_digests"`
	Time            time.Time         `json:"time"`
}
