package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// `gatehouse audit …`: the compliance officer's door to the audit log —
// verify the chain, query decisions, write a report, export a bundle.
func init() {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify, query, report on and export the tamper-evident audit log",
		Long: `The audit log holds every decision gatehouse took (check --audit, serve
--audit), hash-chained and checkpointed with a signature. --db names it:
sqlite:PATH (or a plain file path) or postgres://USER@HOST/DB.`,
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditQueryCmd(), newAuditReportCmd(), newAuditExportCmd())
	rootCmd.AddCommand(cmd)
}

// auditDBFlag is --db, shared by every audit subcommand.
func auditDBFlag(c *cobra.Command, dsn *string) {
	c.Flags().StringVar(dsn, "db", "", "the audit log: sqlite:PATH, a file path, or postgres://…")
}

// openAuditDB opens --db; an empty one is a usage error.
func openAuditDB(ctx context.Context, dsn string) (audit.Store, error) {
	if dsn == "" {
		return nil, errors.New("--db is required (sqlite:PATH or postgres://…)")
	}
	s, err := audit.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	return s, nil
}

// loadAuditVerifiers reads --key public keys.
func loadAuditVerifiers(paths []string) ([]signature.Verifier, error) {
	var vs []signature.Verifier
	for _, p := range paths {
		v, err := attest.LoadVerifier(p)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func newAuditVerifyCmd() *cobra.Command {
	var (
		dsn, bundle string
		keys        []string
	)
	c := &cobra.Command{
		Use:   "verify (--db DSN [--key PUB ...] | --bundle BUNDLE.zip)",
		Short: "Prove that no decision in the log was changed, removed or reordered",
		Long: `verify recomputes the hash chain of every entry and checks each signed
checkpoint (its size, head hash and signature by --key) against it. With
--bundle it checks an export offline, against the public key inside it.

Exit codes: 0 verified, 1 tampered (the first bad entry is named), 2 could
not verify (no log, bad key, unreadable bundle).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			var (
				res *audit.VerifyResult
				err error
			)
			switch {
			case bundle != "" && (dsn != "" || len(keys) > 0):
				return undecided(errors.New("--bundle verifies an export against the key inside it: it excludes --db and --key"))
			case bundle != "":
				res, err = verifyBundleFile(ctx, bundle)
			default:
				vs, kerr := loadAuditVerifiers(keys)
				if kerr != nil {
					return undecided(kerr)
				}
				s, oerr := openAuditDB(ctx, dsn)
				if oerr != nil {
					return undecided(oerr)
				}
				defer s.Close()
				res, err = audit.Verify(ctx, s, vs)
			}
			if err != nil {
				return undecided(err)
			}
			return reportVerify(c.OutOrStdout(), c.ErrOrStderr(), res)
		},
	}
	auditDBFlag(c, &dsn)
	c.Flags().StringArrayVar(&keys, "key", nil, "PEM public key that signs checkpoints (repeatable)")
	c.Flags().StringVar(&bundle, "bundle", "", "an export (gatehouse audit export) to verify offline")
	return c
}

// maxBundleBytes bounds an export read for offline verification.
const maxBundleBytes = 8 << 30

func verifyBundleFile(ctx context.Context, path string) (*audit.VerifyResult, error) {
	f, err := readlimit.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--bundle: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--bundle: %w", err)
	}
	if st.Size() > maxBundleBytes {
		return nil, fmt.Errorf("--bundle %s: %d bytes is more than the %d an export may have", path, st.Size(), int64(maxBundleBytes))
	}
	res, err := audit.VerifyBundle(ctx, f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("--bundle %s: %w", path, err)
	}
	return res, nil
}

// reportVerify prints the outcome and maps it to the exit code: 1 names
// the first bad entry (or checkpoint), 0 says what was proven and what not.
func reportVerify(w, stderr io.Writer, r *audit.VerifyResult) error {
	if !r.OK {
		switch {
		case r.FirstBad != nil:
			return &exitError{code: exitDenied, err: fmt.Errorf("audit log tampered: entry %d: %s", *r.FirstBad, r.Reason)}
		case r.BadCheckpoint != nil:
			return &exitError{code: exitDenied, err: fmt.Errorf("audit log tampered: checkpoint of size %d (%s): %s",
				r.BadCheckpoint.Size, r.BadCheckpoint.Time.UTC().Format(time.RFC3339), r.Reason)}
		}
		return &exitError{code: exitDenied, err: fmt.Errorf("audit log tampered: %s", r.Reason)}
	}
	fmt.Fprintf(w, "verified: %d entries, head %s, %d checkpoints\n", r.Entries, r.Head, r.Checkpoints)
	if r.LastCheckpoint != nil {
		fmt.Fprintf(w, "last checkpoint: %d entries at %s (key %s)\n", r.LastCheckpoint.Size,
			r.LastCheckpoint.Time.UTC().Format(time.RFC3339), textsafe.Escape(cmp.Or(r.LastCheckpoint.KeyID, "unnamed")))
	}
	// The chain alone proves only consistency: whoever can write the
	// database can rewrite it whole. Say what the signatures did not cover.
	switch {
	case r.Checkpoints == 0:
		fmt.Fprintln(stderr, "gatehouse: warning: no signed checkpoint: the chain is consistent, but nothing proves it was not rewritten whole (record with --audit-key)")
	case !r.SignaturesChecked:
		fmt.Fprintln(stderr, "gatehouse: warning: checkpoint signatures not checked: give --key with the public key")
	case r.LastCheckpoint != nil && r.LastCheckpoint.Size < r.Entries:
		fmt.Fprintf(stderr, "gatehouse: note: entries %d to %d are after the last checkpoint: chained, not yet signed\n", r.LastCheckpoint.Size+1, r.Entries)
	}
	return nil
}

func newAuditQueryCmd() *cobra.Command {
	var (
		dsn, format string
		filters     = map[string]*string{}
		limit       int
	)
	c := &cobra.Command{
		Use:   "query --db DSN [filters] [--format table|json|csv]",
		Short: "List the recorded decisions that match filters, newest first",
		Long: `query lists recorded decisions, newest first. Filters combine with AND;
--from and --to take RFC 3339 (2026-01-31T12:00:00Z) or a date (2026-01-31;
--to a date includes that whole day). When more entries match than --limit,
the token of the next page is printed on stderr (table, csv) or in the
"next_page_token" field (json): pass it as --page.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// The query is parsed as the HTTP API parses it: one meaning
			// for every filter and time, whichever door asks.
			v := url.Values{}
			for name, p := range filters {
				if *p != "" {
					v.Set(name, *p)
				}
			}
			v.Set("limit", strconv.Itoa(limit))
			q, err := audit.ParseQuery(v)
			if err != nil {
				return undecided(fmt.Errorf("audit query: %w", err))
			}
			if format != "table" && format != "json" && format != "csv" {
				return undecided(fmt.Errorf("--format %q: want table, json or csv", format))
			}
			s, err := openAuditDB(c.Context(), dsn)
			if err != nil {
				return undecided(err)
			}
			defer s.Close()
			entries, next, err := s.Query(c.Context(), q)
			if err != nil {
				return undecided(err)
			}
			if err := writeEntries(c.OutOrStdout(), format, entries, next); err != nil {
				return undecided(err)
			}
			if next != "" && format != "json" {
				fmt.Fprintf(c.ErrOrStderr(), "gatehouse: more entries match: --page %s\n", textsafe.Escape(next))
			}
			return nil
		},
	}
	auditDBFlag(c, &dsn)
	f := c.Flags()
	for _, fl := range []struct{ flag, param, usage string }{
		{"from", "from", "decisions at or after this time (RFC 3339 or YYYY-MM-DD)"},
		{"to", "to", "decisions before this time (RFC 3339, or YYYY-MM-DD: through that day)"},
		{"subject", "subject", "subject name or reference"},
		{"digest", "digest", "subject digest (sha256:…)"},
		{"kind", "kind", "subject kind: image, model, dataset, score, pipeline"},
		{"env", "environment", "environment"},
		{"namespace", "namespace", "Kubernetes namespace"},
		{"gate", "gate", "decisions a gate ran in"},
		{"rule", "rule", "decisions with a finding of this rule (RULE or GATE/RULE)"},
		{"verdict", "verdict", `allowed, denied or "not decided"`},
		{"waiver", "waiver", `decisions a waiver applied to: its ticket, approver or subject pattern ("*": any)`},
		{"policy-digest", "policy_digest", "policy bundle digest"},
		{"page", "page_token", "page token printed by the previous query"},
	} {
		filters[fl.param] = f.String(fl.flag, "", fl.usage)
	}
	f.IntVar(&limit, "limit", audit.DefaultQueryLimit, fmt.Sprintf("entries per page (at most %d)", audit.MaxQueryLimit))
	f.StringVar(&format, "format", "table", "table, json or csv")
	return c
}

// tableColumns are the columns of query's table: what fits a terminal.
var tableColumns = []string{"SEQ", "TIME", "DOOR", "VERDICT", "SUBJECT", "ENV", "NAMESPACE", "VIOLATIONS", "WAIVED"}

func tableRow(e audit.Entry) []string {
	subject := string(e.Subject.Kind) + ":" + e.Subject.Ref
	if e.Subject.Digest != "" && !strings.Contains(e.Subject.Ref, e.Subject.Digest) {
		subject += "@" + e.Subject.Digest
	}
	var rules, waived []string
	for _, v := range e.Violations {
		rules = append(rules, v.Gate+"/"+v.Rule)
	}
	for _, w := range e.Waived {
		waived = append(waived, w.Finding.Gate+"/"+w.Finding.Rule)
	}
	return []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.Door, e.Verdict, subject,
		e.Environment, e.Namespace, strings.Join(rules, ","), strings.Join(waived, ",")}
}

