package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/gatehouse-dev/gatehouse/gates"
)

const (
	auditorToken = "auditor-token-0123456789abcdef"
	adminToken   = "admin-token-0123456789abcdef00"
)

const tokensFile = "# audit tokens\n" + auditorToken + " auditor Dana Auditor\n\n" + adminToken + " admin Ops Admin\n"

// hostileName is a subject name that would run script if not escaped.
const hostileName = `<script>alert("x")</script>`

var testTime = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// fillStore appends the decisions the tests look for: an allowed image,
// a denied model with a violation, an allowed dataset with a waiver, and
// one with a hostile name.
func fillStore(t testing.TB, s Store) {
	t.Helper()
	ctx := context.Background()
	entries := []Entry{
		{Time: testTime, Door: "check", Subject: gates.Subject{Kind: gates.KindImage, Ref: "registry.example/shop/web:1.4", Digest: "sha256:" + strings.Repeat("a", 64), Name: "shop/web"},
			Environment: "prod", Namespace: "shop", Allowed: true, Verdict: "allowed", Gates: []string{"signature", "provenance"},
			PolicyDigest: "sha256:" + strings.Repeat("p", 64), EvidenceDigests: map[string]string{"signatures": "sha256:" + strings.Repeat("e", 64)},
			Decider: Decider{CIRunURL: "https://github.com/acme/shop/actions/runs/1", Commit: "0123abc"}},
		{Time: testTime.Add(time.Hour), Door: "check", Subject: gates.Subject{Kind: gates.KindModel, Ref: "models/fraud-v3", Digest: "sha256:" + strings.Repeat("b", 64), Name: "fraud-v3"},
			Environment: "prod", Allowed: false, Verdict: "denied", Gates: []string{"model_scan"},
			Violations:   []gates.Finding{{Gate: "model_scan", Rule: "unsafe_pickle", Severity: "critical", Message: "model.pkl imports os.system when loaded", Remediation: "save as safetensors"}},
			PolicyDigest: "sha256:" + strings.Repeat("p", 64), EvidenceDigests: map[string]string{"model_scan": "sha256:" + strings.Repeat("f", 64)}},
		{Time: testTime.Add(2 * time.Hour), Door: "check", Subject: gates.Subject{Kind: gates.KindDataset, Ref: "datasets/customers", Digest: "sha256:" + strings.Repeat("c", 64), Name: "customers"},
			Environment: "prod", Allowed: true, Verdict: "allowed", Gates: []string{"pii"},
			Waived: []gates.AppliedWaiver{{Finding: gates.Finding{Gate: "pii", Rule: "email_column", Severity: "high", Message: "column email holds e-mail addresses"},
				Waiver: gates.Waiver{Subject: "datasets/customers", Gate: "pii", Rule: "email_column", Reason: "pseudonymised upstream", Approver: "Jo Privacy-Officer", Ticket: "PRIV-42", Expires: testTime.AddDate(0, 2, 0)}}},
			PolicyDigest: "sha256:" + strings.Repeat("p", 64)},
		{Time: testTime.Add(3 * time.Hour), Door: "admission", Subject: gates.Subject{Kind: gates.KindImage, Ref: "evil", Name: hostileName},
			Environment: "staging", Namespace: "=cmd|' /C calc'!A0", Allowed: false, Verdict: "denied", Gates: []string{"signature"},
			Violations: []gates.Finding{{Gate: "signature", Rule: "unsigned", Severity: "critical", Message: hostileName}}},
	}
	for _, e := range entries {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
}

// checkpoint signs a checkpoint of s's current head with a fresh key and
// returns the verifier and public key (PEM) the handler is given.
func checkpoint(t testing.TB, s Store) (signature.Verifier, []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	size, head, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp := Checkpoint{Size: size, Head: head, Time: testTime.Add(4 * time.Hour), KeyID: "test"}
	if cp.Signature, err = sv.SignMessage(bytes.NewReader(cp.SignedMessage())); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCheckpoint(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	return sv, pub
}

func openTestStore(t testing.TB) Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testTokens(t testing.TB) *Tokens {
	t.Helper()
	tok, err := ParseTokens([]byte(tokensFile))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type testServer struct {
	*httptest.Server
	store Store
	logs  *bytes.Buffer
}

func newTestServer(t testing.TB, o HandlerOptions) *testServer {
	t.Helper()
	if o.Store == nil {
		o.Store = openTestStore(t)
		fillStore(t, o.Store)
		v, pub := checkpoint(t, o.Store)
		o.Verifiers, o.PublicKey = []signature.Verifier{v}, pub
	}
	if o.Tokens == nil {
		o.Tokens = testTokens(t)
	}
	var logs bytes.Buffer
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	srv := httptest.NewTLSServer(Handler(o))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: o.Store, logs: &logs}
}

// do sends a request with the token as a bearer token ("" for none).
func (ts *testServer) do(t testing.TB, method, path, token string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestParseTokens(t *testing.T) {
	long := "0123456789abcdef0123"
	for _, tc := range []struct {
		name, in, wantErr string
		want              map[string]Identity
	}{
		{name: "ok", in: tokensFile, want: map[string]Identity{auditorToken: {Name: "Dana Auditor", Role: RoleAuditor}, adminToken: {Name: "Ops Admin", Role: RoleAdmin}}},
		{name: "crlf and tabs", in: long + "\tadmin\tA B\r\n", want: map[string]Identity{long: {Name: "A B", Role: RoleAdmin}}},
		{name: "empty", in: "# nothing\n\n", wantErr: "no tokens"},
		{name: "two fields", in: long + " auditor\n", wantErr: "line 1: want TOKEN ROLE NAME"},
		{name: "short", in: "# c\nshort auditor X\n", wantErr: "line 2: token shorter than 16"},
		{name: "role", in: long + " reader X\n", wantErr: `line 1: role "reader": want auditor or admin`},
		{name: "duplicate", in: long + " auditor X\n" + long + " admin Y\n", wantErr: "line 2: same token as line 1"},
		{name: "control in name", in: long + " auditor X\x1bY\n", wantErr: "line 1: name has control characters"},
		{name: "non-ascii token", in: "0123456789abcdéf0 auditor X\n", wantErr: "line 1: token must be printable ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseTokens([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), long) {
					t.Errorf("error shows the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				got, ok := tok.Lookup(k)
				if !ok || got != want {
					t.Errorf("Lookup(%q) = %v, %v; want %v", k, got, ok, want)
				}
			}
			for _, bad := range []string{"", "x", long + "x", auditorToken[:len(auditorToken)-1]} {
				if _, ok := tok.Lookup(bad); ok && tc.want[bad] == (Identity{}) {
					t.Errorf("Lookup(%q) found a token", bad)
				}
			}
		})
	}
}

func TestLoadTokens(t *testing.T) {
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "audit tokens") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadTokens("/dev/zero"); err == nil {
		t.Error("/dev/zero read as a tokens file")
	}
}

func FuzzParseTokens(f *testing.F) {
	for _, s := range []string{tokensFile, "", "#\n", "0123456789abcdef auditor a\n", "0123456789abcdef admin a\n0123456789abcdef admin b", "x y z\n\n\n", "0123456789abcdef auditor auditor\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseTokens(data)
		if err != nil {
			return
		}
		ids := tok.Identities()
		if len(ids) == 0 {
			t.Fatal("no error and no tokens")
		}
		for _, id := range ids {
			if id.Role != RoleAuditor && id.Role != RoleAdmin {
				t.Fatalf("role %q accepted", id.Role)
			}
		}
	})
}

