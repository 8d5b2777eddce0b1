package sonarqube

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// breakOn answers requests to path with what break does, and everything
// else as a healthy server.
func breakOn(path string, brk http.HandlerFunc) http.Handler {
	ok := &fakeServer{taskStatuses: []string{"SUCCESS"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path == "*" || r.URL.Path == path {
			brk(w, r)
			return
		}
		ok.ServeHTTP(w, r)
	})
}

func stall(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		w.Write([]byte(`{"errors":[{"msg":"x\n::error::pwned"}]}`))
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	c, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		c.Close()
	}
}

// refusedURL is an http URL on a loopback port nothing listens on.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// TestUnavailableServerIsNoEvidence: whenever SonarQube does not answer
// (refused, reset, 5xx, stalled past the timeout) at any step, Collect
// returns an error (the engine records it and does not decide) and no
// evidence that could pass for a failed quality gate.
func TestUnavailableServerIsNoEvidence(t *testing.T) {
	const timeout = 400 * time.Millisecond
	for _, tt := range []struct {
		name    string
		handler http.Handler // nil: the port refuses connections
		want    error
	}{
		{"connection refused", nil, ErrUnreachable},
		{"connection closed without an answer", breakOn("*", hangUp), ErrUnreachable},
		{"task stalls past the timeout", breakOn("/api/ce/task", stall), ErrTimeout},
		{"task answers 503 until the timeout", breakOn("/api/ce/task", status(http.StatusServiceUnavailable)), ErrTimeout},
		{"project_status stalls past the timeout", breakOn("/api/qualitygates/project_status", stall), ErrTimeout},
		{"project_status answers 500", breakOn("/api/qualitygates/project_status", status(http.StatusInternalServerError)), nil},
		{"project_status hangs up", breakOn("/api/qualitygates/project_status", hangUp), ErrUnreachable},
		{"issues stall past the timeout", breakOn("/api/issues/search", stall), ErrTimeout},
		{"issues answer 502", breakOn("/api/issues/search", status(http.StatusBadGateway)), nil},
		{"issues hang up", breakOn("/api/issues/search", hangUp), ErrUnreachable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := refusedURL(t)
			if tt.handler != nil {
				ts := httptest.NewServer(tt.handler)
				defer ts.Close()
				url = ts.URL
			}
			c := &Collector{Dir: writeReportTask(t, url, ""), PollInterval: 5 * time.Millisecond, Timeout: timeout,
				HTTP: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
			start := time.Now()
			v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage, Ref: "x"})
			if err == nil || v != nil {
				t.Fatalf("Collect = %+v, %v; want an error and no evidence", v, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") || strings.Contains(err.Error(), "::error::") {
				t.Errorf("error carries the server's message raw: %q", err)
			}
			if el := time.Since(start); el > timeout+2*time.Second {
				t.Errorf("returned after %v, past the %v timeout", el, timeout)
			}
		})
	}
}

// A 4xx on the issue query is the server's answer (an old server, a token
// without the permission): recorded in the evidence, which the gate denies
// only when it caps new issues.
func TestIssuesRefusedIsRecorded(t *testing.T) {
	ts := httptest.NewServer(breakOn("/api/issues/search", status(http.StatusForbidden)))
	defer ts.Close()
	c := &Collector{Dir: writeReportTask(t, ts.URL, ""), PollInterval: time.Millisecond, Timeout: 5 * time.Second}
	v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage, Ref: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := v.(*Evidence); ev.Issues == nil || !strings.Contains(ev.Issues.Error, "403") {
		t.Fatalf("issues = %+v, want the 403 recorded", ev.Issues)
	}
}

// An interrupted collection (SIGINT cancels the run's ctx) is an error
// that says so, not a timeout and not evidence.
func TestInterruptedCollect(t *testing.T) {
	ts := httptest.NewServer(breakOn("/api/ce/task", stall))
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	c := &Collector{Dir: writeReportTask(t, ts.URL, ""), Timeout: time.Minute}
	v, err := c.Collect(ctx, gates.Subject{Kind: gates.KindImage})
	if v != nil || !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Collect = %v, %v; want context.Canceled, not a timeout", v, err)
	}
}

func TestParseEvidenceRefusesErrorDocuments(t *testing.T) {
	for _, doc := range []string{
		`{"error":"SonarQube unreachable: connection refused"}`,
		`{"error":"x","projectStatus":{"status":"ERROR","conditions":[]}}`,
		`{"schema":"sonarqube/v1","error":"x","projectStatus":{"status":"OK"}}`,
	} {
		if ev, err := (&Collector{}).ParseEvidence([]byte(doc)); err == nil {
			t.Errorf("ParseEvidence(%s) = %+v, want an error", doc, ev)
		}
	}
}
