package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes one test suite per subject and one test case per
// subject × gate; an undecided subject is one errored case.
func WriteJUnit(w io.Writer, results []Result) error {
	doc := junitSuites{Name: "gatehouse"}
	for _, r := range results {
		s := junitSuite{Name: r.Subject.String()}
		if r.Decision == nil {
			s.Cases = append(s.Cases, junitCase{Name: "decision", Classname: r.Subject.String(),
				Error: &junitProblem{Message: "could not decide", Type: "undecided", Body: fmt.Sprint(r.Err)}})
			s.Errors++
		}
		for _, g := range gatesOf(r) {
			c := junitCase{Name: g, Classname: r.Subject.String()}
			if vs := byGate(r.Decision.Violations, g); len(vs) > 0 {
				var body strings.Builder
				for _, v := range vs {
					fmt.Fprintf(&body, "[%s] %s: %s\n", v.Severity, v.Rule, v.Message)
					if v.Remediation != "" {
						fmt.Fprintf(&body, "  fix: %s\n", v.Remediation)
					}
				}
				c.Failure = &junitProblem{Message: fmt.Sprintf("%d violation(s)", len(vs)), Type: "denied", Body: body.String()}
				s.Failures++
			}
			var out strings.Builder
			for _, v := range byGate(r.Decision.Warnings, g) {
				fmt.Fprintf(&out, "warning [%s] %s: %s\n", v.Severity, v.Rule, v.Message)
			}
			for _, a := range r.Decision.Waived {
				if a.Finding.Gate == g {
					fmt.Fprintf(&out, "waived %s: %s (approved by %s, expires %s)\n", a.Finding.Rule, a.Waiver.Reason, a.Waiver.Approver, a.Waiver.Expires.Format("2006-01-02"))
				}
			}
			c.SystemOut = out.String()
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
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
