package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"

	"github.com/gatehouse-dev/gatehouse/internal/httpstatus"
)

// Roles a token may carry. An auditor reads everything; an admin may also
// force a fresh verification of the chain (expensive on a large log).
const (
	RoleAuditor = "auditor"
	RoleAdmin   = "admin"
)

// Limits on the tokens file and on requests.
const (
	MaxTokensFileBytes = bearer.MaxFileBytes
	MaxTokens          = bearer.MaxTokens
	MinTokenLength     = bearer.MinTokenLength
	maxLoginBytes      = 4 << 10
	// DownloadTimeout bounds writing a report or export.
	DownloadTimeout = 10 * time.Minute
	// DefaultVerifyTTL is how long a verification result is reused.
	DefaultVerifyTTL = 30 * time.Second
)

// cookieName carries the token for the pages (set by the login form).
const cookieName = "gatehouse_audit"

// Identity is who a token belongs to.
type Identity = bearer.Identity

// Tokens are the bearer tokens allowed to read the audit log.
type Tokens = bearer.Tokens

// LoadTokens reads a tokens file: one token a line, "TOKEN ROLE NAME"
// (NAME is the rest of the line, ROLE auditor or admin), blank lines and
// "#" comments ignored.
func LoadTokens(path string) (*Tokens, error) {
	t, err := bearer.Load(path, RoleAuditor, RoleAdmin)
	if err != nil {
		return nil, fmt.Errorf("audit tokens: %w", err)
	}
	return t, nil
}

// ParseTokens parses the tokens file format (see LoadTokens).
func ParseTokens(data []byte) (*Tokens, error) {
	return bearer.Parse(data, RoleAuditor, RoleAdmin)
}

func clip(s string) string { return bearer.Clip(s) }

// HandlerOptions configure the audit API and pages.
type HandlerOptions struct {
	Store  Store
	Tokens *Tokens
	// Verifiers check the checkpoints' signatures (the gatehouse key).
	Verifiers []signature.Verifier
	// PublicKey (PEM) goes into the export bundle for the auditor.
	PublicKey []byte
	// Report writes the HTML report; nil: WriteReport.
	Report func(ctx context.Context, s Store, w io.Writer, o ReportOptions) error
	// VerifyTTL is how long a verification result is reused (default 30s).
	VerifyTTL time.Duration
	// AllowPlainHTTP serves requests that did not arrive over TLS (tests,
	// or behind a TLS-terminating proxy). Off: such requests are refused.
	AllowPlainHTTP bool
	Logger         *slog.Logger
	Now            func() time.Time
}

// server holds the audit handler's state.
type server struct {
	o     HandlerOptions
	log   *slog.Logger
	now   func() time.Time
	chain verifyCache
	pages *pages
}

// Handler serves the audit API under /audit/api/ and the compliance
// officer's pages under /audit/ (mount it at "/audit/"). Everything is
// read-only and needs a token from HandlerOptions.Tokens.
func Handler(o HandlerOptions) http.Handler {
	s := &server{o: o, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.VerifyTTL <= 0 {
		s.o.VerifyTTL = DefaultVerifyTTL
	}
	if s.o.Report == nil {
		s.o.Report = WriteReport
	}
	s.chain = verifyCache{ttl: s.o.VerifyTTL, now: s.now, run: s.verify}
	s.pages = newPages()

	mux := http.NewServeMux()
	auditor := func(h http.HandlerFunc) http.Handler { return s.require(RoleAuditor, h) }
	mux.Handle("GET /audit/api/decisions", auditor(s.apiDecisions))
	mux.Handle("GET /audit/api/decisions/{seq}", auditor(s.apiDecision))
	mux.Handle("GET /audit/api/verify", auditor(s.apiVerify))
	mux.Handle("POST /audit/api/verify", s.require(RoleAdmin, s.apiVerify))
	mux.Handle("GET /audit/api/report", auditor(s.download(s.writeReport)))
	mux.Handle("GET /audit/api/export", auditor(s.download(s.writeExport)))
	mux.Handle("/audit/api/", auditor(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no API %s %s; see docs/audit.md", r.Method, r.URL.Path))
	}))
	s.routePages(mux)

	var h http.Handler = mux
	// Forms post with the cookie: refuse cross-site posts.
	h = http.NewCrossOriginProtection().Handler(h)
	return s.wrap(h)
}

