package humanitec

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHumanitec implements the approval endpoints of Humanitec's API as its
// OpenAPI document describes them (docs/humanitec.md): it checks the bearer
// token, the method, the path and that decisions carry no body, and it
// records every request.
type fakeHumanitec struct {
	t     *testing.T
	token string

	mu        sync.Mutex
	approvals []Approval
	requests  []string // "METHOD PATH?QUERY"
	// override, when set, answers instead of the fake's own logic.
	override func(w http.ResponseWriter, r *http.Request) bool
	// pageSize splits list answers into pages linked by Link headers.
	pageSize int
}

const testToken = "hum-s3cr3t-T0KEN-value"

func newFake(t *testing.T, approvals ...Approval) (*fakeHumanitec, *httptest.Server) {
	f := &fakeHumanitec{t: t, token: testToken, approvals: approvals}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeHumanitec) client(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	c, err := newClient(Options{APIURL: srv.URL, Token: testToken, RequestTimeout: 2 * time.Second}, srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs)
	if err != nil {
		t.Fatal(err)
	}
	c.retryWait = 10 * time.Millisecond
	return c
}

func (f *fakeHumanitec) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}

func (f *fakeHumanitec) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeErr(w, http.StatusUnauthorized, "API-001", "Could not validate token.")
		return
	}
	if f.override != nil && f.override(w, r) {
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	// GET /orgs/{org}/apps/{app}/approvals
	case len(parts) == 5 && parts[0] == "orgs" && parts[2] == "apps" && parts[4] == "approvals":
		if r.Method != http.MethodGet {
			writeErr(w, http.StatusMethodNotAllowed, "API-405", "method not allowed")
			return
		}
		q := r.URL.Query()
		var out []Approval
		f.mu.Lock()
		for _, a := range f.approvals {
			if a.OrgID == parts[1] && a.AppID == parts[3] &&
				(q.Get("pipeline") == "" || q.Get("pipeline") == a.PipelineID) &&
				(q.Get("run") == "" || q.Get("run") == a.RunID) &&
				(q.Get("status") == "" || q.Get("status") == a.Status) {
				out = append(out, a)
			}
		}
		f.mu.Unlock()
		if f.pageSize > 0 {
			start := 0
			fmt.Sscan(q.Get("page"), &start)
			end := min(start+f.pageSize, len(out))
			if end < len(out) {
				q.Set("page", fmt.Sprint(end))
				w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
			}
			out = out[start:end]
		}
		if out == nil {
			out = []Approval{}
		}
		json.NewEncoder(w).Encode(out)
	// /orgs/{org}/apps/{app}/pipelines/{p}/runs/{r}/jobs/{j}/approvals/{id}[/approve|/deny]
	case (len(parts) == 12 || len(parts) == 13) && parts[0] == "orgs" && parts[4] == "pipelines" && parts[6] == "runs" && parts[8] == "jobs" && parts[10] == "approvals":
		f.mu.Lock()
		defer f.mu.Unlock()
		var a *Approval
		for i := range f.approvals {
			x := &f.approvals[i]
			if x.OrgID == parts[1] && x.AppID == parts[3] && x.PipelineID == parts[5] && x.RunID == parts[7] && x.JobID == parts[9] && x.ID == parts[11] {
				a = x
			}
		}
		if a == nil {
			writeErr(w, http.StatusNotFound, "API-404", "Approval request not found.")
			return
		}
		if len(parts) == 12 {
			if r.Method != http.MethodGet {
				writeErr(w, http.StatusMethodNotAllowed, "API-405", "method not allowed")
				return
			}
			json.NewEncoder(w).Encode(a)
			return
		}
		if r.Method != http.MethodPost {
			writeErr(w, http.StatusMethodNotAllowed, "API-405", "method not allowed")
			return
		}
		if body, _ := io.ReadAll(r.Body); len(body) != 0 {
			f.t.Errorf("%s %s carried a body: %q", r.Method, r.URL.Path, body)
		}
		var status string
		switch parts[12] {
		case "approve":
			status = StatusApproved
		case "deny":
			status = StatusDenied
		default:
			writeErr(w, http.StatusNotFound, "API-404", "not found")
			return
		}
		if a.Status != StatusWaiting {
			writeErr(w, http.StatusConflict, "PIP-409", "Approval request is not waiting: "+a.Status)
			return
		}
		a.Status = status
		a.ApprovedBy = "s-gatehouse"
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		a.ApprovedAt = &now
		json.NewEncoder(w).Encode(a)
	default:
		writeErr(w, http.StatusNotFound, "API-404", "no route")
	}
}

var testJob = Job{Org: "acme", App: "shop", Pipeline: "deploy-gate", Run: "01234567-89ab-cdef-0123-456789abcdef", Job: "approve"}

func waiting(id string) Approval {
	return Approval{ID: id, OrgID: testJob.Org, AppID: testJob.App, PipelineID: testJob.Pipeline, RunID: testJob.Run,
		JobID: testJob.Job, EnvID: "production", Message: "gatehouse decides", Status: StatusWaiting,
		CreatedAt: time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)}
}
