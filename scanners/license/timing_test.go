package license

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestColdScanTiming reports the cost of the first folder scan in a
// process (index parse, lazy tables, detection) and of later scans, in
// wall and CPU time (CPU time is what a shared, loaded machine cannot
// inflate). Run alone for the cold number:
//
//	go test ./scanners/license -run '^TestColdScanTiming$' -v
//
// It asserts nothing about time (speed is shown by benchmarks, DESIGN.md);
// it fails only if the scan does.
func TestColdScanTiming(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{"LICENSE": "spdx/Apache-2.0.txt", "COPYING": "spdx/GPL-3.0-only.txt", "LICENSE-MIT": "spdx/MIT.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), readFixture(t, src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("---\nlicense: apache-2.0\n---\n# m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	measure := func() (time.Duration, time.Duration) {
		c0, w0 := cpuTime(), time.Now()
		ev, err := Scan(dir, Options{})
		if err != nil || len(ev.Licenses) < 3 {
			t.Fatalf("Scan = %+v, %v", ev, err)
		}
		return time.Since(w0), cpuTime() - c0
	}
	coldWall, coldCPU := measure()
	var warmWall, warmCPU time.Duration
	const n = 20
	for range n {
		w, c := measure()
		warmWall += w
		warmCPU += c
	}
	t.Logf("folder with Apache-2.0, GPL-3.0 and MIT texts and a card: first scan in the process %v wall, %v CPU; later scans %v wall, %v CPU (mean of %d)", coldWall, coldCPU, warmWall/n, warmCPU/n, n)
}
