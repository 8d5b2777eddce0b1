package jinja

import (
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// Verdict is a chat template's rating: a finding (Severity 0 when the
// template reaches nothing) or, when it could not be analysed, why it is
// not verified.
type Verdict struct {
	Severity    finding.Severity
	Reason      string
	NotVerified string
}

// Judge analyses one template; what names it in reasons ("chat template
// \"tokenizer.chat_template\"").
func Judge(what, src string) Verdict {
	fs, err := Analyze(src)
	var crit, high []string
	for _, f := range fs {
		if f.Critical {
			crit = append(crit, f.What)
		} else {
			high = append(high, f.What)
		}
	}
	v := Verdict{}
	switch {
	case len(crit) > 0:
		v.Severity = finding.Critical
		v.Reason = what + " reaches Python internals: " + strings.Join(first(crit, 3), "; ") + ": server-side template injection runs code where the template is rendered"
	case len(high) > 0:
		v.Severity = finding.High
		v.Reason = what + ": " + strings.Join(first(high, 3), "; ")
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrSyntax):
			v.NotVerified = what + " is not a valid Jinja2 template (" + err.Error() + "): servers refuse to render it, so it cannot be verified"
		default:
			v.NotVerified = what + ": " + err.Error() + ": not fully analysed"
		}
	}
	return v
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "and more")
	}
	return s
}
