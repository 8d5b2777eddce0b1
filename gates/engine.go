package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// ErrUndecided wraps every reason the engine could not reach a decision
// (bad configuration, a missing gate, a policy error). Callers fail closed.
var ErrUndecided = errors.New("could not decide")

// Engine evaluates gates over evidence. It is safe for concurrent use: the
// policy is compiled once in New, and each (environment, gate list) is
// prepared once and reused for every decision.
type Engine struct {
	cfg        *Config
	policies   *bundleSet
	collectors []Collector
	waivers    []Waiver
	now        func() time.Time
	timeout    time.Duration
	evalMemory int64

	mu       sync.Mutex
	prepared map[string]*preparedQuery
	// configDigests caches ConfigDigest per environment.
	configDigests map[string]string

	// parsed caches evidence documents as Rego values by content digest:
	// the same evidence (one --evidence file for many subjects, a webhook
	// re-deciding an image) is parsed once. Values are never mutated.
	parsedMu sync.Mutex
	parsed   map[string]ast.Value
}

// maxParsedEvidence bounds the evidence cache; it is cleared when full.
const maxParsedEvidence = 256

// evidenceValue parses one evidence document, or takes it from the cache.
func (e *Engine) evidenceValue(digest string, raw []byte) (ast.Value, error) {
	e.parsedMu.Lock()
	v, ok := e.parsed[digest]
	e.parsedMu.Unlock()
	if ok {
		return v, nil
	}
	v, err := ast.ValueFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	e.parsedMu.Lock()
	if len(e.parsed) >= maxParsedEvidence {
		clear(e.parsed)
	}
	e.parsed[digest] = v
	e.parsedMu.Unlock()
	return v, nil
}

type preparedQuery struct {
	gates []string
	query rego.PreparedEvalQuery
}

// Option configures New.
type Option func(*engineOptions)

type engineOptions struct {
	cfg        *Config
	defaultFS  fs.FS
	noDefaults bool
	sources    []string
	collectors []Collector
	waivers    []Waiver
	now        func() time.Time
	timeout    time.Duration
	evalMemory int64
}

// WithConfig sets the configuration (environments, gates, params).
func WithConfig(c *Config) Option { return func(o *engineOptions) { o.cfg = c } }

// WithDefaultPolicies sets the embedded default bundle (policies.FS).
func WithDefaultPolicies(fsys fs.FS) Option { return func(o *engineOptions) { o.defaultFS = fsys } }

// WithoutDefaultPolicies drops the default bundle: only WithPolicies apply.
func WithoutDefaultPolicies() Option { return func(o *engineOptions) { o.noDefaults = true } }

// WithPolicies adds policy sources: folders, .rego files or OPA bundles
// (.tar.gz). A gate package given here and in the defaults is an error
// unless the defaults are dropped, so nobody overrides a gate by accident.
func WithPolicies(paths ...string) Option {
	return func(o *engineOptions) { o.sources = append(o.sources, paths...) }
}

// WithCollectors registers evidence collectors.
func WithCollectors(cs ...Collector) Option {
	return func(o *engineOptions) { o.collectors = append(o.collectors, cs...) }
}

// WithWaivers sets the waivers applied to every decision.
func WithWaivers(ws []Waiver) Option {
	return func(o *engineOptions) { o.waivers = append(o.waivers, ws...) }
}

// WithClock sets the clock (tests, replays).
func WithClock(now func() time.Time) Option { return func(o *engineOptions) { o.now = now } }

// WithTimeout bounds one decision: its collectors together and the policy
// evaluation run under this one deadline (default 5 minutes).
func WithTimeout(d time.Duration) Option {
	return func(o *engineOptions) { o.timeout = d }
}

// WithEvalMemoryLimit bounds the bytes one policy evaluation may allocate
// (default 2 GiB; <= 0 means the default). A policy past it is cancelled:
// no decision, which denies. The count is process-wide, so a server deciding
// concurrently should leave room for that.
func WithEvalMemoryLimit(bytes int64) Option {
	return func(o *engineOptions) { o.evalMemory = bytes }
}

