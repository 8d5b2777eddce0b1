package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/checkapi"
	"github.com/gatehouse-dev/gatehouse/gates/report"
)

// apiChecker answers the decision API for one configuration: a checker
// per environment, built as `gatehouse check` builds its own.
type apiChecker struct {
	cfg      *gates.Config
	checkers map[string]*checker
	recorder gates.Recorder
}

func newAPIChecker(cfg *gates.Config, gatePolicies []string, recorder gates.Recorder, timeout time.Duration) (*apiChecker, error) {
	a := &apiChecker{cfg: cfg, checkers: map[string]*checker{}, recorder: recorder}
	for _, env := range cfg.EnvironmentNames() {
		c, err := newChecker(cfg, env, checkerOptions{policies: gatePolicies, timeout: timeout},
			collectorEnv{Config: cfg, Env: env, Stderr: io.Discard})
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w", env, err)
		}
		a.checkers[env] = c
	}
	return a, nil
}

// docName is what an inline document may be called: a plain file name.
var docName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Check decides a request as `gatehouse check --format json` would.
func (a *apiChecker) Check(ctx context.Context, req checkapi.Request) ([]report.Result, error) {
	bad := func(err error) error { return &checkapi.BadRequest{Err: err} }
	env, _, err := a.cfg.Environment(req.Environment)
	if err != nil {
		return nil, bad(err)
	}
	chk := a.checkers[env]
	var subjects []gates.Subject
	for _, arg := range req.Subjects {
		s, err := gates.ParseSubject(arg)
		if err != nil {
			return nil, bad(err)
		}
		if s.Kind.IsFile() && !strings.HasPrefix(s.Ref, "oci://") && !strings.HasPrefix(s.Ref, "gs://") {
			return nil, bad(fmt.Errorf("subject %q: the server reads no local paths; send images and remote references, Score specs and pipelines as documents, or run gatehouse check where the files are", arg))
		}
		subjects = append(subjects, s)
	}
	// Inline documents are written to a private folder for the run and
	// named by their file name in the answer.
	var dir string
	if len(req.Documents) > 0 {
		if dir, err = os.MkdirTemp("", "gatehouse-api-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		seen := map[string]bool{}
		for i, d := range req.Documents {
			if !docName.MatchString(d.Name) || seen[d.Name] {
				return nil, bad(fmt.Errorf("documents[%d].name %q: want a distinct plain file name (letters, digits, . _ -)", i, d.Name))
			}
			seen[d.Name] = true
			path := filepath.Join(dir, d.Name)
			if err := os.WriteFile(path, []byte(d.Content), 0o600); err != nil {
				return nil, err
			}
			subjects = append(subjects, gates.Subject{Kind: gates.Kind(d.Kind), Ref: path, Name: d.Name})
		}
	}
	// One walk per remote model for all the collectors of this request.
	cache := newRemoteCache()
	defer cache.Close()
	ctx = contextWithRemoteCache(ctx, cache)
	work := expand(ctx, subjects)
	results, err := chk.decide(ctx, work, req.Gates, nil)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		for i := range results {
			inlineNames(&results[i], dir+string(filepath.Separator))
		}
	}
	if a.recorder != nil {
		for _, r := range results {
			if err := a.record(ctx, env, r); err != nil {
				return nil, fmt.Errorf("the decision could not be recorded in the audit log, so it is not given: %w", err)
			}
		}
	}
	return results, nil
}

// inlineNames replaces the private folder of inline documents by nothing
// in a result: the answer names "score:score.yaml", not a temp path.
func inlineNames(r *report.Result, prefix string) {
	fix := func(s *gates.Subject) {
		s.Ref = strings.TrimPrefix(s.Ref, prefix)
		if from, ok := s.Labels[report.FromLabel]; ok {
			s.Labels[report.FromLabel] = strings.Replace(from, prefix, "", 1)
		}
	}
	fix(&r.Subject)
	if r.Decision != nil {
		fix(&r.Decision.Subject)
	}
	if r.Err != nil {
		r.Err = errors.New(strings.ReplaceAll(r.Err.Error(), prefix, ""))
	}
}

func (a *apiChecker) record(ctx context.Context, env string, r report.Result) error {
	d := r.Decision
	if d == nil {
		why := "not decided"
		if r.Err != nil {
			why = r.Err.Error()
		}
		d = &gates.Decision{Subject: r.Subject, Environment: env, Undecided: []string{why}, Time: time.Now().UTC()}
	}
	return a.recorder.Record(ctx, d)
}

// liveChecker is the decision API's view of the current configuration:
// a reload swaps the apiChecker in whole.
type liveChecker struct{ p atomic.Pointer[apiChecker] }

func (l *liveChecker) Check(ctx context.Context, req checkapi.Request) ([]report.Result, error) {
	a := l.p.Load()
	if a == nil {
		return nil, errors.New("not ready: the configuration has not loaded")
	}
	return a.Check(ctx, req)
}

// mount serves /audit/ with the audit pages, /v1/check with the decision
// API (each when enabled), the rest with the webhook.
func mount(webhook, pages, api http.Handler) http.Handler {
	if pages == nil && api == nil {
		return webhook
	}
	mux := http.NewServeMux()
	if pages != nil {
		mux.Handle("/audit/", pages)
	}
	if api != nil {
		mux.Handle(checkapi.Path, api)
	}
	mux.Handle("/", webhook)
	return mux
}
