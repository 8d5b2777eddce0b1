package main

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates/report"
	"github.com/gatehouse-dev/gatehouse/humanitec"
)

const humToken = "hum-e2e-T0KEN-3f9c2a"

// humanitecServer is a TLS server of Humanitec's approval endpoints for
// the job acme/shop/deploy-gate/run-1/approve; it checks the bearer token
// and records "METHOD PATH" of every request.
type humanitecServer struct {
	mu       sync.Mutex
	requests []string
	status   map[string]string // approval id → status
}

func (h *humanitecServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer "+humToken {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "API-001", "message": "Could not validate token."})
		return
	}
	const job = "/orgs/acme/apps/shop/pipelines/deploy-gate/runs/run-1/jobs/approve/approvals/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/orgs/acme/apps/shop/approvals":
		list := []humanitec.Approval{}
		for id, st := range h.status {
			if st == humanitec.StatusWaiting {
				list = append(list, humanitec.Approval{ID: id, OrgID: "acme", AppID: "shop", PipelineID: "deploy-gate", RunID: "run-1", JobID: "approve", EnvID: "production", Status: st})
			}
		}
		json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, job):
		id, verb, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, job), "/")
		if h.status[id] != humanitec.StatusWaiting {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "API-404", "message": "no waiting approval " + id})
			return
		}
		h.status[id] = map[string]string{"approve": humanitec.StatusApproved, "deny": humanitec.StatusDenied}[verb]
		json.NewEncoder(w).Encode(humanitec.Approval{ID: id, OrgID: "acme", AppID: "shop", PipelineID: "deploy-gate", RunID: "run-1", JobID: "approve", EnvID: "production", Status: h.status[id]})
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "API-404", "message": "no route"})
	}
}