// New compiles the policies and returns a ready engine.
func New(opts ...Option) (*Engine, error) {
	o := engineOptions{now: time.Now, timeout: 5 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("%w: the decision timeout must be positive, got %s", ErrUndecided, o.timeout)
	}
	if o.evalMemory <= 0 {
		o.evalMemory = defaultEvalMemory
	}
	if o.cfg == nil {
		return nil, fmt.Errorf("%w: no configuration given", ErrUndecided)
	}
	var srcs []policySource
	data := map[string]any{}
	if !o.noDefaults {
		if o.defaultFS == nil {
			return nil, fmt.Errorf("%w: no default policies given (use WithDefaultPolicies or WithoutDefaultPolicies)", ErrUndecided)
		}
		s, err := readFSPolicies(o.defaultFS, "policies")
		if err != nil {
			return nil, fmt.Errorf("%w: read default policies: %v", ErrUndecided, err)
		}
		srcs = append(srcs, s...)
	}
	for _, p := range o.sources {
		s, d, err := readPolicySource(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUndecided, err)
		}
		srcs = append(srcs, s...)
		for k, v := range d {
			data[k] = v
		}
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("%w: no policies: the defaults are off and no --policy was given", ErrUndecided)
	}
	if o.noDefaults && o.defaultFS != nil {
		// Dropping the default gates keeps the library custom gates import.
		var err error
		if srcs, err = withLib(srcs, o.defaultFS); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUndecided, err)
		}
	}
	bs, err := compilePolicies(srcs, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUndecided, err)
	}
	if err := checkParams(o.cfg, bs); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUndecided, err)
	}
	if err := ValidateWaivers(o.waivers, bs.gateNames()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUndecided, err)
	}
	return &Engine{
		cfg:           o.cfg,
		policies:      bs,
		collectors:    o.collectors,
		waivers:       o.waivers,
		now:           o.now,
		timeout:       o.timeout,
		evalMemory:    o.evalMemory,
		prepared:      map[string]*preparedQuery{},
		configDigests: map[string]string{},
		parsed:        map[string]ast.Value{},
	}, nil
}

// AddCollectors registers collectors after New: their factories read gate
// parameters, which New has checked by then. Call it before the first
// decision; it is not safe concurrently with Decide.
func (e *Engine) AddCollectors(cs ...Collector) { e.collectors = append(e.collectors, cs...) }

// PolicyDigest is the digest of the compiled policy sources.
func (e *Engine) PolicyDigest() string { return e.policies.digest }

// Gates lists the gates the policy defines, sorted.
func (e *Engine) Gates() []string {
	out := make([]string, 0, len(e.policies.gates))
	for g := range e.policies.gates {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Request asks for one decision.
type Request struct {
	Subject Subject
	// Environment is the configuration's environment ("" = default).
	Environment string
	// Gates, when set, are the only gates run (`--gate`); otherwise the
	// gates the environment requires for the subject's kind.
	Gates []string
	// Evidence is pre-collected evidence; its collectors are not run.
	Evidence map[string]any
	// Context is extra input.context (namespace, requester, ...).
	Context map[string]any
}

// GatesFor returns the gates a request runs, or an error when none apply.
func (e *Engine) GatesFor(req Request) (env string, gates []string, err error) {
	env, envCfg, err := e.cfg.Environment(req.Environment)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrUndecided, err)
	}
	gates = req.Gates
	if len(gates) == 0 {
		gates = envCfg.Gates[req.Subject.Kind]
	}
	if len(gates) == 0 {
		return "", nil, fmt.Errorf("%w: environment %q requires no gates for %s subjects: configure some under environments.%s.gates.%s", ErrUndecided, env, req.Subject.Kind, env, req.Subject.Kind)
	}
	gates = append([]string(nil), gates...)
	sort.Strings(gates)
	gates = dedupe(gates)
	for _, g := range gates {
		if _, ok := e.policies.gates[g]; !ok {
			return "", nil, fmt.Errorf("%w: gate %q has no policy: no package gatehouse.gates.%s in the policy bundle (have %s)", ErrUndecided, g, g, strings.Join(e.Gates(), ", "))
		}
	}
	return env, gates, nil
}

// Prepare compiles the query for an environment's gate list ahead of the
// first decision; Decide prepares lazily otherwise.
func (e *Engine) Prepare(ctx context.Context, env string, gates []string) error {
	_, err := e.preparedFor(ctx, env, gates)
	return err
}

