// Package audit is gatehouse's tamper-evident decision log: every decision
// any door takes is appended as an Entry to a hash chain kept in SQLite (the
// embedded default) or PostgreSQL (several webhook replicas), with signed
// checkpoints of its size and head, and verified, queried and exported
// from here.
package audit

import (
	"context"
	"os"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Doors that record decisions.
const (
	DoorCheck     = "check"
	DoorAdmission = "admission"
	DoorAPI       = "api"
)

// Entry is one record of the log, as stored and hashed. Hash is the hex
// sha256 of Canonical(the entry without "hash"); PrevHash is the previous
// entry's Hash, so each entry commits to the whole log before it.
type Entry struct {
	Seq             int64                 `json:"seq"`
	Time            time.Time             `json:"time"`
	Door            string                `json:"door"`
	Subject         gates.Subject         `json:"subject"`
	Environment     string                `json:"environment"`
	Namespace       string                `json:"namespace,omitempty"`
	Allowed         bool                  `json:"allowed"`
	Verdict         string                `json:"verdict"`
	Gates           []string              `json:"gates"`
	Violations      []gates.Finding       `json:"violations"`
	Warnings        []gates.Finding       `json:"warnings"`
	Waived          []gates.AppliedWaiver `json:"waived"`
	Undecided       []string              `json:"undecided,omitempty"`
	PolicyDigest    string                `json:"policy_digest"`
	ConfigDigest    string                `json:"config_digest"`
	EvidenceDigests map[string]string     `json:"evidence_digests"`
	Decider         Decider               `json:"decider"`
	Redactions      int                   `json:"redactions"`
	PrevHash        string                `json:"prev_hash"`
	Hash            string                `json:"hash,omitempty"`
}

// Decider says who and what took a decision.
type Decider struct {
	CIRunURL   string `json:"ci_run_url,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Repository string `json:"repository,omitempty"`
	Workflow   string `json:"workflow,omitempty"`
	Replica    string `json:"replica,omitempty"`
	User       string `json:"user,omitempty"`
	RequestUID string `json:"request_uid,omitempty"`
}

// NewEntry makes the entry for a decision: the door, namespace, user and
// request from the gates.RecordContext on ctx (door "check" when there is
// none), the CI run from the GitHub Actions environment (GITHUB_*), the
// replica from POD_NAME or the host name, and every string that looks like
// a secret redacted (counted in Redactions). Seq, PrevHash and Hash are
// left for Store.Append.
func NewEntry(ctx context.Context, d *gates.Decision) Entry {
	rc, _ := gates.RecordContextFrom(ctx)
	e := Entry{
		Time:    time.Now().UTC(),
		Door:    rc.Door,
		Verdict: d.Verdict(),
		Decider: Decider{
			User:       rc.User,
			RequestUID: rc.RequestUID,
			Commit:     os.Getenv("GITHUB_SHA"),
			Repository: os.Getenv("GITHUB_REPOSITORY"),
			Workflow:   os.Getenv("GITHUB_WORKFLOW"),
			CIRunURL:   githubRunURL(),
			Replica:    replica(),
		},
		Namespace: rc.Namespace,
	}
	if e.Door == "" {
		e.Door = DoorCheck
	}
	if d != nil {
		if !d.Time.IsZero() {
			e.Time = d.Time.UTC()
		}
		e.Subject = d.Subject
		e.Environment = d.Environment
		e.Allowed = d.Allowed
		e.Gates = d.Gates
		e.Violations = d.Violations
		e.Warnings = d.Warnings
		e.Waived = d.Waived
		e.Undecided = d.Undecided
		e.PolicyDigest = d.PolicyDigest
		e.ConfigDigest = d.ConfigDigest
		e.EvidenceDigests = d.EvidenceDigests
	}
	if e.Subject.Name == "" && rc.Name != "" {
		e.Subject.Name = rc.Name
	}
	redactEntry(&e)
	return e
}

func githubRunURL() string {
	server, repo, run := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || run == "" {
		return ""
	}
	u := server + "/" + repo + "/actions/runs/" + run
	if a := os.Getenv("GITHUB_RUN_ATTEMPT"); a != "" {
		u += "/attempts/" + a
	}
	return u
}

func replica() string {
	if p := os.Getenv("POD_NAME"); p != "" {
		return p
	}
	h, _ := os.Hostname()
	return h
}
