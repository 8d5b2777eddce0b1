package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// fakeReviewer records what it was asked and answers as told.
type fakeReviewer struct {
	mu       sync.Mutex
	calls    []string
	ctxs     []context.Context
	revision string
	result   func(req *admissionv1.AdmissionRequest) Result
}

func (f *fakeReviewer) answer(ctx context.Context, what string, req *admissionv1.AdmissionRequest) Result {
	f.mu.Lock()
	f.calls = append(f.calls, what+" "+string(req.UID))
	f.ctxs = append(f.ctxs, ctx)
	f.mu.Unlock()
	if f.result != nil {
		return f.result(req)
	}
	return Result{Response: &admissionv1.AdmissionResponse{Allowed: true}, Outcome: "allowed", CacheHits: 1}
}

func (f *fakeReviewer) Review(ctx context.Context, req *admissionv1.AdmissionRequest) Result {
	return f.answer(ctx, "review", req)
}

func (f *fakeReviewer) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) Result {
	return f.answer(ctx, "mutate", req)
}

func (f *fakeReviewer) PolicyRevision() string { return f.revision }

func reviewBody(uid, apiVersion string) string {
	return `{"apiVersion":"` + apiVersion + `","kind":"AdmissionReview","request":{"uid":"` + uid + `",` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"ml","name":"p","operation":"CREATE","userInfo":{"username":"alice","extra":{"token":["s3cret"]}},` +
		`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}}}`
}

func newTestHandler(t *testing.T, f *fakeReviewer, limit int64) (*Handler, *Metrics, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	m := NewMetrics()
	o := HandlerOptions{Metrics: m, Logger: slog.New(slog.NewJSONHandler(&logs, nil)), MaxBodyBytes: limit}
	if f != nil {
		o.Admitter = f
	}
	return NewHandler(o), m, &logs
}

func do(h http.Handler, method, target, contentType string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeAnswer checks w is a well-formed AdmissionReview v1 answering uid.
func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder, uid string) *admissionv1.AdmissionResponse {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200 with an AdmissionReview", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var rv admissionv1.AdmissionReview
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rv); err != nil {
		t.Fatalf("answer is not an AdmissionReview: %v", err)
	}
	if rv.APIVersion != "admission.k8s.io/v1" || rv.Kind != "AdmissionReview" || rv.Response == nil {
		t.Fatalf("answer %+v: want an admission.k8s.io/v1 AdmissionReview with a response", rv)
	}
	if string(rv.Response.UID) != uid {
		t.Fatalf("answer uid %q, want %q", rv.Response.UID, uid)
	}
	return rv.Response
}

func TestHandlerBadInputIsAnsweredNeverA500(t *testing.T) {
	const limit = 64 << 10
	huge := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"big-1","object":{"x":"` + strings.Repeat("a", 2*limit) + `"}}}`
	tests := []struct {
		name, method, ctype, body string
		wantStatus                int    // when no uid can be read
		wantUID                   string // when a denial is expected
		wantReason                string
	}{
		{name: "malformed JSON with a uid", method: "POST", ctype: "application/json", body: `{"request":{"uid":"u-1","object":{`, wantUID: "u-1", wantReason: "bad AdmissionReview"},
		{name: "malformed JSON, no uid", method: "POST", ctype: "application/json", body: `{"request":`, wantStatus: 400, wantReason: "malformed"},
		{name: "not JSON", method: "POST", ctype: "application/json", body: "\x00\xff garbage", wantStatus: 400, wantReason: "bad AdmissionReview"},
		{name: "empty body", method: "POST", ctype: "application/json", body: "", wantStatus: 400, wantReason: "empty"},
		{name: "wrong apiVersion", method: "POST", ctype: "application/json", body: reviewBody("u-2", "admission.k8s.io/v1beta1"), wantUID: "u-2", wantReason: "v1beta1"},
		{name: "no request", method: "POST", ctype: "application/json", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, wantStatus: 400, wantReason: "no request"},
		{name: "huge body, uid first", method: "POST", ctype: "application/json", body: huge, wantUID: "big-1", wantReason: "larger than"},
		{name: "huge body, no uid", method: "POST", ctype: "application/json", body: `{"x":"` + strings.Repeat("a", 2*limit) + `"}`, wantStatus: 413, wantReason: "larger than"},
		{name: "wrong content type with uid", method: "POST", ctype: "text/plain", body: reviewBody("u-3", "admission.k8s.io/v1"), wantUID: "u-3", wantReason: "content type"},
		{name: "wrong content type, no uid", method: "POST", ctype: "application/x-www-form-urlencoded", body: "a=b", wantStatus: 415, wantReason: "content type"},
		{name: "GET", method: "GET", body: "", wantStatus: 405, wantReason: "POST"},
		{name: "PUT with a review", method: "PUT", ctype: "application/json", body: reviewBody("u-4", "admission.k8s.io/v1"), wantStatus: 405, wantReason: "POST"},
		{name: "uid not a string", method: "POST", ctype: "application/json", body: `{"request":{"uid":{"a":1}}`, wantStatus: 400, wantReason: "bad AdmissionReview"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/validate", "/mutate"} {
			t.Run(tt.name+path, func(t *testing.T) {
				f := &fakeReviewer{revision: "r1"}
				h, _, _ := newTestHandler(t, f, limit)
				w := do(h, tt.method, path, tt.ctype, strings.NewReader(tt.body))
				if w.Code >= 500 {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				if tt.wantUID != "" {
					resp := decodeAnswer(t, w, tt.wantUID)
					if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, tt.wantReason) {
						t.Fatalf("response %+v: want a denial saying %q", resp, tt.wantReason)
					}
				} else {
					if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantReason) {
						t.Fatalf("status %d %q, want %d saying %q", w.Code, w.Body, tt.wantStatus, tt.wantReason)
					}
				}
				if len(f.calls) != 0 {
					t.Errorf("the admitter was called for bad input: %v", f.calls)
				}
			})
		}
	}
}

