package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// hostile strings an attacker can put in a file name, a pickle global, a
// SonarQube message or an error: each tries to start a workflow command,
// break a table, inject HTML or emit bytes XML cannot carry.
var hostile = []string{
	"\n::error::pwned",
	"x\r::warning file=a::y",
	"\r\n::add-mask::secret",
	"%0A::error::already-encoded",
	"a\u2028::error::line-separator",
	"a\u0085::error::next-line",
	"\x1b[31mred\x1b[0m\x07",
	"\x00nul\x0bvt\x0cff",
	"pipe | cell | `code` <script>alert(1)</script> **bold** [link](javascript:x)",
	"bad utf8 \xff\xfe\xc0",
	"]]><!-- &amp; \"'",
	"a:b,c=d::e",
	"\u202egnp.exe",
	"line1\nline2\n\n::endgroup::",
}

// rawUnsafe: what no escaper may let through raw: control characters
// (C0, DEL, C1 with NEL), line and paragraph separators, bidi controls.
func rawUnsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}

// hostileResults puts h in every outside string a result can carry.
func hostileResults(h string) []Result {
	subj := gates.Subject{Kind: gates.KindModel, Ref: "models/" + h}
	f := gates.Finding{Gate: "model_scan", Rule: "finding", Severity: "critical", Message: h, Remediation: h, Location: h + ":archive/" + h + "@1"}
	custom := gates.Finding{Gate: "g" + h, Rule: "r" + h, Severity: h, Message: h}
	w := gates.Waiver{Subject: h, Gate: "model_scan", Rule: "finding", Reason: h, Approver: h, Ticket: h, Expires: when}
	return []Result{
		{Subject: subj, Decision: &gates.Decision{
			Subject: subj, Environment: h, Gates: []string{"model_scan", "g" + h}, RequiredGates: []string{"model_scan", "g" + h, "m" + h},
			Partial: true, Undecided: []string{h}, Violations: []gates.Finding{f, custom}, Warnings: []gates.Finding{f},
			Waived: []gates.AppliedWaiver{{Finding: f, Waiver: w}}, ExpiredWaivers: []gates.Waiver{w},
			PolicyDigest: "sha256:pp", Time: when,
		}},
		{Subject: subj, Err: errors.New(h)},
	}
}

// renderAll renders results in every format, annotations and summary too.
func renderAll(t testing.TB, results []Result) map[string]string {
	out := map[string]string{}
	for _, f := range append(append([]string{}, Formats...), "annotations", "summary") {
		var buf bytes.Buffer
		var err error
		switch f {
		case "annotations":
			err = WriteAnnotations(&buf, results)
		case "summary":
			err = WriteStepSummary(&buf, results)
		default:
			err = Write(&buf, f, results)
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = buf.String()
	}
	return out
}

// lines splits on every character a reader might take as a line break.
func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029'
	})
}

// shape is what must not depend on outside strings in Markdown: the line
// count, and each line's table pipes.
func shape(s string) []int {
	var out []int
	for _, l := range lines(s) {
		out = append(out, strings.Count(l, "|"))
	}
	return out
}

// checkNoCommand fails when a line that is not one of our annotations
// starts (after the whitespace the runner trims) with "::".
func checkNoCommand(t testing.TB, format, out string) {
	t.Helper()
	for _, l := range lines(out) {
		l = strings.TrimLeftFunc(l, unicode.IsSpace)
		if format == "annotations" {
			cmd, rest, ok := strings.Cut(l, " ")
			props, _, ok2 := strings.Cut(rest, "::")
			if !ok || !ok2 || (cmd != "::error" && cmd != "::warning") {
				t.Fatalf("annotation line is not one of ours: %q", l)
			}
			for _, p := range strings.Split(props, ",") {
				if k, _, _ := strings.Cut(p, "="); k != "title" && k != "file" && k != "line" {
					t.Fatalf("annotation property %q injected: %q", k, l)
				}
			}
			continue
		}
		if strings.HasPrefix(l, "::") {
			t.Fatalf("%s: a line starts a workflow command: %q", format, l)
		}
	}
}

