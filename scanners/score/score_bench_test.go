package score

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time: on a shared machine
// it shows the cost of a load better than wall time does.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoad loads the web service fixture (parse, upgrade transforms,
// schema validation, mapping, placeholder validation) and builds its
// evidence. netpol needs 1,000 loads plus generation within 1 s.
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/web.score.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	if _, err := compiled(); err != nil { // compiled once per process, not per load
		b.Fatal(err)
	}
	start := cpuTime(b)
	for b.Loop() {
		if _, err := Load("web.score.yaml", "testdata", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkEvidence measures building the evidence of a loaded spec.
func BenchmarkEvidence(b *testing.B) {
	spec, err := LoadFile("testdata/worker.score.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = spec.Evidence()
	}
}
