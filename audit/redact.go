package audit

import (
	"maps"
	"regexp"
	"slices"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Redacted replaces a secret-looking part of a string in the log.
const Redacted = "[REDACTED]"

// secretPatterns are shapes of credentials that scanners and messages
// sometimes quote (a PII or secret scanner's finding, a URL with a
// password). Whatever matches is never stored: the log is kept for years
// and read by people who must not learn the secret.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string // replacement template; keeps the non-secret part
}{
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)`), Redacted},
	{regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`), Redacted},                                  // AWS access key id
	{regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}\b`), Redacted},                               // GitHub tokens
	{regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}\b`), Redacted},                             // GitHub fine-grained
	{regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}\b`), Redacted},                                 // GitLab
	{regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}\b`), Redacted},                            // Slack
	{regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`), Redacted},                                    // Google API key
	{regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{20,}\b`), Redacted},                                    // OpenAI-style keys
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`), Redacted}, // JWT
	{regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{16,}`), "${1}" + Redacted},
	// user:password@ in a URL: keep the user and host, drop the password.
	{regexp.MustCompile(`(://[^/\s:@]+:)[^/\s@]+@`), "${1}" + Redacted + "@"},
	// password=..., api_key: "...", secret=... (the value up to a separator).
	{regexp.MustCompile(`(?i)\b((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']?)[^\s"',;&\[]{4,}`), "${1}" + Redacted},
}

// Redact returns s with every secret-looking part replaced by Redacted,
// and how many parts were replaced.
func Redact(s string) (string, int) {
	n := 0
	for _, p := range secretPatterns {
		if k := len(p.re.FindAllStringIndex(s, -1)); k > 0 {
			n += k
			s = p.re.ReplaceAllString(s, p.repl)
		}
	}
	return s, n
}

// redactEntry redacts every free-text string of e that came from evidence
// or outside (findings, waivers, subject, labels), copying what it changes
// so the caller's Decision is left as it was.
func redactEntry(e *Entry) {
	n := 0
	str := func(p *string) {
		r, k := Redact(*p)
		if k > 0 {
			*p, n = r, n+k
		}
	}
	finding := func(f *gates.Finding) {
		str(&f.Message)
		str(&f.Remediation)
		str(&f.Location)
	}
	waiver := func(w *gates.Waiver) {
		str(&w.Subject)
		str(&w.Reason)
		str(&w.Approver)
		str(&w.Ticket)
	}
	str(&e.Subject.Ref)
	str(&e.Subject.Name)
	if len(e.Subject.Labels) > 0 {
		e.Subject.Labels = maps.Clone(e.Subject.Labels)
		for k, v := range e.Subject.Labels {
			str(&v)
			e.Subject.Labels[k] = v
		}
	}
	e.Violations = slices.Clone(e.Violations)
	for i := range e.Violations {
		finding(&e.Violations[i])
	}
	e.Warnings = slices.Clone(e.Warnings)
	for i := range e.Warnings {
		finding(&e.Warnings[i])
	}
	e.Waived = slices.Clone(e.Waived)
	for i := range e.Waived {
		finding(&e.Waived[i].Finding)
		waiver(&e.Waived[i].Waiver)
	}
	e.Undecided = slices.Clone(e.Undecided)
	for i := range e.Undecided {
		str(&e.Undecided[i])
	}
	str(&e.Decider.CIRunURL)
	e.Redactions += n
}
