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

// Result is the outcome for one subject: a decision, or why none was made.
type Result struct {
	Subject  gates.Subject
	Decision *gates.Decision // nil when the engine could not decide
	Err      error           // why no decision was made
}

// Allowed is true only for a decision that allowed: no decision denies.
func (r Result) Allowed() bool { return r.Decision != nil && r.Decision.Allowed }

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
func AllAllowed(results []Result) bool {
	for _, r := range results {
		if !r.Allowed() {
			return false
		}
	}
	return len(results) > 0
}

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
