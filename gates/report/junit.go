package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes one test suite per subject (its verdict as a
// property) and one test case per subject × gate: a gate that denied is a
// failure; a gate whose violations only say its evidence could not be had,
// and the reasons a subject was not decided (case "decision"), are errors,
// not failures; a required gate a partial run did not evaluate is skipped.
// Outside strings are escaped with escapeText before the XML encoder, so
// control characters (illegal in XML) show as escapes and no newline from
// a message can start a line.
func WriteJUnit(w io.Writer, results []Result) error {
	t := escapeText
	doc := junitSuites{Name: "gatehouse"}
	for _, r := range results {
		subj := t(r.Subject.String())
		s := junitSuite{Name: subj, Properties: []junitProperty{{Name: "verdict", Value: r.Verdict()}}}
		if r.Partial() {
			s.Properties = append(s.Properties, junitProperty{Name: "partial", Value: "true"})
		}
		if why := r.Reasons(); len(why) > 0 {
			var body strings.Builder
			for _, x := range why {
				fmt.Fprintf(&body, "not decided: %s\n", t(x))
			}
			s.Cases = append(s.Cases, junitCase{Name: "decision", Classname: subj,
				Error: &junitProblem{Message: "not decided", Type: "not_decided", Body: body.String()}})
			s.Errors++
		}
		for _, g := range gatesOf(r) {
			c := junitCase{Name: t(g), Classname: subj}
			if vs := byGate(r.Decision.Violations, g); len(vs) > 0 {
				var body strings.Builder
				undecided := true
				for _, v := range vs {
					undecided = undecided && gates.UndecidedRule(v.Rule)
					fmt.Fprintf(&body, "[%s] %s: %s\n", t(v.Severity), t(v.Rule), t(v.Message))
					if v.Remediation != "" {
						fmt.Fprintf(&body, "  fix: %s\n", t(v.Remediation))
					}
				}
				if undecided {
					c.Error = &junitProblem{Message: fmt.Sprintf("not decided: %d piece(s) of evidence could not be had", len(vs)), Type: "not_decided", Body: body.String()}
					s.Errors++
				} else {
					c.Failure = &junitProblem{Message: fmt.Sprintf("%d violation(s)", len(vs)), Type: "denied", Body: body.String()}
					s.Failures++
				}
			}
			var out strings.Builder
			for _, v := range byGate(r.Decision.Warnings, g) {
				fmt.Fprintf(&out, "warning [%s] %s: %s\n", t(v.Severity), t(v.Rule), t(v.Message))
			}
			for _, a := range r.Decision.Waived {
				if a.Finding.Gate == g {
					fmt.Fprintf(&out, "waived %s: %s (reason: %s; approved by %s; expires %s)\n", t(a.Finding.Rule), t(a.Finding.Message),
						t(a.Waiver.Reason), t(a.Waiver.Approver), a.Waiver.Expires.Format("2006-01-02"))
				}
			}
			c.SystemOut = out.String()
			s.Cases = append(s.Cases, c)
		}
		for _, g := range r.MissingGates() {
			s.Cases = append(s.Cases, junitCase{Name: t(g), Classname: subj,
				Skipped: &junitSkipped{Message: "required gate not run: partial run (--gate); the verdict does not cover it"}})
			s.Skipped++
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// hashString is a short stable fingerprint.
func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
