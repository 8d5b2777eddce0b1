// Package admission is gatehouse's run-time door: it reads AdmissionReviews,
// finds every image (and model URI) a workload would run, verifies each
// image's signatures and the VSA the CI gate attached to its digest, and
// evaluates the admission policy (Rego package gatehouse.admission) to
// allow, warn about or deny the workload.
package admission

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Modes of a namespace.
const (
	// ModeEnforce denies what the policy denies.
	ModeEnforce = "enforce"
	// ModeWarn allows, and returns what would have been denied as warnings.
	ModeWarn = "warn"
	// ModeAudit allows, and records what would have been denied.
	ModeAudit = "audit"
)

// Failure modes: what an enforcing namespace does when an image could not
// be verified at all (registry down, deadline passed).
const (
	FailClosed = "closed"
	FailOpen   = "open"
)

// Defaults of the admission section.
const (
	DefaultEnvironmentLabel = "gatehouse.dev/environment"
	DefaultModeLabel        = "gatehouse.dev/mode"
	DefaultGPULabel         = "gatehouse.dev/gpu"
	// DefaultEnvironment is a namespace's environment when it has no label:
	// the strictest one.
	DefaultEnvironment = "prod"
	DefaultTimeout     = 8 * time.Second
	DefaultCacheTTL    = 5 * time.Minute
	DefaultCacheMax    = 10000
	DefaultVSAMaxAge   = 720 * time.Hour
)

// DefaultExemptNamespaces are never reviewed unless the configuration
// lists its own.
var DefaultExemptNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "gatehouse-system"}

// Config is the `admission:` section of gatehouse.yaml.
type Config struct {
	DefaultMode      string                      `yaml:"default_mode" enum:"enforce,warn,audit"`
	ExemptNamespaces []string                    `yaml:"exempt_namespaces"`
	Namespaces       map[string]*NamespaceConfig `yaml:"namespaces"`
	EnvironmentLabel string                      `yaml:"environment_label"`
	ModeLabel        string                      `yaml:"mode_label"`
	GPULabel         string                      `yaml:"gpu_label"`
	FailureMode      string                      `yaml:"failure_mode" enum:"closed,open"`
	VSA              VSAConfig                   `yaml:"vsa"`
	// ModelSources are the URI prefixes model URIs may come from.
	ModelSources []string      `yaml:"model_sources"`
	Cache        CacheConfig   `yaml:"cache"`
	Timeout      time.Duration `yaml:"timeout"`
	// PinnedEnvironments are the environments whose images must be pinned
	// by digest (default: prod).
	PinnedEnvironments []string `yaml:"pinned_environments"`

	// dir resolves relative key paths; file names errors.
	dir, file string
}

// NamespaceConfig overrides what a namespace's labels say (or stands in
// for them when there is no cluster to ask).
type NamespaceConfig struct {
	Mode        string            `yaml:"mode" enum:"enforce,warn,audit"`
	Environment string            `yaml:"environment"`
	FailureMode string            `yaml:"failure_mode" enum:"closed,open"`
	Labels      map[string]string `yaml:"labels"`
}

// VSAConfig says which VSAs admit an image.
type VSAConfig struct {
	// Keys are PEM public keys (paths relative to the configuration file,
	// or inline PEM) that may sign VSAs.
	Keys   []string      `yaml:"keys"`
	MaxAge time.Duration `yaml:"max_age"`
	// AcceptedPolicyDigests are accepted beside the digest of the gates
	// policy the server loaded.
	AcceptedPolicyDigests []string `yaml:"accepted_policy_digests"`
	// AcceptedConfigDigests, when set, replace the configuration digest of
	// the server's own engine for the environment.
	AcceptedConfigDigests []string `yaml:"accepted_config_digests"`
	// Require a VSA (default true); false leaves signatures only.
	Require *bool `yaml:"require"`
}

// CacheConfig bounds the verification cache.
type CacheConfig struct {
	TTL        time.Duration `yaml:"ttl"`
	MaxEntries int           `yaml:"max_entries"`
}

// RequireVSA reports whether a VSA is required (the default).
func (v VSAConfig) RequireVSA() bool { return v.Require == nil || *v.Require }

