package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
)

// The end-to-end tests build the real binary once and run it on the
// repository's testdata, checking exit codes and every output format.

var binary string

func TestMain(m *testing.M) {
	// Fuzz workers run only fuzz targets, none of which runs the binary:
	// building it in every worker kept them from ever starting.
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "gatehouse-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("build gatehouse: " + err.Error())
	}
	code := m.Run()
	testregistry.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repo is the repository root, where the testdata lives.
const repo = "../.."

const image = "image:ghcr.io/acme/api@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

type runResult struct {
	code           int
	stdout, stderr string
}

func gatehouse(t *testing.T, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GITHUB_ACTIONS=", "SONAR_TOKEN=", "SONAR_HOST_URL=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{code, out.String(), errb.String()}
}

// timedRun is one finished run of the binary and how long it took.
type timedRun struct {
	runResult
	took time.Duration
}

// startGatehouse starts the binary in the repository root with stdin and
// extra environment; the returned wait fails the test rather than hang if
// the run outlives 10 s.
func startGatehouse(t *testing.T, stdin io.Reader, env []string, args ...string) (*exec.Cmd, func() timedRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = repo
	cmd.Env = append(append(os.Environ(), "GITHUB_ACTIONS=", "SONAR_TOKEN=", "SONAR_HOST_URL="), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return cmd, func() timedRun {
		t.Helper()
		defer cancel()
		err := cmd.Wait()
		r := timedRun{runResult{stdout: out.String(), stderr: errb.String()}, time.Since(start)}
		if ctx.Err() != nil {
			t.Fatalf("gatehouse %s still running after 10 s: killed", strings.Join(args, " "))
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// runTimed runs the binary to the end (at most 10 s).
func runTimed(t *testing.T, args ...string) timedRun {
	t.Helper()
	_, wait := startGatehouse(t, nil, nil, args...)
	return wait()
}

func TestCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badConfig, []byte("environments:\n  dev:\n    gates:\n      imag: [sonarqube]\n"), 0o644)
	waivers := filepath.Join(dir, "waivers.yaml")
	os.WriteFile(waivers, []byte(`waivers:
  - subject: "ghcr.io/acme/*"
    gate: sonarqube
    reason: coverage fixed in the next release
    approver: alice@example.com
    ticket: SEC-7
    expires: 2999-01-01T00:00:00Z
`), 0o644)
	extra := filepath.Join(dir, "extra")
	os.MkdirAll(extra, 0o755)
	os.WriteFile(filepath.Join(extra, "team.rego"), []byte(`package gatehouse.gates.sonarqube

deny contains {"rule": "team_rule", "severity": "medium", "message": "the team's own rule fired"} if {
	input.context.environment == "dev"
}
`), 0o644)

	tests := []struct {
		name       string
		env        []string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"passing quality gate", nil, []string{"check", "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, 0, "allowed in dev", ""},
		{"failing quality gate", nil, []string{"check", "--evidence", "sonarqube=testdata/sonarqube/error.json", image}, 1, "DENIED in dev", ""},
		{"no evidence and no server: not decided", nil, []string{"check", "--gate", "sonarqube", image}, 2, "sonarqube", "not decided"},
		{"waiver turns the violation off", nil, []string{"check", "--waivers", waivers, "--evidence", "sonarqube=testdata/sonarqube/error.json", image}, 0, "waived sonarqube/", ""},
		{"own policy on top of the defaults", nil, []string{"check", "--policy", extra, "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, 1, "the team's own rule fired", ""},
		{"unknown flag", nil, []string{"check", "--bogus", image}, 2, "", "unknown flag"},
		{"bad subject kind", nil, []string{"check", "helm:chart"}, 2, "", `unknown kind "helm"`},
		{"bad config names the line", nil, []string{"check", "--config", badConfig, image}, 2, "", "line 4"},
		{"unknown environment", nil, []string{"check", "--env", "qa", image}, 2, "", `environment "qa"`},
		{"missing evidence file", nil, []string{"check", "--evidence", "sonarqube=/nonexistent.json", image}, 2, "", "nonexistent.json"},
		{"garbage evidence file", nil, []string{"check", "--evidence", "sonarqube=README.md", image}, 2, "", "sonarqube"},
		{"unknown format", nil, []string{"check", "--format", "yaml", image}, 2, "", "unknown format"},
		{"no gates for kind", nil, []string{"check", "--config", "testdata/config/images-only.yaml", "score:testdata/score/checkout.yaml"}, 2, "", "requires no gates for score"},
		{"gate without a policy", nil, []string{"check", "--gate", "nope", image}, 2, "", `gate "nope" has no policy`},
		{"attest without key", nil, []string{"check", "--attest", image}, 2, "", "--attest needs --key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatehouse(t, tt.env, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, r.stderr)
			}
			if tt.wantCode == 2 && strings.TrimSpace(r.stderr) == "" {
				t.Error("exit 2 without a reason on stderr")
			}
		})
	}
}

func TestCheckAllFormatsInOneRun(t *testing.T) {
	dir := t.TempDir()
	sarif, jsonOut, junit := filepath.Join(dir, "out.sarif"), filepath.Join(dir, "out.json"), filepath.Join(dir, "out.xml")
	r := gatehouse(t, nil, "check", "--format", "text", "--format", "sarif="+sarif, "--format", "json="+jsonOut, "--format", "junit="+junit,
		"--evidence", "sonarqube=testdata/sonarqube/error.json", image)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "DENIED") {
		t.Errorf("text on stdout lacks DENIED:\n%s", r.stdout)
	}
	var doc struct {
		Schema  string `json:"schema"`
		Allowed *bool  `json:"allowed"`
		Results []struct {
			Subject    map[string]any   `json:"subject"`
			Allowed    bool             `json:"allowed"`
			Violations []map[string]any `json:"violations"`
		} `json:"results"`
	}
	readJSON(t, jsonOut, &doc)
	if doc.Schema != "gatehouse.check/v1" || doc.Allowed == nil || *doc.Allowed || len(doc.Results) != 1 || len(doc.Results[0].Violations) == 0 {
		t.Fatalf("json: %+v", doc)
	}
	if g := doc.Results[0].Violations[0]["gate"]; g != "sonarqube" {
		t.Errorf("violation gate = %v", g)
	}
	var s struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	readJSON(t, sarif, &s)
	if s.Version != "2.1.0" || len(s.Runs) != 1 || len(s.Runs[0].Results) == 0 || s.Runs[0].Results[0].Level != "error" {
		t.Fatalf("sarif: %+v", s)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &j); err != nil || j.Failures != 1 {
		t.Fatalf("junit failures=%d err=%v\n%s", j.Failures, err, b)
	}
}

func TestCheckGitHubActions(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	r := gatehouse(t, []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary},
		"check", "--evidence", "sonarqube=testdata/sonarqube/error.json", image)
	if r.code != 1 {
		t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "::error title=gatehouse sonarqube/") {
		t.Errorf("no ::error annotation:\n%s", r.stdout)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "## gatehouse: ❌ denied") {
		t.Errorf("summary:\n%s", b)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	r := gatehouse(t, nil, "policy", "test")
	if r.code != 0 || !strings.Contains(r.stdout, "0 failed") {
		t.Fatalf("embedded bundle: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = gatehouse(t, nil, "policy", "test", "policies")
	if r.code != 0 {
		t.Fatalf("policies folder: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x_test.rego"), []byte("package x_test\n\ntest_fails if { 1 == 2 }\n"), 0o644)
	if r = gatehouse(t, nil, "policy", "test", dir); r.code != 1 {
		t.Fatalf("failing test: exit %d, want 1\n%s", r.code, r.stdout)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

// waitOpened waits (10 s at most) until the process holds path open,
// then for extra: the run is then under way, well past main's signal
// set-up, so a signal tests the handlers instead of killing the process.
// (/proc's SigCgt cannot tell: the Go runtime catches SIGTERM from the
// start, and re-raises it until main asks for it.)
func waitOpened(t *testing.T, cmd *exec.Cmd, path string, extra time.Duration) {
	t.Helper()
	fds := fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		entries, _ := os.ReadDir(fds)
		for _, e := range entries {
			if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && target == path {
				time.Sleep(extra)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process did not open %s within 10 s", path)
		}
	}
}
