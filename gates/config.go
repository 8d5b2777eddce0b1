package gates

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// Config is gatehouse.yaml: which gates each environment requires per
// subject kind, the gates' parameters, waivers and policy sources.
type Config struct {
	// DefaultEnvironment is used when no --env is given.
	DefaultEnvironment string `yaml:"default_environment"`
	// Params apply to every environment; an environment's own params
	// override them key by key within each gate.
	Params       map[string]map[string]any `yaml:"params"`
	Environments map[string]*Environment   `yaml:"environments"`
	// Admission is the admission webhook's section, parsed strictly by
	// admission.ParseConfig (the engine does not read it).
	Admission yaml.Node `yaml:"admission"`

	// dir is the folder of the file, for resolving relative paths.
	dir string
	// name is the file name errors are reported under.
	name string
	// paramNodes are the YAML nodes of the top-level `params:` (key "")
	// and of each environment's (key: the environment's name), kept so
	// parameter errors name their line (checkParams).
	paramNodes map[string]*yaml.Node
}

// Environment is one deployment stage (dev, staging, prod, ...).
type Environment struct {
	// Gates lists the gates required per subject kind.
	Gates KindGates `yaml:"gates"`
	// Params are the gates' parameters: data.gatehouse.config.<gate>.
	Params map[string]map[string]any `yaml:"params"`
	// Waivers is a waivers YAML file, relative to the configuration file.
	Waivers string `yaml:"waivers"`
	// Policies are extra policy sources (folders or OPA bundle .tar.gz),
	// relative to the configuration file.
	Policies []string `yaml:"policies"`
	// DefaultPolicies false drops the embedded bundle: only Policies apply.
	DefaultPolicies *bool `yaml:"default_policies"`
}

// KindGates maps a subject kind to the gates it must pass.
type KindGates map[Kind][]string

// UnmarshalYAML checks every kind as it reads, so a typo names its line.
func (kg *KindGates) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: gates must be a mapping of subject kind to a list of gate names", n.Line)
	}
	out := KindGates{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		k := Kind(key.Value)
		if !k.Valid() {
			return fmt.Errorf("line %d: gates: unknown subject kind %q, want one of %s", key.Line, key.Value, kindList())
		}
		var names []string
		if err := val.Decode(&names); err != nil {
			return fmt.Errorf("line %d: gates.%s must be a list of gate names", val.Line, key.Value)
		}
		for _, g := range names {
			if !validGateName(g) {
				return fmt.Errorf("line %d: gates.%s: %q is not a gate name (letters, digits and _ only)", val.Line, key.Value, g)
			}
		}
		out[k] = names
	}
	*kg = out
	return nil
}

func validGateName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ParseConfig reads gatehouse.yaml. name is used in error messages; dir
// resolves the relative paths inside it.
func ParseConfig(name string, data []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(c.Environments) == 0 {
		return nil, fmt.Errorf("%s: no environments: define at least one under `environments:`", name)
	}
	for envName, env := range c.Environments {
		if env == nil {
			return nil, fmt.Errorf("%s: environments.%s is empty", name, envName)
		}
	}
	if c.DefaultEnvironment == "" {
		if _, ok := c.Environments["dev"]; ok {
			c.DefaultEnvironment = "dev"
		} else {
			c.DefaultEnvironment = c.EnvironmentNames()[0]
		}
	}
	if _, ok := c.Environments[c.DefaultEnvironment]; !ok {
		return nil, fmt.Errorf("%s: default_environment %q is not one of the environments (%v)", name, c.DefaultEnvironment, c.EnvironmentNames())
	}
	c.dir = dir
	c.name = name
	c.paramNodes = paramNodes(data)
	return &c, nil
}

// paramNodes finds the `params:` mappings of a configuration document
// that has decoded cleanly; a node it cannot find just means no line.
func paramNodes(data []byte) map[string]*yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	out := map[string]*yaml.Node{}
	root := resolveAlias(doc.Content[0])
	if n := mappingValue(root, "params"); n != nil {
		out[""] = n
	}
	if envs := mappingValue(root, "environments"); envs != nil {
		for _, kv := range mappingEntries(envs) {
			if n := mappingValue(kv[1], "params"); n != nil {
				out[kv[0].Value] = n
			}
		}
	}
	return out
}

// maxConfigBytes bounds a configuration file.
const maxConfigBytes = 16 << 20

// LoadConfig reads a configuration file (a regular file, bounded in size).
func LoadConfig(path string) (*Config, error) {
	data, err := readlimit.File(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(path, data, filepath.Dir(path))
}

// EnvironmentNames lists the environments, sorted.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Environment returns the named environment ("" means the default).
func (c *Config) Environment(name string) (string, *Environment, error) {
	if name == "" {
		name = c.DefaultEnvironment
	}
	env, ok := c.Environments[name]
	if !ok {
		return "", nil, fmt.Errorf("environment %q is not in the configuration (have %v)", name, c.EnvironmentNames())
	}
	return name, env, nil
}

// RequiredGates lists the gates environment env requires for kind.
func (c *Config) RequiredGates(env string, kind Kind) []string {
	_, e, err := c.Environment(env)
	if err != nil {
		return nil
	}
	return slices.Clone(e.Gates[kind])
}

// Data returns data.gatehouse.config for env: the shared params with the
// environment's own laid over them, gate by gate, plus "environment".
func (c *Config) Data(env string) map[string]any {
	name, e, err := c.Environment(env)
	out := map[string]any{"environment": name}
	if err != nil {
		return out
	}
	for gate, p := range c.Params {
		m := make(map[string]any, len(p))
		for k, v := range p {
			m[k] = v
		}
		out[gate] = m
	}
	for gate, p := range e.Params {
		m, _ := out[gate].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		for k, v := range p {
			m[k] = v
		}
		out[gate] = m
	}
	return out
}

// GateParams returns the merged parameters of one gate in env.
func (c *Config) GateParams(env, gate string) map[string]any {
	m, _ := c.Data(env)[gate].(map[string]any)
	return m
}

// Path resolves a path written in the configuration file.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}
