package gates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policies"
)

// newParamEngine parses src as gatehouse.yaml and builds an engine over the
// default bundle (and extra options), as `gatehouse check` does.
func newParamEngine(t *testing.T, src string, opts ...Option) error {
	t.Helper()
	cfg, err := ParseConfig("gatehouse.yaml", []byte(src), t.TempDir())
	if err != nil {
		return err
	}
	_, err = New(append([]Option{WithConfig(cfg), WithDefaultPolicies(policies.FS)}, opts...)...)
	return err
}

const paramEnvs = `
environments:
  dev:
    gates: {model: [model_scan]}
`

func TestParamsShippedConfig(t *testing.T) {
	b, err := policies.FS.ReadFile("gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig("gatehouse.yaml", b, "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(WithConfig(cfg), WithDefaultPolicies(policies.FS))
	if err != nil {
		t.Fatalf("the shipped configuration does not pass its own gates' schemas: %v", err)
	}
	// Every default gate declares its parameters: none takes params blind.
	for _, g := range e.Gates() {
		if e.policies.gates[g].Params == nil {
			t.Errorf("default gate %s declares no custom.params", g)
		}
	}
}

func TestParamsAccepted(t *testing.T) {
	src := `
params:
  model_scan: {fail_on: critical}
  modelscan: {report: reports/modelscan.json}
  sonarqube: &sq
    allow_warn: false
    max_new_issues: {BLOCKER: 0, HIGH: 3}
    report_task: .scannerwork/report-task.txt
    timeout: 5m
    poll_interval: 2
  pii:
    max: {IP_ADDRESS: 100, EMAIL_ADDRESS: 0}
    default_max: 0
    deny_secrets: true
    warn_only: [PERSON]
    skipped: deny
    sample_rows: 1000
  license:
    allow: [MIT, "Apache-*"]
    deny: [AGPL-*]
    unknown: deny
    unlisted: warn
    sbom: sbom.spdx.json
    min_coverage: 80.5
  model_card: {required: [intended_use, evaluation], enforce: true}
  signature:
    formats: [cosign-tag]
    keys: keys/cosign.pub
    identities:
      - {issuer: https://token.actions.githubusercontent.com, subject_regexp: "^https://github.com/acme/.*$"}
    trusted_root: trusted_root.json
    require_tlog: false
    ignore_sct: false
  provenance:
    builders: [https://builder.example/v1]
    repositories: ["https://github.com/acme/*"]
    keys: [keys/a.pub, keys/b.pub]
` + paramEnvs + `
  prod:
    gates: {image: [sonarqube]}
    params:
      sonarqube:
        <<: *sq
        timeout: 600
`
	if err := newParamEngine(t, src); err != nil {
		t.Fatal(err)
	}
}

func TestParamErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each a substring of the error
	}{
		{
			name: "typo'd enum suggests the closest value",
			src:  "params:\n  model_scan:\n    fail_on: crit\n" + paramEnvs,
			want: []string{`gatehouse.yaml:3: params.model_scan.fail_on: "crit" is not one of low, medium, high, critical (did you mean critical?)`},
		},
		{
			name: "string for a boolean, in an environment",
			src:  paramEnvs + "  prod:\n    gates: {image: [sonarqube]}\n    params:\n      sonarqube: {allow_warn: \"false\"}\n",
			want: []string{`gatehouse.yaml:8: environments.prod.params.sonarqube.allow_warn: want true or false, got "false" (a string) (write false without quotes)`},
		},
		{
			name: "float for an integer",
			src:  "params:\n  pii: {default_max: 1.5}\n" + paramEnvs,
			want: []string{`gatehouse.yaml:2: params.pii.default_max: 1.5 is not a whole number`},
		},
		{
			name: "negative count under free keys",
			src:  "params:\n  sonarqube:\n    max_new_issues:\n      BLOCKER: -1\n" + paramEnvs,
			want: []string{`gatehouse.yaml:4: params.sonarqube.max_new_issues.BLOCKER: -1 is less than the minimum, 0`},
		},
		{
			name: "count as a fraction under free keys",
			src:  "params:\n  pii:\n    max: {IP_ADDRESS: 0.5}\n" + paramEnvs,
			want: []string{`gatehouse.yaml:3: params.pii.max.IP_ADDRESS: 0.5 is not a whole number`},
		},
		{
			name: "unknown free key",
			src:  "params:\n  pii:\n    max: {EMAIL: 3}\n" + paramEnvs,
			want: []string{`gatehouse.yaml:3: params.pii.max.EMAIL: key "EMAIL" is not one of EMAIL_ADDRESS`, `(did you mean EMAIL_ADDRESS?)`},
		},
		{
			name: "unknown key",
			src:  "params:\n  sonarqube:\n    alow_warn: false\n" + paramEnvs,
			want: []string{`gatehouse.yaml:3: params.sonarqube.alow_warn: unknown parameter: sonarqube takes allow_warn, max_new_issues, poll_interval, report_task, timeout (did you mean allow_warn?)`},
		},
		{
			name: "unknown gate",
			src:  "params:\n  sonarqube: {allow_warn: true}\n  model_scna: {fail_on: high}\n" + paramEnvs,
			want: []string{`gatehouse.yaml:3: params.model_scna: no gate model_scna in the policy`, `(did you mean model_scan?)`},
		},
		{
			name: "unknown gate in an environment",
			src:  paramEnvs + "    params:\n      licence: {unknown: deny}\n",
			want: []string{`gatehouse.yaml:6: environments.dev.params.licence: no gate licence`, `(did you mean license?)`},
		},
		{
			name: "empty value",
			src:  "params:\n  model_scan:\n    fail_on:\n" + paramEnvs,
			want: []string{`gatehouse.yaml:3: params.model_scan.fail_on: is empty: give one of low, medium, high, critical, or remove the key`},
		},
		{
			name: "quoted number",
			src:  "params:\n  pii: {default_max: \"10\"}\n" + paramEnvs,
			want: []string{`params.pii.default_max: want a whole number, got "10" (a string) (write 10 without quotes)`},
		},
		{
			name: "bad duration",
			src:  "params:\n  sonarqube: {timeout: 5 minutes}\n" + paramEnvs,
			want: []string{`gatehouse.yaml:2: params.sonarqube.timeout: "5 minutes" is not a duration`},
		},
		{
			name: "zero duration",
			src:  "params:\n  sonarqube: {poll_interval: 0s}\n" + paramEnvs,
			want: []string{`params.sonarqube.poll_interval: "0s" must be more than 0 seconds`},
		},
		{
			name: "list item not in the enum",
			src:  "params:\n  model_card:\n    required:\n      - intended_use\n      - limitation\n" + paramEnvs,
			want: []string{`gatehouse.yaml:5: params.model_card.required[1]: "limitation" is not one of`, `(did you mean limitations?)`},
		},
		{
			name: "a string where a list is wanted",
			src:  "params:\n  license: {deny: AGPL-3.0}\n" + paramEnvs,
			want: []string{`params.license.deny: want a list, got "AGPL-3.0" (a string)`},
		},
		{
			name: "identity with an unknown field and a bad regexp",
			src:  "params:\n  signature:\n    identities:\n      - issuer: https://x\n        subjet: a\n      - issuer: https://y\n        subject_regexp: \"(\"\n" + paramEnvs,
			want: []string{
				`gatehouse.yaml:5: params.signature.identities[0].subjet: unknown key: want issuer, issuer_regexp, subject, subject_regexp (did you mean subject?)`,
				`gatehouse.yaml:7: params.signature.identities[1].subject_regexp: "(" is not a regular expression`,
			},
		},
		{
			name: "collector params block",
			src:  "params:\n  modelscan: {reprt: a.json}\n" + paramEnvs,
			want: []string{`gatehouse.yaml:2: params.modelscan.reprt: unknown parameter: modelscan takes report (did you mean report?)`},
		},
		{
			name: "a date where a string is wanted",
			src:  "params:\n  sonarqube: {report_task: 2024-01-01}\n" + paramEnvs,
			want: []string{`params.sonarqube.report_task: want a string, got a date (quote it to make it a string)`},
		},
		{
			name: "line found through a merge key",
			src:  "params:\n  pii: {max: {PERSON: 1}}\n" + paramEnvs + "    params:\n      pii:\n        <<: {default_max: x}\n",
			want: []string{`gatehouse.yaml:9: environments.dev.params.pii.default_max: want a whole number, got "x" (a string)`},
		},
		{
			name: "every error is listed, in file order",
			src:  "params:\n  model_scan: {fail_on: hgh}\n  pii: {skipped: ignore}\n" + paramEnvs,
			want: []string{"gatehouse.yaml:2: params.model_scan.fail_on: \"hgh\" is not one of low, medium, high, critical (did you mean high?)\ngatehouse.yaml:3: params.pii.skipped: \"ignore\" is not one of warn, deny"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newParamEngine(t, tt.src)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrUndecided) {
				t.Errorf("err = %v, want ErrUndecided (exit 2)", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err =\n%v\nwant it to contain\n%s", err, w)
				}
			}
		})
	}
}

