// Package humanitec is a small client for the approval requests of
// Humanitec Pipelines (the `actions/humanitec/approve` step): list the
// requests a pipeline run is waiting on, read one, approve or deny it.
// docs/humanitec.md names the endpoints and where they are documented.
//
// The client is bounded: every request has a deadline, every response body
// is read with a size limit, and only reads (GET) are retried. A decision
// (POST …/approve, …/deny) is sent at most once; when its outcome is not
// known (a timeout, a conflict) one GET tells what state the request is in.
// TLS certificates are always verified; plain HTTP is refused. The token is
// sent only as the Authorization header to the configured API host and
// never appears in an error.
package humanitec

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// DefaultAPIURL is Humanitec's API (the server named in its OpenAPI document).
const DefaultAPIURL = "https://api.humanitec.io"

// Limits on what the client reads and how long it waits.
const (
	// MaxListBody bounds one page of approval requests (at most 100 of
	// them, each well under 2 KiB).
	MaxListBody = 1 << 20
	// MaxObjectBody bounds one approval request or error body.
	MaxObjectBody = 64 << 10
	// MaxPages bounds how many pages of a list are followed.
	MaxPages = 20
	// DefaultRequestTimeout bounds one HTTP exchange when the caller's
	// context has no earlier deadline.
	DefaultRequestTimeout = 30 * time.Second
	// getAttempts is how often a GET is tried (a 429, a 5xx or a transport
	// error is tried again); POSTs are tried once.
	getAttempts = 3
)

// ErrInsecureURL is returned for an API URL that is not https.
var ErrInsecureURL = errors.New("the Humanitec API URL must be https")

// Options configure a Client.
type Options struct {
	// APIURL is the API's base URL; empty means DefaultAPIURL. It must be
	// https.
	APIURL string
	// Token is the API token, sent as "Authorization: Bearer TOKEN".
	Token string
	// RequestTimeout bounds one HTTP exchange; zero means
	// DefaultRequestTimeout. The caller's context bounds the whole call.
	RequestTimeout time.Duration
	// UserAgent is sent as User-Agent (optional).
	UserAgent string
}

// Client talks to Humanitec's API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	timeout   time.Duration
	userAgent string
	// retryWait is the pause before a GET is tried again.
	retryWait time.Duration
}

// New returns a client for opts that trusts the system's certificate
// authorities (SSL_CERT_FILE and SSL_CERT_DIR are honoured as Go does).
func New(opts Options) (*Client, error) { return newClient(opts, nil) }

// newClient is New with the certificate authorities to trust; nil means the
// system's. Tests pass their httptest server's CA here: no flag or option
// of the package turns verification off.
func newClient(opts Options, roots *x509.CertPool) (*Client, error) {
	raw := opts.APIURL
	if raw == "" {
		raw = DefaultAPIURL
	}
	base, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("API URL %q: %w", textsafe.Escape(raw), err)
	}
	if base.Scheme != "https" {
		return nil, fmt.Errorf("API URL %q: %w", textsafe.Escape(raw), ErrInsecureURL)
	}
	if base.Host == "" || base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("API URL %q: give scheme, host and an optional path only", textsafe.Escape(base.Redacted()))
	}
	if err := checkToken(opts.Token); err != nil {
		return nil, err
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	base.RawPath = ""
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	tr.ResponseHeaderTimeout = timeout
	return &Client{
		base:  base,
		token: opts.Token,
		http: &http.Client{
			Transport: tr,
			// The API does not redirect; following one could carry the
			// request somewhere the token was not meant for.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:   timeout,
		userAgent: opts.UserAgent,
		retryWait: time.Second,
	}, nil
}

// checkToken refuses an empty token or one that could not be a header
// value. The token itself is never part of the message.
func checkToken(tok string) error {
	if tok == "" {
		return errors.New("no Humanitec API token: set HUMANITEC_TOKEN or give --token-file")
	}
	if len(tok) > 8<<10 {
		return errors.New("the Humanitec API token is longer than 8 KiB")
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return errors.New("the Humanitec API token holds a space, control or non-ASCII character")
		}
	}
	return nil
}

// APIError is a response from Humanitec that was not a success.
type APIError struct {
	// Op says what was asked ("list approval requests", "approve …").
	Op string
	// Status is the HTTP status code.
	Status int
	// Code and Message are Humanitec's error body ({"error", "message"}),
	// or Message is the start of a body that was not one.
	Code, Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(": " + textsafe.Escape(e.Code))
	}
	if e.Message != "" {
		b.WriteString(": " + textsafe.Escape(e.Message))
	}
	if hint := statusHint(e.Status); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

