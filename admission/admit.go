package admission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// Outcomes of a review (Result.Outcome).
const (
	OutcomeAllowed = "allowed"
	OutcomeDenied  = "denied"
	// OutcomeWarned: allowed, with warnings shown to the client.
	OutcomeWarned = "warned"
	// OutcomeAudited: allowed in an audit namespace although the policy denies.
	OutcomeAudited = "audited"
	// OutcomeError: something could not be verified or read; the response
	// follows the namespace's failure mode.
	OutcomeError = "error"
	// OutcomeSkipped: not reviewed (exempt namespace, kind out of scope).
	OutcomeSkipped = "skipped"
)

// ImageVerifier verifies one image reference; *oci.Client is one. The
// result comes with an error wrapping oci.ErrNotSigned or oci.ErrNoValidVSA
// when the image fails the policy; any other error means it could not be
// verified (the registry could not be asked).
type ImageVerifier interface {
	VerifyImage(ctx context.Context, ref string, p oci.ImagePolicy) (*oci.ImageVerification, error)
}

// resolver turns a tag into a digest before the cache is asked (so that
// tags are cached by the digest they point to now); *oci.Client is one.
type resolver interface {
	Resolve(ctx context.Context, ref string) (name.Digest, error)
}

// Options configure an Admitter.
type Options struct {
	Config *Config
	// Gates is gatehouse.yaml: environments, required gates per kind and
	// params.signature per environment.
	Gates *gates.Config
	// Engines give, per environment, the gates policy and configuration
	// digests that VSAs must state: each built as `gatehouse check` builds
	// it for that environment (its policies and waivers). An environment
	// without one relies on the configuration's accepted digests.
	Engines    map[string]*gates.Engine
	Verifier   ImageVerifier
	Namespaces NamespaceLookup // StaticNamespaces(Config) when nil
	Policy     *Policy
	Recorder   gates.Recorder // may be nil
	Now        func() time.Time
}

// Admitter reviews admission requests. It is safe for concurrent use.
type Admitter struct {
	cfg        *Config
	verifier   ImageVerifier
	namespaces NamespaceLookup
	recorder   gates.Recorder
	now        func() time.Time
	envs       map[string]*envPolicy
	cache      *cache
	policy     atomic.Pointer[preparedPolicy]
	// policyConfig is data.gatehouse.admission_config.
	policyConfig map[string]any
}

// envPolicy is how images and models are verified in one environment.
type envPolicy struct {
	name         string
	configDigest string
	image, model kindPolicy
}

type kindPolicy struct {
	p oci.ImagePolicy
	// digest identifies p in cache keys.
	digest string
}

// maxParallel bounds the verifications one request runs at once.
const maxParallel = 8

// negativeTTL bounds how long a failed verification is remembered (a
// VSA may be attached a moment later).
const negativeTTL = 30 * time.Second

