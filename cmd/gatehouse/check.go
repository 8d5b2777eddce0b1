package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/report"
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
	f.StringArrayVar(&o.evidence, "evidence", nil, "pre-collected evidence NAME=FILE (repeatable)")
	f.StringArrayVar(&o.formats, "format", nil, "output format text|json|sarif|junit, optionally =FILE (repeatable; default text)")
	f.StringVar(&o.output, "output", "", "file for formats given without =FILE (default stdout)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "deadline for collecting evidence per subject")
	f.BoolVar(&o.attest, "attest", false, "sign a SLSA verification summary attestation for each subject that passed (needs --key)")
	f.StringVar(&o.key, "key", "", "signing key for --attest (cosign key file or PKCS#8 PEM)")
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

// parseEvidenceFlag reads NAME=FILE: through the collector's own parser
// when it has one, else as a JSON or YAML object.
func parseEvidenceFlag(spec string, parsers map[string]gates.EvidenceParser) (string, any, error) {
	name, file, ok := strings.Cut(spec, "=")
	if !ok || name == "" || file == "" {
		return "", nil, fmt.Errorf("--evidence %q: want NAME=FILE", spec)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("--evidence %s: %w", name, err)
	}
	if p, ok := parsers[name]; ok {
		v, err := p.ParseEvidence(b)
		if err != nil {
			return "", nil, fmt.Errorf("--evidence %s=%s: %w", name, file, err)
		}
		return name, v, nil
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return "", nil, fmt.Errorf("--evidence %s=%s: not JSON or YAML: %w", name, file, err)
	}
	var v map[string]any
	if err := json.Unmarshal(j, &v); err != nil || v == nil {
		return "", nil, fmt.Errorf("--evidence %s=%s: evidence must be a JSON object", name, file)
	}
	return name, v, nil
}

func runCheck(ctx context.Context, o checkOptions, args []string, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	targets, err := parseFormats(o.formats)
	if err != nil {
		return undecided(err)
	}
	if o.attest && o.key == "" {
		return undecided(errors.New("--attest needs --key"))
	}
	subjects := make([]gates.Subject, 0, len(args))
	for _, a := range args {
		s, err := gates.ParseSubject(a)
		if err != nil {
			return undecided(err)
		}
		subjects = append(subjects, s)
	}
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return undecided(err)
	}
	envName, env, err := cfg.Environment(o.env)
	if err != nil {
		return undecided(err)
	}
	cenv := collectorEnv{Config: cfg, Env: envName, Stderr: stderr}

	var collectors []gates.Collector
	parsers := map[string]gates.EvidenceParser{}
	for _, f := range collectorFactories {
		c, err := f(cenv)
		if err != nil {
			return undecided(err)
		}
		if c == nil {
			continue
		}
		collectors = append(collectors, c)
		if p, ok := c.(gates.EvidenceParser); ok {
			parsers[c.Name()] = p
		}
	}
	supplied := map[string]any{}
	for _, spec := range o.evidence {
		name, v, err := parseEvidenceFlag(spec, parsers)
		if err != nil {
			return undecided(err)
		}
		// Encoded once here, not again for every subject it is given to.
		b, err := json.Marshal(v)
		if err != nil {
			return undecided(fmt.Errorf("--evidence %s: %w", spec, err))
		}
		supplied[name] = json.RawMessage(b)
	}

	opts := []gates.Option{gates.WithConfig(cfg), gates.WithCollectors(collectors...), gates.WithCollectTimeout(o.timeout)}
	if o.noDefaults || (env.DefaultPolicies != nil && !*env.DefaultPolicies) {
		opts = append(opts, gates.WithoutDefaultPolicies())
	} else {
		opts = append(opts, gates.WithDefaultPolicies(policies.FS))
	}
	for _, p := range env.Policies {
		opts = append(opts, gates.WithPolicies(cfg.Path(p)))
	}
	opts = append(opts, gates.WithPolicies(o.policies...))
	waiverFile := o.waivers
	if waiverFile == "" && env.Waivers != "" {
		waiverFile = cfg.Path(env.Waivers)
	}
	if waiverFile != "" {
		ws, err := gates.LoadWaivers(waiverFile)
		if err != nil {
			return undecided(err)
		}
		opts = append(opts, gates.WithWaivers(ws))
	}
	engine, err := gates.New(opts...)
	if err != nil {
		return undecided(err)
	}

	var resolver gates.Resolver
	if resolverFactory != nil {
		if resolver, err = resolverFactory(cenv); err != nil {
			return undecided(err)
		}
	}
	results := make([]report.Result, 0, len(subjects))
	for _, s := range subjects {
		results = append(results, decideOne(ctx, engine, resolver, s, envName, o, supplied))
	}

	if o.attest {
		if err := attestPassed(ctx, o.key, cenv, results, stderr); err != nil {
			return undecided(err)
		}
	}
	if err := writeOutputs(targets, o.output, results, stdout); err != nil {
		return undecided(err)
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		if err := writeGitHub(results, stdout); err != nil {
			fmt.Fprintln(stderr, "gatehouse: GitHub step summary:", err)
		}
	}
	for _, r := range results {
		if r.Decision == nil {
			return undecided(fmt.Errorf("%s: %w", r.Subject, r.Err))
		}
	}
	if !report.AllAllowed(results) {
		return denied()
	}
	return nil
}