func writeEntries(w io.Writer, format string, entries []audit.Entry, next string) error {
	switch format {
	case "json":
		if entries == nil {
			entries = []audit.Entry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Decisions     []audit.Entry `json:"decisions"`
			NextPageToken string        `json:"next_page_token,omitempty"`
		}{entries, next})
	case "csv":
		return audit.WriteCSV(w, entries)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, strings.Join(tableColumns, "\t")+"\n")
	for _, e := range entries {
		row := tableRow(e)
		for i, v := range row {
			if v == "" {
				v = "-"
			}
			// Escape turns tabs and line breaks into \t, \n: a cell stays
			// one cell and a row one line, whatever the subject is called.
			row[i] = textsafe.Escape(v)
		}
		io.WriteString(tw, strings.Join(row, "\t")+"\n")
	}
	if len(entries) == 0 {
		io.WriteString(tw, "(no decision matches)\n")
	}
	return tw.Flush()
}

// auditPeriod parses --from and --to as query does.
func auditPeriod(from, to string) (time.Time, time.Time, error) {
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, errors.New("--from and --to are required: a report covers a period")
	}
	q, err := audit.ParseQuery(url.Values{"from": {from}, "to": {to}})
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !q.To.After(q.From) {
		return time.Time{}, time.Time{}, fmt.Errorf("--to %s is not after --from %s", to, from)
	}
	return q.From, q.To, nil
}

