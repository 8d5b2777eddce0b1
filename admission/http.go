package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gatehouse-dev/gatehouse/gates"

	"github.com/gatehouse-dev/gatehouse/internal/httpstatus"
)

// Reviewer is what the webhook's handlers call: *Admitter.
type Reviewer interface {
	Review(ctx context.Context, req *admissionv1.AdmissionRequest) Result
	Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) Result
	PolicyRevision() string
}

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Admitter answers reviews; nil until the first policy has loaded
	// (SetAdmitter): until then reviews are denied and /readyz fails.
	Admitter Reviewer
	Metrics  *Metrics
	Logger   *slog.Logger
	// MaxBodyBytes bounds a request body. [MaxReviewBytes]
	MaxBodyBytes int64
}

// Handler serves the webhook: POST /validate and /mutate (AdmissionReview
// v1 in and out), GET /healthz, /readyz and /metrics. Whatever it is sent,
// it answers with a well-formed AdmissionReview denial when the request's
// uid can be read, else a 4xx naming what is wrong; never a 500.
type Handler struct {
	mux      *http.ServeMux
	adm      atomic.Pointer[reviewerBox]
	draining atomic.Bool
	metrics  *Metrics
	log      *slog.Logger
	limit    int64
}

type reviewerBox struct{ r Reviewer }

// NewHandler builds the webhook's handler.
func NewHandler(o HandlerOptions) *Handler {
	h := &Handler{mux: http.NewServeMux(), metrics: o.Metrics, log: o.Logger, limit: o.MaxBodyBytes}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.limit <= 0 {
		h.limit = MaxReviewBytes
	}
	if o.Admitter != nil {
		h.SetAdmitter(o.Admitter)
	}
	h.mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) { h.review(w, r, "/validate") })
	h.mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) { h.review(w, r, "/mutate") })
	h.mux.HandleFunc("/healthz", h.healthz)
	h.mux.HandleFunc("/readyz", h.readyz)
	if o.Metrics != nil {
		h.mux.Handle("/metrics", o.Metrics.Handler())
	}
	return h
}

// SetAdmitter installs the admitter once the first policy has loaded.
func (h *Handler) SetAdmitter(r Reviewer) { h.adm.Store(&reviewerBox{r}) }

// Drain makes /readyz fail from now on (shutdown has begun).
func (h *Handler) Drain() { h.draining.Store(true) }

func (h *Handler) admitter() Reviewer {
	if b := h.adm.Load(); b != nil {
		return b.r
	}
	return nil
}

// ServeHTTP counts every request by path and status code.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := httpstatus.Wrap(w)
	defer func() {
		if p := recover(); p != nil {
			// A panic below must not crash the server nor reach the API
			// server as a 500: the review handler answers it itself; this
			// is the last resort for the other paths.
			h.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !sw.Written() {
				http.Error(sw, "gatehouse: internal error", http.StatusServiceUnavailable)
			}
		}
		h.metrics.observeRequest(metricPath(r.URL.Path), sw.Status(), time.Since(start))
	}()
	h.mux.ServeHTTP(sw, r)
}

