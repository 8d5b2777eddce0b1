package humanitec

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func listPath(j Job) string {
	return "GET /orgs/" + j.Org + "/apps/" + j.App + "/approvals?page=&per_page=100&pipeline=" + j.Pipeline + "&run=" + j.Run + "&status=waiting"
}

func approvalPath(j Job, id string) string {
	return "/orgs/" + j.Org + "/apps/" + j.App + "/pipelines/" + j.Pipeline + "/runs/" + j.Run + "/jobs/" + j.Job + "/approvals/" + id
}

// normList drops the empty page parameter listPath writes so the two
// spellings compare equal.
func normList(reqs []string) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = strings.Replace(r, "approvals?per_page", "approvals?page=&per_page", 1)
	}
	return out
}

func TestFindAndDecide(t *testing.T) {
	otherJob := waiting("other-job-request")
	otherJob.JobID = "smoke-test"
	otherRun := waiting("other-run-request")
	otherRun.RunID = "another-run"
	decided := waiting("old-request")
	decided.Status = StatusDenied

	tests := []struct {
		name      string
		approvals []Approval
		id        string // "" finds the job's waiting request
		verdict   Verdict
		wantErr   error  // errors.Is target
		wantInErr string // substring of the error
		wantState string // status of the request after the call
		wantReqs  []string
		already   bool
	}{
		{
			name: "approve the job's single waiting request", approvals: []Approval{waiting("a1"), otherJob, decided},
			verdict: Approve, wantState: StatusApproved,
			wantReqs: []string{listPath(testJob), "POST " + approvalPath(testJob, "a1") + "/approve"},
		},
		{
			name: "deny the job's single waiting request", approvals: []Approval{waiting("a1")},
			verdict: Deny, wantState: StatusDenied,
			wantReqs: []string{listPath(testJob), "POST " + approvalPath(testJob, "a1") + "/deny"},
		},
		{
			name: "deny a named request without listing", approvals: []Approval{waiting("a1"), waiting("a2")},
			id: "a2", verdict: Deny, wantState: StatusDenied,
			wantReqs: []string{"POST " + approvalPath(testJob, "a2") + "/deny"},
		},
		{
			name: "no waiting request: other jobs', other runs' and decided ones do not count", approvals: []Approval{otherJob, otherRun, decided},
			verdict: Approve, wantErr: ErrNoPending,
			wantReqs: []string{listPath(testJob)},
		},
		{
			name: "two waiting requests: nothing is sent", approvals: []Approval{waiting("a1"), waiting("a2")},
			verdict: Approve, wantErr: ErrSeveralPending, wantInErr: `"a1", "a2"`,
			wantReqs: []string{listPath(testJob)},
		},
		{
			name: "404: unknown request", approvals: []Approval{waiting("a1")},
			id: "nope", verdict: Approve, wantInErr: "HTTP 404 Not Found: API-404: Approval request not found.",
			wantReqs: []string{"POST " + approvalPath(testJob, "nope") + "/approve"},
		},
		{
			name: "409 on a request denied before: approving it fails and says its state", approvals: []Approval{decided},
			id: "old-request", verdict: Approve, wantInErr: `HTTP 409 Conflict: PIP-409: Approval request is not waiting: denied (the request is not in the state this call needs); the request is "denied"`,
			wantState: StatusDenied,
			wantReqs:  []string{"POST " + approvalPath(testJob, "old-request") + "/approve", "GET " + approvalPath(testJob, "old-request")},
		},
		{
			name: "409 on a request denied before: denying it again is done", approvals: []Approval{decided},
			id: "old-request", verdict: Deny, wantState: StatusDenied, already: true,
			wantReqs: []string{"POST " + approvalPath(testJob, "old-request") + "/deny", "GET " + approvalPath(testJob, "old-request")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFake(t, tt.approvals...)
			c := f.client(t, srv)
			ctx := context.Background()
			id := tt.id
			var err error
			if id == "" {
				var a Approval
				a, err = c.FindWaiting(ctx, testJob)
				id = a.ID
			}
			var out Outcome
			if err == nil {
				out, err = c.Decide(ctx, testJob, id, tt.verdict)
			}
			switch {
			case tt.wantErr == nil && tt.wantInErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			case tt.wantInErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantInErr)):
				t.Fatalf("error %v, want it to contain %q", err, tt.wantInErr)
			}
			if diff := cmp.Diff(tt.wantReqs, normList(f.log())); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if out.Already != tt.already {
				t.Errorf("Already %v, want %v", out.Already, tt.already)
			}
			if tt.wantState != "" {
				for _, a := range f.approvals {
					if a.ID == id && a.Status != tt.wantState {
						t.Errorf("request %s is %s, want %s", id, a.Status, tt.wantState)
					}
				}
				if err == nil && out.Approval.Status != tt.wantState {
					t.Errorf("outcome says %q, want %q", out.Approval.Status, tt.wantState)
				}
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	var posts, gets atomic.Int32
	tests := []struct {
		name      string
		handler   func(w http.ResponseWriter, r *http.Request) bool
		find      bool // FindWaiting instead of Decide
		wantInErr string
		wantPosts int32
		wantGets  int32
	}{
		{
			name: "403: no deploy permission on the environment",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				writeErr(w, http.StatusForbidden, "API-403", "user has no deploy permission on env production")
				return true
			},
			wantInErr: "HTTP 403 Forbidden: API-403: user has no deploy permission on env production (the token's user lacks the permission: approving needs deploy permission",
			wantPosts: 1,
		},
		{
			name: "500 on approve: sent once, then read back and still waiting",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPost {
					writeErr(w, http.StatusInternalServerError, "API-500", "boom")
					return true
				}
				return false
			},
			wantInErr: `HTTP 500 Internal Server Error: API-500: boom; the request is "waiting"`,
			wantPosts: 1, wantGets: 1,
		},
		{
			name: "503 on every list: tried three times",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				writeErr(w, http.StatusServiceUnavailable, "API-503", "maintenance")
				return true
			},
			find:      true,
			wantInErr: "HTTP 503 Service Unavailable: API-503: maintenance",
			wantGets:  3,
		},
		{
			name: "a 502 then a good list: the retry succeeds",
			handler: func() func(w http.ResponseWriter, r *http.Request) bool {
				var n atomic.Int32
				return func(w http.ResponseWriter, r *http.Request) bool {
					if n.Add(1) == 1 {
						w.WriteHeader(http.StatusBadGateway)
						w.Write([]byte("<html>bad gateway</html>"))
						return true
					}
					return false
				}
			}(),
			find: true, wantGets: 2,
		},
		{
			name: "an error message with terminal escapes and a workflow command is escaped",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				writeErr(w, http.StatusBadRequest, "API-400", "bad\n::error::pwned\x1b[31m")
				return true
			},
			find:      true,
			wantInErr: `API-400: bad\n:\x3aerror:\x3apwned\x1b[31m`,
			wantGets:  1,
		},
		{
			name: "a server that echoes the token does not get it into the error",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				writeErr(w, http.StatusUnauthorized, "API-001", "token "+r.Header.Get("Authorization")+" expired")
				return true
			},
			find:      true,
			wantInErr: "token Bearer [token] expired",
			wantGets:  1,
		},
		{
			name: "a redirect is not followed",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, "https://attacker.example/steal", http.StatusTemporaryRedirect)
				return true
			},
			find:      true,
			wantInErr: "HTTP 307 Temporary Redirect",
			wantGets:  1,
		},
		{
			name: "a list that is not JSON",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				w.Write([]byte(`{"not": "a list"}`))
				return true
			},
			find:      true,
			wantInErr: "the response is not a list of approval requests",
			wantGets:  1,
		},
		{
			name: "a next link to another host is not followed",
			handler: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Link", `<https://attacker.example/orgs/acme/apps/shop/approvals?page=2>; rel="next"`)
				w.Write([]byte(`[]`))
				return true
			},
			find:      true,
			wantInErr: "not on the API's host",
			wantGets:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			posts.Store(0)
			gets.Store(0)
			f, srv := newFake(t, waiting("a1"))
			f.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPost {
					posts.Add(1)
				} else {
					gets.Add(1)
				}
				return tt.handler(w, r)
			}
			c := f.client(t, srv)
			var err error
			if tt.find {
				_, err = c.FindWaiting(context.Background(), testJob)
			} else {
				_, err = c.Decide(context.Background(), testJob, "a1", Approve)
			}
			if tt.wantInErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantInErr)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the token is in the error: %v", err)
			}
			if posts.Load() != tt.wantPosts || gets.Load() != tt.wantGets {
				t.Errorf("%d POSTs and %d GETs, want %d and %d", posts.Load(), gets.Load(), tt.wantPosts, tt.wantGets)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	var approvals []Approval
	for _, id := range []string{"x1", "x2", "x3", "x4", "x5"} {
		a := waiting(id)
		a.JobID = "other"
		approvals = append(approvals, a)
	}
	approvals = append(approvals, waiting("mine"))
	f, srv := newFake(t, approvals...)
	f.pageSize = 2
	a, err := f.client(t, srv).FindWaiting(context.Background(), testJob)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "mine" {
		t.Errorf("found %q, want the request on the last page", a.ID)
	}
	if n := len(f.log()); n != 3 {
		t.Errorf("%d requests, want 3 pages", n)
	}
}

