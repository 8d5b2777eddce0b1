package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// WriteText writes a report for a person: the verdict per subject, why it
// could not be decided, whether the run was partial, what failed and how to
// fix it, and which waivers are in force. Every line starts with a fixed
// mark and every outside string is escaped (escapeText), so nothing a file
// or a scanner names can start a line of the log.
func WriteText(w io.Writer, results []Result) error {
	bw := bufio.NewWriter(w)
	t := escapeText
	count := map[string]int{}
	partial := 0
	for _, r := range results {
		v := r.Verdict()
		count[v]++
		env, gs := "", "gates: none"
		if d := r.Decision; d != nil {
			env = " in " + t(d.Environment)
			gs = "gates: " + t(joinOr(d.Gates, "none"))
		}
		switch v {
		case gates.VerdictAllowed:
			fmt.Fprintf(bw, "✓ %s: allowed%s (%s)\n", t(r.Subject.String()), env, gs)
		case gates.VerdictDenied:
			fmt.Fprintf(bw, "✗ %s: DENIED%s (%s)\n", t(r.Subject.String()), env, gs)
		default:
			fmt.Fprintf(bw, "? %s: NOT DECIDED%s, so not allowed (%s)\n", t(r.Subject.String()), env, gs)
		}
		if from := r.Subject.Labels[FromLabel]; from != "" {
			fmt.Fprintf(bw, "    part of %s%s\n", t(from), t(usedBy(r.Subject.Labels)))
		}
		for _, why := range r.Reasons() {
			fmt.Fprintf(bw, "    not decided: %s\n", t(why))
		}
		if r.Partial() {
			partial++
			fmt.Fprintf(bw, "    partial run: required gates not run: %s (the verdict covers only the gates above and is not attested)\n",
				t(joinOr(r.MissingGates(), "unknown")))
		}
		d := r.Decision
		if d == nil {
			continue
		}
		for _, v := range d.Violations {
			fmt.Fprintf(bw, "    [%s] %s/%s: %s\n", t(v.Severity), t(v.Gate), t(v.Rule), t(v.Message))
			if v.Remediation != "" {
				fmt.Fprintf(bw, "        fix: %s\n", t(v.Remediation))
			}
		}
		for _, v := range d.Warnings {
			fmt.Fprintf(bw, "    warning [%s] %s/%s: %s\n", t(v.Severity), t(v.Gate), t(v.Rule), t(v.Message))
		}
		for _, a := range d.Waived {
			fmt.Fprintf(bw, "    waived %s/%s: %s (reason: %s; approved by %s; ticket %s; expires %s)\n",
				t(a.Finding.Gate), t(a.Finding.Rule), t(a.Finding.Message), t(a.Waiver.Reason), t(a.Waiver.Approver),
				t(orDash(a.Waiver.Ticket)), a.Waiver.Expires.Format("2006-01-02"))
		}
		for _, x := range d.ExpiredWaivers {
			fmt.Fprintf(bw, "    expired waiver for %s/%s (approved by %s, expired %s): no longer applies; renew or remove it\n",
				t(x.Gate), t(orDash(x.Rule)), t(x.Approver), x.Expires.Format("2006-01-02"))
		}
	}
	fmt.Fprintf(bw, "%d subject(s): %d allowed, %d denied, %d not decided\n", len(results),
		count[gates.VerdictAllowed], count[gates.VerdictDenied], count[gates.VerdictNotDecided])
	if partial > 0 {
		fmt.Fprintf(bw, "partial run: %d subject(s) not checked by every gate their environment requires\n", partial)
	}
	return bw.Flush()
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FromLabel names, on a subject that another brought in (a pipeline's
// image, a Score spec's image), the subject it came from.
const FromLabel = "gatehouse.from"

// usedBy lists which parts of the parent use a subject, from the labels
// the expanders set (kfp.components, kfp.executors, score.containers).
func usedBy(labels map[string]string) string {
	var parts []string
	for _, k := range []string{"kfp.components", "kfp.executors", "score.containers"} {
		if v := labels[k]; v != "" {
			parts = append(parts, k[strings.IndexByte(k, '.')+1:]+" "+strings.ReplaceAll(v, ",", ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
