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
	Gates []string `json:"gates"`
	// RequiredGates are the gates the environment requires for the
	// subject's kind. Partial is true when Gates do not cover them (a run
	// narrowed with --gate): such a decision is never attested.
	RequiredGates []string `json:"required_gates"`
	Partial       bool     `json:"partial,omitempty"`
	// Undecided lists why the engine could not decide (evidence that could
	// not be collected: unreachable, timed out, cancelled). A decision with
	// reasons here is never allowed; unless a gate also denied on evidence
	// it could read, its verdict is "not decided" (exit 2), not "denied".
	Undecided  []string        `json:"undecided,omitempty"`
	Violations []Finding       `json:"violations"`
	Warnings   []Finding       `json:"warnings"`
	Waived     []AppliedWaiver `json:"waivers"`
	// ExpiredWaivers matched this subject but are past their expiry: they
	// no longer apply, and are listed so that someone renews or removes them.
	ExpiredWaivers []Waiver `json:"expired_waivers,omitempty"`
	// PolicyDigest is the sha256 of the compiled policy bundle's sources.
	PolicyDigest string `json:"policy_digest"`
	// ConfigDigest is the sha256 of what configures the verdict for this
	// environment: its required gates per kind, the merged gate parameters
	// and the waivers in force.
	ConfigDigest string `json:"config_digest"`
	// EvidenceDigests maps each evidence key to the sha256 of its JSON.
	EvidenceDigests map[string]string `json:"evidence_digests"`
	Time            time.Time         `json:"time"`
}

// Verdicts of a decision.
const (
	VerdictAllowed    = "allowed"
	VerdictDenied     = "denied"
	VerdictNotDecided = "not decided"
)

// Verdict is "allowed", "denied" or "not decided". A violation about
// evidence the gates could read beats a reason not to decide (a finding
// beats "could not verify"); otherwise a reason not to decide, or
// violations that only say evidence was missing, errored or not verified,
// make the decision "not decided" (exit 2), never "allowed".
func (d *Decision) Verdict() string {
	if d == nil {
		return VerdictNotDecided
	}
	for _, v := range d.Violations {
		if !UndecidedRule(v.Rule) {
			return VerdictDenied
		}
	}
	if len(d.Undecided) > 0 || len(d.Violations) > 0 {
		return VerdictNotDecided
	}
	if !d.Allowed {
		return VerdictDenied
	}
	return VerdictAllowed
}

// UndecidedRule reports the rules that say "the evidence could not be
// had" rather than "the evidence shows a problem".
func UndecidedRule(rule string) bool {
	switch rule {
	case "evidence_error", "evidence_missing", "not_verified":
		return true
	}
	return false
}
