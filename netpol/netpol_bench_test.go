package netpol

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchSpecs writes n Score specs, cycling through the realistic ones in
// testdata (web with postgres, redis and a route; worker with amqp and
// s3; batch job; frontend → backend through service-port), each under a
// name of its own.
func benchSpecs(b *testing.B, n int) []string {
	b.Helper()
	templates := []string{"web", "worker", "batch", "frontend", "backend"}
	names := map[string]string{"web": "checkout", "worker": "thumbnailer", "batch": "nightly-report", "frontend": "frontend", "backend": "backend"}
	body := map[string]string{}
	for _, t := range templates {
		raw, err := os.ReadFile(filepath.Join("testdata", t+".score.yaml"))
		if err != nil {
			b.Fatal(err)
		}
		body[t] = string(raw)
	}
	dir := b.TempDir()
	paths := make([]string, 0, n)
	for i := range n {
		t := templates[i%len(templates)]
		s := strings.Replace(body[t], "name: "+names[t]+"\n", fmt.Sprintf("name: %s-%d\n", names[t], i), 1)
		if t == "frontend" {
			// its backend is the next spec
			s = strings.Replace(s, "workload: backend,", fmt.Sprintf("workload: backend-%d,", i+1), 1)
		}
		p := filepath.Join(dir, fmt.Sprintf("%04d.score.yaml", i))
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// BenchmarkGenerate1000: 1,000 Score specs loaded (score-go's pipeline),
// turned into policies, validated by Cilium and written as YAML. The
// figure to reach is 1 s per op on one core (go test -bench Generate1000
// -cpu 1 ./netpol).
func BenchmarkGenerate1000(b *testing.B) {
	paths := benchSpecs(b, 1000)
	cpu0 := cpuTime(b)
	n := 0
	for b.Loop() {
		n++
		res, err := GenerateFiles(context.Background(), paths, Options{Namespace: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Policies) != 1000 {
			b.Fatalf("%d policies", len(res.Policies))
		}
		if err := res.Write(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	// On a shared machine wall time (ns/op) counts other processes' turns
	// too; the process's own CPU time per op is the figure that travels.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(n), "cpu-ns/op")
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
