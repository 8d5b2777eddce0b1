package checkapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/report"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
)

const token = "0123456789abcdef0123456789abcdef"

// checkerFunc is a Checker; the handler's own logic is what these tests
// judge (the real engine behind it is tested through the binary in
// cmd/gatehouse/serve_api_test.go).
type checkerFunc func(ctx context.Context, req Request) ([]report.Result, error)

func (f checkerFunc) Check(ctx context.Context, req Request) ([]report.Result, error) {
	return f(ctx, req)
}

func tokens(t *testing.T) *bearer.Tokens {
	ts, err := bearer.Parse([]byte(token+" checker CI\n"+strings.Repeat("f", 32)+" auditor Dana\n"), RoleChecker, "auditor")
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func post(h http.Handler, tok, body string, tlsOn bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", Path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	if tlsOn {
		r.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const body = `{"environment":"prod","subjects":["image:r/a@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"]}`

func TestHandler(t *testing.T) {
	denied := &gates.Decision{Subject: gates.Subject{Kind: gates.KindImage, Ref: "r/a"}, Environment: "prod",
		Gates: []string{"sonarqube"}, RequiredGates: []string{"sonarqube"}, Violations: []gates.Finding{{Gate: "sonarqube", Rule: "r", Message: "m", Severity: "high"}}}
	var caller string
	h := Handler(Options{Tokens: tokens(t), Checker: checkerFunc(func(ctx context.Context, req Request) ([]report.Result, error) {
		rc, _ := gates.RecordContextFrom(ctx)
		caller = rc.User + "/" + rc.Door
		switch req.Environment {
		case "qa":
			return nil, &BadRequest{Err: errors.New(`unknown environment "qa"`)}
		case "down":
			return nil, errors.New("audit log unreachable")
		}
		return []report.Result{{Subject: denied.Subject, Decision: denied}}, nil
	})})
	w := post(h, token, body, true)
	if w.Code != 200 || w.Header().Get("X-Gatehouse-Verdict") != "denied" || !strings.Contains(w.Body.String(), `"schema": "gatehouse.check/v1"`) {
		t.Errorf("decision: %d %q %s", w.Code, w.Header().Get("X-Gatehouse-Verdict"), w.Body)
	}
	if caller != "CI/api" {
		t.Errorf("record context %q, want CI/api", caller)
	}
	for _, tc := range []struct {
		name, tok, body string
		tls             bool
		status          int
		want            string
	}{
		{"plain HTTP", token, body, false, 403, "HTTPS only"},
		{"auditor token", strings.Repeat("f", 32), body, true, 401, "valid token"},
		{"bad request from the checker", token, `{"environment":"qa","subjects":["image:a"]}`, true, 400, "unknown environment"},
		{"checker cannot decide", token, `{"environment":"down","subjects":["image:a"]}`, true, 503, "audit log unreachable"},
		{"too many subjects", token, `{"subjects":[` + strings.Repeat(`"image:a",`, MaxSubjects) + `"image:a"]}`, true, 400, "at most 100"},
		{"null", token, `null`, true, 400, "no subjects"},
		{"array", token, `[]`, true, 400, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(h, tc.tok, tc.body, tc.tls)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("%d %s; want %d with %q", w.Code, w.Body, tc.status, tc.want)
			}
		})
	}
}

// TestBusy: a request that finds every slot taken waits until its own
// deadline and is answered 503, not queued without bound.
func TestBusy(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := Handler(Options{Tokens: tokens(t), Parallel: 1, Timeout: 300 * time.Millisecond,
		Checker: checkerFunc(func(ctx context.Context, req Request) ([]report.Result, error) {
			// The first request holds the only slot, past every deadline,
			// until the test lets it go.
			started <- struct{}{}
			<-release
			return nil, errors.New("released")
		})})
	first := make(chan struct{})
	go func() { post(h, token, body, true); close(first) }()
	<-started
	w := post(h, token, body, true)
	close(release)
	<-first
	if w.Code != 503 || !strings.Contains(w.Body.String(), "busy") {
		t.Errorf("%d %s; want 503 busy", w.Code, w.Body)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{body, `{}`, `{"documents":[{"kind":"score","name":"s.yaml","content":"x"}]}`, `{"subjects":[1]}`, `{"gates":null,"subjects":["a"]}{}`, `"x"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := decodeRequest(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(req.Subjects)+len(req.Documents) == 0 || len(req.Subjects) > MaxSubjects || len(req.Documents) > MaxDocuments {
			t.Fatalf("accepted %+v", req)
		}
		for _, d := range req.Documents {
			if (d.Kind != "score" && d.Kind != "pipeline") || d.Name == "" || d.Content == "" {
				t.Fatalf("accepted document %+v", d)
			}
		}
	})
}
