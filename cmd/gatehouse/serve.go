package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/admission"
	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/checkapi"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/policies"
)

// serveOptions are the flags of `gatehouse serve`.
type serveOptions struct {
	addr            string
	tlsCert, tlsKey string
	selfSigned      bool
	selfSignedHosts []string
	caOut           string
	configPath      string
	gatePolicies    []string
	admPolicies     []string
	audit           string
	auditSync       string
	auditKey        string
	auditEvery      int
	auditInterval   time.Duration
	auditTokens     string
	checkTokens     string
	checkTimeout    time.Duration
	kubeconfig      string
	inCluster       bool
	bundle          string
	bundleKeys      []string
	bundlePoll      time.Duration
	reload          time.Duration
	insecureReg     bool
	shutdownTimeout time.Duration
	drainDelay      time.Duration
	logLevel        string
}

func init() {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --addr ADDR (--tls-cert F --tls-key F | --self-signed) [flags]",
		Short: "Run the Kubernetes admission webhook (/validate, /mutate) over HTTPS",
		Long: `serve runs the validating (/validate) and mutating (/mutate) admission
webhook: a workload is admitted only when each of its images carries a
signed gatehouse VSA and the signatures the environment requires, and the
admission policy (Rego package gatehouse.admission) allows it. It also
serves /healthz, /readyz (with the policy revision) and /metrics.

The policy and the configuration are re-read when their files change; with
--bundle the admission policy comes from a signed OPA bundle polled over
HTTPS or from an OCI registry, and a bundle that fails to load or verify
leaves the last good one in force. SIGTERM drains in-flight reviews.`,
		Example: `  gatehouse serve --self-signed --addr 127.0.0.1:8443 --config gatehouse.yaml
  gatehouse serve --addr :8443 --tls-cert /tls/tls.crt --tls-key /tls/tls.key --in-cluster --audit jsonl:/var/log/gatehouse/audit.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", ":8443", "address to listen on (HTTPS only)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serving certificate (PEM chain), re-read when it changes")
	f.StringVar(&o.tlsKey, "tls-key", "", "serving key (PEM), re-read when it changes")
	f.BoolVar(&o.selfSigned, "self-signed", false, "generate an in-memory CA and certificate (local trials only)")
	f.StringSliceVar(&o.selfSignedHosts, "self-signed-host", []string{"127.0.0.1", "::1", "localhost"}, "names and addresses the self-signed certificate is for")
	f.StringVar(&o.caOut, "self-signed-ca", "", "where to write the self-signed CA's PEM (default: a file in the temp folder, printed)")
	f.StringVar(&o.configPath, "config", "", "configuration file with the admission: section (default: ./gatehouse.yaml if present, else the shipped defaults)")
	f.StringArrayVar(&o.gatePolicies, "gate-policy", nil, "extra gates policy folder or bundle, as check --policy (its digest is what VSAs must state)")
	f.StringArrayVar(&o.admPolicies, "admission-policy", nil, "admission policy folder (.rego and data.json; repeatable; default: the embedded policy); re-read when it changes")
	f.StringVar(&o.audit, "audit", "", "where decisions are recorded: the audit log (sqlite:PATH, a file path, postgres://…) or a JSON-lines file (jsonl:PATH)")
	f.StringVar(&o.auditSync, "audit-sync", admission.SyncInterval, "when the JSON-lines audit file is fsynced: always, interval (every second) or never")
	f.StringVar(&o.auditKey, "audit-key", "", "private key that signs the audit log's checkpoints (cosign key or PKCS#8 PEM)")
	f.IntVar(&o.auditEvery, "audit-checkpoint-every", 1000, "sign a checkpoint after this many recorded decisions (with --audit-key)")
	f.DurationVar(&o.auditInterval, "audit-checkpoint-interval", time.Minute, "and at least this often while decisions are recorded (with --audit-key)")
	f.StringVar(&o.auditTokens, "audit-tokens", "", "tokens file (TOKEN ROLE NAME a line; roles auditor, admin) that opens the audit pages and API under /audit/ (needs an --audit store)")
	f.StringVar(&o.checkTokens, "check-tokens", "", "tokens file (TOKEN checker NAME a line) that opens the decision API, POST /v1/check (docs/decision-api.md)")
	f.DurationVar(&o.checkTimeout, "check-timeout", 5*time.Minute, "deadline of one decision API request: collecting evidence and evaluating the gates")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to read namespace labels with (default: the configuration's static namespaces)")
	f.BoolVar(&o.inCluster, "in-cluster", false, "read namespace labels with the pod's service account")
	f.StringVar(&o.bundle, "bundle", "", "signed OPA bundle of the admission policy: https://… or oci://registry/repo:tag")
	f.StringArrayVar(&o.bundleKeys, "bundle-key", nil, "PEM public key that signs --bundle (repeatable; key id = file name without extension)")
	f.DurationVar(&o.bundlePoll, "bundle-poll", time.Minute, "how often --bundle is polled")
	f.DurationVar(&o.reload, "reload-interval", 10*time.Second, "how often policy, configuration and key files are checked for changes")
	f.BoolVar(&o.insecureReg, "insecure-registry", false, "allow plain HTTP to registries that are not on loopback or private addresses")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight reviews may finish after SIGTERM")
	f.DurationVar(&o.drainDelay, "drain-delay", 0, "after SIGTERM, keep serving this long with /readyz failing (endpoints update) before closing the listener")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	rootCmd.AddCommand(cmd)
}

func (o serveOptions) check() error {
	switch {
	case o.selfSigned && (o.tlsCert != "" || o.tlsKey != ""):
		return errors.New("--self-signed and --tls-cert/--tls-key exclude each other")
	case !o.selfSigned && (o.tlsCert == "" || o.tlsKey == ""):
		return errors.New("HTTPS only: give --tls-cert and --tls-key, or --self-signed for a local trial")
	case o.kubeconfig != "" && o.inCluster:
		return errors.New("--kubeconfig and --in-cluster exclude each other")
	case o.bundle != "" && len(o.admPolicies) > 0:
		return errors.New("--bundle and --admission-policy exclude each other: the admission policy comes from one place")
	case o.bundle != "" && len(o.bundleKeys) == 0:
		return errors.New("--bundle needs --bundle-key: an unsigned policy bundle is not accepted")
	case o.auditKey != "" && (o.audit == "" || strings.HasPrefix(o.audit, "jsonl:")):
		return errors.New("--audit-key signs the audit log's checkpoints: it needs --audit sqlite:PATH or postgres://… (a jsonl: file has none)")
	case o.auditTokens != "" && (o.audit == "" || strings.HasPrefix(o.audit, "jsonl:")):
		return errors.New("--audit-tokens opens the audit pages: it needs --audit sqlite:PATH or postgres://… (a jsonl: file has no pages)")
	case o.auditEvery <= 0 || o.auditInterval <= 0:
		return errors.New("--audit-checkpoint-every and --audit-checkpoint-interval must be positive")
	case o.checkTimeout <= 0:
		return errors.New("--check-timeout must be positive")
	case o.reload <= 0 || o.bundlePoll <= 0 || o.shutdownTimeout <= 0 || o.drainDelay < 0:
		return errors.New("--reload-interval, --bundle-poll and --shutdown-timeout must be positive, --drain-delay not negative")
	}
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %s: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// serveState is what one configuration builds; a changed configuration
// file builds a new one, swapped in whole.
type serveState struct {
	admitter *admission.Admitter
	api      *apiChecker // the decision API's checkers, with --check-tokens
	stamp    string      // configuration, key and gate policy files, as read
}

func runServe(ctx context.Context, o serveOptions, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := o.check(); err != nil {
		return undecided(err)
	}
	log, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return undecided(err)
	}
	// Listening first: a bad or taken address fails before any work.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return undecided(fmt.Errorf("--addr: %w", err))
	}
	defer ln.Close() // Serve closes it; this covers the returns before
	getCert, err := serveCertificate(o, log)
	if err != nil {
		return undecided(err)
	}
	metrics := admission.NewMetrics()
	var recorder gates.Recorder
	var pages http.Handler // the audit pages and API, with --audit-tokens
	if path, ok := strings.CutPrefix(o.audit, "jsonl:"); ok {
		r, err := admission.OpenJSONL(path, admission.JSONLOptions{Sync: o.auditSync})
		if err != nil {
			return undecided(fmt.Errorf("--audit: %w", err))
		}
		defer r.Close()
		recorder = r
	} else if o.audit != "" {
		sink, err := openAuditSink(ctx, o.audit, o.auditKey, o.auditEvery, o.auditInterval)
		if err != nil {
			return undecided(err)
		}
		// After the drain: the last checkpoint covers every answered review.
		defer func() {
			if err := sink.Close(context.WithoutCancel(ctx)); err != nil {
				log.Error("audit log not closed cleanly", "err", err.Error())
			}
		}()
		recorder = sink.recorder
		if pages, err = auditPages(o, sink.store, log); err != nil {
			return undecided(err)
		}
	}
	// The policy comes first: the configuration's admitter needs one.
	src, err := policySource(o)
	if err != nil {
		return undecided(err)
	}
	policy, err := src.Load(ctx)
	if err != nil && o.bundle == "" {
		return undecided(err) // local files: a bad policy is a bad start
	}
	if err != nil {
		// A bundle server may be down at start: serve unready, keep polling.
		log.Error("policy bundle not loaded; not ready until it is", "bundle", o.bundle, "err", err.Error())
		metrics.PolicyLoaded("", err)
	}
	var verifier admission.ImageVerifier = ociClient()
	if o.insecureReg {
		verifier = oci.New(oci.Options{Insecure: true})
	}
	// One namespace watch for the life of the server; a reloaded
	// configuration reads the same labels under its own rules.
	var kube *admission.KubeNamespaces
	if o.kubeconfig != "" || o.inCluster {
		rc, err := admission.KubeRESTConfig(o.kubeconfig)
		if err != nil {
			return undecided(err)
		}
		if kube, err = admission.NewKubeNamespaces(ctx, rc, log); err != nil {
			return undecided(err)
		}
	}
	build := func() (*serveState, error) {
		return buildAdmitter(o, policy, verifier, kube, recorder)
	}
	handler := admission.NewHandler(admission.HandlerOptions{Metrics: metrics, Logger: log})
	var api http.Handler // the decision API, with --check-tokens
	var live liveChecker
	if o.checkTokens != "" {
		tokens, err := bearer.Load(o.checkTokens, checkapi.RoleChecker)
		if err != nil {
			return undecided(fmt.Errorf("--check-tokens: %w", err))
		}
		api = checkapi.Handler(checkapi.Options{Checker: &live, Tokens: tokens, Timeout: o.checkTimeout, Logger: log})
	}
	install := func(s *serveState) {
		handler.SetAdmitter(s.admitter)
		live.p.Store(s.api)
	}
	var state *serveState
	if policy != nil {
		if state, err = build(); err != nil {
			return undecided(err)
		}
		install(state)
		metrics.PolicyLoaded(policy.Revision(), nil)
		log.Info("policy loaded", "revision", policy.Revision(), "digest", policy.Digest())
	}

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watch(watchCtx, o, src, &policy, &state, build, install, metrics, log)
	if err := admission.Serve(ctx, ln, admission.ServerOptions{
		Handler: mount(handler, pages, api), GetCertificate: getCert, Logger: log,
		DrainDelay: o.drainDelay, ShutdownTimeout: o.shutdownTimeout, OnDrain: handler.Drain,
	}); err != nil {
		return undecided(err)
	}
	return nil
}

// watch polls the policy source and the configuration's files, swapping
// in what changed and keeping the last good one on error.
func watch(ctx context.Context, o serveOptions, src admission.PolicySource, policy **admission.Policy, state **serveState,
	build func() (*serveState, error), install func(*serveState), m *admission.Metrics, log *slog.Logger) {
	every := o.reload
	if o.bundle != "" {
		every = o.bundlePoll
	}
	t := time.NewTicker(min(every, o.reload))
	defer t.Stop()
	lastPolicy := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(lastPolicy) >= every {
			lastPolicy = time.Now()
			p, err := src.Load(ctx)
			switch {
			case err != nil:
				m.PolicyLoaded("", err)
				log.Error("policy reload failed; the last good policy stays", "err", err.Error())
			case p != *policy:
				*policy = p
				if *state == nil {
					// The first policy (a bundle that was down at start).
					s, err := build()
					if err != nil {
						log.Error("configuration does not load", "err", err.Error())
						continue
					}
					*state = s
					install(s)
				} else if err := (*state).admitter.SwapPolicy(p); err != nil {
					m.PolicyLoaded("", err)
					log.Error("policy swap failed; the last good policy stays", "err", err.Error())
					continue
				}
				m.PolicyLoaded(p.Revision(), nil)
				log.Info("policy loaded", "revision", p.Revision(), "digest", p.Digest())
			}
		}
		if *state == nil {
			continue
		}
		if stamp, err := configStamp(o); err == nil && stamp != (*state).stamp {
			s, err := build()
			if err != nil {
				m.PolicyLoaded("", err)
				log.Error("configuration reload failed; the last good configuration stays", "err", err.Error())
				(*state).stamp = stamp // not retried until it changes again
				continue
			}
			*state = s
			install(s)
			log.Info("configuration reloaded", "config", o.configPath)
		}
	}
}

// configStamp identifies the versions of the files a configuration is
// built from: gatehouse.yaml and the gate policies given as flags.
func configStamp(o serveOptions) (string, error) {
	paths := append([]string{o.configPath}, o.gatePolicies...)
	if o.configPath == "" {
		paths[0] = "gatehouse.yaml"
	}
	return admission.FilesStamp(paths...)
}

// buildAdmitter reads the configuration and builds the admitter around policy.
func buildAdmitter(o serveOptions, policy *admission.Policy, verifier admission.ImageVerifier,
	kube *admission.KubeNamespaces, recorder gates.Recorder) (*serveState, error) {
	stamp, _ := configStamp(o)
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return nil, err
	}
	name := o.configPath
	if name == "" {
		name = "gatehouse.yaml"
	}
	acfg, err := admission.ParseConfig(&cfg.Admission, name)
	if err != nil {
		return nil, err
	}
	// One engine per environment, built as `gatehouse check` builds it
	// (the environment's policies and waivers): each states the gates
	// policy and configuration digests a VSA for that environment carries.
	engines := map[string]*gates.Engine{}
	for _, env := range cfg.EnvironmentNames() {
		opts, err := engineOptions(cfg, env, o.gatePolicies, false, "")
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w", env, err)
		}
		if engines[env], err = gates.New(opts...); err != nil {
			return nil, fmt.Errorf("environment %s: %w", env, err)
		}
	}
	var ns admission.NamespaceLookup // nil: the configuration's static namespaces
	if kube != nil {
		ns = kube.For(acfg)
	}
	a, err := admission.New(admission.Options{
		Config: acfg, Gates: cfg, Engines: engines, Verifier: verifier, Namespaces: ns, Policy: policy, Recorder: recorder,
	})
	if err != nil {
		return nil, err
	}
	st := &serveState{admitter: a, stamp: stamp}
	if o.checkTokens != "" {
		if st.api, err = newAPIChecker(cfg, o.gatePolicies, recorder, o.checkTimeout); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// policySource is where the admission policy comes from.
func policySource(o serveOptions) (admission.PolicySource, error) {
	if o.bundle != "" {
		return admission.NewBundleSource(admission.BundleOptions{URL: o.bundle, KeyFiles: o.bundleKeys, Insecure: o.insecureReg})
	}
	return &admission.FilePolicy{Dirs: o.admPolicies, Default: policies.FS}, nil
}

// serveCertificate returns the GetCertificate of the server: the files,
// re-read when they change, or a self-signed certificate whose CA is
// written out for the client to trust.
func serveCertificate(o serveOptions, log *slog.Logger) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	if !o.selfSigned {
		r, err := admission.NewCertReloader(o.tlsCert, o.tlsKey, log)
		if err != nil {
			return nil, err
		}
		return r.GetCertificate, nil
	}
	hosts := slices.Clone(o.selfSignedHosts)
	if h, _, err := net.SplitHostPort(o.addr); err == nil && h != "" && !slices.Contains(hosts, h) {
		hosts = append(hosts, h)
	}
	ss, err := admission.NewSelfSigned(hosts, 7*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("--self-signed: %w", err)
	}
	caPath := o.caOut
	if caPath == "" {
		caPath = filepath.Join(os.TempDir(), fmt.Sprintf("gatehouse-serve-ca-%d.pem", os.Getpid()))
	}
	if err := os.WriteFile(caPath, ss.CAPEM, 0o644); err != nil {
		return nil, fmt.Errorf("--self-signed-ca: %w", err)
	}
	log.Warn("self-signed certificate: for local trials only", "ca_pem", caPath, "ca_sha256", ss.Fingerprint, "hosts", hosts)
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &ss.Cert, nil }, nil
}

// auditPages builds the audit pages and API (audit.Handler) over the
// store serve records into, when --audit-tokens is given; with
// --audit-key, its public key checks the checkpoints and goes into exports.
func auditPages(o serveOptions, store audit.Store, log *slog.Logger) (http.Handler, error) {
	if o.auditTokens == "" {
		return nil, nil
	}
	tokens, err := audit.LoadTokens(o.auditTokens)
	if err != nil {
		return nil, fmt.Errorf("--audit-tokens: %w", err)
	}
	ho := audit.HandlerOptions{Store: store, Tokens: tokens, Logger: log}
	if o.auditKey != "" {
		sv, err := attest.LoadSigner(o.auditKey)
		if err != nil {
			return nil, fmt.Errorf("--audit-key: %w", err)
		}
		pub, err := sv.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("--audit-key: %w", err)
		}
		if ho.PublicKey, err = cryptoutils.MarshalPublicKeyToPEM(pub); err != nil {
			return nil, fmt.Errorf("--audit-key: %w", err)
		}
		ho.Verifiers = []signature.Verifier{sv}
	}
	return audit.Handler(ho), nil
}