func TestHostileStrings(t *testing.T) {
	inRepo(t)
	benign := renderAll(t, hostileResults("benign"))
	for _, h := range hostile {
		t.Run(fmt.Sprintf("%q", h), func(t *testing.T) {
			got := renderAll(t, hostileResults(h))
			for f, out := range got {
				checkNoCommand(t, f, out)
				if f == "summary" {
					if a, b := shape(out), shape(benign[f]); fmt.Sprint(a) != fmt.Sprint(b) {
						t.Errorf("%s: outside string changed the output's lines or table cells:\n%s", f, out)
					}
				}
				if f == "text" || f == "junit" || f == "annotations" {
					if a, b := len(lines(out)), len(lines(benign[f])); a != b {
						t.Errorf("%s: outside string changed the output's lines or table cells:\n%s", f, out)
					}
				}
				if f == "text" || f == "summary" || f == "annotations" || f == "junit" {
					for _, r := range out {
						if r != '\n' && rawUnsafe(r) {
							t.Errorf("%s: raw control or format character %U in output", f, r)
						}
					}
				}
			}
			for _, c := range []string{"<", ">", "`"} {
				if strings.Count(got["summary"], c) != strings.Count(benign["summary"], c) {
					t.Errorf("summary holds a raw %s from outside:\n%s", c, got["summary"])
				}
			}
			// JSON and SARIF stay valid and carry the string exactly (as
			// the encoder can: invalid UTF-8 becomes U+FFFD).
			want := string([]rune(h)) // each invalid byte → U+FFFD, as encoding/json does
			var doc Document
			if err := json.Unmarshal([]byte(got["json"]), &doc); err != nil {
				t.Fatalf("json: %v", err)
			}
			if m := doc.Results[0].Violations[0].Message; m != want {
				t.Errorf("json message %q, want %q", m, want)
			}
			checkSARIFShape(t, []byte(got["sarif"]))
			var j junitSuites
			if err := xml.Unmarshal([]byte(got["junit"]), &j); err != nil {
				t.Fatalf("junit: %v", err)
			}
			if len(j.Suites) != 2 || j.Suites[0].Cases[0].Error == nil || !strings.Contains(j.Suites[0].Cases[0].Error.Body, escapeText(h)) {
				t.Errorf("junit lost the escaped string %q", escapeText(h))
			}
			if !strings.Contains(got["text"], escapeText(h)) {
				t.Errorf("text lacks the escaped string %q", escapeText(h))
			}
		})
	}
}

func TestEscapers(t *testing.T) {
	tests := []struct{ fn, in, want string }{
		{"data", "a%b\r\nc", "a%25b%0D%0Ac"},
		{"data", "%0A", "%250A"},
		{"data", "\x1b[0m", `\x1b[0m`},
		{"property", "a:b,c%\n", "a%3Ab%2Cc%25%0A"},
		{"text", "a\n::error::x", `a\n:\x3aerror:\x3ax`},
		{"text", "\r\t\x00\x7f\u0085\u2028\u202e", `\r\t\x00\x7f\u0085\u2028\u202e`},
		{"text", "bad \xff", `bad \xff`},
		{"text", "ünïcødé ✓ 模型", "ünïcødé ✓ 模型"},
		{"markdown", "a|b`c<d>e&f\ng", `a&#124;b&#96;c&lt;d&gt;e&amp;f\\ng`},
		{"markdown", "*x* _y_ [z](w) # !~", `\*x\* \_y\_ \[z\]\(w\) \# \!\~`},
	}
	fns := map[string]func(string) string{"data": escapeWorkflowData, "property": escapeWorkflowProperty, "text": escapeText, "markdown": escapeMarkdown}
	for _, tt := range tests {
		if got := fns[tt.fn](tt.in); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.fn, tt.in, got, tt.want)
		}
	}
}

// FuzzEscapers: whatever the input, no escaper lets a line break or a
// control character through, and no rendered line starts a workflow command.
func FuzzEscapers(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, fn := range map[string]func(string) string{"text": escapeText, "data": escapeWorkflowData, "property": escapeWorkflowProperty, "markdown": escapeMarkdown} {
			out := fn(s)
			if strings.Contains(out, "::") {
				t.Fatalf("%s(%q) = %q holds ::", name, s, out)
			}
			if !utf8.ValidString(out) {
				t.Fatalf("%s(%q) = %q: not UTF-8", name, s, out)
			}
			for _, r := range out {
				if rawUnsafe(r) {
					t.Fatalf("%s(%q) = %q holds %U", name, s, out, r)
				}
			}
			switch name {
			case "property":
				if strings.ContainsAny(out, ":,") {
					t.Fatalf("property(%q) = %q holds : or ,", s, out)
				}
			case "markdown":
				if strings.ContainsAny(out, "|<>`") {
					t.Fatalf("markdown(%q) = %q holds a table or HTML character", s, out)
				}
			}
		}
		results := hostileResults(s)
		for format, out := range renderAll(t, results) {
			checkNoCommand(t, format, out)
		}
	})
}

