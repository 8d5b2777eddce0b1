package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// TestCheckOutputsResistHostileNames runs the binary on a hostile model
// (a pickle that runs a command) stored under folder names an attacker
// chose, in every format, under GitHub Actions: no line of stdout, stderr or
// the step summary may start a workflow command other than our own
// annotations, machine-readable stdout stays parseable, and SARIF and
// annotations point at the file relative to the workspace.
func TestCheckOutputsResistHostileNames(t *testing.T) {
	evil, err := os.ReadFile(filepath.Join(repo, "testdata/models/evil/model.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"m\n::error::pwned",
		"m\r::add-mask::x",
		"m%0A::warning::encoded",
		"m\u2028::error::sep",
		"m | <b>x</b> `y`",
		"m:a,b=c",
	} {
		ws := t.TempDir()
		dir := filepath.Join(ws, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.pkl"), evil, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"text", "json", "sarif", "junit"} {
			t.Run(format+"/"+strings.ToValidUTF8(name, "?"), func(t *testing.T) {
				summary := filepath.Join(ws, "summary.md")
				r := gatehouse(t, []string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "GITHUB_STEP_SUMMARY=" + summary},
					"check", "--env", "dev", "--format", format, "model:"+dir)
				if r.code != 1 {
					t.Fatalf("exit %d, want 1 (denied)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
				}
				sum, _ := os.ReadFile(summary)
				annotations := 0
				for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "summary": string(sum)} {
					for _, l := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' || r == '\u2028' || r == '\u0085' }) {
						l = strings.TrimLeftFunc(l, unicode.IsSpace)
						if !strings.HasPrefix(l, "::") {
							continue
						}
						cmd, rest, _ := strings.Cut(l, " ")
						props, _, ok := strings.Cut(rest, "::")
						if where == "summary" || !ok || (cmd != "::error" && cmd != "::warning") {
							t.Fatalf("%s: line starts a workflow command that is not ours: %q", where, l)
						}
						for _, p := range strings.Split(props, ",") {
							if k, _, _ := strings.Cut(p, "="); k != "title" && k != "file" && k != "line" {
								t.Fatalf("%s: injected annotation property %q: %q", where, k, l)
							}
						}
						if !strings.Contains(props, ",file=") {
							t.Errorf("annotation without file=: %q", l)
						}
						annotations++
					}
				}
				if annotations != 1 {
					t.Errorf("%d annotations, want 1 (the finding)\nstdout:\n%s\nstderr:\n%s", annotations, r.stdout, r.stderr)
				}
				switch format {
				case "json":
					var doc struct {
						Verdict string `json:"verdict"`
						Results []struct {
							Subject struct{ Ref string } `json:"subject"`
						} `json:"results"`
					}
					if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Verdict != "denied" || len(doc.Results) != 1 || doc.Results[0].Subject.Ref != dir {
						t.Errorf("json: %v, %+v", err, doc)
					}
				case "sarif":
					var log struct {
						Runs []struct {
							Results []struct {
								Locations []struct {
									PhysicalLocation struct {
										ArtifactLocation struct{ URI, URIBaseID string } `json:"artifactLocation"`
									} `json:"physicalLocation"`
								} `json:"locations"`
							} `json:"results"`
						} `json:"runs"`
					}
					if err := json.Unmarshal([]byte(r.stdout), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) != 1 {
						t.Fatalf("sarif: %v\n%s", err, r.stdout)
					}
					al := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation
					if !strings.HasSuffix(al.URI, "/model.pkl") || strings.HasPrefix(al.URI, "/") || al.URIBaseID != "%SRCROOT%" {
						t.Errorf("sarif location %+v: want the pickle relative to the workspace", al)
					}
				case "junit":
					if err := xml.Unmarshal([]byte(r.stdout), new(struct{})); err != nil {
						t.Errorf("junit: %v", err)
					}
				}
			})
		}
	}
}