// New checks the configuration and builds the verification policy of
// every environment up front: a key that does not load or an environment
// with nothing to verify is an error here, not at the first request.
func New(o Options) (*Admitter, error) {
	switch {
	case o.Config == nil:
		return nil, errors.New("admission: no configuration")
	case o.Gates == nil:
		return nil, errors.New("admission: no gates configuration (gatehouse.yaml)")
	case o.Verifier == nil:
		return nil, errors.New("admission: no image verifier")
	case o.Policy == nil:
		return nil, errors.New("admission: no admission policy")
	}
	cfg := o.Config
	a := &Admitter{cfg: cfg, verifier: o.Verifier, namespaces: o.Namespaces, recorder: o.Recorder, now: o.Now, envs: map[string]*envPolicy{}}
	if a.namespaces == nil {
		a.namespaces = StaticNamespaces(cfg)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.cache = newCache(cfg.Cache.MaxEntries, a.now)
	var verifiers []signature.Verifier
	policyDigests := slices.Clone(cfg.VSA.AcceptedPolicyDigests)
	if cfg.VSA.RequireVSA() {
		for i, k := range cfg.VSA.Keys {
			v, err := loadVerifier(cfg.Path(k), i)
			if err != nil {
				return nil, fmt.Errorf("%s: admission.vsa.keys[%d]: %w", cfg.file, i, err)
			}
			verifiers = append(verifiers, v)
		}
		if len(verifiers) == 0 {
			return nil, fmt.Errorf("%s: admission.vsa.keys: no keys to verify VSAs with (or set admission.vsa.require: false to rely on signatures alone)", cfg.file)
		}
	}
	for _, env := range o.Gates.EnvironmentNames() {
		ep := &envPolicy{name: env}
		envPolicyDigests := policyDigests
		if e := o.Engines[env]; e != nil {
			envPolicyDigests = append(slices.Clone(policyDigests), e.PolicyDigest())
			ep.configDigest = e.ConfigDigest(env)
		}
		if cfg.VSA.RequireVSA() && len(envPolicyDigests) == 0 {
			return nil, fmt.Errorf("admission: environment %s: no accepted gates policy digest: give its gates engine or admission.vsa.accepted_policy_digests", env)
		}
		var sig *oci.Policy
		sigParams := o.Gates.GateParams(env, "signature")
		if sigParams["keys"] != nil || sigParams["identities"] != nil {
			var err error
			if sig, err = oci.PolicyFromParams(sigParams, o.Gates.Path); err != nil {
				return nil, fmt.Errorf("admission: environment %s: params.signature: %w", env, err)
			}
		}
		if sig == nil && !cfg.VSA.RequireVSA() {
			return nil, fmt.Errorf("admission: environment %s: nothing to verify images with: no params.signature keys or identities, and admission.vsa.require is false", env)
		}
		for _, kp := range []struct {
			kind gates.Kind
			out  *kindPolicy
		}{{gates.KindImage, &ep.image}, {gates.KindModel, &ep.model}} {
			kp.out.p.Signatures = sig
			if cfg.VSA.RequireVSA() {
				configDigests := cfg.VSA.AcceptedConfigDigests
				if len(configDigests) == 0 && ep.configDigest != "" {
					configDigests = []string{ep.configDigest}
				}
				kp.out.p.VSA = &attest.VSAPolicy{
					Verifiers:             verifiers,
					AcceptedPolicyDigests: envPolicyDigests,
					MaxAge:                cfg.VSA.MaxAge,
					Level:                 attest.EnvironmentLevel(env),
					Environment:           env,
					RequiredGates:         o.Gates.RequiredGates(env, kp.kind),
					AcceptedConfigDigests: configDigests,
					Now:                   a.now,
				}
			}
			kp.out.digest = policyDigest(env, kp.kind, sigParams, cfg, kp.out.p.VSA)
		}
		a.envs[env] = ep
	}
	a.policyConfig = map[string]any{
		"model_sources":       nonNilStrings(cfg.ModelSources),
		"gpu_label":           cfg.GPULabel,
		"pinned_environments": nonNilStrings(cfg.PinnedEnvironments),
	}
	if err := a.SwapPolicy(o.Policy); err != nil {
		return nil, err
	}
	return a, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// loadVerifier reads a VSA key: a file, or inline PEM.
func loadVerifier(k string, i int) (signature.Verifier, error) {
	if strings.Contains(k, "-----BEGIN") {
		return attest.ParseVerifier(fmt.Sprintf("inline[%d]", i), []byte(k))
	}
	return attest.LoadVerifier(k)
}

// policyDigest names a verification policy in cache keys: everything that
// changes what a verification concludes.
func policyDigest(env string, kind gates.Kind, sigParams map[string]any, cfg *Config, vsa *attest.VSAPolicy) string {
	doc := map[string]any{"env": env, "kind": kind, "signature": sigParams, "vsa_keys": cfg.VSA.Keys}
	if vsa != nil {
		doc["vsa"] = map[string]any{"policies": vsa.AcceptedPolicyDigests, "configs": vsa.AcceptedConfigDigests,
			"max_age": vsa.MaxAge.String(), "level": vsa.Level, "gates": vsa.RequiredGates}
	}
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// SwapPolicy puts p in force for the next requests (atomically: a review
// in progress finishes with the policy it started with). On error the
// policy in force stays.
func (a *Admitter) SwapPolicy(p *Policy) error {
	if p == nil {
		return errors.New("admission: no policy to swap in")
	}
	pp, err := p.prepare(a.policyConfig)
	if err != nil {
		return err
	}
	a.policy.Store(pp)
	return nil
}

// PolicyRevision is the revision (or digest) of the policy in force.
func (a *Admitter) PolicyRevision() string {
	if pp := a.policy.Load(); pp != nil {
		return pp.policy.Revision()
	}
	return ""
}

// Result is a review's answer and what went into it.
type Result struct {
	Response *admissionv1.AdmissionResponse
	// Outcome is one of the Outcome* constants.
	Outcome                string
	CacheHits, CacheMisses int
	// RecordErr is set when a decision could not be recorded (the answer
	// stands; the server counts and logs it).
	RecordErr error
}

// Review answers /validate: it verifies every image and model of the
// object and applies the admission policy in the namespace's mode.
func (a *Admitter) Review(ctx context.Context, req *admissionv1.AdmissionRequest) Result {
	return a.review(ctx, req, false)
}

// Mutate answers /mutate: when every image (and oci:// model) of the
// object verifies, a JSONPatch pins each tag to the digest verified. It
// never denies: /validate does.
func (a *Admitter) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) Result {
	return a.review(ctx, req, true)
}

// review is one request's work.
type review struct {
	a    *Admitter
	req  *admissionv1.AdmissionRequest
	ns   Namespace
	wl   *Workload
	env  *envPolicy
	res  Result
	refs map[string]verdict // by image ref and by model URI
}

func (a *Admitter) review(ctx context.Context, req *admissionv1.AdmissionRequest, mutate bool) Result {
	if req == nil {
		return Result{Response: denyResponse(http.StatusBadRequest, "gatehouse: the AdmissionReview has no request"), Outcome: OutcomeError}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	r := &review{a: a, req: req}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return skipped(fmt.Sprintf("gatehouse: %s is not reviewed", req.Operation))
	}
	wl, extractErr := Extract(req.Kind, req.SubResource, req.Object.Raw)
	if errors.Is(extractErr, ErrOutOfScope) {
		return skipped("gatehouse: " + extractErr.Error())
	}
	nsName := req.Namespace
	ns, err := a.namespaces.Namespace(ctx, nsName)
	if err != nil {
		r.ns = a.cfg.Namespace(nsName, nil)
		return r.failed(mutate, []string{fmt.Sprintf("namespace %s could not be looked up: %v", nsName, err)})
	}
	r.ns = ns
	if ns.Exempt {
		return skipped("gatehouse: namespace " + nsName + " is exempt")
	}
	if extractErr != nil {
		return r.failed(mutate, []string{extractErr.Error()})
	}
	r.wl = wl
	r.env = a.envs[ns.Environment]
	r.verify(ctx)
	if mutate {
		return r.mutate()
	}
	return r.decide(ctx)
}

func skipped(msg string) Result {
	return Result{Response: allowResponse(msg), Outcome: OutcomeSkipped}
}

// verdict is what verifying one image (or oci:// model) concluded.
type verdict struct {
	digest      string // repository@sha256:...
	sigRequired bool
	vsaRequired bool
	sigVerified bool
	vsaVerified bool
	reasons     []string
	// err: could not be verified at all (never cached).
	err error
}

func (v verdict) verified() bool {
	return v.err == nil && (!v.sigRequired || v.sigVerified) && (!v.vsaRequired || v.vsaVerified)
}

// verify checks every distinct image and oci:// model, at most
// maxParallel at once, through the cache.
func (r *review) verify(ctx context.Context) {
	type item struct {
		ref  string
		kp   *kindPolicy
		key  string // ref, or the model URI
		kind gates.Kind
	}
	var items []item
	seen := map[string]bool{}
	for _, img := range r.wl.Images {
		if !seen[img.Ref] {
			seen[img.Ref] = true
			items = append(items, item{ref: img.Ref, key: img.Ref, kind: gates.KindImage})
		}
	}
	for _, m := range r.wl.Models {
		if ref, ok := strings.CutPrefix(m.URI, "oci://"); ok && !seen[m.URI] {
			seen[m.URI] = true
			items = append(items, item{ref: ref, key: m.URI, kind: gates.KindModel})
		}
	}
	r.refs = make(map[string]verdict, len(items))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallel)
	for _, it := range items {
		var v verdict
		if r.env == nil {
			v = verdict{reasons: []string{fmt.Sprintf("namespace %s is labelled with environment %q, which gatehouse.yaml does not define", r.ns.Name, r.ns.Environment)}, vsaRequired: true}
			r.refs[it.key] = v
			continue
		}
		kp := &r.env.image
		if it.kind == gates.KindModel {
			kp = &r.env.model
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, hit := r.a.verifyOne(ctx, r.env, kp, it.ref)
			mu.Lock()
			defer mu.Unlock()
			r.refs[it.key] = v
			if hit {
				r.res.CacheHits++
			} else {
				r.res.CacheMisses++
			}
		}()
	}
	wg.Wait()
}

// verifyOne verifies one reference through the cache: digests are looked
// up directly, tags after resolving them (when the verifier can).
func (a *Admitter) verifyOne(ctx context.Context, env *envPolicy, kp *kindPolicy, ref string) (verdict, bool) {
	base := verdict{sigRequired: kp.p.Signatures != nil, vsaRequired: kp.p.VSA != nil}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		base.reasons = []string{fmt.Sprintf("not a valid image reference: %v", err)}
		return base, false
	}
	target := ref
	if d, ok := parsed.(name.Digest); ok {
		target = d.Context().Name() + "@" + d.DigestStr()
	} else if res, ok := a.verifier.(resolver); ok {
		d, err := res.Resolve(ctx, ref)
		if err != nil {
			base.err = fmt.Errorf("resolve the tag: %w", err)
			return base, false
		}
		target = d.Context().Name() + "@" + d.DigestStr()
	}
	key := cacheKey{image: target, policy: kp.digest, config: env.configDigest, env: env.name}
	return a.cache.do(ctx, key, func() (verdict, time.Duration) {
		// Detached from the caller (others may wait on this verification),
		// bounded by the admission deadline.
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.Timeout)
		defer cancel()
		v := base
		res, err := a.verifier.VerifyImage(vctx, target, kp.p)
		if res != nil {
			v.digest = parsedDigest(target, res.Digest)
			v.sigVerified = res.Signatures != nil && res.Signatures.Verified
			v.vsaVerified = res.VSA != nil
		}
		switch {
		case err == nil && res == nil:
			v.err = errors.New("the verifier returned no result")
		case err == nil:
		case res != nil && (errors.Is(err, oci.ErrNotSigned) || errors.Is(err, oci.ErrNoValidVSA)):
			v.reasons = reasonsOf(err, target)
		default:
			v.err = err
			return v, 0
		}
		if !v.verified() {
			return v, min(negativeTTL, a.cfg.Cache.TTL)
		}
		ttl := a.cfg.Cache.TTL
		if res.VSA != nil && kp.p.VSA != nil {
			// Never remember a VSA past the age it is accepted at.
			ttl = min(ttl, res.VSA.VSA.TimeVerified.Add(kp.p.VSA.MaxAge).Sub(a.now()))
		}
		return v, ttl
	})
}