func TestHandlerReviewAndMutate(t *testing.T) {
	f := &fakeReviewer{revision: "r1"}
	h, _, logs := newTestHandler(t, f, 0)
	for _, path := range []string{"/validate", "/mutate"} {
		w := do(h, "POST", path+"?timeout=10s", "application/json; charset=utf-8", strings.NewReader(reviewBody("ok-"+path[1:], "admission.k8s.io/v1")))
		resp := decodeAnswer(t, w, "ok-"+path[1:])
		if !resp.Allowed {
			t.Errorf("%s: denied: %+v", path, resp)
		}
	}
	if got, want := strings.Join(f.calls, ","), "review ok-validate,mutate ok-mutate"; got != want {
		t.Fatalf("calls %q, want %q", got, want)
	}
	rc, ok := gates.RecordContextFrom(f.ctxs[0])
	want := gates.RecordContext{Door: "admission", RequestUID: "ok-validate", Namespace: "ml", Kind: "Pod", Name: "p", Operation: "CREATE", User: "alice"}
	if !ok || rc != want {
		t.Errorf("record context %+v, want %+v", rc, want)
	}
	dl, ok := f.ctxs[0].Deadline()
	if !ok || time.Until(dl) > 9*time.Second || time.Until(dl) < 8*time.Second {
		t.Errorf("deadline in %s (set %v), want about 9s: the API server's 10s less a margin", time.Until(dl), ok)
	}
	// One JSON log line per review; never the object or the user's extra (tokens).
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), logs)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if line["uid"] != "ok-validate" || line["outcome"] != "allowed" || line["namespace"] != "ml" {
		t.Errorf("log line %v lacks uid/outcome/namespace", line)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("a secret from the request's userInfo reached the log")
	}
}

func TestHandlerWarningsAndDenialPassThrough(t *testing.T) {
	f := &fakeReviewer{revision: "r1", result: func(req *admissionv1.AdmissionRequest) Result {
		return Result{Outcome: "warned", Response: &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"gatehouse: unpinned"}}}
	}}
	h, _, _ := newTestHandler(t, f, 0)
	resp := decodeAnswer(t, do(h, "POST", "/validate", "application/json", strings.NewReader(reviewBody("w1", "admission.k8s.io/v1"))), "w1")
	if !resp.Allowed || len(resp.Warnings) != 1 {
		t.Fatalf("response %+v: want allowed with the warning", resp)
	}
}

