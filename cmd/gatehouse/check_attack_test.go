package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The check command tried as an attacker would: every path that could end
// in "allowed" for something hostile, hang, or sign a verdict not reached.

// abs is a repository path made absolute (the binary runs in the repo root).
func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(filepath.Join(repo, p))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// scanReport writes `gatehouse scan model PATH --format json` to a file.
func scanReport(t *testing.T, path string) string {
	t.Helper()
	r := gatehouse(t, nil, "scan", "model", "--format", "json", path)
	if r.code != 0 {
		t.Fatalf("scan %s: exit %d\n%s", path, r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(out, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckRefusesPartialAttestation(t *testing.T) {
	priv, _ := writeKeyPair(t, t.TempDir(), "k")
	tests := []struct {
		name string
		args []string
		code int
		want string // on stderr
	}{
		{"prod model judged by sonarqube only", []string{"check", "--env", "prod", "--gate", "sonarqube", "--evidence", "sonarqube=testdata/sonarqube/ok.json", "--attest", "--key", priv, "model:testdata/models/evil"}, 2, "a partial run is not attested"},
		{"one of two required gates", []string{"check", "--env", "staging", "--gate", "sonarqube", "--evidence", "sonarqube=testdata/sonarqube/ok.json", "--attest", "--key", priv, image}, 2, "skips signature"},
		{"dev image, the one gate it requires plus one more", []string{"check", "--env", "dev", "--gate", "model_scan", "--evidence", "sonarqube=testdata/sonarqube/ok.json", "--attest", "--key", priv, image}, 2, "skips sonarqube"},
		{"a kind the environment requires no gates for", []string{"check", "--config", "testdata/config/images-only.yaml", "--env", "prod", "--gate", "sonarqube", "--evidence", "sonarqube=testdata/sonarqube/ok.json", "--attest", "--key", priv, "score:testdata/score/checkout.yaml"}, 2, "requires no gates for score subjects"},
		{"partial without --attest says so", []string{"check", "--env", "prod", "--gate", "sonarqube", "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, 0, "partial run"},
		{"partial with JSON on stdout says so on stderr", []string{"check", "--format", "json", "--env", "prod", "--gate", "sonarqube", "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, 0, "partial run for " + image},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatehouse(t, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, tt.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "verification summary for") {
				t.Fatalf("a VSA was written:\n%s", r.stderr)
			}
		})
	}
}

func TestCheckEvidenceBoundToSubject(t *testing.T) {
	clean := scanReport(t, "testdata/models/clean")
	cleanAbs := scanReport(t, abs(t, "testdata/models/clean"))
	// A report that names no subject (fields removed by hand).
	var doc map[string]any
	b, _ := os.ReadFile(clean)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "path")
	delete(doc, "subject")
	anon := filepath.Join(t.TempDir(), "anon.json")
	b, _ = json.Marshal(doc)
	os.WriteFile(anon, b, 0o644)

	evil, cleanModel := "model:testdata/models/evil", "model:testdata/models/clean"
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout+stderr
	}{
		{"clean report for the hostile model", []string{"--evidence", "model_scan=" + clean, evil}, 1, "model_scan evidence is about testdata/models/clean, not model:testdata/models/evil"},
		{"absolute path in the report, hostile model", []string{"--evidence", "model_scan=" + cleanAbs, evil}, 1, "is about " + abs(t, "testdata/models/clean")},
		{"bound on the command line to the hostile model", []string{"--evidence", evil + "=model_scan=" + clean, evil}, 1, "is about testdata/models/clean"},
		{"report of the same model, other spelling", []string{"--evidence", "model_scan=" + cleanAbs, "model:./testdata/models/clean/"}, 0, "allowed"},
		{"two models, the report goes to the one it names", []string{"--evidence", "model_scan=" + clean, cleanModel, evil}, 1, "evil"},
		{"anonymous report, one model", []string{"--evidence", "model_scan=" + anon, cleanModel}, 0, "allowed"},
		{"anonymous report, two models", []string{"--evidence", "model_scan=" + anon, cleanModel, evil}, 2, "names no subject and 2 subjects read model_scan evidence: bind it"},
		{"bound to a subject not checked", []string{"--evidence", "model:other=model_scan=" + clean, cleanModel}, 2, "is not one of the subjects checked"},
		{"bound to a subject whose gates do not read it", []string{"--evidence", cleanModel + "=sonarqube=testdata/sonarqube/ok.json", cleanModel, image}, 2, "no gate run for model:testdata/models/clean reads sonarqube"},
		{"given twice for one subject", []string{"--evidence", "model_scan=" + clean, "--evidence", "model_scan=" + cleanAbs, cleanModel}, 2, "already has model_scan evidence"},
		{"unknown evidence name", []string{"--evidence", "foo=testdata/sonarqube/ok.json", image}, 2, `no gate reads evidence "foo"`},
		{"evidence no gate of this run reads", []string{"--evidence", "pii=testdata/sonarqube/ok.json", image}, 2, "no gate run for these subjects reads pii"},
		{"signatures from a file", []string{"--evidence", "signatures=testdata/sonarqube/ok.json", image}, 2, "cannot be given as a file"},
		{"provenance from a file", []string{"--evidence", "provenance=testdata/sonarqube/ok.json", image}, 2, "cannot be given as a file"},
		{"malformed spec", []string{"--evidence", "model_scan", image}, 2, "want NAME=FILE or SUBJECT=NAME=FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatehouse(t, nil, append([]string{"check"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, tt.want, r.stdout, r.stderr)
			}
		})
	}
}

func TestCheckFlagsAndBounds(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	f, _ := os.Create(big)
	f.Truncate(65<<20 + 1) // sparse: no disk, but past the 64 MiB bound
	f.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero timeout", []string{"--timeout", "0s"}, "--timeout 0s: must be positive"},
		{"negative timeout", []string{"--timeout", "-1s"}, "must be positive"},
		{"evidence past the size bound", []string{"--evidence", "sonarqube=" + big}, "larger than the limit"},
		{"evidence from /dev/zero", []string{"--evidence", "sonarqube=/dev/zero"}, "character device"},
		{"output into a missing folder, before any work", []string{"--format", "json=/nonexistent/dir/out.json", "--evidence", "sonarqube=testdata/sonarqube/ok.json"}, "/nonexistent/dir/out.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatehouse(t, nil, append(append([]string{"check"}, tt.args...), image)...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", r.code, tt.want, r.stdout, r.stderr)
			}
		})
	}
}