// ParseConfig reads the admission section (node may be nil or empty: all
// defaults). Unknown keys, wrong types and unknown enum values are errors
// naming file and line. Relative key paths resolve against file's folder.
func ParseConfig(node *yaml.Node, file string) (*Config, error) {
	c := &Config{dir: filepath.Dir(file), file: file}
	if node != nil && node.Kind != 0 {
		lines := map[string]int{}
		if err := checkNode(node, reflect.TypeFor[Config](), "admission", lines, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if err := node.Decode(c); err != nil {
			return nil, fmt.Errorf("%s: admission: %w", file, err)
		}
		if err := c.validate(lines); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	c.defaults()
	return c, nil
}

func (c *Config) defaults() {
	if c.DefaultMode == "" {
		c.DefaultMode = ModeEnforce
	}
	if c.ExemptNamespaces == nil {
		c.ExemptNamespaces = slices.Clone(DefaultExemptNamespaces)
	}
	if c.EnvironmentLabel == "" {
		c.EnvironmentLabel = DefaultEnvironmentLabel
	}
	if c.ModeLabel == "" {
		c.ModeLabel = DefaultModeLabel
	}
	if c.GPULabel == "" {
		c.GPULabel = DefaultGPULabel
	}
	if c.FailureMode == "" {
		c.FailureMode = FailClosed
	}
	if c.VSA.MaxAge == 0 {
		c.VSA.MaxAge = DefaultVSAMaxAge
	}
	if c.Cache.TTL == 0 {
		c.Cache.TTL = DefaultCacheTTL
	}
	if c.Cache.MaxEntries == 0 {
		c.Cache.MaxEntries = DefaultCacheMax
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PinnedEnvironments == nil {
		c.PinnedEnvironments = []string{DefaultEnvironment}
	}
}

func (c *Config) validate(lines map[string]int) error {
	at := func(p string) string {
		if l, ok := lines[p]; ok {
			return fmt.Sprintf("line %d: %s", l, p)
		}
		return p
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{{"admission.timeout", c.Timeout}, {"admission.cache.ttl", c.Cache.TTL}, {"admission.vsa.max_age", c.VSA.MaxAge}} {
		if d.v < 0 {
			return fmt.Errorf("%s: %s is negative: want a positive duration such as 8s or 5m", at(d.path), d.v)
		}
	}
	if c.Cache.MaxEntries < 0 {
		return fmt.Errorf("%s: %d is negative: want a positive count", at("admission.cache.max_entries"), c.Cache.MaxEntries)
	}
	for i, d := range slices.Concat(c.VSA.AcceptedPolicyDigests, c.VSA.AcceptedConfigDigests) {
		if !validDigest(d) {
			return fmt.Errorf("admission.vsa: digest %d %q is not sha256:<64 hex>", i, d)
		}
	}
	for i, s := range c.ModelSources {
		if !strings.Contains(s, "://") {
			return fmt.Errorf("%s: model_sources[%d] %q is not a URI prefix such as gs://bucket/ or oci://registry/repo/", at("admission.model_sources"), i, s)
		}
	}
	for name, ns := range c.Namespaces {
		if ns == nil {
			return fmt.Errorf("%s: namespaces.%s is empty", at("admission.namespaces"), name)
		}
	}
	return nil
}

// checkNode walks a YAML node against the struct it decodes into: every
// mapping key must be a field (by its yaml tag), and fields tagged enum
// must hold one of the listed values. lines records the line of each path.
func checkNode(n *yaml.Node, t reflect.Type, path string, lines map[string]int, depth int) error {
	if depth > 16 {
		return fmt.Errorf("line %d: %s: nested too deeply", n.Line, path)
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	lines[path] = n.Line
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[time.Duration]() {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: %s must be a mapping", n.Line, path)
		}
		fields := map[string]reflect.StructField{}
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && f.IsExported() {
				fields[name] = f
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("line %d: %s: unknown key %q (want one of %s)", k.Line, path, k.Value, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
			}
			if enum := f.Tag.Get("enum"); enum != "" && v.Kind == yaml.ScalarNode && !slices.Contains(strings.Split(enum, ","), v.Value) {
				return fmt.Errorf("line %d: %s.%s: %q is not one of %s", v.Line, path, k.Value, v.Value, strings.ReplaceAll(enum, ",", ", "))
			}
			if err := checkNode(v, f.Type, path+"."+k.Value, lines, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: %s must be a mapping", n.Line, path)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value, lines, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("line %d: %s must be a list", n.Line, path)
		}
		for i, e := range n.Content {
			if err := checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lines, depth+1); err != nil {
				return err
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s must be a single value, not a %s", n.Line, path, kindName(n.Kind))
		}
	}
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, r := range h {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Path resolves a path written in the configuration file.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" || strings.Contains(p, "-----BEGIN") {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Namespace is what admission needs to know about a namespace.
type Namespace struct {
	Name   string
	Labels map[string]string
	// Mode is enforce, warn or audit.
	Mode string
	// Environment is the gatehouse.yaml environment whose VSAs and
	// signatures the namespace's images need.
	Environment string
	// FailureMode is closed or open.
	FailureMode string
	// Exempt namespaces are not reviewed.
	Exempt bool
}

// NamespaceLookup finds a namespace's labels and settings.
type NamespaceLookup interface {
	Namespace(ctx context.Context, name string) (Namespace, error)
}

// Namespace resolves a namespace from its labels (nil without a cluster)
// and the static settings of the configuration, which win. A mode label
// with an unknown value enforces (the strictest reading).
func (c *Config) Namespace(name string, labels map[string]string) Namespace {
	ns := Namespace{Name: name, Labels: map[string]string{}, Mode: c.DefaultMode, Environment: DefaultEnvironment, FailureMode: c.FailureMode}
	for k, v := range labels {
		ns.Labels[k] = v
	}
	st := c.Namespaces[name]
	if st != nil {
		for k, v := range st.Labels {
			ns.Labels[k] = v
		}
	}
	if v, ok := ns.Labels[c.ModeLabel]; ok {
		switch v {
		case ModeEnforce, ModeWarn, ModeAudit:
			ns.Mode = v
		default:
			ns.Mode = ModeEnforce
		}
	}
	if v := ns.Labels[c.EnvironmentLabel]; v != "" {
		ns.Environment = v
	}
	if st != nil {
		if st.Mode != "" {
			ns.Mode = st.Mode
		}
		if st.Environment != "" {
			ns.Environment = st.Environment
		}
		if st.FailureMode != "" {
			ns.FailureMode = st.FailureMode
		}
	}
	ns.Exempt = slices.Contains(c.ExemptNamespaces, name)
	return ns
}

// StaticNamespaces is the NamespaceLookup without a cluster: every
// namespace is what the configuration says (labels from namespaces.X.labels).
func StaticNamespaces(c *Config) NamespaceLookup { return staticNamespaces{c} }

type staticNamespaces struct{ c *Config }

func (s staticNamespaces) Namespace(_ context.Context, name string) (Namespace, error) {
	return s.c.Namespace(name, nil), nil
}
