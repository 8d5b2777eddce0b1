package sonarqube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// maxRootCertBytes bounds SONAR_ROOT_CERT: a PEM bundle, not a dump.
const maxRootCertBytes = 1 << 20

// Sentinel errors callers can branch on.
var (
	ErrUnauthorized = errors.New("SonarQube rejected the token")
	ErrNotFound     = errors.New("not found on the SonarQube server")
	ErrTaskFailed   = errors.New("SonarQube background task did not succeed")
	ErrTimeout      = errors.New("timed out waiting for SonarQube")
	// ErrUnreachable: no HTTP answer (connection refused or reset, DNS,
	// TLS) or the run was interrupted. Never evidence: the engine records
	// the error and the decision is "not decided".
	ErrUnreachable = errors.New("SonarQube unreachable")
)

// DefaultTimeout bounds waiting for SonarQube, like sonar.qualitygate.timeout.
const DefaultTimeout = 300 * time.Second

// Client talks to one SonarQube or SonarCloud server's Web API.
type Client struct {
	// BaseURL is the server, e.g. https://sonarcloud.io.
	BaseURL string
	// Token is sent as a Bearer token; on 401 the client falls back to the
	// basic-auth form (token as user, empty password) that every version takes.
	Token string
	// Organization is SonarCloud's organization (search endpoints need it).
	Organization string
	// ServerVersion is report-task.txt's serverVersion; a self-hosted
	// server older than 9.4 is asked for new-code issues the old way.
	ServerVersion string
	HTTP          *http.Client
	// PollInterval is the first wait between api/ce/task polls; it grows
	// by half each time up to MaxPollInterval.
	PollInterval, MaxPollInterval time.Duration
	// Timeout bounds waiting for the background task (default 300 s, like
	// sonar.qualitygate.timeout).
	Timeout time.Duration

	basic atomic.Bool // the server wanted basic auth
}