// TestCheckGitHubMachineStdout: under GitHub Actions, JSON on stdout stays
// JSON; the annotations go to stderr.
func TestCheckGitHubMachineStdout(t *testing.T) {
	for _, format := range []string{"json", "sarif"} {
		r := gatehouse(t, []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="}, "check", "--format", format, "--evidence", "sonarqube=testdata/sonarqube/error.json", image)
		if r.code != 1 {
			t.Fatalf("%s: exit %d\n%s", format, r.code, r.stderr)
		}
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Errorf("%s: stdout is not JSON (%v):\n%s", format, err, r.stdout)
		}
		if !strings.Contains(r.stderr, "::error") {
			t.Errorf("%s: no annotation on stderr:\n%s", format, r.stderr)
		}
	}
}

// namedFIFO makes a named pipe that nobody writes to.
func namedFIFO(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runBounded runs the binary and fails when it takes longer than limit.
func runBounded(t *testing.T, limit time.Duration, args ...string) runResult {
	t.Helper()
	r := runTimed(t, args...)
	if r.took > limit {
		t.Errorf("gatehouse %s took %v, more than %v", strings.Join(args, " "), r.took, limit)
	}
	return r.runResult
}

func TestCheckFIFOsDoNotHang(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"--config", []string{"check", "--config", namedFIFO(t, "gatehouse.yaml"), image}},
		{"--waivers", []string{"check", "--waivers", namedFIFO(t, "waivers.yaml"), "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}},
		{"--evidence", []string{"check", "--evidence", "sonarqube=" + namedFIFO(t, "ev.json"), image}},
		{"--policy file", []string{"check", "--policy", namedFIFO(t, "p.rego"), image}},
		{"--policy bundle", []string{"check", "--policy", namedFIFO(t, "p.tar.gz"), image}},
		{"--format json=FIFO", []string{"check", "--format", "json=" + namedFIFO(t, "out.json"), "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}},
		{"policy test", []string{"policy", "test", namedFIFO(t, "p.rego")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBounded(t, 2*time.Second, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, "FIFO") {
				t.Fatalf("exit %d, want 2 naming the FIFO\nstderr:\n%s", r.code, r.stderr)
			}
		})
	}
}

// stallingSonarQube is a server that accepts requests and never answers.
func stallingSonarQube(t *testing.T) (config string) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	dir := t.TempDir()
	task := filepath.Join(dir, "report-task.txt")
	os.WriteFile(task, []byte("projectKey=acme\nserverUrl="+srv.URL+"\nceTaskId=T1\nceTaskUrl="+srv.URL+"/api/ce/task?id=T1\n"), 0o644)
	config = filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(config, []byte("environments:\n  dev:\n    gates:\n      image: [sonarqube]\n    params:\n      sonarqube: {report_task: "+task+"}\n"), 0o644)
	return config
}

func TestCheckEvidenceTimeoutIsNotDecided(t *testing.T) {
	config := stallingSonarQube(t)
	out := filepath.Join(t.TempDir(), "out.json")
	r := runBounded(t, 5*time.Second, "check", "--config", config, "--timeout", "1s", "--format", "text", "--format", "json="+out, image)
	if r.code != 2 || !strings.Contains(r.stderr, "not decided") || !strings.Contains(r.stderr, "timeout of 1s") {
		t.Fatalf("exit %d, want 2, not decided, timeout named\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || strings.Contains(string(b), `"allowed": true`) || !strings.Contains(string(b), "not decided") {
		t.Errorf("JSON output does not say not decided (%v):\n%s", err, b)
	}
}

func TestCheckSignalEndsRunNotDecided(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			config := stallingSonarQube(t)
			out := filepath.Join(t.TempDir(), "out.json")
			cmd, wait := startGatehouse(t, nil, nil, "check", "--config", config, "--format", "text", "--format", "json="+out, image)
			time.Sleep(2 * time.Second) // the collector is waiting on the server, which never answers
			sent := time.Now()
			cmd.Process.Signal(sig)
			r := wait()
			if took := time.Since(sent); took > 2*time.Second {
				t.Errorf("exited %v after the signal, want within 2s", took)
			}
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			text := r.stdout + r.stderr
			if !strings.Contains(text, "not decided") || strings.Contains(text, "allowed in") || strings.Contains(text, "DENIED") {
				t.Errorf("output must say not decided, never allowed or denied:\n%s", text)
			}
			if b, _ := os.ReadFile(out); !strings.Contains(string(b), "not decided") {
				t.Errorf("JSON output does not say not decided:\n%s", b)
			}
		})
	}
}