// startHumanitec starts the server with the given waiting approval ids and
// returns it, its URL and the environment that makes the binary trust its
// certificate (SSL_CERT_FILE: verification stays on) and holds the token.
func startHumanitec(t *testing.T, waiting ...string) (*humanitecServer, string, []string) {
	t.Helper()
	h := &humanitecServer{status: map[string]string{}}
	for _, id := range waiting {
		h.status[id] = humanitec.StatusWaiting
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return h, srv.URL, []string{"SSL_CERT_FILE=" + ca, "SSL_CERT_DIR=", "HUMANITEC_TOKEN=" + humToken}
}

func humJobFlags(apiURL string) []string {
	return []string{"--org", "acme", "--app", "shop", "--pipeline", "deploy-gate", "--run", "run-1", "--job", "approve", "--api-url", apiURL, "--timeout", "8s"}
}

// TestHumanitecDecide runs a real `gatehouse check --format json` and
// decides the Humanitec approval request by its result.
func TestHumanitecDecide(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed.json")
	deniedRes := filepath.Join(dir, "denied.json")
	if r := gatehouse(t, nil, "check", "--format", "json="+allowed, "--evidence", "sonarqube=testdata/sonarqube/ok.json", image); r.code != 0 {
		t.Fatalf("check (allowed) exit %d: %s", r.code, r.stderr)
	}
	if r := gatehouse(t, nil, "check", "--format", "json="+deniedRes, "--evidence", "sonarqube=testdata/sonarqube/error.json", image); r.code != 1 {
		t.Fatalf("check (denied) exit %d: %s", r.code, r.stderr)
	}
	// The docs' pipeline: a Score spec checked for prod (this one pins no
	// digest and sets no limits, so the score gate denies it).
	scoreRes := filepath.Join(dir, "score.json")
	if r := gatehouse(t, nil, "check", "score:testdata/score/checkout.yaml", "--env", "prod", "--format", "json="+scoreRes); r.code != 1 {
		t.Fatalf("check (score) exit %d: %s", r.code, r.stderr)
	}
	var doc struct{ Schema string }
	readJSON(t, allowed, &doc)
	if doc.Schema != report.Schema || humanitec.CheckSchema != report.Schema {
		t.Fatalf("check writes %q, report.Schema %q, humanitec reads %q", doc.Schema, report.Schema, humanitec.CheckSchema)
	}
	notJSON := filepath.Join(dir, "text.txt")
	os.WriteFile(notJSON, []byte("✓ image: allowed in dev\n"), 0o644)

	tests := []struct {
		name       string
		result     string
		extra      []string
		wantCode   int
		wantPost   string // "" when nothing may be sent
		wantStatus string
		wantOut    string
		wantErr    string
	}{
		{"allowed check approves", allowed, nil, 0, "approve", humanitec.StatusApproved, "approved Humanitec approval request a1", ""},
		{"denied check denies, exit 1", deniedRes, nil, 1, "deny", humanitec.StatusDenied, "denied Humanitec approval request a1", ""},
		{"denied Score spec in prod denies, exit 1", scoreRes, []string{"--env", "prod"}, 1, "deny", humanitec.StatusDenied, "score:testdata/score/checkout.yaml denied", ""},
		{"allowed in another environment denies, exit 2", allowed, []string{"--env", "prod"}, 2, "deny", humanitec.StatusDenied, "denied", `not "prod"`},
		{"a text report is not a check result: denied, exit 2", notJSON, nil, 2, "deny", humanitec.StatusDenied, "denied", "not JSON"},
		{"a missing result file denies, exit 2", filepath.Join(dir, "missing.json"), nil, 2, "deny", humanitec.StatusDenied, "denied", "missing.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, url, env := startHumanitec(t, "a1")
			args := append([]string{"humanitec", "decide", "--check-result", tt.result}, humJobFlags(url)...)
			r := gatehouse(t, env, append(args, tt.extra...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			want := []string{"GET /orgs/acme/apps/shop/approvals", "POST /orgs/acme/apps/shop/pipelines/deploy-gate/runs/run-1/jobs/approve/approvals/a1/" + tt.wantPost}
			if diff := cmp.Diff(want, h.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if h.status["a1"] != tt.wantStatus {
				t.Errorf("approval is %q, want %q", h.status["a1"], tt.wantStatus)
			}
			if !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stdout %q lacks %q or stderr %q lacks %q", r.stdout, tt.wantOut, r.stderr, tt.wantErr)
			}
			if strings.Contains(r.stdout+r.stderr, humToken) {
				t.Error("the token was printed")
			}
		})
	}
}

func TestHumanitecApproveDenyCLI(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(humToken+"\n"), 0o600)
	wrongToken := filepath.Join(dir, "wrong")
	os.WriteFile(wrongToken, []byte("not-the-token\n"), 0o600)

	tests := []struct {
		name     string
		waiting  []string
		env      func(env []string) []string
		args     func(url string) []string
		wantCode int
		wantOut  string
		wantErr  string
		wantReqs int
	}{
		{"approve the single waiting request, token from a file", []string{"a1"},
			func(env []string) []string { return append(env[:2:2], "HUMANITEC_TOKEN=") },
			func(url string) []string {
				return append([]string{"humanitec", "approve", "--token-file", tokenFile, "--reason", "release 1.2"}, humJobFlags(url)...)
			},
			0, "approved Humanitec approval request a1 (org acme app shop pipeline deploy-gate run run-1 job approve, environment production): release 1.2", "", 2},
		{"deny a named request", []string{"a1", "a2"}, nil,
			func(url string) []string {
				return append([]string{"humanitec", "deny", "--approval", "a2"}, humJobFlags(url)...)
			},
			0, "denied Humanitec approval request a2", "", 1},
		{"two waiting: nothing sent", []string{"a1", "a2"}, nil,
			func(url string) []string { return append([]string{"humanitec", "approve"}, humJobFlags(url)...) },
			2, "", "more than one approval request is waiting", 1},
		{"none waiting", nil, nil,
			func(url string) []string { return append([]string{"humanitec", "deny"}, humJobFlags(url)...) },
			2, "", "no approval request is waiting", 1},
		{"unknown approval: Humanitec's 404 and message", []string{"a1"}, nil,
			func(url string) []string {
				return append([]string{"humanitec", "approve", "--approval", "zz"}, humJobFlags(url)...)
			},
			2, "", "HTTP 404 Not Found: API-404: no waiting approval zz", 1},
		{"wrong token: 401", []string{"a1"}, nil,
			func(url string) []string {
				return append([]string{"humanitec", "approve", "--token-file", wrongToken}, humJobFlags(url)...)
			},
			2, "", "HTTP 401 Unauthorized: API-001: Could not validate token. (the token was not accepted)", 1},
		{"no token", []string{"a1"},
			func(env []string) []string { return append(env[:2:2], "HUMANITEC_TOKEN=") },
			func(url string) []string { return append([]string{"humanitec", "approve"}, humJobFlags(url)...) },
			2, "", "set HUMANITEC_TOKEN or give --token-file", 0},
		{"plain http refused", []string{"a1"}, nil,
			func(url string) []string {
				return append(append([]string{"humanitec", "approve"}, humJobFlags(url)...), "--api-url", strings.Replace(url, "https:", "http:", 1))
			},
			2, "", "must be https", 0},
		{"bad org", []string{"a1"}, nil,
			func(url string) []string {
				return append(append([]string{"humanitec", "approve"}, humJobFlags(url)...), "--org", "Acme Corp")
			},
			2, "", "is not a Humanitec organization id", 0},
		{"decide without a result", []string{"a1"}, nil,
			func(url string) []string { return append([]string{"humanitec", "decide"}, humJobFlags(url)...) },
			2, "", "--check-result is required", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, url, env := startHumanitec(t, tt.waiting...)
			if tt.env != nil {
				env = tt.env(env)
			}
			r := gatehouse(t, env, tt.args(url)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stdout %q lacks %q or stderr %q lacks %q", r.stdout, tt.wantOut, r.stderr, tt.wantErr)
			}
			if len(h.requests) != tt.wantReqs {
				t.Errorf("requests %q, want %d", h.requests, tt.wantReqs)
			}
			if strings.Contains(r.stdout+r.stderr, humToken) {
				t.Error("the token was printed")
			}
		})
	}
}