// parsedDigest is repository@digest for a verified reference.
func parsedDigest(ref, digest string) string {
	if digest == "" {
		return ""
	}
	if r, err := name.ParseReference(ref); err == nil {
		return r.Context().Name() + "@" + digest
	}
	return ""
}

// reasonsOf splits VerifyImage's joined error into one reason per check,
// without the reference each starts with (the message names the image).
func reasonsOf(err error, ref string) []string {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		s := e.Error()
		if i := strings.Index(s, "@sha256:"); i >= 0 && i < len(ref)+72 {
			if j := strings.Index(s[i:], ": "); j >= 0 {
				s = s[i+j+2:]
			}
		}
		out = append(out, strings.ReplaceAll(s, "\n", "; "))
	}
	return out
}

// input is the policy's input document.
func (r *review) input() map[string]any {
	images := make([]any, 0, len(r.wl.Images))
	for _, img := range r.wl.Images {
		images = append(images, r.subject(img.Ref, img.Ref, map[string]any{"container": img.Container, "kind": img.Kind}))
	}
	models := make([]any, 0, len(r.wl.Models))
	for _, m := range r.wl.Models {
		if ref, ok := strings.CutPrefix(m.URI, "oci://"); ok {
			models = append(models, r.subject(m.URI, ref, map[string]any{"uri": m.URI, "oci": true}))
		} else {
			models = append(models, map[string]any{"uri": m.URI, "oci": false, "digest": "", "verified": false, "pinned": false, "reasons": []any{}})
		}
	}
	specs := make([]any, 0, len(r.wl.PodSpecs))
	for _, s := range r.wl.PodSpecs {
		specs = append(specs, s.Spec)
	}
	labels := make(map[string]any, len(r.ns.Labels))
	for k, v := range r.ns.Labels {
		labels[k] = v
	}
	return map[string]any{
		"request": map[string]any{
			"kind": r.req.Kind.Kind, "group": r.req.Kind.Group, "version": r.req.Kind.Version,
			"namespace": r.req.Namespace, "name": r.req.Name, "operation": string(r.req.Operation),
			"subresource": r.req.SubResource, "user": r.req.UserInfo.Username,
		},
		"namespace":    map[string]any{"name": r.ns.Name, "labels": labels, "mode": r.ns.Mode, "environment": r.ns.Environment},
		"workload":     map[string]any{"kind": r.wl.Kind, "name": r.wl.Name, "pod_specs": specs},
		"images":       images,
		"models":       models,
		"gpu_requests": r.wl.GPURequests,
		"privileged":   r.wl.Privileged,
		"host_path":    r.wl.HostPath,
	}
}

