package sonarqube

import (
	"encoding/json"
	"os"
	"testing"
)

func FuzzParseProjectStatus(f *testing.F) {
	for _, p := range []string{"../../testdata/sonarqube/ok.json", "../../testdata/sonarqube/error.json", "../../testdata/sonarqube/warn.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"projectStatus":{"status":"NONE"}}`))
	f.Add([]byte(`{"projectStatus":{"status":"OK","conditions":[{}]}}`))
	f.Add([]byte(`{"error":"SonarQube unreachable","projectStatus":{"status":"ERROR"}}`))
	f.Add([]byte(`{"schema":"sonarqube/v1","projectStatus":{"status":"OK"},"issues":{"total":0,"by_severity":{},"by_impact":{},"error":"GET /api/issues/search: HTTP 400"}}`))
	c := &Collector{}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.ParseEvidence(data) // what --evidence sonarqube=FILE runs
		if err != nil {
			return
		}
		ev := v.(*Evidence)
		if err != nil {
			return
		}
		if ev == nil || !statuses[ev.ProjectStatus.Status] || ev.Schema != Schema {
			t.Fatalf("accepted %q as %+v", data, ev)
		}
		// What the engine gets must read back as the same evidence.
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", data, err)
		}
		again, err := ParseProjectStatus(out)
		if err != nil {
			t.Fatalf("evidence %s does not parse back: %v", out, err)
		}
		if again.ProjectStatus.Status != ev.ProjectStatus.Status {
			t.Fatalf("status %q became %q", ev.ProjectStatus.Status, again.ProjectStatus.Status)
		}
	})
}

func FuzzParseReportTask(f *testing.F) {
	f.Add([]byte("organization=o\nprojectKey=k\nserverUrl=https://sonarcloud.io\nceTaskId=A\nceTaskUrl=https://sonarcloud.io/api/ce/task?id=A\n"))
	f.Add([]byte("serverUrl=http://localhost:9000\nceTaskId=1\n# comment\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rt, err := ParseReportTask(data)
		if err == nil && (rt.ServerURL == "" || rt.CETaskID == "") {
			t.Fatalf("accepted %q without server or task", data)
		}
	})
}
