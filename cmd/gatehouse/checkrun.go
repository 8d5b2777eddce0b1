package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/report"
)

// checker decides subjects in one environment the way `gatehouse check`
// does: one engine (the environment's gates, policies and waivers), the
// registered collectors, the resolver and the expanders. `check` builds
// one per run; serve's decision API keeps one per environment.
type checker struct {
	env      string
	timeout  time.Duration // per subject: resolving, collecting, evaluating
	engine   *gates.Engine
	parsers  map[string]gates.EvidenceParser
	resolver gates.Resolver
}

// checkerOptions are what a checker is built from besides the
// configuration: check's flags, or serve's.
type checkerOptions struct {
	policies   []string
	noDefaults bool
	waivers    string
	timeout    time.Duration
}

func newChecker(cfg *gates.Config, env string, o checkerOptions, cenv collectorEnv) (*checker, error) {
	eopts, err := engineOptions(cfg, env, o.policies, o.noDefaults, o.waivers)
	if err != nil {
		return nil, err
	}
	engine, err := gates.New(append([]gates.Option{gates.WithTimeout(o.timeout)}, eopts...)...)
	if err != nil {
		return nil, err
	}
	c := &checker{env: env, timeout: o.timeout, engine: engine, parsers: map[string]gates.EvidenceParser{}}
	// Collectors are built once New has checked the parameters they read,
	// so a bad value is reported with its file and line.
	for _, f := range collectorFactories {
		col, err := f(cenv)
		if err != nil {
			return nil, err
		}
		if col == nil {
			continue
		}
		engine.AddCollectors(col)
		if p, ok := col.(gates.EvidenceParser); ok {
			c.parsers[col.Name()] = p
		}
	}
	if resolverFactory != nil {
		if c.resolver, err = resolverFactory(cenv); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// target is a subject to decide, or why it cannot be.
type target struct {
	subject gates.Subject
	err     error
}

// expand lists the subjects named plus what each composite subject brings
// in (a pipeline's images, models and datasets; a Score spec's images),
// each once, after the subjects named. A composite subject
// that cannot be read is kept with the error: it is not decided.
func expand(ctx context.Context, subjects []gates.Subject) []target {
	out := make([]target, 0, len(subjects))
	seen := map[string]bool{}
	add := func(t target) {
		if !seen[t.subject.String()] {
			seen[t.subject.String()] = true
			out = append(out, t)
		}
	}
	for _, s := range subjects {
		add(target{subject: s})
	}
	for _, s := range subjects {
		x, ok := expanders[s.Kind]
		if !ok {
			continue
		}
		parts, err := x(ctx, s)
		if err != nil {
			i := slices.IndexFunc(out, func(t target) bool { return t.subject.String() == s.String() })
			out[i].err = fmt.Errorf("cannot read what %s brings in: %w", s, err)
			continue
		}
		for _, p := range parts {
			if p.Labels == nil {
				p.Labels = map[string]string{}
			}
			p.Labels[report.FromLabel] = s.String()
			add(target{subject: p})
		}
	}
	return out
}

// subjectsOf lists the subjects of targets.
func subjectsOf(ts []target) []gates.Subject {
	out := make([]gates.Subject, len(ts))
	for i, t := range ts {
		out[i] = t.subject
	}
	return out
}

// prepareEvidence checks that some gate run for these subjects reads each
// supplied evidence and reads its file, before any work.
func (c *checker) prepareEvidence(subjects []gates.Subject, only []string, specs []evidenceSpec) ([]gates.SuppliedEvidence, error) {
	known := c.engine.EvidenceNames()
	supplied := make([]gates.SuppliedEvidence, len(specs))
	for i := range specs {
		e := &specs[i]
		if !slices.Contains(known, e.name) {
			return nil, fmt.Errorf("--evidence %s: no gate reads evidence %q (known: %s)", e.spec, e.name, strings.Join(known, ", "))
		}
		read := slices.ContainsFunc(subjects, func(s gates.Subject) bool {
			return c.engine.Reads(gates.Request{Subject: s, Environment: c.env, Gates: only}, e.name)
		})
		if !read {
			return nil, fmt.Errorf("--evidence %s: no gate run for these subjects reads %s evidence", e.spec, e.name)
		}
		if err := readEvidence(e, c.parsers); err != nil {
			return nil, err
		}
		var err error
		if supplied[i], err = e.supplied(); err != nil {
			return nil, err
		}
	}
	return supplied, nil
}

// decide resolves and decides each target in order; a target that cannot
// be resolved or decided carries its error (not decided, never allowed).
// The error is for what stops the whole run (evidence that binds to no
// subject or to several).
func (c *checker) decide(ctx context.Context, targets []target, only []string, supplied []gates.SuppliedEvidence) ([]report.Result, error) {
	results := make([]report.Result, len(targets))
	reqs := make([]gates.Request, 0, len(targets))
	var pending []int // results still to decide, by index
	for i, t := range targets {
		s := t.subject
		results[i].Subject, results[i].Environment = s, c.env
		if t.err != nil {
			results[i].Err = t.err
			continue
		}
		if err := c.resolve(ctx, &s); err != nil {
			results[i] = report.Result{Subject: s, Err: err, Environment: c.env}
			continue
		}
		results[i].Subject = s
		pending = append(pending, i)
		reqs = append(reqs, gates.Request{Subject: s, Environment: c.env, Gates: only})
	}
	if err := c.engine.BindEvidence(reqs, supplied); err != nil {
		return nil, err
	}
	for j, i := range pending {
		if err := ctx.Err(); err != nil {
			results[i].Err = errors.New("interrupted before a decision was reached")
			continue
		}
		d, err := c.engine.Decide(ctx, reqs[j])
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i] = report.Result{Subject: d.Subject, Decision: d, Environment: c.env}
	}
	return results, nil
}

// resolve pins a subject under the run's deadline per subject: a registry
// or bucket that stalls ends as "not decided", not as a hung run.
func (c *checker) resolve(ctx context.Context, s *gates.Subject) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	return resolve(ctx, c.resolver, s)
}