// A server that never answers: the request timeout ends each attempt, and
// the caller's deadline ends the whole call.
func TestStallingServer(t *testing.T) {
	release := make(chan struct{})
	f, srv := newFake(t, waiting("a1"))
	defer close(release)
	var posts atomic.Int32
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}
	c, err := newClient(Options{APIURL: srv.URL, Token: testToken, RequestTimeout: 200 * time.Millisecond}, srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs)
	if err != nil {
		t.Fatal(err)
	}
	c.retryWait = 10 * time.Millisecond
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"list", func(ctx context.Context) error { _, err := c.FindWaiting(ctx, testJob); return err }},
		{"approve", func(ctx context.Context) error { _, err := c.Decide(ctx, testJob, "a1", Approve); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), "timed out") {
				t.Fatalf("error %v, want a timeout", err)
			}
			if took > 3*time.Second {
				t.Errorf("took %s: the request timeout did not end it", took)
			}
		})
	}
	if posts.Load() != 1 {
		t.Errorf("%d POSTs, want 1: a decision is never sent twice", posts.Load())
	}
}

// A huge or endless body is cut off at the limit, not read whole.
func TestHugeResponse(t *testing.T) {
	f, srv := newFake(t, waiting("a1"))
	var gets atomic.Int32
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			gets.Add(1)
		}
		w.Write([]byte("["))
		chunk := []byte(strings.Repeat(`{"id":"x","job_id":"approve"},`, 1000))
		for written := 0; written < 64<<20; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		return true
	}
	c := f.client(t, srv)
	start := time.Now()
	_, err := c.FindWaiting(context.Background(), testJob)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1048576 bytes") {
		t.Fatalf("error %v, want the size limit", err)
	}
	if gets.Load() != 1 {
		t.Errorf("%d GETs: a body over the limit is not retried", gets.Load())
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

func TestClientRefuses(t *testing.T) {
	_, srv := newFake(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"plain http", Options{APIURL: "http://api.humanitec.io", Token: testToken}, "must be https"},
		{"loopback http too", Options{APIURL: "http://127.0.0.1:8080", Token: testToken}, "must be https"},
		{"credentials in the URL", Options{APIURL: "https://u:p@api.humanitec.io", Token: testToken}, "scheme, host and an optional path only"},
		{"no token", Options{APIURL: srv.URL}, "set HUMANITEC_TOKEN or give --token-file"},
		{"token with a line break", Options{APIURL: srv.URL, Token: "abc\r\nX-Evil: 1"}, "space, control or non-ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "p@") || strings.Contains(err.Error(), testToken) {
				t.Errorf("a secret is in the error: %v", err)
			}
		})
	}
	// Verification is on: the system's CAs do not trust the test server.
	c, err := New(Options{APIURL: srv.URL, Token: testToken, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.retryWait = 10 * time.Millisecond
	_, err = c.FindWaiting(context.Background(), testJob)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("error %v, want a certificate error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("the token is in the error: %v", err)
	}
}

func TestJobValidate(t *testing.T) {
	for _, tt := range []struct {
		job  Job
		want string
	}{
		{Job{Org: "Acme", App: "a", Pipeline: "p", Run: "r", Job: "j"}, "--org"},
		{Job{Org: "acme", Pipeline: "p", Run: "r", Job: "j"}, "--app is required"},
		{Job{Org: "acme", App: "a/../../x", Pipeline: "p", Run: "r", Job: "j"}, "--app"},
		{Job{Org: "acme", App: "a", Pipeline: "p", Run: "r\x1b", Job: "j"}, `--run "r\x1b"`},
		{Job{Org: "acme", App: "a", Pipeline: "p", Run: "r"}, "--job is required"},
	} {
		err := tt.job.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.job, err, tt.want)
		}
	}
	if err := testJob.Validate(); err != nil {
		t.Errorf("valid job refused: %v", err)
	}
}

