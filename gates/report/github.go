package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// WriteAnnotations writes GitHub Actions workflow commands (::error and
// ::warning) for every violation and warning, so they show on the run and
// on the pull request's files.
func WriteAnnotations(w io.Writer, results []Result) error {
	bw := bufio.NewWriter(w)
	for _, r := range results {
		if r.Decision == nil {
			fmt.Fprintf(bw, "::error title=%s::%s\n", escapeProperty("gatehouse: "+r.Subject.String()+" not decided"), escapeData(fmt.Sprint(r.Err)))
			continue
		}
		for _, f := range r.Decision.Violations {
			writeAnnotation(bw, "error", r.Subject, f)
		}
		for _, f := range r.Decision.Warnings {
			writeAnnotation(bw, "warning", r.Subject, f)
		}
	}
	return bw.Flush()
}

func writeAnnotation(w io.Writer, cmd string, s gates.Subject, f gates.Finding) {
	props := "title=" + escapeProperty(fmt.Sprintf("gatehouse %s/%s (%s)", f.Gate, f.Rule, f.Severity))
	if uri, line := sarifPlace(f.Location, s); uri != SARIFLocation || f.Location != "" {
		props += ",file=" + escapeProperty(uri) + fmt.Sprintf(",line=%d", line)
	}
	msg := s.String() + ": " + f.Message
	if f.Remediation != "" {
		msg += "\nFix: " + f.Remediation
	}
	fmt.Fprintf(w, "::%s %s::%s\n", cmd, props, escapeData(msg))
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteStepSummary writes the Markdown appended to $GITHUB_STEP_SUMMARY.
func WriteStepSummary(w io.Writer, results []Result) error {
	bw := bufio.NewWriter(w)
	verdict := "✅ all subjects allowed"
	if !AllAllowed(results) {
		verdict = "❌ denied"
	}
	fmt.Fprintf(bw, "## gatehouse: %s\n\n", verdict)
	fmt.Fprintln(bw, "| subject | environment | result | violations | warnings | waived |")
	fmt.Fprintln(bw, "|---|---|---|---|---|---|")
	for _, r := range results {
		if r.Decision == nil {
			fmt.Fprintf(bw, "| `%s` | | ❌ not decided | | | |\n", mdCell(r.Subject.String()))
			continue
		}
		d := r.Decision
		res := "✅ allowed"
		if !d.Allowed {
			res = "❌ denied"
		}
		fmt.Fprintf(bw, "| `%s` | %s | %s | %d | %d | %d |\n", mdCell(r.Subject.String()), d.Environment, res, len(d.Violations), len(d.Warnings), len(d.Waived))
	}
	for _, r := range results {
		if r.Decision == nil {
			fmt.Fprintf(bw, "\n### `%s`\n\nNot decided, so denied: %s\n", mdCell(r.Subject.String()), mdCell(fmt.Sprint(r.Err)))
			continue
		}
		d := r.Decision
		if len(d.Violations)+len(d.Warnings)+len(d.Waived)+len(d.ExpiredWaivers) == 0 {
			continue
		}
		fmt.Fprintf(bw, "\n### `%s`\n\n| | gate/rule | severity | message | how to fix |\n|---|---|---|---|---|\n", mdCell(r.Subject.String()))
		for _, f := range d.Violations {
			fmt.Fprintf(bw, "| ❌ | %s/%s | %s | %s | %s |\n", f.Gate, f.Rule, f.Severity, mdCell(f.Message), mdCell(f.Remediation))
		}
		for _, f := range d.Warnings {
			fmt.Fprintf(bw, "| ⚠️ | %s/%s | %s | %s | %s |\n", f.Gate, f.Rule, f.Severity, mdCell(f.Message), mdCell(f.Remediation))
		}
		for _, a := range d.Waived {
			fmt.Fprintf(bw, "| 🟡 waived | %s/%s | %s | %s | waiver by %s, %s, expires %s |\n", a.Finding.Gate, a.Finding.Rule, a.Finding.Severity,
				mdCell(a.Finding.Message), mdCell(a.Waiver.Approver), mdCell(orDash(a.Waiver.Ticket)), a.Waiver.Expires.Format("2006-01-02"))
		}
		for _, x := range d.ExpiredWaivers {
			fmt.Fprintf(bw, "| ⌛ expired waiver | %s/%s | | %s | renew or remove (approved by %s, expired %s) |\n", x.Gate, orDash(x.Rule), mdCell(x.Reason), mdCell(x.Approver), x.Expires.Format("2006-01-02"))
		}
	}
	return bw.Flush()
}

// mdCell keeps text inside one Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}
