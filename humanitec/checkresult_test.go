package humanitec

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const allowedDoc = `{"schema":"gatehouse.check/v1","verdict":"allowed","allowed":true,"partial":false,"results":[
 {"subject":{"kind":"score","ref":"score.yaml"},"verdict":"allowed","allowed":true,"environment":"prod","partial":false},
 {"subject":{"kind":"image","ref":"ghcr.io/acme/api@sha256:5f70"},"verdict":"allowed","allowed":true,"environment":"prod","partial":false}]}`

func TestParseCheckResult(t *testing.T) {
	tests := []struct {
		name        string
		doc         string
		env         string
		wantApprove bool
		wantDecided bool
		wantReason  string
	}{
		{"every subject allowed", allowedDoc, "", true, true, "allowed all 2 subject(s)"},
		{"every subject allowed in the required environment", allowedDoc, "prod", true, true, "allowed all 2"},
		{"checked for another environment", allowedDoc, "staging", false, false, `checked for environment "prod", not "staging"`},
		{"one denied", `{"schema":"gatehouse.check/v1","verdict":"denied","allowed":false,"partial":false,"results":[
			{"subject":{"kind":"score","ref":"score.yaml"},"verdict":"allowed","allowed":true},
			{"subject":{"kind":"image","ref":"x"},"verdict":"denied","allowed":false}]}`, "", false, true, `1 denied of 2 subject(s); first: image:x denied`},
		{"one not decided", `{"schema":"gatehouse.check/v1","verdict":"not decided","allowed":false,"partial":false,"results":[
			{"subject":{"kind":"image","ref":"x"},"verdict":"not decided","allowed":false}]}`, "", false, false, "1 not decided"},
		{"denied beats not decided but both are counted", `{"schema":"gatehouse.check/v1","verdict":"denied","allowed":false,"partial":false,"results":[
			{"subject":{"kind":"image","ref":"x"},"verdict":"not decided","allowed":false},
			{"subject":{"kind":"image","ref":"y"},"verdict":"denied","allowed":false}]}`, "", false, true, "1 denied, 1 not decided"},
		{"allowed by a partial run", `{"schema":"gatehouse.check/v1","verdict":"allowed","allowed":true,"partial":true,"results":[
			{"subject":{"kind":"score","ref":"s"},"verdict":"allowed","allowed":true,"partial":true}]}`, "", false, false, "allowed by a partial run only"},
		{"top-level partial with allowed results contradicts itself", `{"schema":"gatehouse.check/v1","verdict":"allowed","allowed":true,"partial":true,"results":[
			{"subject":{"kind":"score","ref":"s"},"verdict":"allowed","allowed":true}]}`, "", false, false, "contradicts itself"},
		{"allowed flag without the verdict", `{"schema":"gatehouse.check/v1","verdict":"allowed","allowed":true,"partial":false,"results":[
			{"subject":{"kind":"score","ref":"s"},"verdict":"ALLOWED","allowed":true}]}`, "", false, false, "1 not decided"},
		{"no subject", `{"schema":"gatehouse.check/v1","verdict":"not decided","allowed":false,"partial":false,"results":[]}`, "", false, false, "no subject"},
		{"wrong schema", strings.Replace(allowedDoc, "check/v1", "check/v2", 1), "", false, false, `schema is "gatehouse.check/v2"`},
		{"no schema", `{"verdict":"allowed","allowed":true,"partial":false,"results":[{"verdict":"allowed","allowed":true}]}`, "", false, false, "no schema"},
		{"missing fields", `{"schema":"gatehouse.check/v1","results":[{"verdict":"allowed","allowed":true}]}`, "", false, false, "lacks verdict"},
		{"empty", "  \n", "", false, false, "empty"},
		{"not JSON", "✓ image:x: allowed in prod", "", false, false, "not JSON"},
		{"two documents", allowedDoc + allowedDoc, "", false, false, "more than one JSON document"},
		{"a SARIF document", `{"version":"2.1.0","runs":[]}`, "", false, false, "no schema"},
		{"deeply nested", `{"schema":"gatehouse.check/v1","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "", false, false, "nests deeper"},
		{"hostile subject name is escaped", `{"schema":"gatehouse.check/v1","verdict":"denied","allowed":false,"partial":false,"results":[
			{"subject":{"kind":"image","ref":"x\n::error::owned\u001b[2J"},"verdict":"denied","allowed":false}]}`, "", false, true, `image:x\n:\x3aerror:\x3aowned\x1b[2J denied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCheckResult([]byte(tt.doc), tt.env)
			if got.Approve != tt.wantApprove || got.Decided != tt.wantDecided {
				t.Errorf("Approve %v Decided %v, want %v %v (%s)", got.Approve, got.Decided, tt.wantApprove, tt.wantDecided, got.Reason)
			}
			if !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("reason %q lacks %q", got.Reason, tt.wantReason)
			}
			if strings.ContainsAny(got.Reason, "\n\r\x1b") {
				t.Errorf("reason is not one safe line: %q", got.Reason)
			}
		})
	}
}