func TestHandlerPanicIsADenial(t *testing.T) {
	f := &fakeReviewer{revision: "r1", result: func(*admissionv1.AdmissionRequest) Result { panic("boom") }}
	h, _, _ := newTestHandler(t, f, 0)
	resp := decodeAnswer(t, do(h, "POST", "/validate", "application/json", strings.NewReader(reviewBody("p1", "admission.k8s.io/v1"))), "p1")
	if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "internal error") {
		t.Fatalf("response %+v: want a denial", resp)
	}
	// A nil response from the admitter is a denial too.
	f.result = func(*admissionv1.AdmissionRequest) Result { return Result{Outcome: "error"} }
	resp = decodeAnswer(t, do(h, "POST", "/validate", "application/json", strings.NewReader(reviewBody("p2", "admission.k8s.io/v1"))), "p2")
	if resp.Allowed {
		t.Fatalf("nil response was allowed: %+v", resp)
	}
}

func TestReadyzFollowsPolicyAndDrain(t *testing.T) {
	h, _, _ := newTestHandler(t, nil, 0)
	if w := do(h, "GET", "/healthz", "", nil); w.Code != 200 {
		t.Fatalf("healthz %d", w.Code)
	}
	w := do(h, "GET", "/readyz", "", nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "no policy") {
		t.Fatalf("readyz before a policy: %d %s", w.Code, w.Body)
	}
	// Reviews before the policy loaded are denied, not allowed.
	resp := decodeAnswer(t, do(h, "POST", "/validate", "application/json", strings.NewReader(reviewBody("early", "admission.k8s.io/v1"))), "early")
	if resp.Allowed || !strings.Contains(resp.Result.Message, "not loaded") {
		t.Fatalf("review before the policy: %+v", resp)
	}
	f := &fakeReviewer{revision: "bundle-rev-7"}
	h.SetAdmitter(f)
	w = do(h, "GET", "/readyz", "", nil)
	var st readiness
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != 200 || !st.Ready || st.PolicyRevision != "bundle-rev-7" {
		t.Fatalf("readyz with a policy: %d %s", w.Code, w.Body)
	}
	f.revision = "bundle-rev-8" // a swapped policy shows at once
	if w = do(h, "GET", "/readyz", "", nil); !strings.Contains(w.Body.String(), "bundle-rev-8") {
		t.Fatalf("readyz after a swap: %s", w.Body)
	}
	h.Drain()
	if w = do(h, "GET", "/readyz", "", nil); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "shutting down") {
		t.Fatalf("readyz while draining: %d %s", w.Code, w.Body)
	}
}