func TestParseQuery(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		in      string
		want    Query
		wantErr string
	}{
		{in: "", want: Query{Limit: DefaultQueryLimit}},
		{in: "from=2026-03-01&to=2026-03-10", want: Query{From: day(1), To: day(11), Limit: DefaultQueryLimit}},
		{in: "from=2026-03-01T10:00:00Z", want: Query{From: day(1).Add(10 * time.Hour), Limit: DefaultQueryLimit}},
		{in: "subject=models/fraud&digest=sha256:ab&kind=model&environment=prod&namespace=ns&gate=g&rule=g/r&verdict=not+decided&waiver=*&policy_digest=sha256:p&limit=7&page_token=tok&format=csv",
			want: Query{Subject: "models/fraud", Digest: "sha256:ab", Kind: "model", Environment: "prod", Namespace: "ns", Gate: "g", Rule: "g/r", Verdict: "not decided", Waiver: "*", PolicyDigest: "sha256:p", Limit: 7, PageToken: "tok"}},
		{in: "verdict=ok", wantErr: `verdict "ok": want one of allowed, denied, not decided`},
		{in: "limit=0", wantErr: "limit \"0\": want a number from 1 to"},
		{in: "limit=100000", wantErr: "limit"},
		{in: "from=yesterday", wantErr: "from: \"yesterday\": want RFC 3339"},
		{in: "from=2026-03-05&to=2026-03-01", wantErr: "to is before from"},
		{in: "colour=red", wantErr: `unknown parameter "colour"`},
		{in: "gate=a&gate=b", wantErr: "parameter gate given 2 times"},
		{in: "format=xml", wantErr: `format "xml"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, err := url.ParseQuery(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseQuery(v)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
		})
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-03-01&to=2026-03-10", "limit=5&verdict=denied", "to=2026-01-01T00:00:00+02:00", "a=b", "limit=-1", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > MaxQueryLimit {
			t.Fatalf("limit %d accepted", q.Limit)
		}
		if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
			t.Fatal("to before from accepted")
		}
	})
}

func TestAccess(t *testing.T) {
	ts := newTestServer(t, HandlerOptions{})
	for _, tc := range []struct {
		name, method, path, token, header string
		code                              int
		want                              string
	}{
		{name: "no token api", method: "GET", path: "/audit/api/decisions", code: 401, want: "a token is required"},
		{name: "no token page", method: "GET", path: "/audit/", code: 401, want: `name="token"`},
		{name: "unknown token", method: "GET", path: "/audit/api/decisions", token: "nope-nope-nope-nope-nope", code: 401, want: "that token is not valid"},
		{name: "basic auth", method: "GET", path: "/audit/api/decisions", header: "Basic YTpi", code: 401, want: `must be \"Bearer TOKEN\"`},
		{name: "auditor reads", method: "GET", path: "/audit/api/verify", token: auditorToken, code: 200, want: `"ok": true`},
		{name: "auditor may not force a verification", method: "POST", path: "/audit/api/verify", token: auditorToken, code: 403, want: "Dana Auditor has the auditor role; this needs the admin role"},
		{name: "admin may", method: "POST", path: "/audit/api/verify", token: adminToken, code: 200, want: `"ok": true`},
		{name: "auditor page reverify", method: "POST", path: "/audit/status", token: auditorToken, code: 403, want: "needs the admin role"},
		{name: "unknown api", method: "GET", path: "/audit/api/nothing", token: auditorToken, code: 404, want: "no API GET /audit/api/nothing"},
		{name: "unknown api without token", method: "GET", path: "/audit/api/nothing", code: 401},
		{name: "unknown page", method: "GET", path: "/audit/nothing", token: auditorToken, code: 404, want: "There is no page /audit/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s, want %d containing %q", resp.StatusCode, body, tc.code, tc.want)
			}
			if tc.code == 401 && strings.HasPrefix(tc.path, "/audit/api/") && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// Tokens never reach the log; who asked does.
	logs := ts.logs.String()
	for _, tok := range []string{auditorToken, adminToken, "nope-nope-nope-nope-nope"} {
		if strings.Contains(logs, tok) {
			t.Errorf("log holds a token:\n%s", logs)
		}
	}
	if !strings.Contains(logs, `"user":"Dana Auditor"`) || !strings.Contains(logs, `"status":403`) {
		t.Errorf("log lacks the user or the status:\n%s", logs)
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	s := openTestStore(t)
	srv := httptest.NewServer(Handler(HandlerOptions{Store: s, Tokens: testTokens(t)}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/audit/api/decisions", nil)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "HTTPS only") {
		t.Fatalf("plain HTTP: %d %s", resp.StatusCode, body)
	}
}

func TestSignIn(t *testing.T) {
	ts := newTestServer(t, HandlerOptions{})
	resp, body := ts.do(t, "POST", "/audit/login", "", strings.NewReader(url.Values{"token": {"wrong-wrong-wrong-wrong"}}.Encode()))
	// No Content-Type: the form is not read, still a clear page.
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Fatalf("wrong token: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/audit/login", strings.NewReader(url.Values{"token": {auditorToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/audit/" {
		t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/audit/" {
		t.Fatalf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/audit/", cookie)
	}
	req, _ = http.NewRequest("GET", ts.URL+"/audit/", nil)
	req.AddCookie(cookie)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Signed in as Dana Auditor") {
		t.Fatalf("page with the cookie: %d %s", resp.StatusCode, page)
	}
	// A post from another site with the cookie is refused.
	req, _ = http.NewRequest("POST", ts.URL+"/audit/logout", nil)
	req.AddCookie(cookie)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d, want 403", resp.StatusCode)
	}
}

func TestAPIDecisions(t *testing.T) {
	ts := newTestServer(t, HandlerOptions{})
	get := func(path string) decisionsPage {
		t.Helper()
		resp, body := ts.do(t, "GET", path, auditorToken, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var p decisionsPage
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return p
	}
	seqs := func(p decisionsPage) (out []int64) {
		for _, e := range p.Decisions {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", []int64{4, 3, 2, 1}},
		{"verdict=denied", []int64{4, 2}},
		{"rule=unsafe_pickle", []int64{2}},
		{"waiver=*", []int64{3}},
		{"digest=sha256:" + strings.Repeat("a", 64), []int64{1}},
		{"environment=staging", []int64{4}},
		{"kind=model", []int64{2}},
		{"from=" + testTime.Add(90*time.Minute).Format(time.RFC3339), []int64{4, 3}},
		{"subject=nothing", nil},
	} {
		if got := seqs(get("/audit/api/decisions?" + tc.query)); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.query, got, tc.want)
		}
	}
	// Pagination: follow next_page_token to the end.
	var all []int64
	path := "/audit/api/decisions?limit=3"
	for i := 0; ; i++ {
		p := get(path)
		all = append(all, seqs(p)...)
		if p.NextPageToken == "" || i > 5 {
			break
		}
		path = "/audit/api/decisions?limit=3&page_token=" + url.QueryEscape(p.NextPageToken)
	}
	if !cmp.Equal(all, []int64{4, 3, 2, 1}) {
		t.Errorf("paged: %v", all)
	}
	// One decision, whole.
	resp, body := ts.do(t, "GET", "/audit/api/decisions/2", auditorToken, nil)
	var e Entry
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &e) != nil || e.Violations[0].Message != "model.pkl imports os.system when loaded" || e.Hash == "" {
		t.Errorf("decision 2: %d %s", resp.StatusCode, body)
	}
	for path, want := range map[string]int{"/audit/api/decisions/99": 404, "/audit/api/decisions/abc": 400, "/audit/api/decisions/0": 400,
		"/audit/api/decisions?verdict=maybe": 400, "/audit/api/decisions?page_token=garbage": 400} {
		if resp, body := ts.do(t, "GET", path, auditorToken, nil); resp.StatusCode != want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d with an error", path, resp.StatusCode, body, want)
		}
	}
}

func TestAPIDecisionsCSV(t *testing.T) {
	ts := newTestServer(t, HandlerOptions{})
	resp, body := ts.do(t, "GET", "/audit/api/decisions?format=csv&verdict=denied", auditorToken, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !cmp.Equal(rows[0], csvHeader) {
		t.Fatalf("rows: %q", rows)
	}
	col := func(row []string, name string) string {
		for i, h := range csvHeader {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	if got := col(rows[1], "namespace"); got != "'=cmd|' /C calc'!A0" {
		t.Errorf("formula cell written as %q, want it quoted", got)
	}
	if got := col(rows[2], "violations"); got != "model_scan/unsafe_pickle" {
		t.Errorf("violations %q", got)
	}
	// Accept: text/csv without format.
	req, _ := http.NewRequest("GET", ts.URL+"/audit/api/decisions?waiver=*", nil)
	req.Header.Set("Authorization", "Bearer "+auditorToken)
	req.Header.Set("Accept", "text/csv")
	r2, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if !strings.Contains(string(b), "Jo Privacy-Officer") || !strings.HasPrefix(string(b), "seq,") {
		t.Errorf("Accept text/csv: %s", b)
	}
}

func TestPagesEscape(t *testing.T) {
	ts := newTestServer(t, HandlerOptions{})
	for _, path := range []string{"/audit/", "/audit/decisions/4"} {
		resp, body := ts.do(t, "GET", path, auditorToken, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if strings.Contains(body, "<script") || !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s: the hostile name is not escaped", path)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	resp, body := ts.do(t, "GET", "/audit/?verdict=maybe", auditorToken, nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "verdict &#34;maybe&#34;") {
		t.Errorf("bad filter: %d %s", resp.StatusCode, body)
	}
}

func TestDownloads(t *testing.T) {
	ts := newTestServer(t, HandlerOptions{})
	resp, body := ts.do(t, "GET", "/audit/api/export", auditorToken, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="gatehouse-audit-`) {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	if _, err := zip.NewReader(strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}
	res, err := VerifyBundle(context.Background(), strings.NewReader(body), int64(len(body)))
	if err != nil || !res.OK || res.Entries != 4 || res.Checkpoints != 1 {
		t.Fatalf("export does not verify: %v %+v", err, res)
	}
	resp, body = ts.do(t, "GET", "/audit/api/report?from=2026-03-01&to=2026-03-31", auditorToken, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="gatehouse-audit-report-2026-03-01-2026-04-01.html"` ||
		!strings.Contains(body, "unsafe_pickle") || !strings.Contains(body, "Jo Privacy-Officer") {
		t.Fatalf("report: %d %v %.300s", resp.StatusCode, resp.Header, body)
	}
	// The default period is the last 30 days: March's decisions are not in April's.
	late := newTestServer(t, HandlerOptions{Now: func() time.Time { return testTime.AddDate(0, 2, 0) }})
	if resp, body := late.do(t, "GET", "/audit/api/report", auditorToken, nil); resp.StatusCode != 200 || strings.Contains(body, "unsafe_pickle") {
		t.Errorf("default period: %d, mentions March's denial: %v", resp.StatusCode, strings.Contains(body, "unsafe_pickle"))
	}
	for path, want := range map[string]string{"/audit/api/report?from=junk": "from:", "/audit/api/report?x=1": "unknown parameter", "/audit/api/export?a=1": "takes no parameters"} {
		if resp, body := ts.do(t, "GET", path, auditorToken, nil); resp.StatusCode != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestVerifyCached(t *testing.T) {
	now := testTime
	runs := 0
	c := verifyCache{ttl: time.Minute, now: func() time.Time { return now }, run: func(context.Context) ChainStatus {
		runs++
		return ChainStatus{VerifyResult: VerifyResult{OK: true}, CheckedAt: now}
	}}
	ctx := context.Background()
	c.get(ctx, false)
	c.get(ctx, false)
	if runs != 1 {
		t.Errorf("runs = %d within the TTL, want 1", runs)
	}
	c.get(ctx, true)
	if runs != 2 {
		t.Errorf("fresh: runs = %d, want 2", runs)
	}
	now = now.Add(2 * time.Minute)
	c.get(ctx, false)
	if runs != 3 {
		t.Errorf("after the TTL: runs = %d, want 3", runs)
	}
}