// checkSARIFShape checks what SARIF 2.1.0's schema requires of the
// objects we emit (required properties, enums, minimums, cross references)
// and what GitHub code scanning adds (a location per result).
func checkSARIFShape(t testing.TB, b []byte) {
	t.Helper()
	var log map[string]any
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("sarif: not JSON: %v", err)
	}
	fail := func(format string, args ...any) { t.Helper(); t.Fatalf("sarif: "+format, args...) }
	obj := func(v any, where string) map[string]any {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			fail("%s is not an object: %v", where, v)
		}
		return m
	}
	arr := func(v any, where string) []any {
		t.Helper()
		a, ok := v.([]any)
		if !ok {
			fail("%s is not an array: %v", where, v)
		}
		return a
	}
	str := func(m map[string]any, k, where string) string {
		t.Helper()
		s, ok := m[k].(string)
		if !ok || s == "" {
			fail("%s.%s is not a non-empty string: %v", where, k, m[k])
		}
		return s
	}
	enum := func(v any, where string, allowed ...string) {
		t.Helper()
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		fail("%s = %v, want one of %v", where, v, allowed)
	}
	message := func(v any, where string) {
		t.Helper()
		str(obj(v, where), "text", where)
	}
	if log["version"] != "2.1.0" {
		fail("version = %v", log["version"])
	}
	str(log, "$schema", "log")
	runs := arr(log["runs"], "runs")
	if len(runs) == 0 {
		fail("no runs")
	}
	for i, rv := range runs {
		where := fmt.Sprintf("runs[%d]", i)
		run := obj(rv, where)
		driver := obj(obj(run["tool"], where+".tool")["driver"], where+".tool.driver")
		str(driver, "name", "driver")
		str(driver, "version", "driver")
		var ids []string
		for j, rule := range arr(driver["rules"], "driver.rules") {
			w := fmt.Sprintf("rules[%d]", j)
			r := obj(rule, w)
			ids = append(ids, str(r, "id", w))
			for _, k := range []string{"shortDescription", "fullDescription", "help"} {
				message(r[k], w+"."+k)
			}
			enum(obj(r["defaultConfiguration"], w+".defaultConfiguration")["level"], w+".defaultConfiguration.level", "none", "note", "warning", "error")
		}
		for j, iv := range arr(run["invocations"], where+".invocations") {
			w := fmt.Sprintf("invocations[%d]", j)
			inv := obj(iv, w)
			if _, ok := inv["executionSuccessful"].(bool); !ok {
				fail("%s.executionSuccessful missing", w)
			}
			if n, ok := inv["toolExecutionNotifications"]; ok {
				for k, nv := range arr(n, w+".toolExecutionNotifications") {
					nw := fmt.Sprintf("%s.toolExecutionNotifications[%d]", w, k)
					message(obj(nv, nw)["message"], nw+".message")
					enum(obj(nv, nw)["level"], nw+".level", "none", "note", "warning", "error")
				}
			}
		}
		if bases, ok := run["originalUriBaseIds"]; ok {
			for k, v := range obj(bases, "originalUriBaseIds") {
				u, err := url.Parse(str(obj(v, k), "uri", k))
				if err != nil || !u.IsAbs() || !strings.HasSuffix(u.Path, "/") {
					fail("originalUriBaseIds.%s.uri %v: want an absolute URI ending in /", k, u)
				}
			}
		}
		for j, resv := range arr(run["results"], where+".results") {
			w := fmt.Sprintf("results[%d]", j)
			res := obj(resv, w)
			message(res["message"], w+".message")
			id := str(res, "ruleId", w)
			idx, ok := res["ruleIndex"].(float64)
			if !ok || idx < 0 || int(idx) >= len(ids) || ids[int(idx)] != id {
				fail("%s.ruleIndex %v does not point at rule %s", w, res["ruleIndex"], id)
			}
			enum(res["level"], w+".level", "none", "note", "warning", "error")
			locs := arr(res["locations"], w+".locations")
			if len(locs) == 0 {
				fail("%s has no location", w)
			}
			for _, lv := range locs {
				phys := obj(obj(lv, w+".location")["physicalLocation"], w+".physicalLocation")
				al := obj(phys["artifactLocation"], w+".artifactLocation")
				if _, err := url.Parse(str(al, "uri", w+".artifactLocation")); err != nil {
					fail("%s uri: %v", w, err)
				}
				if base := str(al, "uriBaseId", w+".artifactLocation"); base != srcRoot {
					fail("%s uriBaseId %q", w, base)
				}
				if line, ok := obj(phys["region"], w+".region")["startLine"].(float64); !ok || line < 1 {
					fail("%s startLine %v", w, line)
				}
			}
			for k, v := range obj(res["partialFingerprints"], w+".partialFingerprints") {
				if _, ok := v.(string); !ok {
					fail("%s.partialFingerprints.%s not a string", w, k)
				}
			}
			if sv, ok := res["suppressions"]; ok {
				for _, s := range arr(sv, w+".suppressions") {
					m := obj(s, w+".suppression")
					enum(m["kind"], w+".suppression.kind", "inSource", "external")
					enum(m["status"], w+".suppression.status", "accepted", "underReview", "rejected")
				}
			}
		}
	}
}

