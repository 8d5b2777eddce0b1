package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// WriteAnnotations writes GitHub Actions workflow commands: ::error for
// every violation and every reason a subject was not decided, ::warning for
// every warning and every partial run; with file= and line= (relative to
// RepoRoot) when the finding is about a file in the repository. The runner
// reads them from the step's log, so the CLI passes a writer that carries
// nothing machine-readable: stderr when stdout holds json, sarif or junit.
// Every value goes through the runner's own escaping, so an outside string
// can neither end the command nor start another.
func WriteAnnotations(w io.Writer, results []Result) error {
	bw := bufio.NewWriter(w)
	pl := newPlaces()
	for _, r := range results {
		subj := escapeWorkflowData(r.Subject.String())
		var file string
		if rel, _, ok := pl.file("", r.Subject); ok {
			file = ",file=" + escapeWorkflowProperty(rel)
		}
		for _, why := range r.Reasons() {
			fmt.Fprintf(bw, "::error title=%s%s::%s not decided, so not allowed: %s\n",
				escapeWorkflowProperty("gatehouse: "+r.Subject.String()+" not decided"), file, subj, escapeWorkflowData(why))
		}
		if r.Partial() {
			fmt.Fprintf(bw, "::warning title=%s%s::%s: partial run, required gates not run: %s (the verdict covers only %s and is not attested)\n",
				escapeWorkflowProperty("gatehouse: "+r.Subject.String()+" partial run"), file, subj,
				escapeWorkflowData(joinOr(r.MissingGates(), "unknown")), escapeWorkflowData(joinOr(r.Decision.Gates, "no gate")))
		}
		d := r.Decision
		if d == nil {
			continue
		}
		for _, f := range d.Violations {
			writeAnnotation(bw, pl, "error", r.Subject, f)
		}
		for _, f := range d.Warnings {
			writeAnnotation(bw, pl, "warning", r.Subject, f)
		}
	}
	return bw.Flush()
}

func writeAnnotation(w io.Writer, pl places, cmd string, s gates.Subject, f gates.Finding) {
	props := "title=" + escapeWorkflowProperty(fmt.Sprintf("gatehouse %s/%s (%s)", f.Gate, f.Rule, f.Severity))
	if rel, line, ok := pl.file(f.Location, s); ok {
		props += ",file=" + escapeWorkflowProperty(rel) + fmt.Sprintf(",line=%d", line)
	}
	msg := escapeWorkflowData(s.String()) + ": " + escapeWorkflowData(f.Message)
	if f.Remediation != "" {
		msg += "%0AFix: " + escapeWorkflowData(f.Remediation)
	}
	fmt.Fprintf(w, "::%s %s::%s\n", cmd, props, msg)
}

// verdictMark is the summary's rendering of a verdict.
var verdictMark = map[string]string{
	gates.VerdictAllowed:    "✅ allowed",
	gates.VerdictDenied:     "❌ denied",
	gates.VerdictNotDecided: "⛔ not decided",
}

// WriteStepSummary writes the Markdown appended to $GITHUB_STEP_SUMMARY.
// Every outside string goes through escapeMarkdown.
func WriteStepSummary(w io.Writer, results []Result) error {
	bw := bufio.NewWriter(w)
	md := escapeMarkdown
	head := verdictMark[Verdict(results)]
	if Verdict(results) == gates.VerdictAllowed {
		head = "✅ all subjects allowed"
	}
	fmt.Fprintf(bw, "## gatehouse: %s\n\n", head)
	if Partial(results) {
		fmt.Fprintln(bw, "> ⚠️ **Partial run**: some subjects were not checked by every gate their environment requires; their verdicts cover only the gates that ran and are not attested.")
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw, "| subject | environment | verdict | partial | violations | warnings | waived |")
	fmt.Fprintln(bw, "|---|---|---|---|---|---|---|")
	for _, r := range results {
		partial := "no"
		if r.Partial() {
			partial = "⚠️ yes"
		}
		if r.Decision == nil {
			fmt.Fprintf(bw, "| %s | | %s | | | | |\n", md(r.Subject.String()), verdictMark[r.Verdict()])
			continue
		}
		d := r.Decision
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %d | %d | %d |\n", md(r.Subject.String()), md(d.Environment), verdictMark[r.Verdict()],
			partial, len(d.Violations), len(d.Warnings), len(d.Waived))
	}
	for _, r := range results {
		why := r.Reasons()
		d := r.Decision
		if len(why) == 0 && !r.Partial() && (d == nil || len(d.Violations)+len(d.Warnings)+len(d.Waived)+len(d.ExpiredWaivers) == 0) {
			continue
		}
		fmt.Fprintf(bw, "\n### %s\n\n", md(r.Subject.String()))
		for _, x := range why {
			fmt.Fprintf(bw, "- ⛔ not decided, so not allowed: %s\n", md(x))
		}
		if r.Partial() {
			fmt.Fprintf(bw, "- ⚠️ partial run: required gates not run: %s\n", md(joinOr(r.MissingGates(), "unknown")))
		}
		if d == nil || len(d.Violations)+len(d.Warnings)+len(d.Waived)+len(d.ExpiredWaivers) == 0 {
			continue
		}
		if len(why) > 0 || r.Partial() {
			fmt.Fprintln(bw)
		}
		fmt.Fprint(bw, "| | gate/rule | severity | message | how to fix |\n|---|---|---|---|---|\n")
		row := func(mark string, f gates.Finding, fix string) {
			fmt.Fprintf(bw, "| %s | %s/%s | %s | %s | %s |\n", mark, md(f.Gate), md(f.Rule), md(f.Severity), md(f.Message), fix)
		}
		for _, f := range d.Violations {
			row("❌", f, md(f.Remediation))
		}
		for _, f := range d.Warnings {
			row("⚠️", f, md(f.Remediation))
		}
		for _, a := range d.Waived {
			row("🟡 waived", a.Finding, fmt.Sprintf("waiver by %s, %s, expires %s: %s", md(a.Waiver.Approver), md(orDash(a.Waiver.Ticket)),
				a.Waiver.Expires.Format("2006-01-02"), md(a.Waiver.Reason)))
		}
		for _, x := range d.ExpiredWaivers {
			row("⌛ expired waiver", gates.Finding{Gate: x.Gate, Rule: orDash(x.Rule), Message: x.Reason},
				fmt.Sprintf("renew or remove (approved by %s, expired %s)", md(x.Approver), x.Expires.Format("2006-01-02")))
		}
	}
	return bw.Flush()
}