func TestMetricsExposed(t *testing.T) {
	f := &fakeReviewer{revision: "r1", result: func(req *admissionv1.AdmissionRequest) Result {
		return Result{Outcome: "denied", CacheHits: 2, CacheMisses: 1, RecordErr: io.ErrShortWrite,
			Response: &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: "no"}}}
	}}
	h, m, _ := newTestHandler(t, f, 0)
	m.PolicyLoaded("r1", nil)
	m.PolicyLoaded("", io.ErrUnexpectedEOF)
	do(h, "POST", "/validate", "application/json", strings.NewReader(reviewBody("m1", "admission.k8s.io/v1")))
	do(h, "POST", "/validate", "application/json", strings.NewReader(`{`))
	do(h, "GET", "/nope", "", nil)
	w := do(h, "GET", "/metrics", "", nil)
	if w.Code != 200 {
		t.Fatalf("metrics: %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`gatehouse_admission_requests_total{code="200",path="/validate"} 1`,
		`gatehouse_admission_requests_total{code="400",path="/validate"} 1`,
		`gatehouse_admission_requests_total{code="404",path="other"} 1`,
		`gatehouse_admission_decisions_total{outcome="denied",path="/validate"} 1`,
		`gatehouse_admission_decisions_total{outcome="error",path="/validate"} 1`,
		`gatehouse_admission_cache_hits_total 2`,
		`gatehouse_admission_cache_misses_total 1`,
		`gatehouse_admission_policy_reloads_total{result="ok"} 1`,
		`gatehouse_admission_policy_reloads_total{result="error"} 1`,
		`gatehouse_admission_policy_info{revision="r1"} 1`,
		`gatehouse_admission_review_duration_seconds_count{path="/validate"} 2`,
		`gatehouse_admission_record_errors_total 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestPeekUID(t *testing.T) {
	tests := []struct {
		in   string
		want types.UID
	}{
		{`{"request":{"uid":"a"}}`, "a"},
		{`{"kind":"AdmissionReview","request":{"kind":{"uid":"no"},"uid":"b","object":{`, "b"},
		{`{"x":[{"request":{"uid":"no"}}],"request":{"uid":"c"`, "c"},
		{`{"uid":"top","request":{"object":{"uid":"deep"}}}`, ""},
		{`{"request":{"object":{"metadata":{"uid":"deep"}},"uid":`, ""},
		{`{"request":{"uid":5}}`, ""},
		{`{"request":{"uid":""}}`, ""},
		{`{"request":{"uid":"` + strings.Repeat("u", maxUIDBytes+1) + `"}}`, ""},
		{`[{"request":{"uid":"a"}}]`, ""},
		{strings.Repeat("[", 5000), ""},
		{``, ""},
	}
	for _, tt := range tests {
		got, ok := peekUID([]byte(tt.in))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("peekUID(%.60q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzPeekUID(f *testing.F) {
	f.Add([]byte(reviewBody("seed", "admission.k8s.io/v1")))
	f.Add([]byte(`{"request":{"uid":"a"`))
	f.Add([]byte(`{"a":[1,{"b":null}],"request":{"x":[],"uid":"z"}}`))
	f.Add([]byte(`{"request":{"uid":"\u00e9"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		uid, ok := peekUID(b)
		if ok != (uid != "") || len(uid) > maxUIDBytes {
			t.Fatalf("peekUID = %q, %v", uid, ok)
		}
		// On a whole document the walk agrees with encoding/json. Only
		// documents where that is well defined are compared: encoding/json
		// takes the last of repeated keys and matches keys case-blind.
		low := bytes.ToLower(b)
		if !json.Valid(b) || bytes.ContainsRune(b, '\\') || bytes.Count(low, []byte("uid")) != 1 || bytes.Count(low, []byte("request")) != 1 ||
			!bytes.Contains(b, []byte(`"uid"`)) || !bytes.Contains(b, []byte(`"request"`)) {
			return
		}
		var doc struct {
			Request struct {
				UID string `json:"uid"`
			} `json:"request"`
		}
		err := json.Unmarshal(b, &doc)
		want := err == nil && doc.Request.UID != "" && len(doc.Request.UID) <= maxUIDBytes
		if want != ok || ok && string(uid) != doc.Request.UID {
			t.Fatalf("peekUID(%q) = %q, %v; encoding/json read %q (%v)", b, uid, ok, doc.Request.UID, err)
		}
	})
}

func FuzzHandler(f *testing.F) {
	f.Add([]byte(reviewBody("seed", "admission.k8s.io/v1")), "application/json")
	f.Add([]byte(`{"request":{"uid":"x","object":`), "application/json")
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(reviewBody("seed", "admission.k8s.io/v1beta1")), "")
	fr := &fakeReviewer{revision: "r"}
	h := NewHandler(HandlerOptions{Admitter: fr, MaxBodyBytes: 4096})
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		w := do(h, "POST", "/validate", ctype, bytes.NewReader(body))
		if w.Code >= 500 {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		if w.Code == http.StatusOK {
			var rv admissionv1.AdmissionReview
			if err := json.Unmarshal(w.Body.Bytes(), &rv); err != nil || rv.Response == nil || rv.Response.UID == "" {
				t.Fatalf("200 without a well-formed answer: %s", w.Body)
			}
		}
	})
}

// BenchmarkHandler is the handler's own cost per review (decode, encode,
// metrics, a JSON log line) around an admitter that answers at once.
func BenchmarkHandler(b *testing.B) {
	h := NewHandler(HandlerOptions{Admitter: &fakeReviewer{revision: "r"}, Metrics: NewMetrics(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	body := []byte(reviewBody("bench", "admission.k8s.io/v1"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("POST", "/validate?timeout=10s", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
