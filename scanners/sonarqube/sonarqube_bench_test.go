package sonarqube

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// BenchmarkParseProjectStatus measures the offline form (--evidence
// sonarqube=FILE): the shipped fixture and a gate with 500 conditions.
func BenchmarkParseProjectStatus(b *testing.B) {
	fixture, err := os.ReadFile("../../testdata/sonarqube/error.json")
	if err != nil {
		b.Fatal(err)
	}
	var conds []string
	for i := range 500 {
		conds = append(conds, fmt.Sprintf(`{"status":"ERROR","metricKey":"metric_%d","comparator":"GT","errorThreshold":"%d","actualValue":"%d.5"}`, i, i, i))
	}
	large := []byte(`{"projectStatus":{"status":"ERROR","conditions":[` + strings.Join(conds, ",") + `]}}`)
	for _, tt := range []struct {
		name string
		data []byte
	}{{"fixture", fixture}, {"500_conditions", large}} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseProjectStatus(tt.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseReportTask(b *testing.B) {
	data := []byte("organization=cyber-dojo\nprojectKey=cyber-dojo_differ\nserverUrl=https://sonarcloud.io\nserverVersion=8.0.0.56246\ndashboardUrl=https://sonarcloud.io/dashboard?id=cyber-dojo_differ\nceTaskId=AZrs5eywBfkZKeU0sde9\nceTaskUrl=https://sonarcloud.io/api/ce/task?id=AZrs5eywBfkZKeU0sde9\n")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReportTask(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollect is one whole live collection against a loopback server
// whose task is already done: report-task.txt, ce/task, project_status,
// issues/search (the collector's own overhead; a real server adds its
// latency and the background task's run time).
func BenchmarkCollect(b *testing.B) {
	ts := httptest.NewServer(&fakeServer{taskStatuses: []string{"SUCCESS"}})
	defer ts.Close()
	dir := writeReportTask(b, ts.URL, "")
	c := &Collector{Dir: dir, HTTP: ts.Client()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage}); err != nil {
			b.Fatal(err)
		}
	}
}