func TestReadCheckResultFiles(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.json")
	os.WriteFile(ok, []byte(allowedDoc), 0o644)
	if v := ReadCheckResult(ok, "prod"); !v.Approve {
		t.Fatalf("allowed file not approved: %s", v.Reason)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.json"), "no such file"},
		{"folder", dir, "a folder"},
		{"FIFO (never blocks)", fifo, "FIFO"},
		{"device", "/dev/zero", "character device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := ReadCheckResult(tt.path, "")
			if v.Approve || v.Decided || !strings.Contains(v.Reason, tt.want) {
				t.Errorf("got %+v, want a not-decided denial naming %q", v, tt.want)
			}
		})
	}
}

func FuzzParseCheckResult(f *testing.F) {
	f.Add([]byte(allowedDoc), "")
	f.Add([]byte(allowedDoc), "prod")
	f.Add([]byte(`{"schema":"gatehouse.check/v1","verdict":"denied","allowed":false,"partial":false,"results":[{"verdict":"denied"}]}`), "")
	f.Add([]byte(`[`), "")
	f.Add([]byte(`{"schema":"gatehouse.check/v1","results":null}`), "")
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		v := ParseCheckResult(data, env)
		if v.Approve {
			// An approval needs every subject allowed and not partial:
			// the document must at least say "allowed" at the top.
			if !strings.Contains(string(data), `"allowed"`) || !v.Decided {
				t.Fatalf("approved %q: %+v", data, v)
			}
		}
		if v.Reason == "" {
			t.Fatal("no reason")
		}
		if strings.ContainsAny(v.Reason, "\n\r\x1b") {
			t.Fatalf("unsafe reason %q", v.Reason)
		}
	})
}

// Hostile list and error bodies never panic, never yield another job's
// request, and never put a line break or the token into an error.
func FuzzResponseBodies(f *testing.F) {
	f.Add([]byte(`[{"id":"a1","org_id":"acme","app_id":"shop","pipeline_id":"deploy-gate","run_id":"01234567-89ab-cdef-0123-456789abcdef","job_id":"approve","status":"waiting"}]`))
	f.Add([]byte(`[{"id":"a1","job_id":"other","status":"waiting"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"error":"API-1","message":"bad\n` + testToken + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &Client{token: testToken}
		msg := c.apiError("op", 400, body).Error()
		if strings.ContainsAny(msg, "\n\r\x1b") || strings.Contains(msg, testToken) {
			t.Fatalf("unsafe error %q", msg)
		}
		list, err := decodeWaiting(body, testJob)
		if err != nil {
			return
		}
		for _, a := range list {
			if a.JobID != testJob.Job || a.RunID != testJob.Run || a.PipelineID != testJob.Pipeline || a.Status != StatusWaiting {
				t.Fatalf("kept %+v", a)
			}
		}
	})
}