// wrap adds the security headers, the TLS check and the access log.
func (s *server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		sw := httpstatus.Wrap(w)
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		slot := &identitySlot{}
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, slot))
		if r.TLS == nil && !s.o.AllowPlainHTTP {
			http.Error(sw, "gatehouse audit: served over HTTPS only", http.StatusForbidden)
		} else {
			next.ServeHTTP(sw, r)
		}
		// The path only: tokens never travel in it, and never in the log.
		name := ""
		if slot.id != nil {
			name = slot.id.Name
		}
		s.log.Info("audit request", "method", r.Method, "path", r.URL.Path, "status", sw.Status(),
			"user", name, "duration_ms", s.now().Sub(start).Milliseconds())
	})
}

type identityKey struct{}

// identitySlot is filled in by require, for the handlers and the access log.
type identitySlot struct{ id *Identity }

// identify reads the token from "Authorization: Bearer" or the login
// cookie. A malformed header is an error of its own, so a client learns
// what is wrong.
func (s *server) identify(r *http.Request) (*Identity, string) {
	tok := ""
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, rest, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
			return nil, "the Authorization header must be \"Bearer TOKEN\""
		}
		tok = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(cookieName); err == nil {
		tok = c.Value
	}
	if tok == "" {
		return nil, "sign in: a token is required (Authorization: Bearer TOKEN, or the sign-in form)"
	}
	id, ok := s.o.Tokens.Lookup(tok)
	if !ok {
		return nil, "that token is not valid (unknown or withdrawn); ask your gatehouse administrator for one"
	}
	return &id, ""
}

// require lets through requests whose token has role (admin includes
// auditor). API paths answer 401/403 in JSON; pages show the sign-in page.
func (s *server) require(role string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, "/audit/api/")
		id, why := s.identify(r)
		if id == nil {
			if api {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse audit"`)
				apiError(w, http.StatusUnauthorized, why)
			} else {
				s.pages.login(w, r, http.StatusUnauthorized, why)
			}
			return
		}
		if role == RoleAdmin && id.Role != RoleAdmin {
			msg := fmt.Sprintf("%s has the %s role; this needs the admin role", id.Name, id.Role)
			if api {
				apiError(w, http.StatusForbidden, msg)
			} else {
				s.pages.errorPage(w, r, id, http.StatusForbidden, msg)
			}
			return
		}
		if slot, ok := r.Context().Value(identityKey{}).(*identitySlot); ok {
			slot.id = id
		}
		next(w, r)
	})
}

func identityOf(r *http.Request) *Identity {
	if slot, ok := r.Context().Value(identityKey{}).(*identitySlot); ok {
		return slot.id
	}
	return nil
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

// queryParams are the query parameters of GET /audit/api/decisions and of
// the search page, named as in Query.
var queryParams = []string{"from", "to", "subject", "digest", "kind", "environment", "namespace", "gate", "rule",
	"verdict", "waiver", "policy_digest", "limit", "page_token", "format"}

// Verdicts a query may ask for.
var verdicts = []string{"allowed", "denied", "not decided"}

// ParseQuery turns URL query parameters into a Query. Unknown parameters,
// repeated ones, bad times and bad limits are errors naming the parameter.
// from/to take RFC 3339 or a date (YYYY-MM-DD, UTC; "to" a date means
// through the end of that day).
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	for k, vs := range v {
		if !contains(queryParams, k) {
			return q, fmt.Errorf("unknown parameter %q; known: %s", clip(k), strings.Join(queryParams, ", "))
		}
		if len(vs) > 1 {
			return q, fmt.Errorf("parameter %s given %d times; give it once", k, len(vs))
		}
	}
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	var err error
	if q.From, err = ParseTime(get("from"), false); err != nil {
		return q, fmt.Errorf("from: %w", err)
	}
	if q.To, err = ParseTime(get("to"), true); err != nil {
		return q, fmt.Errorf("to: %w", err)
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return q, errors.New("to is before from")
	}
	q.Subject, q.Digest, q.Kind = get("subject"), get("digest"), get("kind")
	q.Environment, q.Namespace = get("environment"), get("namespace")
	q.Gate, q.Rule, q.Waiver, q.PolicyDigest = get("gate"), get("rule"), get("waiver"), get("policy_digest")
	q.PageToken = get("page_token")
	if q.Verdict = get("verdict"); q.Verdict != "" && !contains(verdicts, q.Verdict) {
		return q, fmt.Errorf("verdict %q: want one of %s", clip(q.Verdict), strings.Join(verdicts, ", "))
	}
	q.Limit = DefaultQueryLimit
	if l := get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxQueryLimit {
			return q, fmt.Errorf("limit %q: want a number from 1 to %d", clip(l), MaxQueryLimit)
		}
		q.Limit = n
	}
	if f := get("format"); f != "" && f != "json" && f != "csv" && f != "html" {
		return q, fmt.Errorf("format %q: want json or csv", clip(f))
	}
	return q, nil
}

