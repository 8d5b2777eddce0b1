package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Parameters fail closed through the binary: a typo, a quoted boolean, an
// unknown key or gate is exit 2 naming file and line, before any scan; the
// same configuration written correctly decides.
func TestCheckTypedParams(t *testing.T) {
	dir := t.TempDir()
	noSchema := filepath.Join(dir, "legacy")
	if err := os.MkdirAll(noSchema, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(noSchema, "legacy.rego"), []byte("package gatehouse.gates.legacy\n\ndeny contains \"x\" if false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	envs := "environments:\n  dev:\n    gates: {model: [model_scan], image: [sonarqube]}\n"
	tests := []struct {
		name, params string
		extra        []string
		want         string // in stderr; "" means the run decides (exit 0 or 1)
	}{
		{"typo'd enum", "params:\n  model_scan:\n    fail_on: crit\n", nil,
			`params.yaml:3: params.model_scan.fail_on: "crit" is not one of low, medium, high, critical (did you mean critical?)`},
		{"quoted boolean in an environment", envs + "    params:\n      sonarqube: {allow_warn: \"false\"}\n", nil,
			`params.yaml:5: environments.dev.params.sonarqube.allow_warn: want true or false, got "false" (a string)`},
		{"unknown key", "params:\n  pii: {default_mx: 3}\n", nil,
			`params.yaml:2: params.pii.default_mx: unknown parameter: pii takes`},
		{"unknown gate", "params:\n  model_scans: {fail_on: high}\n", nil,
			`params.yaml:2: params.model_scans: no gate model_scans in the policy`},
		{"custom gate without a schema", "params:\n  legacy: {limit: 1}\n", []string{"--policy", noSchema},
			"params.yaml:2: params.legacy: gate legacy (" + noSchema + "/legacy.rego) declares no parameters"},
		{"a collector's param is checked before the collector reads it", "params:\n  sonarqube: {timeout: 5 minutes}\n", nil,
			`params.yaml:2: params.sonarqube.timeout: "5 minutes" is not a duration`},
		{"good params decide", "params:\n  model_scan: {fail_on: critical}\n  sonarqube: {allow_warn: false}\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.params
			if !strings.Contains(src, "environments:") {
				src += envs
			}
			cfg := filepath.Join(dir, "params.yaml")
			if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"check", "--config", cfg}, tt.extra...)
			r := gatehouse(t, nil, append(args, "model:testdata/models/clean")...)
			if tt.want == "" {
				if r.code == 2 {
					t.Fatalf("good params: exit 2, stderr %s", r.stderr)
				}
				return
			}
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, cfg[:len(cfg)-len("params.yaml")]+tt.want) {
				t.Fatalf("stderr %q\nwant it to contain %q", r.stderr, tt.want)
			}
		})
	}
}