// FuzzParseEvidenceSpec: a spec either parses into a name without ":" and
// a file (and a subject with a kind when bound), joining back to the
// spec, or is an error; never a panic.
func FuzzParseEvidenceSpec(f *testing.F) {
	for _, s := range []string{"model_scan=r.json", "model:m=model_scan=r.json", "image:r@sha256:aa=sonarqube=a=b.json", "=x", "x=", "a:b", "model:m=x", "", ":=:=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		e, err := parseEvidenceSpec(spec)
		if err != nil {
			return
		}
		if e.name == "" || e.file == "" || strings.Contains(e.name, ":") {
			t.Fatalf("%q parsed to %+v", spec, e)
		}
		joined := e.name + "=" + e.file
		if e.subject != "" {
			joined = e.subject + "=" + joined
		}
		if joined != spec {
			t.Fatalf("%q parsed to %+v, which joins to %q", spec, e, joined)
		}
	})
}

// TestCheckPolicyEvaluationBounded: a gate whose Rego runs for minutes is
// cut off by --timeout and by SIGTERM: exit 2, "not decided".
func TestCheckPolicyEvaluationBounded(t *testing.T) {
	dir := t.TempDir()
	src := "package gatehouse.gates.slow\n\ndeny contains \"pair\" if {\n\tsome i in numbers.range(1, 30000)\n\tsome j in numbers.range(1, 30000)\n\ti + j == -1\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "slow.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--policy", dir, "--gate", "slow", "--evidence", "slow=testdata/sonarqube/ok.json", image}
	t.Run("timeout", func(t *testing.T) {
		r := runBounded(t, 4*time.Second, append([]string{"check", "--timeout", "1s"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "not decided") || !strings.Contains(r.stderr, "timeout of 1s") {
			t.Fatalf("exit %d, want 2 naming the timeout\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		cmd, wait := startGatehouse(t, nil, nil, append([]string{"check"}, args...)...)
		time.Sleep(2 * time.Second) // well into the evaluation, which runs for minutes
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		r := wait()
		if took := time.Since(sent); took > 2*time.Second {
			t.Errorf("exited %v after SIGTERM, want within 2 s", took)
		}
		if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "not decided") || strings.Contains(r.stdout, "allowed in") {
			t.Fatalf("exit %d, want 2 and not decided\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

// TestCheckStepSummaryFIFO: a $GITHUB_STEP_SUMMARY nobody reads does not
// hang the run; the verdict stands and the summary error is reported.
func TestCheckStepSummaryFIFO(t *testing.T) {
	fifo := namedFIFO(t, "summary.md")
	_, wait := startGatehouse(t, nil, []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + fifo}, "check", "--evidence", "sonarqube=testdata/sonarqube/error.json", image)
	r := wait()
	if r.took > 2*time.Second || r.code != 1 || !strings.Contains(r.stderr, "FIFO that nobody reads") {
		t.Fatalf("exit %d after %v, want 1 within 2 s naming the FIFO\nstderr:\n%s", r.code, r.took, r.stderr)
	}
}

// TestCheckAttestFlagsFailFast: a bad --attest-format or key stops the run
// before any evidence is collected.
func TestCheckAttestFlagsFailFast(t *testing.T) {
	priv, _ := writeKeyPair(t, t.TempDir(), "k")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--attest", "--key", priv, "--attest-format", "cosign"}, "--attest-format"},
		{[]string{"--attest", "--key", "/nonexistent.key"}, "--key"},
	} {
		r := gatehouse(t, nil, append(append([]string{"check"}, tt.args...), "--evidence", "sonarqube=testdata/sonarqube/ok.json", image)...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, want 2 naming %s before any output\nstdout:\n%s\nstderr:\n%s", tt.args, r.code, tt.want, r.stdout, r.stderr)
		}
	}
}
