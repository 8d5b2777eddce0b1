package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/report"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/policies"
)

// checkOptions are the flags of `gatehouse check`.
type checkOptions struct {
	env        string
	configPath string
	policies   []string
	noDefaults bool
	waivers    string
	gates      []string
	evidence   []string
	formats    []string
	output     string
	timeout    time.Duration
	attest     bool
	key        string
	attestFmt  string
	audit      string
	auditKey   string
	sample     string
}

func init() {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check [flags] SUBJECT...",
		Short: "Decide whether subjects may be deployed (the CI gate step)",
		Long: `check collects evidence about each subject, evaluates the gates the
environment requires for its kind, and prints the decision.

Subjects: image:REF, model:PATH, dataset:PATH, score:FILE, pipeline:FILE.
Exit codes: 0 all allowed, 1 any denied, 2 could not decide (bad flags or
configuration, evidence unreachable, policy error): the reason is on stderr.`,
		Example: `  gatehouse check --env prod image:ghcr.io/acme/api@sha256:...
  gatehouse check --evidence sonarqube=status.json --format text --format sarif=out.sarif image:api
  gatehouse check --env dev model:models/fraud-v3`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), o, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.env, "env", "", "environment to check for (default: the configuration's default_environment)")
	f.StringVar(&o.configPath, "config", "", "configuration file (default: ./gatehouse.yaml if present, else the shipped defaults)")
	f.StringArrayVar(&o.policies, "policy", nil, "extra policy folder, .rego file or OPA bundle .tar.gz (repeatable)")
	f.BoolVar(&o.noDefaults, "no-default-policies", false, "use only --policy, not the embedded default gates")
	f.StringVar(&o.waivers, "waivers", "", "waivers YAML file (default: the environment's waivers file)")
	f.StringArrayVar(&o.gates, "gate", nil, "run only this gate (repeatable)")
	f.StringArrayVar(&o.evidence, "evidence", nil, "pre-collected evidence NAME=FILE, or SUBJECT=NAME=FILE to bind it to one subject (repeatable)")
	f.StringArrayVar(&o.formats, "format", nil, "output format text|json|sarif|junit, optionally =FILE (repeatable; default text)")
	f.StringVar(&o.output, "output", "", "file for formats given without =FILE (default stdout)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "deadline per subject: collecting evidence and evaluating the policy")
	f.BoolVar(&o.attest, "attest", false, "sign a SLSA verification summary attestation for each subject that passed (needs --key)")
	f.StringVar(&o.key, "key", "", "signing key for --attest (cosign key file or PKCS#8 PEM)")
	f.StringVar(&o.attestFmt, "attest-format", "auto", "how --attest attaches an image's VSA: auto (a Sigstore bundle when the image carries bundles, else cosign's .att tag), bundle or tag")
	f.StringVar(&o.audit, "audit", "", "record every decision in the audit log: sqlite:PATH, a file path or postgres://…")
	f.StringVar(&o.auditKey, "audit-key", "", "private key that signs the audit log's checkpoint at the end of the run (as --key)")
	f.StringVar(&o.sample, "sample", "", "PII-scan only the first SIZE bytes of each dataset file (1048576, 64MiB, 1GiB): the pii gate's sample_bytes for this run")
	rootCmd.AddCommand(cmd)
}

// outputTarget is one --format: where it goes.
type outputTarget struct {
	format string
	file   string // "" = --output or stdout
}

func parseFormats(specs []string) ([]outputTarget, error) {
	if len(specs) == 0 {
		specs = []string{"text"}
	}
	var out []outputTarget
	stdoutTaken := false
	for _, s := range specs {
		format, file, _ := strings.Cut(s, "=")
		if err := report.Write(io.Discard, format, nil); err != nil {
			return nil, fmt.Errorf("--format %s: %w", s, err)
		}
		if file == "" {
			if stdoutTaken {
				return nil, fmt.Errorf("--format %s: only one format may go to standard output (--output); give the others =FILE", s)
			}
			stdoutTaken = true
		}
		out = append(out, outputTarget{format: format, file: file})
	}
	return out, nil
}