// TestSARIFMultitool validates our SARIF with Microsoft's SARIF Multitool
// (the reference validator: the full 2.1.0 schema and its rules), when it
// is installed: `npm i @microsoft/sarif-multitool` and set
// GATEHOUSE_SARIF_MULTITOOL to node_modules/.bin/sarif-multitool.
func TestSARIFMultitool(t *testing.T) {
	tool := os.Getenv("GATEHOUSE_SARIF_MULTITOOL")
	if tool == "" {
		var err error
		if tool, err = exec.LookPath("sarif-multitool"); err != nil {
			t.Skip("SARIF Multitool not installed (npm i @microsoft/sarif-multitool; set GATEHOUSE_SARIF_MULTITOOL): the structural checks of TestSARIF still ran")
		}
	}
	inRepo(t)
	old := Version
	Version = "1.2.3" // what a release build sets; "devel" draws advice SARIF2005
	t.Cleanup(func() { Version = old })
	results := append(sampleResults(), hostileResults("\n::error::x | <b>")...)
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, results); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "gatehouse.sarif"), filepath.Join(dir, "validation.sarif")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "validate", "--output", out, in)
	cmd.Env = append(os.Environ(), "DOTNET_CLI_TELEMETRY_OPTOUT=1")
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	t.Logf("multitool ran %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("multitool validate: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text      string   `json:"text"`
					Arguments []string `json:"arguments"`
				} `json:"message"`
			} `json:"results"`
			Invocations []struct {
				Notifications []struct {
					Message struct{ Text string } `json:"message"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("validation log: %v", err)
	}
	for _, run := range v.Runs {
		for _, inv := range run.Invocations {
			for _, n := range inv.Notifications {
				t.Errorf("multitool: %s", n.Message.Text)
			}
		}
		for _, r := range run.Results {
			// Errors are schema or rule violations; warnings (the default
			// level) and notes are advice, logged for the reader.
			if r.Level == "error" {
				t.Errorf("multitool %s (%s): %v", r.RuleID, r.Level, r.Message.Arguments)
			} else {
				t.Logf("multitool %s (%s): %v", r.RuleID, r.Level, r.Message.Arguments)
			}
		}
	}
}

// FuzzLocation: a finding's location comes from evidence; whatever it
// says, the file it resolves to is inside the repository, relative, and
// slash-separated, or there is none.
func FuzzLocation(f *testing.F) {
	for _, s := range []string{"fraud.pt:archive/data.pkl@12", "src/a.go:42", "../../etc/passwd", "/abs/x", "a:b:c@d@e", ":", "@", "x:\n::error::y"} {
		f.Add(s, "models/fraud.pt")
	}
	pl := places{root: "/repo", cwd: "/repo/sub"}
	f.Fuzz(func(t *testing.T, loc, ref string) {
		for _, kind := range []gates.Kind{gates.KindModel, gates.KindImage} {
			rel, line, ok := pl.file(loc, gates.Subject{Kind: kind, Ref: ref})
			if line < 1 {
				t.Fatalf("file(%q, %q) line %d", loc, ref, line)
			}
			if !ok {
				continue
			}
			if rel == ".." || strings.HasPrefix(rel, "../") || strings.HasPrefix(rel, "/") || strings.Contains(rel, `\`) && filepath.Separator == '\\' {
				t.Fatalf("file(%q, %q) = %q: outside the repository or not relative", loc, ref, rel)
			}
			if u := uriRef(rel); u == "" && rel != "." {
				t.Fatalf("uriRef(%q) empty", rel)
			}
		}
	})
}