// ParseTime reads a time bound given by a person: RFC 3339, or a date
// (YYYY-MM-DD, UTC) which as an end bound (end true) means through the end
// of that day (the next midnight, for an exclusive bound like Query.To).
// "" is the zero time.
func ParseTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1) // the period ends before the next day

		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", clip(s))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decisionsPage is the JSON answer of GET /audit/api/decisions.
type decisionsPage struct {
	Decisions     []Entry `json:"decisions"`
	NextPageToken string  `json:"next_page_token,omitempty"`
}

func (s *server) apiDecisions(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, next, err := s.o.Store.Query(r.Context(), q)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []Entry{}
	}
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-decisions.csv"`)
		if next != "" {
			w.Header().Set("X-Next-Page-Token", next)
		}
		if err := WriteCSV(w, entries); err != nil {
			s.log.Warn("audit csv", "err", err.Error())
		}
		return
	}
	writeJSON(w, http.StatusOK, decisionsPage{Decisions: entries, NextPageToken: next})
}

func wantsCSV(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "csv"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/csv")
}

// csvHeader are the columns of WriteCSV.
var csvHeader = []string{"seq", "time", "door", "verdict", "kind", "ref", "name", "digest", "environment", "namespace",
	"gates", "violations", "warnings", "waived", "waiver_approvers", "policy_digest", "config_digest", "user", "ci_run_url", "commit", "hash"}

// WriteCSV writes entries as CSV, one decision a row; findings as
// "gate/rule" joined with "; ". Cells that a spreadsheet would run as a
// formula (starting with = + - @ or a control character) are prefixed
// with a single quote.
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, e := range entries {
		var approvers []string
		for _, a := range e.Waived {
			approvers = append(approvers, a.Waiver.Approver)
		}
		row := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Door, e.Verdict,
			string(e.Subject.Kind), e.Subject.Ref, e.Subject.Name, e.Subject.Digest, e.Environment, e.Namespace,
			strings.Join(e.Gates, "; "), findings(e.Violations), findings(e.Warnings), waived(e.Waived),
			strings.Join(approvers, "; "), e.PolicyDigest, e.ConfigDigest, e.Decider.User, e.Decider.CIRunURL, e.Decider.Commit, e.Hash}
		for i, c := range row {
			row[i] = csvSafe(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func findings(fs []gates.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Gate+"/"+f.Rule)
	}
	return strings.Join(out, "; ")
}

func waived(ws []gates.AppliedWaiver) string {
	var out []string
	for _, a := range ws {
		out = append(out, a.Finding.Gate+"/"+a.Finding.Rule)
	}
	return strings.Join(out, "; ")
}

func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch c := s[0]; {
	case c == '=' || c == '+' || c == '-' || c == '@' || c < 0x20:
		return "'" + s
	}
	return s
}

// errNoEntry is returned by entry for a sequence number not in the log.
var errNoEntry = errors.New("no such decision")

// entry reads one decision by its sequence number.
func (s *server) entry(ctx context.Context, raw string) (Entry, error) {
	seq, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || seq < 1 {
		return Entry{}, fmt.Errorf("decision %q: want a sequence number (1, 2, ...)", clip(raw))
	}
	var found *Entry
	err = s.o.Store.Range(ctx, seq, seq, func(e Entry) error {
		if e.Seq == seq {
			found = &e
		}
		return nil
	})
	if err != nil {
		return Entry{}, err
	}
	if found == nil {
		return Entry{}, fmt.Errorf("decision %d: %w", seq, errNoEntry)
	}
	return *found, nil
}

