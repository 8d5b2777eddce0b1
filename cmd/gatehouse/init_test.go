package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/policies"
)

func TestInitTemplateParses(t *testing.T) {
	cfg, err := gates.ParseConfig("gatehouse.yaml", []byte(initConfig), t.TempDir())
	if err != nil {
		t.Fatalf("the init template does not load: %v", err)
	}
	if got := cfg.EnvironmentNames(); !slices.Equal(got, []string{"dev", "prod", "staging"}) {
		t.Errorf("environments %v, want dev, prod, staging", got)
	}
	// The same gates per kind as the shipped defaults.
	b, err := policies.FS.ReadFile("gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := gates.ParseConfig("default", b, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range shipped.EnvironmentNames() {
		for _, k := range gates.Kinds {
			if got, want := cfg.RequiredGates(env, k), shipped.RequiredGates(env, k); !slices.Equal(got, want) {
				t.Errorf("%s %s gates %v, the shipped defaults have %v", env, k, got, want)
			}
		}
	}
}

// TestInitTemplateShowsEveryParam keeps the template in step with the
// gates: every parameter a default gate (or a collector of its evidence)
// declares in METADATA appears in that gate's block of params.
func TestInitTemplateShowsEveryParam(t *testing.T) {
	blocks := paramBlocks(initConfig)
	declared := map[string][]string{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		b, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(b), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return err
		}
		gate, ok := strings.CutPrefix(m.Package.Path.String(), "data.gatehouse.gates.")
		if !ok {
			return nil
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" {
				continue
			}
			if ps, ok := a.Custom["params"].(map[string]any); ok {
				for k := range ps {
					declared[gate] = append(declared[gate], k)
				}
			}
			if eps, ok := a.Custom["evidence_params"].(map[string]any); ok {
				for ev, ps := range eps {
					if ps, ok := ps.(map[string]any); ok {
						for k := range ps {
							declared[ev] = append(declared[ev], k)
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 5 {
		t.Fatalf("found params for only %d gates in the embedded bundle: %v", len(declared), declared)
	}
	for gate, params := range declared {
		block, ok := blocks[gate]
		if !ok {
			t.Errorf("params.%s is not in the init template", gate)
			continue
		}
		for _, p := range params {
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(p) + `\b`).MatchString(block) {
				t.Errorf("params.%s.%s is not shown in the init template", gate, p)
			}
		}
	}
}

// paramBlocks splits the template's params section into one text per
// gate, commented or not.
func paramBlocks(tmpl string) map[string]string {
	header := regexp.MustCompile(`^  (?:# )?([a-z_]+):\s*(?:#.*)?$`)
	out := map[string]string{}
	inParams, gate := false, ""
	for _, line := range strings.Split(tmpl, "\n") {
		switch {
		case line == "params:":
			inParams = true
			continue
		case inParams && line != "" && !strings.HasPrefix(line, " "):
			return out
		case !inParams:
			continue
		}
		if m := header.FindStringSubmatch(line); m != nil {
			gate = m[1]
		}
		if gate != "" {
			out[gate] += line + "\n"
		}
	}
	return out
}

func TestWriteInitConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "repo")
	p, err := writeInitConfig(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != initConfig {
		t.Fatalf("written file differs from the template (%v)", err)
	}
	if err := os.WriteFile(p, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeInitConfig(dir, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("existing file: err = %v, want a refusal naming --force", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "mine\n" {
		t.Fatal("the existing file was changed without --force")
	}
	if _, err := writeInitConfig(dir, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != initConfig {
		t.Fatal("--force did not replace the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}

	// A FIFO in its place is neither opened (that would block) nor kept.
	fifoDir := t.TempDir()
	fifo := filepath.Join(fifoDir, "gatehouse.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := writeInitConfig(fifoDir, false); err == nil {
		t.Fatal("a FIFO in place was not refused")
	}
	if _, err := writeInitConfig(fifoDir, true); err != nil {
		t.Fatalf("--force over a FIFO: %v", err)
	}
	if st, err := os.Lstat(fifo); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("--force over a FIFO: %v, %v", st, err)
	}

	// A folder in its place is an error, with or without --force.
	dirDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dirDir, "gatehouse.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		if _, err := writeInitConfig(dirDir, force); err == nil {
			t.Fatalf("force=%v: a folder in place was not refused", force)
		}
	}
}
