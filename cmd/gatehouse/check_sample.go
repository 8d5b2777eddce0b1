package main

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
)

// parseSampleSize reads check's --sample SIZE: bytes, bare (1048576) or
// with a unit (64MiB, 1GiB, 64MB, 512kB; pii.ParseSample's units). Unlike
// `scan dataset --sample`, a bare number is bytes, not rows: check's flag
// stands for the pii gate's sample_bytes.
func parseSampleSize(s string) (int64, error) {
	rows, n, err := pii.ParseSample(s)
	if rows > 0 {
		n = rows
	}
	if err != nil || n <= 0 || strings.TrimSpace(s) != s {
		return 0, fmt.Errorf("--sample %q: want a size in bytes: 1048576, 64MiB, 1GiB (units B, kB, MB, GB, KiB, MiB, GiB)", textsafe.Escape(s))
	}
	return n, nil
}

// applySample makes --sample the pii gate's sample_bytes in env for this
// run, over what the configuration says. It changes the configuration the
// engine is built from, so the decision's config digest (and a VSA's)
// states that the run sampled.
func applySample(cfg *gates.Config, env, size string) error {
	if size == "" {
		return nil
	}
	n, err := parseSampleSize(size)
	if err != nil {
		return err
	}
	name, e, err := cfg.Environment(env)
	if err != nil {
		return err
	}
	if e.Params == nil {
		e.Params = map[string]map[string]any{}
	}
	p := make(map[string]any, len(e.Params["pii"])+1)
	for k, v := range e.Params["pii"] {
		p[k] = v
	}
	p["sample_bytes"] = n
	e.Params["pii"] = p
	cfg.Environments[name] = e
	return nil
}
