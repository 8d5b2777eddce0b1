// Package checkapi is the decision API that orchestrators (Humanitec
// pipelines, Kubeflow) call instead of shelling out to `gatehouse check`:
// POST /v1/check with the subjects and the environment, answered with the
// same gatehouse.check/v1 JSON document as `check --format json`, decided
// by the same engine, gates, waivers and collectors.
package checkapi

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
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/gates/report"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
)

// Path is where the API is served.
const Path = "/v1/check"

// RoleChecker is the role a token needs in the tokens file.
const RoleChecker = "checker"

// Limits on a request.
const (
	MaxBodyBytes    = 9 << 20 // room for an inline compiled pipeline (8 MiB)
	MaxSubjects     = 100
	MaxDocuments    = 16
	DefaultTimeout  = 5 * time.Minute
	DefaultParallel = 4
)

// Request is the body of POST /v1/check.
type Request struct {
	// Environment to decide for; "" is the configuration's default.
	Environment string `json:"environment"`
	// Subjects in the command-line form: image:REF, and remote models or
	// datasets. The server reads no local paths.
	Subjects []string `json:"subjects"`
	// Documents are Score specs or compiled pipelines sent inline; each is
	// decided as score:NAME or pipeline:NAME, with what it brings in.
	Documents []Document `json:"documents,omitempty"`
	// Gates restricts the run to these gates (a partial run, which the
	// answer says and which is never attested).
	Gates []string `json:"gates,omitempty"`
}

// Document is a Score spec or compiled pipeline sent inline.
type Document struct {
	Kind    string `json:"kind"` // "score" or "pipeline"
	Name    string `json:"name"` // a file name, e.g. "score.yaml"
	Content string `json:"content"`
}

// Checker decides a request. An error wrapped by BadRequest is the
// caller's to fix (400); any other error means no decision (503).
type Checker interface {
	Check(ctx context.Context, req Request) ([]report.Result, error)
}

// BadRequest marks an error in the request: unknown environment or gate,
// a malformed subject, a local path.
type BadRequest struct{ Err error }

func (e *BadRequest) Error() string { return e.Err.Error() }
func (e *BadRequest) Unwrap() error { return e.Err }

// Options configure the handler.
type Options struct {
	Checker Checker
	// Tokens open the API (role checker); nil refuses every request.
	Tokens *bearer.Tokens
	// Timeout bounds one request's decisions (default 5 min).
	Timeout time.Duration
	// Parallel bounds the requests decided at once (default 4); others
	// wait for a slot until their timeout.
	Parallel int
	// AllowPlainHTTP serves requests that did not arrive over TLS (tests).
	AllowPlainHTTP bool
	Logger         *slog.Logger
}

type handler struct {
	o     Options
	slots chan struct{}
	log   *slog.Logger
}

// Handler serves POST /v1/check.
func Handler(o Options) http.Handler {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return &handler{o: o, slots: make(chan struct{}, o.Parallel), log: log}
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: msg})
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.URL.Path != Path {
		writeError(w, http.StatusNotFound, "not found: the decision API is POST "+Path)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method "+bearer.Clip(r.Method)+": want POST")
		return
	}
	if r.TLS == nil && !h.o.AllowPlainHTTP {
		writeError(w, http.StatusForbidden, "HTTPS only")
		return
	}
	tok, ok := bearer.FromHeader(r)
	id, known := h.o.Tokens.Lookup(tok)
	if !ok || !known || id.Role != RoleChecker {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse decision API"`)
		writeError(w, http.StatusUnauthorized, "a valid token is required: Authorization: Bearer TOKEN (a token with the checker role in serve's --check-tokens file)")
		h.log.Warn("decision API: request refused", "reason", "no valid token", "remote", r.RemoteAddr)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	req, err := decodeRequest(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		status := http.StatusBadRequest
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(gates.WithRecordContext(r.Context(), gates.RecordContext{Door: "api", User: id.Name}), h.o.Timeout)
	defer cancel()
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-ctx.Done():
		writeError(w, http.StatusServiceUnavailable, "busy: no decision slot became free before the request's deadline; retry later")
		return
	}
	results, err := h.o.Checker.Check(ctx, req)
	if err != nil {
		status := http.StatusServiceUnavailable
		if _, bad := errors.AsType[*BadRequest](err); bad {
			status = http.StatusBadRequest
		}
		writeError(w, status, err.Error())
		h.log.Info("decision API: no decision", "caller", id.Name, "environment", req.Environment, "status", status, "err", err.Error())
		return
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, results); err != nil {
		writeError(w, http.StatusInternalServerError, "writing the answer: "+err.Error())
		return
	}
	verdict := report.Verdict(results)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Gatehouse-Verdict", verdict)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	h.log.Info("decision API: decided", "caller", id.Name, "environment", req.Environment,
		"subjects", len(results), "verdict", verdict, "duration_ms", time.Since(start).Milliseconds())
}

// decodeRequest reads one JSON object with known fields only, within the
// limits: a typo in a field name is an error, never a default.
func decodeRequest(body io.Reader) (Request, error) {
	var req Request
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, errors.New("body: want one JSON object, found more after it")
	}
	return req, Validate(req)
}

// Validate checks a request's shape (what a Checker then decides).
func Validate(req Request) error {
	switch {
	case len(req.Subjects)+len(req.Documents) == 0:
		return errors.New(`body: no subjects: want {"environment": "prod", "subjects": ["image:REF@sha256:..."]}`)
	case len(req.Subjects) > MaxSubjects:
		return fmt.Errorf("body: %d subjects, at most %d a request", len(req.Subjects), MaxSubjects)
	case len(req.Documents) > MaxDocuments:
		return fmt.Errorf("body: %d documents, at most %d a request", len(req.Documents), MaxDocuments)
	}
	for i, d := range req.Documents {
		if d.Kind != "score" && d.Kind != "pipeline" {
			return fmt.Errorf("documents[%d].kind %q: want score or pipeline", i, bearer.Clip(d.Kind))
		}
		if d.Name == "" || d.Content == "" {
			return fmt.Errorf("documents[%d]: want a name and content", i)
		}
	}
	return nil
}