func (e *Engine) preparedFor(ctx context.Context, env string, gates []string) (*preparedQuery, error) {
	key := env + "\x00" + strings.Join(gates, ",")
	e.mu.Lock()
	defer e.mu.Unlock()
	if pq, ok := e.prepared[key]; ok {
		return pq, nil
	}
	// One query evaluates every gate: deny_<i> and warn_<i> per gate.
	var q strings.Builder
	for i, g := range gates {
		if i > 0 {
			q.WriteString("; ")
		}
		fmt.Fprintf(&q, "deny_%d := [x | some x in data.gatehouse.gates.%s.deny]; warn_%d := [x | some x in data.gatehouse.gates.%s.warn]", i, g, i, g)
	}
	root := map[string]any{}
	for k, v := range e.policies.data {
		root[k] = v
	}
	gh, _ := root["gatehouse"].(map[string]any)
	ghCopy := map[string]any{}
	for k, v := range gh {
		ghCopy[k] = v
	}
	ghCopy["config"] = e.cfg.Data(env)
	root["gatehouse"] = ghCopy
	// Round-trip through JSON so YAML-typed values become plain JSON values
	// the store accepts.
	var storeData any = root
	if err := util.RoundTrip(&storeData); err != nil {
		return nil, fmt.Errorf("%w: configuration data: %v", ErrUndecided, err)
	}
	obj, _ := storeData.(map[string]any)
	r := rego.New(
		rego.Compiler(e.policies.compiler),
		// AST values on read: no Go-to-AST conversion of the configuration
		// on every decision.
		rego.Store(inmem.NewFromObjectWithOpts(obj, inmem.OptReturnASTValuesOnRead(true))),
		rego.Query(q.String()),
	)
	prepared, err := r.PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prepare gates %v: %v", ErrUndecided, gates, err)
	}
	pq := &preparedQuery{gates: gates, query: prepared}
	e.prepared[key] = pq
	return pq, nil
}

// Decide collects what evidence is missing, evaluates the gates and
// applies waivers, all under the engine's timeout. An error means no
// decision (bad configuration, a policy error, an interrupted or timed-out
// run): callers must deny and say "not decided".
func (e *Engine) Decide(ctx context.Context, req Request) (*Decision, error) {
	env, gates, err := e.GatesFor(req)
	if err != nil {
		return nil, err
	}
	pq, err := e.preparedFor(ctx, env, gates)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, e.timeout, fmt.Errorf("the decision took longer than its timeout of %s", e.timeout))
	defer cancel()

	evidence, undecided := e.collect(ctx, req.Subject, e.evidenceKeys(gates), req.Evidence)
	if err := context.Cause(ctx); err != nil {
		// Past the deadline (or interrupted) nothing more can be decided;
		// say which evidence was still being collected.
		why := interrupted(err)
		if len(undecided) > 0 {
			why += " (" + strings.Join(undecided, "; ") + ")"
		}
		return nil, fmt.Errorf("%w: %s", ErrUndecided, why)
	}
	now := e.now().UTC()

	evAST := ast.NewObject()
	var mismatched []mismatch
	digests := make(map[string]string, len(evidence))
	for name, raw := range evidence {
		digests[name] = hashBytes(raw)
		v, err := e.evidenceValue(digests[name], raw)
		if err != nil {
			return nil, fmt.Errorf("%w: evidence %s is not JSON: %v", ErrUndecided, name, err)
		}
		// Supplied evidence about another subject never reaches the gates.
		if _, given := req.Evidence[name]; given {
			if n := namedSubjectOfValue(v); n != (namedSubject{}) && !MatchesSubject(req.Subject, n.Path, n.Digest) {
				mismatched = append(mismatched, mismatch{name: name, about: n, subject: req.Subject})
				continue
			}
		}
		evAST.Insert(ast.StringTerm(name), ast.NewTerm(v))
	}
	ctxDoc := ast.NewObject(
		ast.Item(ast.StringTerm("environment"), ast.StringTerm(env)),
		ast.Item(ast.StringTerm("time"), ast.StringTerm(now.Format(time.RFC3339))),
	)
	for k, v := range req.Context {
		if k == "environment" || k == "time" {
			continue
		}
		t, err := ast.InterfaceToValue(v)
		if err != nil {
			return nil, fmt.Errorf("%w: context %s: %v", ErrUndecided, k, err)
		}
		ctxDoc.Insert(ast.StringTerm(k), ast.NewTerm(t))
	}
	input := ast.NewObject(
		ast.Item(ast.StringTerm("subject"), ast.NewTerm(subjectValue(req.Subject))),
		ast.Item(ast.StringTerm("evidence"), ast.NewTerm(evAST)),
		ast.Item(ast.StringTerm("context"), ast.NewTerm(ctxDoc)),
	)
	rs, err := e.eval(ctx, pq, input)
	if err != nil {
		return nil, err
	}
	var violations, warnings []Finding
	for i, g := range gates {
		d, err := findings(g, rs[0].Bindings[fmt.Sprintf("deny_%d", i)])
		if err != nil {
			return nil, err
		}
		w, err := findings(g, rs[0].Bindings[fmt.Sprintf("warn_%d", i)])
		if err != nil {
			return nil, err
		}
		violations = append(violations, d...)
		warnings = append(warnings, w...)
	}
	// Evidence about another subject is a violation of every gate that
	// would have read it; it never reached the gates.
	for _, m := range mismatched {
		for _, g := range gates {
			if slices.Contains(e.policies.gates[g].Evidence, m.name) {
				violations = append(violations, m.finding(g))
			}
		}
	}
	kept, waived, expired := applyWaivers(req.Subject, violations, e.waivers, now)
	required, _ := e.requiredGates(env, req.Subject.Kind)
	return &Decision{
		Subject:       req.Subject,
		Environment:   env,
		Allowed:       len(kept) == 0 && len(undecided) == 0,
		Gates:         gates,
		RequiredGates: required,
		// With nothing required for the kind, a --gate run judges what the
		// environment never asked for: no verdict for it either.
		Partial:         len(required) == 0 || !covers(gates, required),
		Undecided:       undecided,
		Violations:      nonNil(kept),
		Warnings:        nonNil(warnings),
		Waived:          waived,
		ExpiredWaivers:  expired,
		PolicyDigest:    e.policies.digest,
		ConfigDigest:    e.ConfigDigest(env),
		EvidenceDigests: digests,
		Time:            now,
	}, nil
}

