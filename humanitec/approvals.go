package humanitec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// Approval is a Humanitec PipelineApprovalRequest.
type Approval struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"org_id"`
	AppID      string     `json:"app_id"`
	PipelineID string     `json:"pipeline_id"`
	RunID      string     `json:"run_id"`
	JobID      string     `json:"job_id"`
	EnvID      string     `json:"env_id"`
	Message    string     `json:"message"`
	CreatedAt  time.Time  `json:"created_at"`
	Status     string     `json:"status"`
	ApprovedBy string     `json:"approved_by,omitempty"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
}

// Approval request states (the enum of PipelineApprovalRequest.status).
const (
	StatusWaiting   = "waiting"
	StatusApproved  = "approved"
	StatusDenied    = "denied"
	StatusCancelled = "cancelled"
)

// Job names the pipeline job whose approval step is decided.
type Job struct {
	Org, App, Pipeline, Run, Job string
}

// orgPattern is orgIdPathParam's pattern in Humanitec's OpenAPI document.
var orgPattern = regexp.MustCompile(`^[a-z0-9](?:-?[a-z0-9]+)+$`)

// Validate checks every part is given and could be a Humanitec id.
func (j Job) Validate() error {
	if !orgPattern.MatchString(j.Org) || len(j.Org) > 50 {
		return fmt.Errorf("--org \"%s\" is not a Humanitec organization id (lower-case letters, digits and single hyphens, at most 50)", textsafe.Escape(j.Org))
	}
	for _, f := range []struct{ flag, v string }{{"--app", j.App}, {"--pipeline", j.Pipeline}, {"--run", j.Run}, {"--job", j.Job}} {
		if err := checkID(f.flag, f.v); err != nil {
			return err
		}
	}
	return nil
}

func checkID(flag, v string) error {
	if v == "" {
		return fmt.Errorf("%s is required", flag)
	}
	if len(v) > 256 {
		return fmt.Errorf("%s is longer than 256 characters", flag)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || r == '/' || r == '\\' || r > 0x7e {
			return fmt.Errorf("%s \"%s\" holds a character no Humanitec id has", flag, textsafe.Escape(v))
		}
	}
	return nil
}

func (j Job) String() string {
	return fmt.Sprintf("org %s app %s pipeline %s run %s job %s", j.Org, j.App, j.Pipeline, j.Run, j.Job)
}

// ErrNoPending and ErrSeveralPending say why a job's approval request could
// not be chosen.
var (
	ErrNoPending      = errors.New("no approval request is waiting")
	ErrSeveralPending = errors.New("more than one approval request is waiting")
)

// ListWaiting returns the approval requests of the job that wait for a
// decision. It lists the application's requests filtered by pipeline, run
// and status (GET /orgs/{org}/apps/{app}/approvals), follows "next" links
// on the API's own host for at most MaxPages pages, and keeps only those
// whose pipeline, run, job and status match: the server's filter is not
// relied on.
func (c *Client) ListWaiting(ctx context.Context, j Job) ([]Approval, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	u := c.url("orgs", j.Org, "apps", j.App, "approvals")
	q := url.Values{}
	q.Set("pipeline", j.Pipeline)
	q.Set("run", j.Run)
	q.Set("status", StatusWaiting)
	q.Set("per_page", "100")
	u.RawQuery = q.Encode()
	op := "list approval requests of " + j.String()
	var out []Approval
	for page := 1; ; page++ {
		resp, err := c.get(ctx, op, u, MaxListBody)
		if err != nil {
			return nil, err
		}
		if resp.status != http.StatusOK {
			return nil, c.apiError(op, resp.status, resp.body)
		}
		mine, err := decodeWaiting(resp.body, j)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, mine...)
		next := nextLink(resp.header)
		if next == "" {
			return out, nil
		}
		if page >= MaxPages {
			return nil, fmt.Errorf("%s: more than %d pages", op, MaxPages)
		}
		nu, err := u.Parse(next)
		if err != nil || !c.sameOrigin(nu) {
			return nil, fmt.Errorf("%s: the next page's link is not on the API's host; not followed", op)
		}
		u = nu
	}
}

// decodeWaiting decodes one page of approval requests and keeps those of
// job j that are waiting.
func decodeWaiting(body []byte, j Job) ([]Approval, error) {
	var list []Approval
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("the response is not a list of approval requests: %v", err)
	}
	var out []Approval
	for _, a := range list {
		if a.OrgID == j.Org && a.AppID == j.App && a.PipelineID == j.Pipeline && a.RunID == j.Run && a.JobID == j.Job && a.Status == StatusWaiting {
			out = append(out, a)
		}
	}
	return out, nil
}

// nextLink is the URL of rel="next" in the Link headers, or "".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			segs := strings.Split(part, ";")
			target := strings.TrimSpace(segs[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range segs[1:] {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(k, "rel") {
					for _, rel := range strings.Fields(strings.Trim(val, `"`)) {
						if rel == "next" {
							return target[1 : len(target)-1]
						}
					}
				}
			}
		}
	}
	return ""
}

