package sonarqube

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates"
)

const statusBody = `{"projectStatus":{"status":"ERROR","conditions":[{"status":"ERROR","metricKey":"new_coverage","comparator":"LT","errorThreshold":"85","actualValue":"82.5"}]}}`

const issuesBody = `{"paging":{"pageIndex":1,"pageSize":1,"total":4},"issues":[],"facets":[
 {"property":"severities","values":[{"val":"CRITICAL","count":1},{"val":"MAJOR","count":3}]},
 {"property":"impactSeverities","values":[{"val":"HIGH","count":2},{"val":"MEDIUM","count":2}]}]}`

const issuesBodyNoImpacts = `{"paging":{"pageIndex":1,"pageSize":1,"total":4},"issues":[],"facets":[
 {"property":"severities","values":[{"val":"CRITICAL","count":1},{"val":"MAJOR","count":3}]}]}`

// fakeServer serves the documented shapes; taskStatuses are returned in
// turn by api/ce/task (the last one repeats).
type fakeServer struct {
	taskStatuses []string
	polls        atomic.Int32
	basicOnly    bool   // 401 on Bearer, like servers before 10.0
	token        string // "" = no auth required
	statusCode   int    // for every endpoint when non-zero
	body         string // for every endpoint when non-empty
	delay        time.Duration
	gotOrg       atomic.Value
	// noImpacts answers 400 to the impactSeverities facet, like servers
	// before 10.2.
	noImpacts bool
	mu        sync.Mutex
	issueQs   []string // the new-code parameter and facets of each issues/search
	bearers   atomic.Int32
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		f.bearers.Add(1)
	}
	if f.token != "" {
		u, _, basic := r.BasicAuth()
		bearer := r.Header.Get("Authorization") == "Bearer "+f.token
		if !(basic && u == f.token) && !(bearer && !f.basicOnly) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	if f.statusCode != 0 {
		w.WriteHeader(f.statusCode)
		w.Write([]byte(`{"errors":[{"msg":"Component key 'x' not found"}]}`))
		return
	}
	if f.body != "" {
		w.Write([]byte(f.body))
		return
	}
	switch r.URL.Path {
	case "/api/ce/task":
		n := int(f.polls.Add(1)) - 1
		s := f.taskStatuses[min(n, len(f.taskStatuses)-1)]
		json.NewEncoder(w).Encode(map[string]any{"task": map[string]any{
			"id": r.URL.Query().Get("id"), "status": s, "analysisId": "AN-1", "componentKey": "acme_api", "errorMessage": "boom in " + s,
		}})
	case "/api/qualitygates/project_status":
		if r.URL.Query().Get("analysisId") != "AN-1" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write([]byte(statusBody))
	case "/api/issues/search":
		q := r.URL.Query()
		f.gotOrg.Store(q.Get("organization"))
		newCode := "inNewCodePeriod"
		if q.Get("sinceLeakPeriod") == "true" {
			newCode = "sinceLeakPeriod"
		}
		f.mu.Lock()
		f.issueQs = append(f.issueQs, newCode+" "+q.Get("facets"))
		f.mu.Unlock()
		if q.Get(newCode) != "true" || q.Get("componentKeys") == "" || q.Get("resolved") != "false" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if f.noImpacts && strings.Contains(q.Get("facets"), "impactSeverities") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"msg":"Value of parameter 'facets' (impactSeverities) must be one of: [severities, ...]"}]}`))
			return
		}
		if f.noImpacts {
			w.Write([]byte(issuesBodyNoImpacts))
			return
		}
		w.Write([]byte(issuesBody))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// writeReportTask writes .scannerwork/report-task.txt pointing at url.
func writeReportTask(t testing.TB, url, org string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".scannerwork"), 0o755)
	body := "projectKey=acme_api\nserverUrl=" + url + "\nserverVersion=10.6\ndashboardUrl=" + url + "/dashboard?id=acme_api\nceTaskId=AX1\nceTaskUrl=" + url + "/api/ce/task?id=AX1\n"
	if org != "" {
		body = "organization=" + org + "\n" + body
	}
	if err := os.WriteFile(filepath.Join(dir, ".scannerwork/report-task.txt"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCollect(t *testing.T) {
	tests := []struct {
		name    string
		srv     *fakeServer
		token   string
		org     string
		timeout time.Duration
		wantErr string
		check   func(t *testing.T, ev *Evidence, f *fakeServer)
	}{
		{name: "pending, in progress, then success", srv: &fakeServer{taskStatuses: []string{"PENDING", "IN_PROGRESS", "SUCCESS"}},
			check: func(t *testing.T, ev *Evidence, f *fakeServer) {
				if f.polls.Load() != 3 {
					t.Errorf("polled %d times, want 3", f.polls.Load())
				}
				if ev.ProjectStatus.Status != "ERROR" || ev.ProjectStatus.Conditions[0].ActualValue != "82.5" || ev.Task.AnalysisID != "AN-1" {
					t.Errorf("evidence %+v", ev)
				}
				want := &IssueCounts{Total: 4, BySeverity: map[string]int{"CRITICAL": 1, "MAJOR": 3}, ByImpact: map[string]int{"HIGH": 2, "MEDIUM": 2}}
				if diff := cmp.Diff(want, ev.Issues); diff != "" {
					t.Errorf("issues (-want +got):\n%s", diff)
				}
			}},
		{name: "failed task", srv: &fakeServer{taskStatuses: []string{"PENDING", "FAILED"}}, wantErr: "task AX1 is FAILED: boom in FAILED"},
		{name: "canceled task", srv: &fakeServer{taskStatuses: []string{"CANCELED"}}, wantErr: "task AX1 is CANCELED"},
		{name: "bearer token", srv: &fakeServer{taskStatuses: []string{"SUCCESS"}, token: "s3cret"}, token: "s3cret"},
		{name: "basic auth fallback", srv: &fakeServer{taskStatuses: []string{"SUCCESS"}, token: "s3cret", basicOnly: true}, token: "s3cret"},
		{name: "bad token", srv: &fakeServer{taskStatuses: []string{"SUCCESS"}, token: "s3cret"}, token: "wrong", wantErr: "rejected the token (401)"},
		{name: "no token", srv: &fakeServer{taskStatuses: []string{"SUCCESS"}, token: "s3cret"}, wantErr: "set SONAR_TOKEN"},
		{name: "404", srv: &fakeServer{statusCode: http.StatusNotFound}, wantErr: "not found on the SonarQube server (404): Component key 'x' not found"},
		{name: "garbage JSON", srv: &fakeServer{body: "<html>proxy error</html>"}, wantErr: "invalid JSON"},
		{name: "slow server past the timeout", srv: &fakeServer{taskStatuses: []string{"SUCCESS"}, delay: 5 * time.Second}, timeout: 300 * time.Millisecond, wantErr: "timed out"},
		{name: "never finishes", srv: &fakeServer{taskStatuses: []string{"IN_PROGRESS"}}, timeout: 300 * time.Millisecond, wantErr: "still IN_PROGRESS"},
		{name: "server errors are retried until the timeout", srv: &fakeServer{statusCode: http.StatusBadGateway}, timeout: 300 * time.Millisecond, wantErr: "HTTP 502"},
		{name: "sonarcloud organization", srv: &fakeServer{taskStatuses: []string{"SUCCESS"}}, org: "cyber-dojo",
			check: func(t *testing.T, ev *Evidence, f *fakeServer) {
				if got := f.gotOrg.Load(); got != "cyber-dojo" || ev.Organization != "cyber-dojo" {
					t.Errorf("organization sent %v, evidence %q", got, ev.Organization)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(tt.srv)
			defer ts.Close()
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			c := &Collector{Dir: writeReportTask(t, ts.URL, tt.org), Token: tt.token, PollInterval: 5 * time.Millisecond, Timeout: timeout}
			start := time.Now()
			v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage, Ref: "x"})
			if elapsed := time.Since(start); elapsed > timeout+2*time.Second {
				t.Errorf("took %v, past the %v timeout", elapsed, timeout)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ev := v.(*Evidence)
			if ev.Schema != Schema {
				t.Errorf("schema %q", ev.Schema)
			}
			if tt.check != nil {
				tt.check(t, ev, tt.srv)
			}
		})
	}
}

func TestHostOverride(t *testing.T) {
	ts := httptest.NewServer(&fakeServer{taskStatuses: []string{"SUCCESS"}})
	defer ts.Close()
	// report-task.txt names a host CI cannot reach; SONAR_HOST_URL wins.
	c := &Collector{Dir: writeReportTask(t, "https://sonar.internal.invalid", ""), HostURL: ts.URL, PollInterval: time.Millisecond, Timeout: 5 * time.Second}
	v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage})
	if err != nil {
		t.Fatal(err)
	}
	if v.(*Evidence).ServerURL != ts.URL {
		t.Errorf("server %q", v.(*Evidence).ServerURL)
	}
}

func TestNoReportTask(t *testing.T) {
	_, err := (&Collector{Dir: t.TempDir()}).Collect(context.Background(), gates.Subject{Kind: gates.KindImage})
	if !errors.Is(err, ErrNoReportTask) || !strings.Contains(err.Error(), "--evidence sonarqube=FILE") {
		t.Fatalf("err = %v", err)
	}
}

func TestFindReportTaskPlaces(t *testing.T) {
	for _, place := range ReportTaskPlaces {
		dir := t.TempDir()
		p := filepath.Join(dir, place)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("serverUrl=https://x\nceTaskId=1\n"), 0o644)
		got, err := FindReportTask(dir)
		if err != nil || got != p {
			t.Errorf("%s: got %q, %v", place, got, err)
		}
	}
}

func TestParseReportTask(t *testing.T) {
	sonarcloud := "organization=cyber-dojo\nprojectKey=cyber-dojo_differ\nserverUrl=https://sonarcloud.io\nserverVersion=8.0.0.56246\ndashboardUrl=https://sonarcloud.io/dashboard?id=cyber-dojo_differ\nceTaskId=AZrs5eywBfkZKeU0sde9\nceTaskUrl=https://sonarcloud.io/api/ce/task?id=AZrs5eywBfkZKeU0sde9\n"
	got, err := ParseReportTask([]byte(sonarcloud))
	if err != nil {
		t.Fatal(err)
	}
	want := &ReportTask{Organization: "cyber-dojo", ProjectKey: "cyber-dojo_differ", ServerURL: "https://sonarcloud.io", ServerVersion: "8.0.0.56246",
		DashboardURL: "https://sonarcloud.io/dashboard?id=cyber-dojo_differ", CETaskID: "AZrs5eywBfkZKeU0sde9", CETaskURL: "https://sonarcloud.io/api/ce/task?id=AZrs5eywBfkZKeU0sde9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ name, in, want string }{
		{"no equals", "serverUrl=https://x\njunk line\n", "line 2"},
		{"no server", "ceTaskId=1\n", "no serverUrl"},
		{"no task", "serverUrl=https://x\n", "no ceTaskId"},
		{"not a url", "serverUrl=file:///etc/passwd\nceTaskId=1\n", "not an http(s) URL"},
		{"huge", strings.Repeat("a", maxReportTaskBytes+1), "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReportTask([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseProjectStatus(t *testing.T) {
	for _, f := range []string{"ok.json", "error.json", "warn.json"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/sonarqube", f))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := ParseProjectStatus(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if ev.Schema != Schema || ev.ProjectStatus.Status == "" || len(ev.ProjectStatus.Conditions) == 0 {
			t.Errorf("%s: %+v", f, ev)
		}
	}
	for _, tt := range []struct{ name, in, want string }{
		{"not json", "status: OK", "not a SonarQube project_status response"},
		{"no status", `{"projectStatus":{}}`, "no projectStatus.status"},
		{"other document", `{"task":{"status":"SUCCESS"}}`, "no projectStatus.status"},
		{"bad status", `{"projectStatus":{"status":"GREEN"}}`, `"GREEN" is not one of`},
		{"bad condition", `{"projectStatus":{"status":"OK","conditions":[{"status":"OK"}]}}`, "conditions[0]: needs metricKey"},
		{"trailing data", `{"projectStatus":{"status":"OK"}} {}`, "trailing data"},
		{"other schema", `{"schema":"sonarqube/v9","projectStatus":{"status":"OK"}}`, "schema"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProjectStatus([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