// interrupted words a cancelled or timed-out context for the user.
func interrupted(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted before a decision was reached"
	}
	return err.Error()
}

// eval runs the prepared query under ctx and the memory bound.
func (e *Engine) eval(ctx context.Context, pq *preparedQuery, input ast.Value) (rego.ResultSet, error) {
	ctx, stop := watchMemory(ctx, e.evalMemory)
	defer stop()
	rs, err := pq.query.Eval(ctx, rego.EvalParsedInput(input))
	if cause := context.Cause(ctx); cause != nil {
		return nil, fmt.Errorf("%w: evaluate gates: %v", ErrUndecided, interrupted(cause))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: evaluate gates: %v", ErrUndecided, err)
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("%w: evaluate gates: the policy gave %d results, want 1", ErrUndecided, len(rs))
	}
	return rs, nil
}

// requiredGates are the gates env requires for kind, sorted.
func (e *Engine) requiredGates(env string, kind Kind) ([]string, error) {
	_, envCfg, err := e.cfg.Environment(env)
	if err != nil {
		return nil, err
	}
	req := slices.Clone(envCfg.Gates[kind])
	sort.Strings(req)
	return dedupe(req), nil
}

// covers reports whether ran includes every gate of required.
func covers(ran, required []string) bool {
	for _, g := range required {
		if !slices.Contains(ran, g) {
			return false
		}
	}
	return true
}

// ConfigDigest is the sha256 of what configures verdicts in env: the gates
// required per kind, the merged gate parameters and the waivers.
func (e *Engine) ConfigDigest(env string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d, ok := e.configDigests[env]; ok {
		return d
	}
	name, envCfg, err := e.cfg.Environment(env)
	if err != nil {
		return ""
	}
	doc := map[string]any{
		"environment": name,
		"gates":       envCfg.Gates,
		"params":      e.cfg.Data(name),
		"waivers":     e.waivers,
	}
	// encoding/json sorts map keys: the same configuration, the same bytes.
	b, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	d := hashBytes(b)
	e.configDigests[env] = d
	return d
}

func nonNil(f []Finding) []Finding {
	if f == nil {
		return []Finding{}
	}
	return f
}

// findings reads one gate's deny or warn set. A malformed entry is a
// policy error: the engine cannot tell what the gate meant.
func findings(gate string, v any) ([]Finding, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: gate %s: deny/warn must be a set of objects, got %T", ErrUndecided, gate, v)
	}
	out := make([]Finding, 0, len(items))
	for _, it := range items {
		var f Finding
		switch m := it.(type) {
		case map[string]any:
			f.Rule, _ = m["rule"].(string)
			f.Message, _ = m["message"].(string)
			f.Severity, _ = m["severity"].(string)
			f.Remediation, _ = m["remediation"].(string)
			f.Location, _ = m["location"].(string)
		case string:
			// Plain-string messages, as many hand-written policies use.
			f.Message = m
		default:
			return nil, fmt.Errorf("%w: gate %s: a deny/warn entry is %T, want an object {rule, message, severity, remediation}", ErrUndecided, gate, it)
		}
		f.Gate = gate
		if f.Rule == "" {
			f.Rule = gate
		}
		if f.Severity == "" {
			f.Severity = SeverityHigh
		}
		f.Severity = strings.ToLower(f.Severity)
		if f.Message == "" {
			f.Message = fmt.Sprintf("gate %s rule %s", gate, f.Rule)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Message < out[j].Message
	})
	return out, nil
}