// decideOne resolves, collects and decides one subject; any failure is
// recorded as "not decided" (which denies).
func decideOne(ctx context.Context, engine *gates.Engine, resolver gates.Resolver, s gates.Subject, env string, o checkOptions, supplied map[string]any) report.Result {
	if resolver != nil {
		if err := resolver.Resolve(ctx, &s); err != nil {
			return report.Result{Subject: s, Err: fmt.Errorf("resolve %s: %w", s, err)}
		}
	} else if s.Kind.IsFile() {
		if _, err := os.Stat(s.Ref); err != nil {
			return report.Result{Subject: s, Err: err}
		}
	}
	d, err := engine.Decide(ctx, gates.Request{Subject: s, Environment: env, Gates: o.gates, Evidence: supplied})
	if err != nil {
		return report.Result{Subject: s, Err: err}
	}
	return report.Result{Subject: d.Subject, Decision: d}
}

// attestPassed signs a VSA for each subject that passed.
func attestPassed(ctx context.Context, key string, cenv collectorEnv, results []report.Result, stderr io.Writer) error {
	if attesterFactory == nil {
		return errors.New("--attest: this build has no attestation support")
	}
	a, err := attesterFactory(key, cenv)
	if err != nil {
		return fmt.Errorf("--attest: %w", err)
	}
	for _, r := range results {
		if !r.Allowed() {
			continue
		}
		loc, err := a.Attest(ctx, r.Decision)
		if err != nil {
			return fmt.Errorf("attest %s: %w", r.Subject, err)
		}
		fmt.Fprintf(stderr, "gatehouse: verification summary for %s written to %s\n", r.Subject, loc)
	}
	return nil
}

func writeOutputs(targets []outputTarget, output string, results []report.Result, stdout io.Writer) error {
	for _, t := range targets {
		file := t.file
		if file == "" {
			file = output
		}
		if file == "" {
			if err := report.Write(stdout, t.format, results); err != nil {
				return err
			}
			continue
		}
		f, err := os.Create(file)
		if err != nil {
			return fmt.Errorf("--format %s: %w", t.format, err)
		}
		werr := report.Write(f, t.format, results)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", file, werr)
		}
	}
	return nil
}

// writeGitHub adds annotations to the log and a summary to the job page.
func writeGitHub(results []report.Result, stdout io.Writer) error {
	if err := report.WriteAnnotations(stdout, results); err != nil {
		return err
	}
	p := os.Getenv("GITHUB_STEP_SUMMARY")
	if p == "" {
		return nil
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	werr := report.WriteStepSummary(f, results)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}