// maxEvidenceBytes bounds one --evidence file that its collector does not
// bound itself.
const maxEvidenceBytes = 64 << 20

// loadConfig reads --config, ./gatehouse.yaml, or the shipped defaults.
func loadConfig(path string) (*gates.Config, error) {
	if path == "" {
		if _, err := os.Stat("gatehouse.yaml"); err == nil {
			path = "gatehouse.yaml"
		}
	}
	if path != "" {
		return gates.LoadConfig(path)
	}
	b, err := policies.FS.ReadFile("gatehouse.yaml")
	if err != nil {
		return nil, err
	}
	return gates.ParseConfig("default configuration", b, "")
}

// evidenceSpec is one --evidence [SUBJECT=]NAME=FILE.
type evidenceSpec struct {
	spec    string
	subject string // "" = bound by what the document names, or to the only subject that reads it
	name    string
	file    string
	doc     json.RawMessage
}

// supplied is the spec as the engine binds it.
func (e evidenceSpec) supplied() (gates.SuppliedEvidence, error) {
	se := gates.SuppliedEvidence{Source: "--evidence " + e.spec, Name: e.name, Doc: e.doc}
	if e.subject != "" {
		s, err := gates.ParseSubject(e.subject)
		if err != nil {
			return se, fmt.Errorf("--evidence %s: %w", e.spec, err)
		}
		se.Subject = &s
	}
	return se, nil
}

// parseEvidenceSpec splits [SUBJECT=]NAME=FILE. A subject always has a
// KIND: prefix and an evidence name never holds ":", so the first field
// tells which form it is.
func parseEvidenceSpec(spec string) (evidenceSpec, error) {
	e := evidenceSpec{spec: spec}
	first, rest, ok := strings.Cut(spec, "=")
	if ok && strings.Contains(first, ":") {
		e.subject = first
		first, rest, ok = strings.Cut(rest, "=")
	}
	e.name, e.file = first, rest
	if !ok || e.name == "" || e.file == "" || strings.Contains(e.name, ":") {
		return e, fmt.Errorf("--evidence %q: want NAME=FILE or SUBJECT=NAME=FILE (e.g. model:models/a=model_scan=report.json)", spec)
	}
	return e, nil
}

// readEvidence reads the file of e, bounded: through the collector's own
// parser when it has one, else as a JSON or YAML object; once per run.
func readEvidence(e *evidenceSpec, parsers map[string]gates.EvidenceParser) error {
	limit := int64(maxEvidenceBytes)
	if p, ok := parsers[e.name].(interface{ MaxEvidenceBytes() int64 }); ok {
		limit = p.MaxEvidenceBytes() // the collector knows its format's bound
	}
	b, err := readlimit.File(e.file, limit)
	if err != nil {
		return fmt.Errorf("--evidence %s: %w", e.spec, err)
	}
	var v any
	if p, ok := parsers[e.name]; ok {
		if v, err = p.ParseEvidence(b); err != nil {
			return fmt.Errorf("--evidence %s: %w", e.spec, err)
		}
	} else {
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return fmt.Errorf("--evidence %s: not JSON or YAML: %w", e.spec, err)
		}
		var m map[string]any
		if err := json.Unmarshal(j, &m); err != nil || m == nil {
			return fmt.Errorf("--evidence %s: evidence must be a JSON object", e.spec)
		}
		v = m
	}
	// Encoded once here, not again for every subject it is given to.
	if e.doc, err = json.Marshal(v); err != nil {
		return fmt.Errorf("--evidence %s: %w", e.spec, err)
	}
	return nil
}

// openOutputs creates every output file before the work starts, so a bad
// path fails the run at once instead of after the decisions.
func openOutputs(targets []outputTarget, output string) (map[string]*os.File, error) {
	files := map[string]*os.File{}
	for _, t := range targets {
		file := t.file
		if file == "" {
			file = output
		}
		if file == "" || files[file] != nil {
			continue
		}
		f, err := openOutput(file, os.O_TRUNC)
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("--format %s: %w", t.format, err)
		}
		files[file] = f
	}
	return files, nil
}