func newAuditReportCmd() *cobra.Command {
	var (
		dsn, from, to, out string
		expiring           time.Duration
		top                int
	)
	c := &cobra.Command{
		Use:   "report --db DSN --from TIME --to TIME --out report.html",
		Short: "Write a compliance report of a period as one self-contained HTML page",
		Long: `report summarises the decisions of a period: counts by verdict, denials
by gate and by rule over time (charts), waivers used, in force and expiring
soon, and the most denied artifacts. The page has no script and loads
nothing from elsewhere: it can be mailed or archived as it is.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o := audit.ReportOptions{ExpiringWithin: expiring, Top: top}
			var err error
			if o.From, o.To, err = auditPeriod(from, to); err != nil {
				return undecided(err)
			}
			switch {
			case out == "":
				return undecided(errors.New("--out is required (the HTML file to write)"))
			case top <= 0 || expiring <= 0:
				return undecided(errors.New("--top and --expiring-within must be positive"))
			}
			s, err := openAuditDB(c.Context(), dsn)
			if err != nil {
				return undecided(err)
			}
			defer s.Close()
			r, err := audit.BuildReport(c.Context(), s, o)
			if err != nil {
				return undecided(err)
			}
			if err := atomicfile.Write(out, r.WriteHTML); err != nil {
				return undecided(fmt.Errorf("--out: %w", err))
			}
			fmt.Fprintf(c.OutOrStdout(), "report of %d decisions (%d denied) written to %s\n", r.Total, r.Denied, textsafe.Escape(out))
			return nil
		},
	}
	auditDBFlag(c, &dsn)
	c.Flags().StringVar(&from, "from", "", "start of the period (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&to, "to", "", "end of the period, exclusive (RFC 3339 or YYYY-MM-DD)")
	c.Flags().StringVar(&out, "out", "", "HTML file to write")
	c.Flags().DurationVar(&expiring, "expiring-within", 30*24*time.Hour, "waivers expiring this soon are flagged")
	c.Flags().IntVar(&top, "top", 10, "how many artifacts, gates and rules are listed by name")
	return c
}

func newAuditExportCmd() *cobra.Command {
	var dsn, out, key string
	c := &cobra.Command{
		Use:   "export --db DSN --out bundle.zip [--key PUB]",
		Short: "Write the log, its checkpoints and the public key into a bundle an auditor verifies offline",
		Long: `export writes every entry and signed checkpoint, with the public key
(--key) that signs the checkpoints, into one zip file. An auditor checks it
without access to the database: gatehouse audit verify --bundle FILE.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return undecided(errors.New("--out is required (the zip file to write)"))
			}
			var pub []byte
			if key != "" {
				if _, err := attest.LoadVerifier(key); err != nil {
					return undecided(fmt.Errorf("--key: %w", err))
				}
				var err error
				if pub, err = attest.ReadKeyFile(key); err != nil {
					return undecided(fmt.Errorf("--key: %w", err))
				}
			}
			s, err := openAuditDB(c.Context(), dsn)
			if err != nil {
				return undecided(err)
			}
			defer s.Close()
			if err := atomicfile.Write(out, func(w io.Writer) error { return audit.Export(c.Context(), s, w, pub) }); err != nil {
				return undecided(fmt.Errorf("export: %w", err))
			}
			size, head, err := s.Head(c.Context())
			if err != nil {
				return undecided(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "exported %d entries (head %s) to %s\n", size, head, textsafe.Escape(out))
			return nil
		},
	}
	auditDBFlag(c, &dsn)
	c.Flags().StringVar(&out, "out", "", "zip file to write")
	c.Flags().StringVar(&key, "key", "", "PEM public key that signs the checkpoints, put in the bundle")
	return c
}