// subject is the input entry of one verified image or oci:// model.
func (r *review) subject(key, ref string, m map[string]any) map[string]any {
	v := r.refs[key]
	reasons := make([]any, 0, len(v.reasons))
	for _, s := range v.reasons {
		reasons = append(reasons, s)
	}
	m["ref"] = ref
	m["digest"] = digestPart(v.digest)
	m["pinned"] = strings.Contains(ref, "@sha256:")
	m["verified"] = v.verified()
	m["signatures_verified"] = v.sigVerified || !v.sigRequired && v.err == nil
	m["vsa_verified"] = v.vsaVerified || !v.vsaRequired && v.err == nil
	m["reasons"] = reasons
	if v.err != nil {
		m["error"] = v.err.Error()
	}
	return m
}

func digestPart(d string) string {
	if i := strings.LastIndex(d, "@"); i >= 0 {
		return d[i+1:]
	}
	return ""
}

// failures lists the images and models that could not be verified at all.
func (r *review) failures() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.refs)) {
		if err := r.refs[k].err; err != nil {
			what := "image"
			if strings.HasPrefix(k, "oci://") {
				what = "model"
			}
			out = append(out, fmt.Sprintf("%s %s could not be verified: %v", what, k, err))
		}
	}
	return out
}

// decide evaluates the policy and answers in the namespace's mode.
func (r *review) decide(ctx context.Context) Result {
	fails := r.failures()
	pp := r.a.policy.Load()
	deny, warn, err := pp.eval(ctx, r.input())
	if err != nil {
		fails = append(fails, err.Error())
	}
	var resp *admissionv1.AdmissionResponse
	var warnings []string
	for _, w := range warn {
		warnings = append(warnings, w.Message)
	}
	outcome := OutcomeAllowed
	closed := r.ns.FailureMode != FailOpen
	switch r.ns.Mode {
	case ModeWarn:
		for _, d := range deny {
			warnings = append(warnings, "would be denied: "+d.Message)
		}
		warnings = append(warnings, prefixed("could not verify (warn mode): ", fails)...)
		resp = allowResponse("")
	case ModeAudit:
		resp = allowResponse("")
		if len(deny) > 0 {
			outcome = OutcomeAudited
			resp.AuditAnnotations = map[string]string{"gatehouse.dev/would-deny": clip(joinMessages(deny), maxMessage)}
		}
	default:
		if len(deny) > 0 || len(fails) > 0 && closed {
			msgs := make([]string, 0, len(deny)+len(fails))
			for _, d := range deny {
				msgs = append(msgs, d.Message)
			}
			if closed {
				msgs = append(msgs, prefixed("failing closed: ", fails)...)
			}
			resp = denyResponse(http.StatusForbidden, fmt.Sprintf("gatehouse denied %s %s/%s: %s", r.wl.Kind, r.req.Namespace, r.wl.Name, clip(strings.Join(msgs, "; "), maxMessage)))
			outcome = OutcomeDenied
		} else {
			warnings = append(warnings, prefixed("failing open: ", fails)...)
			resp = allowResponse("")
		}
	}
	resp.Warnings = safeWarnings(warnings)
	switch {
	case len(fails) > 0:
		outcome = OutcomeError
	case outcome == OutcomeAllowed && len(resp.Warnings) > 0:
		outcome = OutcomeWarned
	}
	r.res.Response, r.res.Outcome = resp, outcome
	r.res.RecordErr = r.record(ctx, deny, warn, resp.Allowed)
	return r.res
}