// openOutput opens an output file for writing without blocking: a FIFO
// nobody reads fails at once (ENXIO) instead of hanging the run; one with
// a reader (e.g. >(jq .)) is written through Go's poller.
func openOutput(path string, mode int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|syscall.O_NONBLOCK|mode, 0o644)
	if errors.Is(err, syscall.ENXIO) {
		return nil, fmt.Errorf("%s is a FIFO that nobody reads: %w", path, err)
	}
	return f, err
}

func closeAll(files map[string]*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func runCheck(ctx context.Context, o checkOptions, args []string, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	targets, err := parseFormats(o.formats)
	if err != nil {
		return undecided(err)
	}
	if o.timeout <= 0 {
		return undecided(fmt.Errorf("--timeout %s: must be positive", o.timeout))
	}
	if o.attest && o.key == "" {
		return undecided(errors.New("--attest needs --key"))
	}
	if o.auditKey != "" && o.audit == "" {
		return undecided(errors.New("--audit-key needs --audit"))
	}
	subjects := make([]gates.Subject, 0, len(args))
	for _, a := range args {
		s, err := gates.ParseSubject(a)
		if err != nil {
			return undecided(err)
		}
		subjects = append(subjects, s)
	}
	specs := make([]evidenceSpec, 0, len(o.evidence))
	for _, spec := range o.evidence {
		e, err := parseEvidenceSpec(spec)
		if err != nil {
			return undecided(err)
		}
		if why, ok := unsuppliedEvidence[e.name]; ok {
			return undecided(fmt.Errorf("--evidence %s: %s", spec, why))
		}
		specs = append(specs, e)
	}
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return undecided(err)
	}
	envName, _, err := cfg.Environment(o.env)
	if err != nil {
		return undecided(err)
	}
	if err := applySample(cfg, envName, o.sample); err != nil {
		return undecided(err)
	}
	// Composite subjects (pipeline:, score:) bring their parts in, each
	// judged by its own kind's gates.
	work := expand(ctx, subjects)
	subjects = subjectsOf(work)
	if o.attest {
		if err := attestCovers(cfg, envName, subjects, o.gates); err != nil {
			return undecided(err)
		}
	}
	// One walk per remote model for all its collectors; its side files are
	// removed when the run ends, interrupted or not (remote_walk.go).
	cenv := collectorEnv{Config: cfg, Env: envName, Stderr: stderr, Remote: newRemoteCache()}
	defer cenv.Remote.Close()
	// The signer is loaded before any work: a bad key or format fails fast.
	var att attester
	if o.attest {
		if attesterFactory == nil {
			return undecided(errors.New("--attest: this build has no attestation support"))
		}
		if att, err = attesterFactory(attestOptions{key: o.key, format: o.attestFmt}, cenv); err != nil {
			return undecided(fmt.Errorf("--attest: %w", err))
		}
	}
	chk, err := newChecker(cfg, envName, checkerOptions{policies: o.policies, noDefaults: o.noDefaults, waivers: o.waivers, timeout: o.timeout}, cenv)
	if err != nil {
		return undecided(err)
	}
	supplied, err := chk.prepareEvidence(subjects, o.gates, specs)
	if err != nil {
		return undecided(err)
	}
	// The audit log is opened before any work: a bad DSN or key fails fast.
	var sink *auditSink
	if o.audit != "" {
		if sink, err = openAuditSink(ctx, o.audit, o.auditKey, 0, 0); err != nil {
			return undecided(err)
		}
		defer sink.Close(context.WithoutCancel(ctx))
	}
	files, err := openOutputs(targets, o.output)
	if err != nil {
		return undecided(err)
	}
	defer closeAll(files)

	results, err := chk.decide(ctx, work, o.gates, supplied)
	if err != nil {
		return undecided(err)
	}
	if sink != nil {
		if err := recordCheck(ctx, sink, envName, results); err != nil {
			return undecided(err)
		}
	}
	for _, r := range results {
		// The text report says it too; machine formats on stdout do not
		// reach the reader of the log.
		if r.Decision != nil && r.Decision.Partial && !textOnStdout(targets, o.output) {
			fmt.Fprintf(stderr, "gatehouse: partial run for %s: %s requires %s, only %s ran; this is not a verdict for %s\n",
				textsafe.Escape(r.Subject.String()), envName, strings.Join(r.Decision.RequiredGates, ", "), strings.Join(r.Decision.Gates, ", "), envName)
		}
	}

	var attestErr error
	if o.attest && ctx.Err() == nil {
		attestErr = attestPassed(ctx, att, results, stderr)
	}
	if err := writeOutputs(targets, o.output, files, results, stdout); err != nil {
		return undecided(err)
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		if err := writeGitHub(results, annotationWriter(targets, o.output, stdout, stderr)); err != nil {
			fmt.Fprintln(stderr, "gatehouse: GitHub step summary:", err)
		}
	}
	if attestErr != nil {
		return undecided(attestErr)
	}
	return exitFor(results, stderr)
}

