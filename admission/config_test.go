package admission

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// parseAdmission parses the admission section of a gatehouse.yaml text
// through gates.ParseConfig, as the server does.
func parseAdmission(t *testing.T, doc string) (*Config, error) {
	t.Helper()
	g, err := gates.ParseConfig("gatehouse.yaml", []byte(doc), "/etc/gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	return ParseConfig(&g.Admission, "/etc/gatehouse/gatehouse.yaml")
}

const envs = "environments:\n  prod: {gates: {image: [signature]}}\n"

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseAdmission(t, envs)
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultMode != ModeEnforce || c.FailureMode != FailClosed || c.Timeout != DefaultTimeout || c.Cache.TTL != DefaultCacheTTL ||
		c.Cache.MaxEntries != DefaultCacheMax || c.VSA.MaxAge != DefaultVSAMaxAge || !c.VSA.RequireVSA() ||
		c.EnvironmentLabel != DefaultEnvironmentLabel || c.GPULabel != DefaultGPULabel {
		t.Fatalf("defaults %+v", c)
	}
	if diff := cmp.Diff(DefaultExemptNamespaces, c.ExemptNamespaces); diff != "" {
		t.Fatal(diff)
	}
	if c, err := ParseConfig(nil, "x.yaml"); err != nil || c.DefaultMode != ModeEnforce {
		t.Fatalf("nil node: %v %+v", err, c)
	}
}

func TestParseConfigFull(t *testing.T) {
	c, err := parseAdmission(t, envs+`admission:
  default_mode: warn
  exempt_namespaces: [kube-system]
  namespaces:
    ml-dev: {mode: audit, environment: dev, failure_mode: open, labels: {gatehouse.dev/gpu: "true"}}
  failure_mode: closed
  vsa: {keys: [keys/gate.pub], max_age: 48h, accepted_policy_digests: ["sha256:`+strings.Repeat("ab", 32)+`"], require: true}
  model_sources: [gs://acme-models/]
  cache: {ttl: 1m, max_entries: 50}
  timeout: 3s
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.DefaultMode != ModeWarn || c.Timeout != 3*time.Second || c.Cache.MaxEntries != 50 || c.VSA.MaxAge != 48*time.Hour {
		t.Fatalf("parsed %+v", c)
	}
	if got := c.Path(c.VSA.Keys[0]); got != "/etc/gatehouse/keys/gate.pub" {
		t.Fatalf("key path %s", got)
	}
	ns := c.Namespace("ml-dev", map[string]string{"gatehouse.dev/mode": "enforce", "team": "a"})
	want := Namespace{Name: "ml-dev", Labels: map[string]string{"gatehouse.dev/mode": "enforce", "team": "a", "gatehouse.dev/gpu": "true"}, Mode: ModeAudit, Environment: "dev", FailureMode: FailOpen}
	if diff := cmp.Diff(want, ns); diff != "" {
		t.Fatalf("static settings win over labels (-want +got):\n%s", diff)
	}
	if !c.Namespace("kube-system", nil).Exempt || c.Namespace("kube-public", nil).Exempt {
		t.Fatal("exempt list not taken as configured")
	}
}

func TestNamespaceFromLabels(t *testing.T) {
	c, _ := ParseConfig(nil, "x.yaml")
	tests := []struct {
		labels   map[string]string
		mode     string
		env      string
		fallback string
	}{
		{nil, ModeEnforce, "prod", "no labels: enforce in prod"},
		{map[string]string{"gatehouse.dev/environment": "dev", "gatehouse.dev/mode": "warn"}, ModeWarn, "dev", ""},
		{map[string]string{"gatehouse.dev/mode": "audit"}, ModeAudit, "prod", ""},
		{map[string]string{"gatehouse.dev/mode": "off"}, ModeEnforce, "prod", "an unknown mode enforces"},
	}
	for _, tt := range tests {
		ns := c.Namespace("team", tt.labels)
		if ns.Mode != tt.mode || ns.Environment != tt.env || ns.Exempt {
			t.Errorf("labels %v: %+v, want mode %s env %s (%s)", tt.labels, ns, tt.mode, tt.env, tt.fallback)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, section, msg string
	}{
		{"unknown key", "  defualt_mode: warn\n", `line 4: admission: unknown key "defualt_mode"`},
		{"unknown nested key", "  vsa: {key: [a]}\n", `line 4: admission.vsa: unknown key "key"`},
		{"unknown namespace key", "  namespaces: {a: {mod: warn}}\n", `admission.namespaces.a: unknown key "mod"`},
		{"bad mode", "  default_mode: block\n", `line 4: admission.default_mode: "block" is not one of enforce, warn, audit`},
		{"bad failure mode", "  namespaces: {a: {failure_mode: maybe}}\n", `"maybe" is not one of closed, open`},
		{"wrong type list", "  exempt_namespaces: kube-system\n", "line 4: admission.exempt_namespaces must be a list"},
		{"wrong type duration", "  timeout: soon\n", "line 4"},
		{"wrong type count", "  cache: {max_entries: many}\n", "line 4"},
		{"negative", "  timeout: -1s\n", "line 4: admission.timeout: -1s is negative"},
		{"bad digest", "  vsa: {accepted_policy_digests: [abc]}\n", `"abc" is not sha256:<64 hex>`},
		{"bad model source", "  model_sources: [acme-models]\n", `model_sources[0] "acme-models" is not a URI prefix`},
		{"not a mapping", "  - a\n", "admission must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAdmission(t, envs+"admission:\n"+tt.section)
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "/etc/gatehouse/gatehouse.yaml: ") {
				t.Fatalf("got %v, want an error naming the file and %q", err, tt.msg)
			}
		})
	}
	// A YAML alias resolves like the value it names.
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("a: &m warn\nadmission: {default_mode: *m}\n"), &n); err != nil {
		t.Fatal(err)
	}
	if c, err := ParseConfig(n.Content[0].Content[3], "x.yaml"); err != nil || c.DefaultMode != ModeWarn {
		t.Fatalf("alias: %v", err)
	}
}
