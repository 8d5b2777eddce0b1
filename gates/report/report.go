// Package report renders decisions for people and machines: text, JSON
// (a versioned schema), SARIF 2.1.0, JUnit XML, and GitHub Actions
// annotations and step summaries.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Schema names the JSON document's version; it changes only on breaking
// changes (fields are only ever added within a version).
const Schema = "gatehouse.check/v1"

// Version is the gatehouse version reported as SARIF's tool.driver.version;
// the CLI sets it from its build information.
var Version = "devel"

// Result is the outcome for one subject: a decision, or why none was made.
type Result struct {
	Subject  gates.Subject
	Decision *gates.Decision // nil when the engine could not decide
	Err      error           // why no decision was made (or why it does not stand)
	// Environment the subject was to be decided for, also when no
	// decision was reached (the Decision states it otherwise).
	Environment string
}

// Verdict is gates.VerdictAllowed, VerdictDenied or VerdictNotDecided. A
// result with an error, or without a decision, is not decided.
func (r Result) Verdict() string {
	if r.Err != nil || r.Decision == nil {
		return gates.VerdictNotDecided
	}
	return r.Decision.Verdict()
}

// Allowed is true only for a decision whose verdict is "allowed".
func (r Result) Allowed() bool { return r.Verdict() == gates.VerdictAllowed }

// Reasons lists why the result is not decided: Err, then the decision's
// own reasons. Empty for a decided result whose gates could read everything.
func (r Result) Reasons() []string {
	var out []string
	if r.Err != nil {
		out = append(out, r.Err.Error())
	} else if r.Decision == nil {
		out = append(out, "no decision was made")
	}
	if r.Decision != nil {
		out = append(out, r.Decision.Undecided...)
	}
	return out
}

// MissingGates lists the gates the environment requires for the subject
// that this run did not evaluate (a run narrowed with --gate): non-empty
// only for a partial decision.
func (r Result) MissingGates() []string {
	d := r.Decision
	if d == nil {
		return nil
	}
	ran := make(map[string]bool, len(d.Gates))
	for _, g := range d.Gates {
		ran[g] = true
	}
	var out []string
	for _, g := range d.RequiredGates {
		if !ran[g] {
			out = append(out, g)
		}
	}
	return out
}

// Partial is true when the decision did not evaluate every required gate.
func (r Result) Partial() bool {
	return r.Decision != nil && (r.Decision.Partial || len(r.MissingGates()) > 0)
}

// Exit codes of a check (README, "Exit codes").
const (
	ExitAllowed    = 0
	ExitDenied     = 1
	ExitNotDecided = 2
)

// Verdict is the verdict over all results: denied when any is denied (a
// finding beats "could not decide"), else not decided when any is not
// decided or there are none, else allowed.
func Verdict(results []Result) string {
	v := gates.VerdictAllowed
	if len(results) == 0 {
		v = gates.VerdictNotDecided
	}
	for _, r := range results {
		switch r.Verdict() {
		case gates.VerdictDenied:
			return gates.VerdictDenied
		case gates.VerdictNotDecided:
			v = gates.VerdictNotDecided
		}
	}
	return v
}

// ExitCode is the process exit code for results: ExitAllowed (0) when all
// are allowed, ExitDenied (1) when any is denied, ExitNotDecided (2) when
// any is not decided and none is denied, or when there are no results.
func ExitCode(results []Result) int {
	switch Verdict(results) {
	case gates.VerdictAllowed:
		return ExitAllowed
	case gates.VerdictDenied:
		return ExitDenied
	}
	return ExitNotDecided
}

// Partial is true when any result is from a partial run.
func Partial(results []Result) bool {
	for _, r := range results {
		if r.Partial() {
			return true
		}
	}
	return false
}

// Formats lists the formats Write knows.
var Formats = []string{"text", "json", "sarif", "junit"}

// Write renders results in one format.
func Write(w io.Writer, format string, results []Result) error {
	switch format {
	case "text":
		return WriteText(w, results)
	case "json":
		return WriteJSON(w, results)
	case "sarif":
		return WriteSARIF(w, results)
	case "junit":
		return WriteJUnit(w, results)
	}
	return fmt.Errorf("unknown format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// AllAllowed is true when every subject was decided and allowed.
func AllAllowed(results []Result) bool { return Verdict(results) == gates.VerdictAllowed }

// gatesOf lists the gates of a result, for per-gate renderings.
func gatesOf(r Result) []string {
	if r.Decision == nil {
		return nil
	}
	return r.Decision.Gates
}

// byGate filters findings of one gate.
func byGate(fs []gates.Finding, gate string) []gates.Finding {
	var out []gates.Finding
	for _, f := range fs {
		if f.Gate == gate {
			out = append(out, f)
		}
	}
	return out
}
