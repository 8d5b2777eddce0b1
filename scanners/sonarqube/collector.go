package sonarqube

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector gathers the sonarqube evidence for image subjects: the quality
// gate of the analysis whose report-task.txt the scanner left behind.
type Collector struct {
	// ReportTask is an explicit report-task.txt; otherwise it is looked for
	// in the usual places under Dir (default: the working directory).
	ReportTask string
	Dir        string
	// Token is SONAR_TOKEN; HostURL (SONAR_HOST_URL) replaces the server
	// named in report-task.txt, e.g. when CI reaches it by another name.
	Token   string
	HostURL string
	HTTP    *http.Client
	// PollInterval is the first wait between api/ce/task polls (default
	// 1 s, growing by half up to 10 s). Timeout bounds the whole collection
	// (default 300 s, like sonar.qualitygate.timeout); the caller's ctx
	// deadline bounds it too.
	PollInterval time.Duration
	Timeout      time.Duration
	// SkipIssues leaves out the new-code issue counts (one request fewer).
	SkipIssues bool
}

// Name is the evidence key.
func (c *Collector) Name() string { return "sonarqube" }

// Applies to images: the image built from the analysed source.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindImage }

// ParseEvidence reads `--evidence sonarqube=FILE`: the raw project_status
// response as SonarQube returns it, or evidence this collector wrote.
func (c *Collector) ParseEvidence(data []byte) (any, error) { return ParseProjectStatus(data) }

// MaxEvidenceBytes bounds ParseEvidence's input (16 MiB, as any SonarQube
// response): callers read the file with this limit (readlimit.File).
func (c *Collector) MaxEvidenceBytes() int64 { return maxResponseBytes }

// Collect finds the analysis, waits for it and fetches its quality gate.
func (c *Collector) Collect(ctx context.Context, _ gates.Subject) (any, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := c.ReportTask
	if path == "" {
		dir := c.Dir
		if dir == "" {
			dir = "."
		}
		p, err := FindReportTask(dir)
		if err != nil {
			return nil, err
		}
		path = p
	}
	rt, err := ReadReportTask(path)
	if err != nil {
		return nil, err
	}
	base := rt.ServerURL
	if c.HostURL != "" {
		u, err := url.Parse(c.HostURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("SONAR_HOST_URL %q is not an http(s) URL like https://sonar.example.com", truncate(c.HostURL, 80))
		}
		base = c.HostURL
	}
	cl := &Client{BaseURL: base, Token: c.Token, Organization: rt.Organization, ServerVersion: rt.ServerVersion, HTTP: c.HTTP, PollInterval: c.PollInterval, Timeout: timeout}
	task, err := cl.WaitTask(ctx, rt.CETaskID)
	if err != nil {
		return nil, fmt.Errorf("%s (from %s): %w", base, rt.Path, err)
	}
	ps, err := cl.ProjectStatus(ctx, task.AnalysisID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	ev := &Evidence{
		Schema: Schema, ProjectStatus: *ps, ProjectKey: rt.ProjectKey, Organization: rt.Organization,
		ServerURL: base, DashboardURL: rt.DashboardURL, Task: task,
	}
	if !c.SkipIssues {
		key := rt.ProjectKey
		if key == "" {
			key = task.ComponentKey
		}
		ic, err := cl.NewCodeIssues(ctx, key, task.Branch, task.PullRequest)
		switch {
		case err != nil && !answered(err):
			// Unreachable, 5xx, timed out or interrupted: no evidence at
			// all, so the decision is "not decided", never a failed gate.
			return nil, fmt.Errorf("%s: new-code issues: %w", base, err)
		case err != nil:
			// The server refused the query (4xx): recorded, and the gate
			// denies only when it caps new issues (max_new_issues).
			ic = &IssueCounts{Error: err.Error()}
		}
		ev.Issues = ic
	}
	return ev, nil
}

var (
	_ gates.Collector      = (*Collector)(nil)
	_ gates.EvidenceParser = (*Collector)(nil)
)