func prefixed(p string, msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = p + m
	}
	return out
}

func joinMessages(fs []Finding) string {
	msgs := make([]string, len(fs))
	for i, f := range fs {
		msgs[i] = f.Message
	}
	return strings.Join(msgs, "; ")
}

// Bounds on what goes back to the API server and the client.
const (
	maxMessage  = 4096
	maxWarning  = 512
	maxWarnings = 20
)

func clip(s string, n int) string {
	s = textsafe.Escape(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func safeWarnings(ws []string) []string {
	if len(ws) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(ws), maxWarnings+1))
	for i, w := range ws {
		if i == maxWarnings {
			out = append(out, fmt.Sprintf("gatehouse: %d more warnings", len(ws)-maxWarnings))
			break
		}
		out = append(out, "gatehouse: "+clip(w, maxWarning))
	}
	return out
}

// failed answers a request that could not be reviewed (namespace lookup
// failed, object unreadable): in an enforcing namespace failing closed it
// is denied; otherwise allowed with the reason as a warning.
func (r *review) failed(mutate bool, reasons []string) Result {
	if mutate {
		return Result{Response: allowResponse(""), Outcome: OutcomeError}
	}
	if r.ns.Mode == ModeEnforce && r.ns.FailureMode != FailOpen {
		return Result{Response: denyResponse(http.StatusForbidden, "gatehouse could not review the request, failing closed: "+clip(strings.Join(reasons, "; "), maxMessage)), Outcome: OutcomeError}
	}
	resp := allowResponse("")
	resp.Warnings = safeWarnings(prefixed("could not review the request: ", reasons))
	return Result{Response: resp, Outcome: OutcomeError}
}