// writeGate writes a custom gate package into a new folder.
func writeGate(t *testing.T, name, metadata string) string {
	t.Helper()
	dir := t.TempDir()
	src := "# METADATA\n# title: " + name + "\n# custom:\n#   evidence: [" + name + "]\n" + metadata +
		"package gatehouse.gates." + name + "\n\nimport data.gatehouse.lib\n\ndeny contains v if some v in lib.evidence_denials(\"" + name + "\")\n"
	if err := os.WriteFile(filepath.Join(dir, name+".rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCustomGateParams(t *testing.T) {
	withSchema := writeGate(t, "team", "#   params:\n#     max_mb: {type: integer, minimum: 1}\n#     owners: {type: array, items: {type: string}}\n")
	noSchema := writeGate(t, "legacy", "")
	tests := []struct {
		name, policy, params, want string
	}{
		{"declared params are accepted", withSchema, "team: {max_mb: 10, owners: [a]}", ""},
		{"declared params are typed", withSchema, "team: {max_mb: \"10\"}", `gatehouse.yaml:3: params.team.max_mb: want a whole number, got "10" (a string)`},
		{"unknown key of a custom gate", withSchema, "team: {max_gb: 1}", `params.team.max_gb: unknown parameter: team takes max_mb, owners`},
		{"below the minimum", withSchema, "team: {max_mb: 0}", `params.team.max_mb: 0 is less than the minimum, 1`},
		{"no schema and no params is fine", noSchema, "sonarqube: {allow_warn: true}", ""},
		{"no schema but params", noSchema, "legacy: {limit: 3}", "gatehouse.yaml:3: params.legacy: gate legacy (" + noSchema + "/legacy.rego) declares no parameters: declare them in its METADATA under custom.params"},
		{"a gate the run does not load", noSchema, "team: {max_mb: 1}", "params.team: no gate team in the policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "\nparams:\n  " + tt.params + "\n" + paramEnvs
			err := newParamEngine(t, src, WithPolicies(tt.policy))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParamsOfEnvironmentPolicies(t *testing.T) {
	team := writeGate(t, "team", "#   params:\n#     max_mb: {type: integer}\n")
	// prod loads the team gate; dev does not. Relative paths resolve
	// against the configuration's folder.
	dir := filepath.Dir(team)
	src := "params:\n  team: {max_mb: 5}\nenvironments:\n  dev:\n    gates: {model: [model_scan]}\n  prod:\n    gates: {model: [team]}\n    policies: [" + filepath.Base(team) + "]\n    params:\n      team: {max_mb: %s}\n"
	build := func(val string, loadTeam bool) error {
		cfg, err := ParseConfig("gatehouse.yaml", []byte(strings.Replace(src, "%s", val, 1)), dir)
		if err != nil {
			return err
		}
		opts := []Option{WithConfig(cfg), WithDefaultPolicies(policies.FS)}
		if loadTeam {
			opts = append(opts, WithPolicies(cfg.Path(filepath.Base(team))))
		}
		_, err = New(opts...)
		return err
	}
	if err := build("7", false); err != nil {
		t.Errorf("a dev run (team gate not loaded) rejected prod's params: %v", err)
	}
	if err := build("7", true); err != nil {
		t.Errorf("a prod run rejected good params: %v", err)
	}
	// A bad value is caught by the run that loads the gate...
	if err := build("big", true); err == nil || !strings.Contains(err.Error(), "gatehouse.yaml:10: environments.prod.params.team.max_mb") {
		t.Errorf("prod run: err = %v, want the bad max_mb named", err)
	}
	// ...and a typo'd gate name by the run that loads every environment's policies.
	typo := strings.Replace(src, "params:\n  team:", "params:\n  taem:", 1)
	cfg, err := ParseConfig("gatehouse.yaml", []byte(strings.Replace(typo, "%s", "1", 1)), dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(WithConfig(cfg), WithDefaultPolicies(policies.FS), WithPolicies(cfg.Path(filepath.Base(team))))
	if err == nil || !strings.Contains(err.Error(), "params.taem: no gate taem in the policy") || !strings.Contains(err.Error(), "did you mean team?") {
		t.Errorf("err = %v, want the unknown gate named", err)
	}
}

func TestMalformedParamSchema(t *testing.T) {
	tests := []struct{ name, metadata, want string }{
		{"unknown keyword", "#   params:\n#     n: {type: integer, minimun: 0}\n", `custom.params.n: unknown schema keyword "minimun"`},
		{"unknown type", "#   params:\n#     n: {type: int}\n", `custom.params.n.type: unknown type "int"`},
		{"no type", "#   params:\n#     n: {description: a number}\n", "custom.params.n: needs a type or an enum"},
		{"enum of the wrong type", "#   params:\n#     n: {type: string, enum: [a, 1]}\n", "custom.params.n.enum: 1 is not of type string"},
		{"empty enum", "#   params:\n#     n: {type: string, enum: []}\n", "custom.params.n.enum: want a non-empty list"},
		{"minimum on a string", "#   params:\n#     n: {type: string, minimum: 1}\n", "custom.params.n.minimum: only applies to numbers and durations"},
		{"items on a string", "#   params:\n#     n: {type: string, items: {type: string}}\n", "custom.params.n.items: only applies to type array"},
		{"bad items", "#   params:\n#     n: {type: array, items: string}\n", "custom.params.n.items: a schema must be a mapping"},
		{"required that is no property", "#   params:\n#     n: {type: object, properties: {a: {type: string}}, required: [b]}\n", `custom.params.n.required: "b" is not one of its properties`},
		{"unknown format", "#   params:\n#     n: {type: string, format: email}\n", "custom.params.n.format: want one of duration, regexp"},
		{"params not a mapping", "#   params: [n]\n", "custom.params must be a mapping of parameter name to schema"},
		{"evidence params for evidence not read", "#   evidence_params:\n#     other: {x: {type: string}}\n", "declares evidence_params.other but does not read that evidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeGate(t, "team", tt.metadata)
			err := newParamEngine(t, paramEnvs, WithPolicies(dir))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range []string{tt.want, "gate team", dir + "/team.rego"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDidYouMean(t *testing.T) {
	names := []string{"low", "medium", "high", "critical"}
	for in, want := range map[string]string{
		"crit": " (did you mean critical?)", "hgh": " (did you mean high?)", "Medium": " (did you mean medium?)",
		"severe": "", "": "", "x": "",
	} {
		if got := didYouMean(in, names); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseConfig: any input is a configuration or an error, never a
// panic, and the params check of one that parses never panics either.
func FuzzParseConfig(f *testing.F) {
	b, err := policies.FS.ReadFile("gatehouse.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(testConfig))
	f.Add([]byte("params:\n  model_scan: {fail_on: crit}\n" + paramEnvs))
	f.Add([]byte("params:\n  sonarqube: &a {max_new_issues: {BLOCKER: -1}}\n  pii:\n    <<: *a\n" + paramEnvs))
	f.Add([]byte("params:\n  signature: {identities: [{issuer: x, subject_regexp: \"(\"}]}\n" + paramEnvs + "    params: {pii: {max: {1: 2}}}\n"))
	srcs, err := readFSPolicies(policies.FS, defaultPolicyPrefix)
	if err != nil {
		f.Fatal(err)
	}
	bs, err := compilePolicies(srcs, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data, "")
		if err != nil {
			return
		}
		if err := checkParams(cfg, bs); err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml") {
			t.Fatalf("a params error does not name the file: %v", err)
		}
		_ = cfg.Data(cfg.DefaultEnvironment)
	})
}

func TestParamErrorsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("params:\n  sonarqube:\n")
	for i := range 500 {
		fmt.Fprintf(&b, "    k%03d: 1\n", i)
	}
	err := newParamEngine(t, b.String()+paramEnvs)
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxParamErrors+1 || lines[len(lines)-1] != "... and 480 more" {
		t.Fatalf("%d lines, last %q; want %d errors and \"... and 480 more\"", len(lines), lines[len(lines)-1], maxParamErrors)
	}
	if !strings.Contains(lines[0], "gatehouse.yaml:3: params.sonarqube.k000") {
		t.Errorf("first error %q, want the first key's line", lines[0])
	}
}

// The example gate of docs/policies.md compiles, and its params are checked.
func TestPoliciesDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Declaring parameters")
	_, rest, ok2 := strings.Cut(rest, "```rego\n")
	example, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/policies.md has no rego example under \"## Declaring parameters\"")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "max_size.rego"), []byte(example+"\ndeny contains \"x\" if false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "params:\n  max_size: {max_bytes: 10, on_unknown: deny, owners: [a], per_format: {onnx: 1}}\n" + paramEnvs
	if err := newParamEngine(t, good, WithPolicies(dir)); err != nil {
		t.Fatalf("good params: %v", err)
	}
	bad := "params:\n  max_size: {per_format: {pt: 1}}\n" + paramEnvs
	if err := newParamEngine(t, bad, WithPolicies(dir)); err == nil || !strings.Contains(err.Error(), `params.max_size.per_format.pt: key "pt" is not one of onnx, safetensors, gguf`) {
		t.Fatalf("bad params: err = %v", err)
	}
}