// NewHTTPClient returns an HTTP client that trusts the system roots and,
// when rootCertPEM is set (SONAR_ROOT_CERT), that certificate too.
func NewHTTPClient(rootCertFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if rootCertFile != "" {
		pem, err := readlimit.File(rootCertFile, maxRootCertBytes)
		if err != nil {
			return nil, fmt.Errorf("SONAR_ROOT_CERT: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SONAR_ROOT_CERT %s: no PEM certificate in it", rootCertFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// get fetches path?query into v, with the token, bounded in size.
func (c *Client) get(ctx context.Context, path string, query url.Values, v any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	resp, err := c.do(ctx, u, c.basic.Load())
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.Token != "" && !c.basic.Load() {
		// Servers before 10.0 take the token only as a basic-auth user.
		resp.Body.Close()
		if resp, err = c.do(ctx, u, true); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			c.basic.Store(true)
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		hint := "set SONAR_TOKEN to a valid token"
		if c.Token != "" {
			hint = "the token was tried as Bearer and as basic auth; check it is valid and not expired"
		}
		return fmt.Errorf("GET %s: %w (401): %s", path, ErrUnauthorized, hint)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("GET %s: %w (403): the token lacks Browse permission on the project", path, ErrUnauthorized)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("GET %s: %w (404)%s", path, ErrNotFound, apiErrors(body))
	case resp.StatusCode >= 300:
		return &statusError{path: path, code: resp.StatusCode, msg: apiErrors(body)}
	}
	if len(body) > maxResponseBytes {
		return fmt.Errorf("GET %s: response larger than %d MiB", path, maxResponseBytes>>20)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: SonarQube returned invalid JSON: %w", path, err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, u string, basic bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		if basic {
			req.SetBasicAuth(c.Token, "")
		} else {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("%w: no answer from %s", ErrTimeout, req.URL.Redacted())
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%w: interrupted before %s answered: %w", ErrUnreachable, req.URL.Redacted(), ctx.Err())
		}
		// The URL carries no secret; the token is in a header only.
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return resp, nil
}

// answered reports whether err is the server's definite answer to a
// request it understood (HTTP 4xx), as opposed to no answer at all: the
// server unreachable, refusing, failing (5xx), too slow, garbled, or the
// run interrupted.
func answered(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 400 && se.code < 500
	}
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotFound)
}

// statusError is an HTTP error other than 401/403/404; 5xx are retried
// while polling.
type statusError struct {
	path string
	code int
	msg  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: SonarQube answered HTTP %d%s", e.path, e.code, e.msg)
}

// apiErrors renders SonarQube's {"errors":[{"msg":...}]} body, if any.
func apiErrors(body []byte) string {
	var e struct {
		Errors []struct {
			Msg string `json:"msg"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	msgs := make([]string, 0, len(e.Errors))
	for _, m := range e.Errors {
		msgs = append(msgs, truncate(m.Msg, 200))
	}
	return ": " + strings.Join(msgs, "; ")
}

// Task fetches api/ce/task once.
func (c *Client) Task(ctx context.Context, id string) (*Task, error) {
	var r struct {
		Task *Task `json:"task"`
	}
	if err := c.get(ctx, "/api/ce/task", url.Values{"id": {id}}, &r); err != nil {
		return nil, err
	}
	if r.Task == nil || r.Task.Status == "" {
		return nil, fmt.Errorf("GET /api/ce/task: no task.status in the response")
	}
	return r.Task, nil
}

// WaitTask polls api/ce/task until the task is done, with backoff, within
// Timeout (and ctx). FAILED and CANCELED are errors naming the task.
func (c *Client) WaitTask(ctx context.Context, id string) (*Task, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := c.PollInterval
	if wait <= 0 {
		wait = time.Second
	}
	maxWait := c.MaxPollInterval
	if maxWait <= 0 {
		maxWait = 10 * time.Second
	}
	last := "no answer"
	for {
		t, err := c.Task(ctx, id)
		var se *statusError
		switch {
		case err == nil:
			switch t.Status {
			case "SUCCESS":
				if t.AnalysisID == "" {
					return nil, fmt.Errorf("task %s succeeded without an analysisId", id)
				}
				return t, nil
			case "FAILED", "CANCELED":
				msg := ""
				if t.ErrorMessage != "" {
					msg = ": " + truncate(t.ErrorMessage, 300)
				}
				return nil, fmt.Errorf("%w: task %s is %s%s", ErrTaskFailed, id, t.Status, msg)
			case "PENDING", "IN_PROGRESS":
				last = t.Status
			default:
				return nil, fmt.Errorf("task %s has unknown status %q", id, t.Status)
			}
		case errors.As(err, &se) && se.code >= 500:
			last = err.Error() // transient: keep polling
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, err // interrupted, not timed out
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%w: task %s still %s after %v", ErrTimeout, id, last, timeout)
		default:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: task %s still %s after %v", ErrTimeout, id, last, timeout)
		case <-time.After(wait):
		}
		wait = min(wait+wait/2, maxWait)
	}
}

// ProjectStatus fetches the quality gate of one analysis.
func (c *Client) ProjectStatus(ctx context.Context, analysisID string) (*ProjectStatus, error) {
	var r struct {
		ProjectStatus *ProjectStatus `json:"projectStatus"`
	}
	if err := c.get(ctx, "/api/qualitygates/project_status", url.Values{"analysisId": {analysisID}}, &r); err != nil {
		return nil, err
	}
	if r.ProjectStatus == nil {
		return nil, fmt.Errorf("GET /api/qualitygates/project_status: no projectStatus in the response")
	}
	if err := r.ProjectStatus.validate(); err != nil {
		return nil, err
	}
	return r.ProjectStatus, nil
}

// issueQueries are the api/issues/search forms tried in turn: the current
// one, then without the MQR impact facet (servers before 10.2 answer 400
// to an unknown facet), then the pre-9.4 new-code parameter.
var issueQueries = []struct{ newCode, facets string }{
	{"inNewCodePeriod", "severities,impactSeverities"},
	{"inNewCodePeriod", "severities"},
	{"sinceLeakPeriod", "severities"},
}

// NewCodeIssues counts the open issues in new code of a project (and
// branch or pull request), by severity and by impact, from facets; it
// asks for one issue only, since paging.total is the count.
func (c *Client) NewCodeIssues(ctx context.Context, projectKey, branch, pullRequest string) (*IssueCounts, error) {
	forms := issueQueries
	if c.Organization == "" && versionBefore(c.ServerVersion, 9, 4) {
		forms = issueQueries[2:] // inNewCodePeriod came in 9.4; older servers ignore it
	}
	var err error
	for _, form := range forms {
		var ic *IssueCounts
		ic, err = c.newCodeIssues(ctx, projectKey, branch, pullRequest, form.newCode, form.facets)
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusBadRequest {
			continue
		}
		return ic, err
	}
	return nil, err
}

func (c *Client) newCodeIssues(ctx context.Context, projectKey, branch, pullRequest, newCode, facets string) (*IssueCounts, error) {
	q := url.Values{
		"componentKeys": {projectKey},
		newCode:         {"true"},
		"resolved":      {"false"},
		"facets":        {facets},
		"ps":            {"1"},
	}
	if c.Organization != "" {
		q.Set("organization", c.Organization)
	}
	if branch != "" {
		q.Set("branch", branch)
	}
	if pullRequest != "" {
		q.Set("pullRequest", pullRequest)
	}
	var r struct {
		Total  *int `json:"total"`
		Paging *struct {
			Total int `json:"total"`
		} `json:"paging"`
		Facets []struct {
			Property string `json:"property"`
			Values   []struct {
				Val   string `json:"val"`
				Count int    `json:"count"`
			} `json:"values"`
		} `json:"facets"`
	}
	if err := c.get(ctx, "/api/issues/search", q, &r); err != nil {
		return nil, err
	}
	ic := &IssueCounts{BySeverity: map[string]int{}, ByImpact: map[string]int{}}
	switch {
	case r.Paging != nil:
		ic.Total = r.Paging.Total
	case r.Total != nil:
		ic.Total = *r.Total
	default:
		return nil, fmt.Errorf("GET /api/issues/search: no paging.total in the response")
	}
	if ic.Total < 0 {
		return nil, fmt.Errorf("GET /api/issues/search: negative paging.total %d", ic.Total)
	}
	for _, f := range r.Facets {
		var m map[string]int
		switch f.Property {
		case "severities":
			m = ic.BySeverity
		case "impactSeverities":
			m = ic.ByImpact
		default:
			continue
		}
		for _, v := range f.Values {
			if v.Count < 0 {
				return nil, fmt.Errorf("GET /api/issues/search: facet %s: negative count for %q", f.Property, truncate(v.Val, 40))
			}
			m[v.Val] = v.Count
		}
	}
	return ic, nil
}

// versionBefore reports whether a dotted version ("9.3.0.51899") is older
// than major.minor; an unparsable or empty version is not.
func versionBefore(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma < major || (ma == major && mi < minor)
}