// exitFor maps the verdicts to the exit code (report.ExitCode: a denial
// beats "not decided") and puts every reason not to decide on stderr.
func exitFor(results []report.Result, stderr io.Writer) error {
	var notDecided []string
	for _, r := range results {
		if r.Verdict() != gates.VerdictNotDecided {
			continue
		}
		why := r.Reasons()
		if r.Decision != nil && len(r.Decision.Undecided) == 0 {
			why = append(why, undecidedFindings(r.Decision)...)
		}
		for i := range why {
			why[i] = strings.TrimPrefix(why[i], gates.ErrUndecided.Error()+": ")
		}
		notDecided = append(notDecided, textsafe.Escape(fmt.Sprintf("%s: not decided: %s", r.Subject, strings.Join(why, "; "))))
	}
	switch report.ExitCode(results) {
	case report.ExitAllowed:
		return nil
	case report.ExitDenied:
		for _, n := range notDecided {
			fmt.Fprintln(stderr, "gatehouse:", n)
		}
		return denied()
	}
	if len(notDecided) == 0 {
		notDecided = append(notDecided, "no subject was decided")
	}
	return undecided(errors.New(strings.Join(notDecided, "\n")))
}

// undecidedFindings are the messages of violations that only say evidence
// was missing, errored or not verified.
func undecidedFindings(d *gates.Decision) []string {
	var out []string
	for _, v := range d.Violations {
		if gates.UndecidedRule(v.Rule) {
			out = append(out, v.Gate+": "+v.Message)
		}
	}
	return out
}

