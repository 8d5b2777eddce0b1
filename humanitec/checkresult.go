package humanitec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// CheckSchema is the schema of `gatehouse check --format json` this
// package reads (docs/json-output.md).
const CheckSchema = "gatehouse.check/v1"

// Limits on a check result document.
const (
	MaxCheckResult  = 64 << 20
	maxCheckDepth   = 64
	maxCheckResults = 100_000
)

// GateVerdict is what a check result says about approving.
type GateVerdict struct {
	// Approve is true only when the document is a gatehouse.check/v1
	// result with at least one subject, every subject allowed and none
	// from a partial run.
	Approve bool
	// Decided is false when the gate could not decide (a not-decided
	// subject, no subject, or a document that could not be read or is not
	// a check result); Approve is then false too.
	Decided bool
	// Reason is one line for the log and the pipeline: why approve or deny.
	Reason string
}

// ReadCheckResult reads a `gatehouse check --format json` document from
// path and says whether it allows the deployment. It fails closed: any
// problem with the file is a verdict that denies (Decided false), with the
// problem as the reason, never an approval.
// When env is not empty, every subject must have been checked for that
// gatehouse environment; a result for another environment does not count.
func ReadCheckResult(path, env string) GateVerdict {
	data, err := readlimit.File(path, MaxCheckResult)
	if err != nil {
		return GateVerdict{Reason: "check result unreadable: " + textsafe.Escape(err.Error())}
	}
	v := ParseCheckResult(data, env)
	if !v.Decided && !v.Approve {
		v.Reason = textsafe.Escape(path) + ": " + v.Reason
	}
	return v
}

type checkDoc struct {
	Schema  *string `json:"schema"`
	Verdict *string `json:"verdict"`
	Allowed *bool   `json:"allowed"`
	Partial *bool   `json:"partial"`
	Results *[]struct {
		Subject struct {
			Kind string `json:"kind"`
			Ref  string `json:"ref"`
		} `json:"subject"`
		Verdict     string `json:"verdict"`
		Allowed     bool   `json:"allowed"`
		Partial     bool   `json:"partial"`
		Environment string `json:"environment"`
	} `json:"results"`
}

// ParseCheckResult is ReadCheckResult for a document in memory.
func ParseCheckResult(data []byte, env string) GateVerdict {
	undecided := func(format string, a ...any) GateVerdict {
		return GateVerdict{Reason: fmt.Sprintf(format, a...)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return undecided("check result is empty")
	}
	tooDeep, count := false, 0
	jsonscan.Structure(data, func(c byte, depth int) bool {
		if depth > maxCheckDepth {
			tooDeep = true
			return false
		}
		if depth == 2 && (c == ',' || c == '[') {
			count++
		}
		return true
	})
	if tooDeep {
		return undecided("check result nests deeper than %d", maxCheckDepth)
	}
	if count > maxCheckResults+1 {
		return undecided("check result has more than %d results", maxCheckResults)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc checkDoc
	if err := dec.Decode(&doc); err != nil {
		return undecided("check result is not JSON: %s", textsafe.Escape(err.Error()))
	}
	if dec.More() {
		return undecided("check result has more than one JSON document")
	}
	switch {
	case doc.Schema == nil:
		return undecided("check result has no schema field; want %q", CheckSchema)
	case *doc.Schema != CheckSchema:
		return undecided("check result's schema is %q, want %q", textsafe.Escape(*doc.Schema), CheckSchema)
	case doc.Verdict == nil || doc.Allowed == nil || doc.Partial == nil || doc.Results == nil:
		return undecided("check result lacks verdict, allowed, partial or results")
	case len(*doc.Results) == 0:
		return undecided("check result has no subject")
	}
	var allowed, denied, notDecided, partial int
	var firstBad string
	for _, r := range *doc.Results {
		name := textsafe.Escape(r.Subject.Kind + ":" + r.Subject.Ref)
		if env != "" && r.Environment != env {
			return undecided("check result's subject %s was checked for environment %q, not %q", name, textsafe.Escape(r.Environment), textsafe.Escape(env))
		}
		switch {
		case r.Verdict == "allowed" && r.Allowed && !r.Partial:
			allowed++
			continue
		case r.Verdict == "denied":
			denied++
		case r.Verdict == "allowed" && r.Allowed && r.Partial:
			partial++
		default:
			notDecided++
		}
		if firstBad == "" {
			firstBad = name + " " + textsafe.Escape(r.Verdict)
			if r.Partial {
				firstBad += " (partial run)"
			}
		}
	}
	total := len(*doc.Results)
	top := textsafe.Escape(*doc.Verdict)
	if allowed == total {
		if *doc.Verdict != "allowed" || !*doc.Allowed || *doc.Partial {
			return undecided("check result contradicts itself: every subject allowed but the verdict is %q (allowed %t, partial %t)", top, *doc.Allowed, *doc.Partial)
		}
		return GateVerdict{Approve: true, Decided: true, Reason: fmt.Sprintf("gatehouse allowed all %d subject(s)", total)}
	}
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{denied, "denied"}, {notDecided, "not decided"}, {partial, "allowed by a partial run only"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	reason := fmt.Sprintf("gatehouse verdict %q: %s of %d subject(s); first: %s", top, strings.Join(parts, ", "), total, firstBad)
	// A denial is a decision; anything else is "could not decide".
	return GateVerdict{Decided: denied > 0, Reason: reason}
}