// record hands one decision per distinct image and model to the Recorder.
func (r *review) record(ctx context.Context, deny, warn []Finding, allowed bool) error {
	if r.a.recorder == nil {
		return nil
	}
	ctx = gates.WithRecordContext(ctx, gates.RecordContext{
		Door: "admission", RequestUID: string(r.req.UID), Namespace: r.req.Namespace, Kind: r.wl.Kind,
		Name: r.wl.Name, Operation: string(r.req.Operation), User: r.req.UserInfo.Username,
	})
	pp := r.a.policy.Load()
	var subjects []gates.Subject
	seen := map[string]bool{}
	for _, img := range r.wl.Images {
		if !seen[img.Ref] {
			seen[img.Ref] = true
			subjects = append(subjects, gates.Subject{Kind: gates.KindImage, Ref: img.Ref, Name: img.Container, Digest: digestPart(r.refs[img.Ref].digest)})
		}
	}
	for _, m := range r.wl.Models {
		if !seen[m.URI] {
			seen[m.URI] = true
			subjects = append(subjects, gates.Subject{Kind: gates.KindModel, Ref: m.URI, Digest: digestPart(r.refs[m.URI].digest)})
		}
	}
	var errs []error
	for _, s := range subjects {
		d := &gates.Decision{
			Subject: s, Environment: r.ns.Environment, Allowed: allowed,
			Gates: []string{"admission"}, RequiredGates: []string{"admission"},
			Violations: findingsFor(deny, s.Ref, gates.SeverityHigh), Warnings: findingsFor(warn, s.Ref, gates.SeverityLow),
			Waived: []gates.AppliedWaiver{}, PolicyDigest: pp.policy.Digest(), Time: r.a.now().UTC(),
		}
		if r.env != nil {
			d.ConfigDigest = r.env.configDigest
		}
		if v := r.refs[s.Ref]; v.err != nil {
			d.Undecided = append(d.Undecided, v.err.Error())
		}
		if r.ns.Mode != ModeEnforce && len(d.Violations) > 0 {
			d.Warnings = append(d.Warnings, gates.Finding{Gate: "admission", Rule: r.ns.Mode + "_mode", Severity: gates.SeverityLow,
				Message: fmt.Sprintf("namespace %s is in %s mode: admitted despite the violations", r.ns.Name, r.ns.Mode)})
		}
		if err := r.a.recorder.Record(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("record %s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

// findingsFor are the findings about ref, and those about the whole workload.
func findingsFor(fs []Finding, ref, severity string) []gates.Finding {
	out := []gates.Finding{}
	for _, f := range fs {
		if f.Image == "" || f.Image == ref {
			out = append(out, gates.Finding{Gate: "admission", Rule: f.Rule, Severity: severity, Message: f.Message})
		}
	}
	return out
}

// mutate answers /mutate: pin every image (and oci:// model) tag to the
// digest verified, only when all of them verified.
func (r *review) mutate() Result {
	r.res.Outcome = OutcomeAllowed
	r.res.Response = allowResponse("")
	for _, v := range r.refs {
		if !v.verified() {
			if v.err != nil {
				r.res.Outcome = OutcomeError
			}
			return r.res
		}
	}
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value"`
	}
	var ops []op
	for _, img := range r.wl.Images {
		if pinned := pin(img.Ref, r.refs[img.Ref].digest); pinned != "" {
			ops = append(ops, op{"replace", img.Path, pinned})
		}
	}
	for _, m := range r.wl.Models {
		if ref, ok := strings.CutPrefix(m.URI, "oci://"); ok {
			if pinned := pin(ref, r.refs[m.URI].digest); pinned != "" {
				ops = append(ops, op{"replace", m.Path, "oci://" + pinned})
			}
		}
	}
	if len(ops) == 0 {
		return r.res
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		r.res.Outcome = OutcomeError
		return r.res
	}
	pt := admissionv1.PatchTypeJSONPatch
	r.res.Response.Patch, r.res.Response.PatchType = patch, &pt
	return r.res
}

// pin is ref with its tag replaced by the digest of verified
// (repository@sha256:...), keeping the reference's own spelling of the
// repository; "" when ref is already pinned or nothing was verified.
func pin(ref, verified string) string {
	d := digestPart(verified)
	if d == "" || strings.Contains(ref, "@") {
		return ""
	}
	repo := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo = ref[:i]
	}
	return repo + "@" + d
}