func (s *server) apiDecision(w http.ResponseWriter, r *http.Request) {
	e, err := s.entry(r.Context(), r.PathValue("seq"))
	switch {
	case errors.Is(err, errNoEntry):
		apiError(w, http.StatusNotFound, err.Error())
	case err != nil && strings.HasPrefix(err.Error(), "decision "):
		apiError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		s.storeError(w, r, err)
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

func (s *server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrBadQuery) {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Error("audit store", "path", r.URL.Path, "err", err.Error())
	apiError(w, http.StatusServiceUnavailable, "the audit store could not answer: "+err.Error())
}

// ChainStatus is the chain's verification status as the API and pages
// show it: Verify's result, when it was computed, or why it could not be.
type ChainStatus struct {
	VerifyResult
	CheckedAt time.Time `json:"checked_at"`
	// Error is set when the verification could not run at all.
	Error string `json:"error,omitempty"`
}

func (s *server) verify(ctx context.Context) ChainStatus {
	st := ChainStatus{CheckedAt: s.now().UTC()}
	res, err := Verify(ctx, s.o.Store, s.o.Verifiers)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.VerifyResult = *res
	return st
}

// verifyCache reuses a verification for ttl; one runs at a time, so many
// page views cost one pass over the log.
type verifyCache struct {
	mu   sync.Mutex
	ttl  time.Duration
	now  func() time.Time
	run  func(context.Context) ChainStatus
	last *ChainStatus
}

func (c *verifyCache) get(ctx context.Context, fresh bool) ChainStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.last != nil && c.now().Sub(c.last.CheckedAt) < c.ttl {
		return *c.last
	}
	st := c.run(ctx)
	if st.Error == "" || c.last == nil {
		c.last = &st
	}
	return st
}

func (s *server) apiVerify(w http.ResponseWriter, r *http.Request) {
	st := s.chain.get(r.Context(), r.Method == http.MethodPost)
	code := http.StatusOK
	if st.Error != "" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

// download buffers a file before sending it, so a failure half-way is an
// error status, never a truncated file that looks whole.
func (s *server) download(write func(r *http.Request, f *os.File) (name, ctype string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// A whole log takes longer than the server's write timeout for
		// reviews; downloads get their own (best effort: not every writer can).
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(DownloadTimeout))
		f, err := os.CreateTemp("", "gatehouse-audit-*")
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		defer os.Remove(f.Name())
		defer f.Close()
		name, ctype, err := write(r, f)
		var bad *badRequest
		switch {
		case errors.As(err, &bad):
			apiError(w, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			s.storeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
		fi, err := f.Stat()
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			s.storeError(w, r, err)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		_, _ = io.Copy(w, f) // the client went away
	}
}

type badRequest struct{ err error }

func (b *badRequest) Error() string { return b.err.Error() }

// reportRange reads from/to for the report: default the last 30 days.
func (s *server) reportRange(v url.Values) (from, to time.Time, err error) {
	for k := range v {
		if k != "from" && k != "to" {
			return from, to, &badRequest{fmt.Errorf("unknown parameter %q; the report takes from and to", clip(k))}
		}
	}
	if to, err = ParseTime(v.Get("to"), true); err != nil {
		return from, to, &badRequest{fmt.Errorf("to: %w", err)}
	}
	if from, err = ParseTime(v.Get("from"), false); err != nil {
		return from, to, &badRequest{fmt.Errorf("from: %w", err)}
	}
	if to.IsZero() {
		to = s.now().UTC()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	if to.Before(from) {
		return from, to, &badRequest{errors.New("to is before from")}
	}
	return from, to, nil
}

func (s *server) writeReport(r *http.Request, f *os.File) (string, string, error) {
	from, to, err := s.reportRange(r.URL.Query())
	if err != nil {
		return "", "", err
	}
	if err := s.o.Report(r.Context(), s.o.Store, f, ReportOptions{From: from, To: to, Now: s.now()}); err != nil {
		return "", "", fmt.Errorf("report: %w", err)
	}
	name := fmt.Sprintf("gatehouse-audit-report-%s-%s.html", from.Format(time.DateOnly), to.Format(time.DateOnly))
	return name, "text/html; charset=utf-8", nil
}

func (s *server) writeExport(r *http.Request, f *os.File) (string, string, error) {
	if len(r.URL.Query()) > 0 {
		return "", "", &badRequest{errors.New("the export takes no parameters: it holds the whole log")}
	}
	if err := Export(r.Context(), s.o.Store, f, s.o.PublicKey); err != nil {
		return "", "", fmt.Errorf("export: %w", err)
	}
	return fmt.Sprintf("gatehouse-audit-%s.zip", s.now().UTC().Format("20060102-150405")), "application/zip", nil
}

// sortedKeys returns m's keys in order (evidence digests on the page).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
