package sonarqube

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestApplyParams(t *testing.T) {
	resolve := func(p string) string { return filepath.Join("/etc/gatehouse", p) }
	tests := []struct {
		name    string
		params  map[string]any
		want    Collector
		wantErr string
	}{
		{name: "none", params: nil, want: Collector{}},
		{name: "gate-only params are ignored", params: map[string]any{"allow_warn": false, "max_new_issues": map[string]any{"BLOCKER": 0}}, want: Collector{}},
		{name: "strings", params: map[string]any{"report_task": "build/sonar/report-task.txt", "timeout": "2m", "poll_interval": "500ms"},
			want: Collector{ReportTask: "/etc/gatehouse/build/sonar/report-task.txt", Timeout: 2 * time.Minute, PollInterval: 500 * time.Millisecond}},
		{name: "YAML int seconds", params: map[string]any{"timeout": 120}, want: Collector{Timeout: 120 * time.Second}},
		{name: "JSON number seconds", params: map[string]any{"timeout": 1.5}, want: Collector{Timeout: 1500 * time.Millisecond}},
		{name: "bad duration", params: map[string]any{"timeout": "five minutes"}, wantErr: `params.sonarqube.timeout "five minutes"`},
		{name: "zero", params: map[string]any{"timeout": 0}, wantErr: "want more than 0"},
		{name: "negative", params: map[string]any{"poll_interval": "-1s"}, wantErr: "want more than 0"},
		{name: "huge", params: map[string]any{"timeout": 1e300}, wantErr: "at most 24h"},
		{name: "wrong type", params: map[string]any{"timeout": true}, wantErr: "is bool"},
		{name: "report_task not a string", params: map[string]any{"report_task": 3}, wantErr: "report_task is int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Collector
			err := c.ApplyParams(tt.params, resolve)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c, cmpopts.IgnoreUnexported(Collector{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