// attestCovers refuses --attest when --gate leaves out a gate the
// environment requires for a subject's kind: a partial run is no verdict
// for the environment, and a VSA must not say it is.
func attestCovers(cfg *gates.Config, env string, subjects []gates.Subject, only []string) error {
	for _, s := range subjects {
		if s.Kind.IsFile() && strings.HasPrefix(s.Ref, "gs://") {
			return fmt.Errorf("--attest: %s: a VSA is attached in an OCI registry or written beside a local file, and a bucket is neither: publish the %s as an OCI artifact (gatehouse push model) to attest it", s, s.Kind)
		}
	}
	if len(only) == 0 {
		return nil
	}
	for _, s := range subjects {
		if len(cfg.RequiredGates(env, s.Kind)) == 0 {
			return fmt.Errorf("--attest: %s requires no gates for %s subjects: there is no verdict to attest for %s", env, s.Kind, s)
		}
		var missing []string
		for _, g := range cfg.RequiredGates(env, s.Kind) {
			if !slices.Contains(only, g) {
				missing = append(missing, g)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("--attest: --gate %s skips %s, which %s requires for %s subjects: a partial run is not attested (drop --gate)", strings.Join(only, ","), strings.Join(missing, ", "), env, s.Kind)
		}
	}
	return nil
}

// resolve fills in a subject's digest, or checks a file subject exists.
func resolve(ctx context.Context, resolver gates.Resolver, s *gates.Subject) error {
	if s.Kind.IsFile() && strings.Contains(s.Ref, "://") {
		if remoteResolver == nil {
			return fmt.Errorf("%s: this build reads no remote references", s)
		}
		return remoteResolver(ctx, s)
	}
	if resolver != nil {
		if err := resolver.Resolve(ctx, s); err != nil {
			return fmt.Errorf("resolve %s: %w", s, err)
		}
		return nil
	}
	if s.Kind.IsFile() {
		if _, err := os.Stat(s.Ref); err != nil {
			return err
		}
	}
	return nil
}

// attestPassed signs a VSA for each subject that passed.
func attestPassed(ctx context.Context, a attester, results []report.Result, stderr io.Writer) error {
	for _, r := range results {
		if r.Decision == nil || r.Decision.Verdict() != gates.VerdictAllowed || r.Decision.Partial {
			continue
		}
		loc, err := a.Attest(ctx, r.Decision)
		if err != nil {
			return fmt.Errorf("attest %s: %w", r.Subject, err)
		}
		fmt.Fprintf(stderr, "gatehouse: verification summary for %s written to %s\n", textsafe.Escape(r.Subject.String()), textsafe.Escape(loc))
	}
	return nil
}

func writeOutputs(targets []outputTarget, output string, files map[string]*os.File, results []report.Result, stdout io.Writer) error {
	for _, t := range targets {
		file := t.file
		if file == "" {
			file = output
		}
		w := io.Writer(stdout)
		if file != "" {
			w = files[file]
		}
		if err := report.Write(w, t.format, results); err != nil {
			return fmt.Errorf("write %s output: %w", t.format, err)
		}
	}
	for name, f := range files {
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// textOnStdout reports whether the text report goes to stdout.
func textOnStdout(targets []outputTarget, output string) bool {
	for _, t := range targets {
		if t.file == "" && output == "" && t.format == "text" {
			return true
		}
	}
	return false
}

// annotationWriter is where GitHub workflow commands go: stdout when it
// carries text or nothing, else stderr (the runner reads both), so JSON,
// SARIF or JUnit on stdout stays valid.
func annotationWriter(targets []outputTarget, output string, stdout, stderr io.Writer) io.Writer {
	for _, t := range targets {
		if t.file == "" && output == "" && t.format != "text" {
			return stderr
		}
	}
	return stdout
}

// writeGitHub adds annotations to the log and a summary to the job page.
func writeGitHub(results []report.Result, w io.Writer) error {
	if err := report.WriteAnnotations(w, results); err != nil {
		return err
	}
	p := os.Getenv("GITHUB_STEP_SUMMARY")
	if p == "" {
		return nil
	}
	f, err := openOutput(p, os.O_APPEND)
	if err != nil {
		return err
	}
	werr := report.WriteStepSummary(f, results)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// recordCheck records every result of the run in the audit log, a subject
// that could not be decided as a "not decided" decision with its reason,
// and signs the checkpoint that covers them. Decisions reached before an
// interrupt are still recorded (within a bounded time): an answered
// decision is in the log, or the run fails.
func recordCheck(ctx context.Context, sink *auditSink, env string, results []report.Result) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ctx = gates.WithRecordContext(ctx, gates.RecordContext{Door: "check"})
	for _, r := range results {
		d := r.Decision
		if d == nil {
			why := "not decided"
			if r.Err != nil {
				why = r.Err.Error()
			}
			d = &gates.Decision{Subject: r.Subject, Environment: env, Undecided: []string{why}, Time: time.Now().UTC()}
		}
		if err := sink.recorder.Record(ctx, d); err != nil {
			return fmt.Errorf("--audit: %s not recorded: %w", r.Subject, err)
		}
	}
	if err := sink.Close(ctx); err != nil {
		return err
	}
	return nil
}