func statusHint(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the token was not accepted"
	case http.StatusForbidden:
		return "the token's user lacks the permission: approving needs deploy permission on the request's environment"
	case http.StatusNotFound:
		return "no such organization, application, pipeline, run, job or approval request"
	case http.StatusConflict:
		return "the request is not in the state this call needs"
	case http.StatusTooManyRequests:
		return "rate limited"
	}
	return ""
}

// maxMessage bounds how much of an error body is kept.
const maxMessage = 512

// apiError builds the APIError for a response body. A server that echoes
// the token back (a proxy's error page, a hostile endpoint) does not get it
// into the message: it is replaced by "[token]".
func (c *Client) apiError(op string, status int, body []byte) *APIError {
	if c.token != "" {
		body = bytes.ReplaceAll(body, []byte(c.token), []byte("[token]"))
	}
	e := &APIError{Op: op, Status: status}
	var he struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &he) == nil && (he.Error != "" || he.Message != "") {
		if c.token != "" { // the token may have been written with JSON escapes
			he.Error = strings.ReplaceAll(he.Error, c.token, "[token]")
			he.Message = strings.ReplaceAll(he.Message, c.token, "[token]")
		}
		e.Code, e.Message = clip(he.Error, 64), clip(he.Message, maxMessage)
	} else {
		e.Message = clip(string(bytes.TrimSpace(body)), 200)
	}
	return e
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// url joins escaped path segments to the base URL.
func (c *Client) url(segments ...string) *url.URL {
	u := *c.base
	var raw strings.Builder
	raw.WriteString(c.base.Path)
	for _, s := range segments {
		raw.WriteString("/" + url.PathEscape(s))
	}
	u.RawPath = raw.String()
	u.Path, _ = url.PathUnescape(u.RawPath)
	return &u
}

// sameOrigin reports whether u is on the API's scheme and host, so the
// token may be sent there.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u.Scheme == c.base.Scheme && u.Host == c.base.Host && u.User == nil
}

// response is what do read: the status, the body (bounded) and the header.
type response struct {
	status int
	body   []byte
	header http.Header
}

// do sends one request and reads its response body with limit.
func (c *Client) do(ctx context.Context, method string, u *url.URL, limit int64) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// An error's body only feeds the message: its start is enough,
		// and a large error page is still the status it came with.
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxObjectBody))
		if err != nil {
			return nil, transportError(err)
		}
		return &response{status: resp.StatusCode, body: body, header: resp.Header}, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, transportError(err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("response to %s %s is %w of %d bytes", method, u.EscapedPath(), errTooLarge, limit)
	}
	return &response{status: resp.StatusCode, body: body, header: resp.Header}, nil
}

// transportError strips the URL wrapper's quoting of the URL (it carries
// no secret, but keep the message short) and says what happened.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s %s: timed out: %w", ue.Op, pathOnly(ue.URL), context.DeadlineExceeded)
		}
		return fmt.Errorf("%s %s: %w", ue.Op, pathOnly(ue.URL), ue.Err)
	}
	return err
}

func pathOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(URL)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// get sends a GET, trying again on a transport error, 429 or 5xx while
// attempts and the context's deadline allow.
func (c *Client) get(ctx context.Context, op string, u *url.URL, limit int64) (*response, error) {
	var lastErr error
	for attempt := 1; attempt <= getAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(c.retryWait * time.Duration(attempt-1))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%s: %w (last: %v)", op, ctx.Err(), lastErr)
			case <-t.C:
			}
		}
		resp, err := c.do(ctx, http.MethodGet, u, limit)
		switch {
		case err != nil:
			lastErr = fmt.Errorf("%s: %w", op, err)
			if ctx.Err() != nil || errors.Is(err, errTooLarge) {
				return nil, lastErr
			}
			continue
		case resp.status == http.StatusTooManyRequests || resp.status >= 500:
			lastErr = c.apiError(op, resp.status, resp.body)
			continue
		case resp.status/100 != 2:
			return nil, c.apiError(op, resp.status, resp.body)
		}
		return resp, nil
	}
	return nil, lastErr
}

var errTooLarge = errors.New("larger than the limit")