func TestNextLink(t *testing.T) {
	for _, tt := range []struct{ header, want string }{
		{`</orgs/a/apps/b/approvals?page=X>; rel="next"`, "/orgs/a/apps/b/approvals?page=X"},
		{`<https://x/prev>; rel="prev", <https://x/next>; rel=next`, "https://x/next"},
		{`<https://x/first>; rel="first"`, ""},
		{`garbage; rel="next"`, ""},
		{``, ""},
	} {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Link", tt.header)
		}
		if got := nextLink(h); got != tt.want {
			t.Errorf("nextLink(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// The CI job may ask before the approve step has created its request.
func TestWaitWaiting(t *testing.T) {
	f, srv := newFake(t)
	c := f.client(t, srv)
	go func() {
		time.Sleep(300 * time.Millisecond)
		f.mu.Lock()
		f.approvals = append(f.approvals, waiting("late"))
		f.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := c.WaitWaiting(ctx, testJob, 50*time.Millisecond)
	if err != nil || a.ID != "late" {
		t.Fatalf("got %q, %v; want the request that appeared", a.ID, err)
	}
	if n := len(f.log()); n < 2 {
		t.Errorf("%d requests: it did not poll", n)
	}

	f2, srv2 := newFake(t)
	c2 := f2.client(t, srv2)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = c2.WaitWaiting(ctx2, testJob, 50*time.Millisecond)
	if !errors.Is(err, ErrNoPending) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want no pending request and the deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s after a 200ms deadline", took)
	}
}

// A large error page (a proxy's HTML) is still the status it came with.
func TestLargeErrorPage(t *testing.T) {
	f, srv := newFake(t, waiting("a1"))
	var gets atomic.Int32
	f.override = func(w http.ResponseWriter, r *http.Request) bool {
		gets.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>" + strings.Repeat("x", 1<<20)))
		return true
	}
	_, err := f.client(t, srv).FindWaiting(context.Background(), testJob)
	if err == nil || !strings.Contains(err.Error(), "HTTP 502 Bad Gateway: <html>xxx") || len(err.Error()) > 1024 {
		t.Fatalf("error %.300v, want the 502 with the start of its page", err)
	}
	if gets.Load() != 3 {
		t.Errorf("%d GETs, want 3 (a 5xx is retried)", gets.Load())
	}
}