// metricPath bounds the path label to the paths served.
func metricPath(p string) string {
	switch p {
	case "/validate", "/mutate", "/healthz", "/readyz", "/metrics":
		return p
	}
	return "other"
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// readiness is the body of /readyz.
type readiness struct {
	Ready          bool   `json:"ready"`
	PolicyRevision string `json:"policy_revision,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	st := readiness{}
	code := http.StatusServiceUnavailable
	switch a := h.admitter(); {
	case h.draining.Load():
		st.Reason = "shutting down"
	case a == nil:
		st.Reason = "no policy loaded yet"
	default:
		st.PolicyRevision = a.PolicyRevision()
		if st.PolicyRevision == "" {
			st.Reason = "no policy loaded yet"
		} else {
			st.Ready, code = true, http.StatusOK
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(st)
}

// apiServerMargin is kept from the API server's webhook timeout, so that
// the answer arrives before it gives up.
const apiServerMargin = time.Second

// review answers one AdmissionReview on /validate or /mutate.
func (h *Handler) review(w http.ResponseWriter, r *http.Request, path string) {
	start := time.Now()
	if h.metrics != nil {
		h.metrics.inFlight.Inc()
		defer h.metrics.inFlight.Dec()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes POST of an AdmissionReview, not %s", path, r.Method))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.limit+1))
	if err != nil {
		httpError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			h.reject(w, path, body, http.StatusUnsupportedMediaType, fmt.Errorf("%w: content type %q: want application/json", ErrBadReview, ct))
			return
		}
	}
	if int64(len(body)) > h.limit {
		h.reject(w, path, body, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: body larger than %d bytes", ErrBadReview, h.limit))
		return
	}
	rv, err := DecodeReview(bytes.NewReader(body), h.limit)
	if err != nil {
		if rv != nil && rv.Request != nil && rv.Request.UID != "" {
			h.respond(w, path, rv.Request, start, Result{Response: ErrorResponse(err), Outcome: OutcomeError})
			return
		}
		h.reject(w, path, body, http.StatusBadRequest, err)
		return
	}
	req := rv.Request
	ctx := gates.WithRecordContext(r.Context(), gates.RecordContext{
		Door: "admission", RequestUID: string(req.UID), Namespace: req.Namespace, Kind: req.Kind.Kind,
		Name: req.Name, Operation: string(req.Operation), User: req.UserInfo.Username,
	})
	if d, ok := apiServerTimeout(r); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	res := h.call(ctx, path, req)
	h.respond(w, path, req, start, res)
}

// apiServerTimeout reads the ?timeout= the API server adds to webhook
// calls and returns the deadline to work within.
func apiServerTimeout(r *http.Request) (time.Duration, bool) {
	t := r.URL.Query().Get("timeout")
	if t == "" {
		return 0, false
	}
	d, err := time.ParseDuration(t)
	if err != nil || d <= 0 {
		return 0, false
	}
	if d > 2*apiServerMargin {
		return d - apiServerMargin, true
	}
	return d / 2, true
}

// call runs the admitter; a panic in it becomes an error denial.
func (h *Handler) call(ctx context.Context, path string, req *admissionv1.AdmissionRequest) (res Result) {
	a := h.admitter()
	if a == nil {
		return Result{Response: ErrorResponse(errors.New("the webhook has not loaded its policy yet")), Outcome: OutcomeError}
	}
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic reviewing", "path", path, "uid", string(req.UID), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res = Result{Response: ErrorResponse(errors.New("internal error reviewing the request")), Outcome: OutcomeError}
		}
	}()
	if path == "/mutate" {
		return a.Mutate(ctx, req)
	}
	return a.Review(ctx, req)
}

// respond writes the AdmissionReview answering req, and logs and counts it.
func (h *Handler) respond(w http.ResponseWriter, path string, req *admissionv1.AdmissionRequest, start time.Time, res Result) {
	var buf bytes.Buffer
	if err := EncodeResponse(&buf, req.UID, res.Response); err != nil {
		httpError(w, http.StatusBadRequest, "encoding the response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	h.metrics.observeDecision(path, res.Outcome, res.CacheHits, res.CacheMisses)
	if res.RecordErr != nil {
		h.metrics.RecordFailed()
		h.log.Error("decision not recorded", "uid", string(req.UID), "err", res.RecordErr.Error())
	}

	attrs := []any{
		"path", path, "uid", string(req.UID), "operation", string(req.Operation),
		"kind", req.Kind.Group + "/" + req.Kind.Version + "/" + req.Kind.Kind,
		"namespace", req.Namespace, "name", req.Name, "user", req.UserInfo.Username,
		"outcome", res.Outcome, "duration_ms", float64(time.Since(start).Microseconds()) / 1000,
		"cache_hits", res.CacheHits, "cache_misses", res.CacheMisses,
	}
	if resp := res.Response; resp != nil {
		attrs = append(attrs, "allowed", resp.Allowed)
		if resp.Result != nil && resp.Result.Message != "" {
			attrs = append(attrs, "reason", resp.Result.Message)
		}
		if len(resp.Warnings) > 0 {
			attrs = append(attrs, "warnings", resp.Warnings)
		}
	}
	h.log.Info("review", attrs...)
}

// reject answers a request that is not a reviewable AdmissionReview: a
// denial the API server can match when the uid can be read from what was
// sent (even a too-large body usually starts with it), else status.
func (h *Handler) reject(w http.ResponseWriter, path string, body []byte, status int, err error) {
	if uid, ok := peekUID(body); ok {
		h.respond(w, path, &admissionv1.AdmissionRequest{UID: uid}, time.Now(), Result{Response: ErrorResponse(err), Outcome: OutcomeError})
		return
	}
	h.log.Warn("rejected request without a readable uid", "path", path, "status", status, "err", err.Error())
	h.metrics.observeDecision(path, "error", 0, 0)
	httpError(w, status, err.Error())
}

func httpError(w http.ResponseWriter, code int, msg string) {
	http.Error(w, "gatehouse: "+msg, code)
}

// maxUIDBytes bounds the uid read back from a request that failed to
// decode (the API server's are 36-byte UUIDs).
const maxUIDBytes = 256

// peekUID finds request.uid in b, which may be a truncated or otherwise
// broken JSON document, by reading its tokens in order: the uid is
// returned if it comes before the point where the document breaks. The
// walk keeps its own stack (no recursion) and stops at the end of b.
func peekUID(b []byte) (types.UID, bool) {
	type frame struct {
		obj, wantKey bool
		key          string
	}
	const maxDepth = 1000
	dec := json.NewDecoder(bytes.NewReader(b))
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxDepth {
				return "", false
			}
			stack = append(stack, frame{obj: tok == json.Delim('{'), wantKey: tok == json.Delim('{')})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if len(stack) == 2 && stack[0].obj && stack[0].key == "request" && stack[1].obj && stack[1].key == "uid" {
			s, ok := tok.(string)
			if !ok || s == "" || len(s) > maxUIDBytes {
				return "", false
			}
			return types.UID(s), true
		}
		valueDone()
	}
}