// FindWaiting returns the job's single waiting approval request. None is
// ErrNoPending; several are ErrSeveralPending (the ids are in the message):
// a decision is never sent to a request chosen by guess.
func (c *Client) FindWaiting(ctx context.Context, j Job) (Approval, error) {
	list, err := c.ListWaiting(ctx, j)
	if err != nil {
		return Approval{}, err
	}
	switch len(list) {
	case 0:
		return Approval{}, fmt.Errorf("%s: %w; is the approve step running? (give --wait to wait for it)", j, ErrNoPending)
	case 1:
		return list[0], nil
	}
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = strconv.Quote(textsafe.Escape(a.ID))
	}
	return Approval{}, fmt.Errorf("%s: %w (%s); give --approval ID", j, ErrSeveralPending, strings.Join(ids, ", "))
}

// WaitWaiting polls FindWaiting every interval until the job has one
// waiting approval request, it has several, a call fails for another
// reason, or ctx ends.
func (c *Client) WaitWaiting(ctx context.Context, j Job, interval time.Duration) (Approval, error) {
	start := time.Now()
	notYet := func() error {
		return fmt.Errorf("%s: %w after waiting %s: %w", j, ErrNoPending, time.Since(start).Round(time.Second), ctx.Err())
	}
	for asked := 0; ; asked++ {
		a, err := c.FindWaiting(ctx, j)
		if !errors.Is(err, ErrNoPending) {
			if err != nil && asked > 0 && ctx.Err() != nil {
				// The deadline ended a poll: say what the wait found.
				return Approval{}, notYet()
			}
			return a, err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return Approval{}, notYet()
		case <-t.C:
		}
	}
}

// Get reads one approval request.
func (c *Client) Get(ctx context.Context, j Job, id string) (Approval, error) {
	if err := j.Validate(); err != nil {
		return Approval{}, err
	}
	if err := checkID("--approval", id); err != nil {
		return Approval{}, err
	}
	op := "get approval request " + id + " of " + j.String()
	resp, err := c.get(ctx, op, c.approvalURL(j, id), MaxObjectBody)
	if err != nil {
		return Approval{}, err
	}
	return decodeApproval(op, resp.body)
}

func (c *Client) approvalURL(j Job, id string, action ...string) *url.URL {
	return c.url(append([]string{"orgs", j.Org, "apps", j.App, "pipelines", j.Pipeline, "runs", j.Run, "jobs", j.Job, "approvals", id}, action...)...)
}

func decodeApproval(op string, body []byte) (Approval, error) {
	var a Approval
	if err := json.Unmarshal(body, &a); err != nil {
		return Approval{}, fmt.Errorf("%s: the response is not an approval request: %v", op, err)
	}
	return a, nil
}

// Verdict is what is sent for an approval request.
type Verdict string

const (
	Approve Verdict = "approve"
	Deny    Verdict = "deny"
)

// status is the approval request's state once the verdict is recorded.
func (v Verdict) status() string {
	if v == Approve {
		return StatusApproved
	}
	return StatusDenied
}

// Outcome is what Decide did.
type Outcome struct {
	Approval Approval
	// Already is true when the request was in the wanted state before
	// this call (a rerun, or an earlier attempt whose answer was lost).
	Already bool
}

// Decide approves or denies an approval request
// (POST …/approvals/{id}/approve or …/deny, no body). The POST is sent
// once. When it fails with a status that may mean "already decided" (400,
// 409) or without an answer (timeout, connection lost), one GET reads the
// request: if it is already in the wanted state the outcome says so and
// there is no error; otherwise the error names the state it is in.
func (c *Client) Decide(ctx context.Context, j Job, id string, v Verdict) (Outcome, error) {
	if v != Approve && v != Deny {
		return Outcome{}, fmt.Errorf("unknown verdict %q", v)
	}
	if err := j.Validate(); err != nil {
		return Outcome{}, err
	}
	if err := checkID("--approval", id); err != nil {
		return Outcome{}, err
	}
	op := string(v) + " approval request " + id + " of " + j.String()
	resp, err := c.do(ctx, http.MethodPost, c.approvalURL(j, id, string(v)), MaxObjectBody)
	if err == nil && resp.status/100 == 2 {
		a, derr := decodeApproval(op, resp.body)
		if derr != nil {
			// Recorded, but the answer is unreadable: read it back.
			return c.confirm(ctx, j, id, v, derr)
		}
		if a.Status != "" && a.Status != v.status() {
			return Outcome{Approval: a}, fmt.Errorf("%s: Humanitec answered %d but the request is %q", op, resp.status, textsafe.Escape(a.Status))
		}
		return Outcome{Approval: a}, nil
	}
	var cause error
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return c.confirm(ctx, j, id, v, fmt.Errorf("%s: %w", op, err))
		}
		if ctx.Err() != nil {
			return Outcome{}, fmt.Errorf("%s: %w; whether Humanitec recorded it is not known", op, err)
		}
		cause = fmt.Errorf("%s: %w", op, err)
	} else {
		ae := c.apiError(op, resp.status, resp.body)
		if resp.status != http.StatusBadRequest && resp.status != http.StatusConflict && resp.status < 500 {
			return Outcome{}, ae
		}
		cause = ae
	}
	return c.confirm(ctx, j, id, v, cause)
}

// confirm reads the request after a decision whose outcome is not known.
func (c *Client) confirm(ctx context.Context, j Job, id string, v Verdict, cause error) (Outcome, error) {
	a, err := c.Get(ctx, j, id)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w; reading the request back failed too: %v", cause, err)
	}
	if a.Status == v.status() {
		return Outcome{Approval: a, Already: true}, nil
	}
	return Outcome{Approval: a}, fmt.Errorf("%w; the request is %q", cause, textsafe.Escape(a.Status))
}