// auditSink is the audit log a door records its decisions into (--audit
// DSN on check and serve), with --audit-key signing its checkpoints.
type auditSink struct {
	store    audit.Store
	recorder *audit.Recorder
	signed   bool
	closed   bool
}

// openAuditSink opens the store dsn names and a Recorder on it. keyPath,
// when given, signs a checkpoint every `every` entries and `interval`, and
// one at Close, so what a run recorded is covered when it ends.
func openAuditSink(ctx context.Context, dsn, keyPath string, every int, interval time.Duration) (*auditSink, error) {
	if strings.HasPrefix(dsn, "jsonl:") {
		// audit.Open would take it for a file path and make a SQLite file named "jsonl:…".
		return nil, fmt.Errorf("--audit %s: a JSON-lines file is not the audit log: give sqlite:PATH or postgres://…", textsafe.Escape(dsn))
	}
	o := audit.RecorderOptions{Every: every, Interval: interval}
	if keyPath != "" {
		sv, err := attest.LoadSigner(keyPath)
		if err != nil {
			return nil, fmt.Errorf("--audit-key: %w", err)
		}
		pub, err := sv.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("--audit-key: %w", err)
		}
		if o.KeyID, err = attest.Fingerprint(pub); err != nil {
			return nil, fmt.Errorf("--audit-key: %w", err)
		}
		o.Signer = sv
	}
	s, err := audit.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--audit: %w", err)
	}
	return &auditSink{store: s, recorder: audit.NewRecorder(s, o), signed: o.Signer != nil}, nil
}

// Close signs a last checkpoint (with a key) and closes the store; once.
func (a *auditSink) Close(ctx context.Context) error {
	if a.closed {
		return nil
	}
	a.closed = true
	var err error
	if a.signed {
		if _, cerr := a.recorder.Checkpoint(ctx); cerr != nil {
			err = fmt.Errorf("--audit: final checkpoint: %w", cerr)
		}
	}
	if cerr := a.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("--audit: %w", cerr)
	}
	return err
}