// evidenceKeys is the union of the evidence the gates read.
func (e *Engine) evidenceKeys(gates []string) map[string]bool {
	keys := map[string]bool{}
	for _, g := range gates {
		for _, k := range e.policies.gates[g].Evidence {
			keys[k] = true
		}
	}
	return keys
}

// collect runs, concurrently under ctx's deadline, every collector whose
// evidence a gate reads and that was not supplied; it returns each piece
// of evidence as JSON. A failed or timed-out collector yields {"error"} and
// a reason the decision cannot be reached.
func (e *Engine) collect(ctx context.Context, s Subject, needed map[string]bool, supplied map[string]any) (map[string][]byte, []string) {
	out := make(map[string][]byte, len(needed))
	for name, v := range supplied {
		out[name] = marshalEvidence(name, v, nil)
	}
	var todo []Collector
	for _, c := range e.collectors {
		if name := c.Name(); needed[name] && out[name] == nil && c.Applies(s) {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var undecided []string
	for _, c := range todo {
		name := c.Name()
		wg.Add(1)
		go func(c Collector, name string) {
			defer wg.Done()
			v, err := collectOne(ctx, c, s)
			b := marshalEvidence(name, v, err)
			mu.Lock()
			out[name] = b
			if err != nil {
				undecided = append(undecided, fmt.Sprintf("%s evidence could not be collected: %v", name, err))
			}
			mu.Unlock()
		}(c, name)
	}
	wg.Wait()
	sort.Strings(undecided)
	return out, undecided
}

// collectOne runs one collector, returning when it does or when the
// deadline passes, whichever is first: a collector that ignores its
// context cannot hold up the decision.
func collectOne(ctx context.Context, c Collector, s Subject) (v any, err error) {
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("collector %s panicked: %v", c.Name(), r)}
			}
		}()
		v, err := c.Collect(ctx, s)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("collector %s: %w", c.Name(), context.Cause(ctx))
	}
}

// marshalEvidence turns a collector's result into the JSON object the gates
// read; anything unusable becomes an error object so the gate fails closed.
func marshalEvidence(name string, v any, err error) []byte {
	if err == nil {
		var b []byte
		var merr error
		if raw, ok := v.(json.RawMessage); ok {
			// Evidence already encoded (an --evidence file): checked, not
			// re-encoded, and its digest is that of the bytes given.
			b = bytes.TrimSpace(raw)
			if !json.Valid(b) {
				merr = errors.New("invalid JSON")
			}
		} else {
			b, merr = json.Marshal(v)
		}
		switch {
		case merr != nil:
			err = fmt.Errorf("evidence %s does not marshal to JSON: %v", name, merr)
		case len(b) == 0 || b[0] != '{':
			err = fmt.Errorf("evidence %s is not a JSON object", name)
		default:
			return b
		}
	}
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	return b
}

// subjectValue is input.subject, built directly (no JSON round trip).
func subjectValue(s Subject) ast.Value {
	obj := ast.NewObject(
		ast.Item(ast.StringTerm("kind"), ast.StringTerm(string(s.Kind))),
		ast.Item(ast.StringTerm("ref"), ast.StringTerm(s.Ref)),
	)
	if s.Digest != "" {
		obj.Insert(ast.StringTerm("digest"), ast.StringTerm(s.Digest))
	}
	if s.Name != "" {
		obj.Insert(ast.StringTerm("name"), ast.StringTerm(s.Name))
	}
	if len(s.Labels) > 0 {
		labels := ast.NewObject()
		for k, v := range s.Labels {
			labels.Insert(ast.StringTerm(k), ast.StringTerm(v))
		}
		obj.Insert(ast.StringTerm("labels"), ast.NewTerm(labels))
	}
	return obj
}

// EvidenceNames lists every evidence key a gate of the policy reads, sorted.
func (e *Engine) EvidenceNames() []string {
	var out []string
	for _, info := range e.policies.gates {
		out = append(out, info.Evidence...)
	}
	sort.Strings(out)
	return dedupe(out)
}

// Reads reports whether the gates req runs read evidence name.
func (e *Engine) Reads(req Request, name string) bool {
	_, gates, err := e.GatesFor(req)
	return err == nil && e.evidenceKeys(gates)[name]
}
