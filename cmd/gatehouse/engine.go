package main

import (
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/policies"
)

// engineOptions are the gates options for environment env: the
// configuration, the embedded bundle (or only its library, with
// noDefaults or default_policies: false), the environment's own policies,
// extra policies, and the waivers (waiversFile, else the environment's).
// `check` decides with them and `serve` builds the same engine per
// environment, so both state the same policy and configuration digests.
func engineOptions(cfg *gates.Config, env string, extraPolicies []string, noDefaults bool, waiversFile string) ([]gates.Option, error) {
	_, e, err := cfg.Environment(env)
	if err != nil {
		return nil, err
	}
	// The embedded bundle is always given: without the default gates it
	// still supplies the library (gatehouse.lib) custom gates import.
	opts := []gates.Option{gates.WithConfig(cfg), gates.WithDefaultPolicies(policies.FS)}
	if noDefaults || (e.DefaultPolicies != nil && !*e.DefaultPolicies) {
		opts = append(opts, gates.WithoutDefaultPolicies())
	}
	for _, p := range e.Policies {
		opts = append(opts, gates.WithPolicies(cfg.Path(p)))
	}
	opts = append(opts, gates.WithPolicies(extraPolicies...))
	if waiversFile == "" && e.Waivers != "" {
		waiversFile = cfg.Path(e.Waivers)
	}
	if waiversFile != "" {
		ws, err := gates.LoadWaivers(waiversFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, gates.WithWaivers(ws))
	}
	return opts, nil
}
