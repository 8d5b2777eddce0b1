package report

import (
	"bufio"
	"fmt"
	"io"
)

// WriteText writes a report for a person: what failed, why, how to fix it,
// and which waivers are in force.
func WriteText(w io.Writer, results []Result) error {
	bw := bufio.NewWriter(w)
	denied := 0
	for _, r := range results {
		switch {
		case r.Decision == nil:
			denied++
			fmt.Fprintf(bw, "✗ %s: NOT DECIDED (denied)\n    %v\n", r.Subject, r.Err)
		case r.Decision.Allowed:
			fmt.Fprintf(bw, "✓ %s: allowed in %s (gates: %s)\n", r.Subject, r.Decision.Environment, joinOr(r.Decision.Gates, "none"))
		default:
			denied++
			fmt.Fprintf(bw, "✗ %s: DENIED in %s (gates: %s)\n", r.Subject, r.Decision.Environment, joinOr(r.Decision.Gates, "none"))
		}
		d := r.Decision
		if d == nil {
			continue
		}
		for _, v := range d.Violations {
			fmt.Fprintf(bw, "    [%s] %s/%s: %s\n", v.Severity, v.Gate, v.Rule, v.Message)
			if v.Remediation != "" {
				fmt.Fprintf(bw, "        fix: %s\n", v.Remediation)
			}
		}
		for _, v := range d.Warnings {
			fmt.Fprintf(bw, "    warning [%s] %s/%s: %s\n", v.Severity, v.Gate, v.Rule, v.Message)
		}
		for _, a := range d.Waived {
			fmt.Fprintf(bw, "    waived %s/%s: %s (reason: %s; approved by %s; ticket %s; expires %s)\n",
				a.Finding.Gate, a.Finding.Rule, a.Finding.Message, a.Waiver.Reason, a.Waiver.Approver,
				orDash(a.Waiver.Ticket), a.Waiver.Expires.Format("2006-01-02"))
		}
		for _, x := range d.ExpiredWaivers {
			fmt.Fprintf(bw, "    expired waiver for %s/%s (approved by %s, expired %s): no longer applies; renew or remove it\n",
				x.Gate, orDash(x.Rule), x.Approver, x.Expires.Format("2006-01-02"))
		}
	}
	fmt.Fprintf(bw, "%d subject(s), %d allowed, %d denied\n", len(results), len(results)-denied, denied)
	return bw.Flush()
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	out := s[0]
	for _, v := range s[1:] {
		out += ", " + v
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
