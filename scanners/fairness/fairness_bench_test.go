package fairness

import (
	"context"
	"fmt"
	"io"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// synthRows is an io.Reader of a predictions CSV with n data rows:
// label, prediction, score, sex (2 values + missing), region (5 values).
// Rows come from a pseudo-random block of 65,536 rows repeated, so the
// reader costs little next to the scan.
type synthRows struct {
	block []byte
	off   int
	left  int64 // rows still to emit
	rows  []int // row start offsets in block
	hdr   []byte
}

func newSynth(n int64, score bool) *synthRows {
	s := &synthRows{left: n}
	if score {
		s.hdr = []byte("label,prediction,score,sex,region\n")
	} else {
		s.hdr = []byte("label,prediction,sex,region\n")
	}
	x := uint64(0x9E3779B97F4A7C15)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	sexes := []string{"female", "male", "female", "male", ""}
	regions := []string{"north", "south", "east", "west", "centre"}
	for i := 0; i < 65536; i++ {
		s.rows = append(s.rows, len(s.block))
		r := next()
		y := r & 1
		p := y
		if r>>1&7 == 0 {
			p ^= 1
		}
		s.block = strconv.AppendUint(s.block, y, 10)
		s.block = append(s.block, ',')
		s.block = strconv.AppendUint(s.block, p, 10)
		s.block = append(s.block, ',')
		if score {
			s.block = strconv.AppendFloat(s.block, float64(r>>20%10000)/10000, 'f', 4, 64)
			s.block = append(s.block, ',')
		}
		s.block = append(s.block, sexes[r>>8%5]...)
		s.block = append(s.block, ',')
		s.block = append(s.block, regions[r>>12%5]...)
		s.block = append(s.block, '\n')
	}
	return s
}

func (s *synthRows) Read(p []byte) (int, error) {
	n := 0
	if len(s.hdr) > 0 {
		n = copy(p, s.hdr)
		s.hdr = s.hdr[n:]
		return n, nil
	}
	for n < len(p) && s.left > 0 {
		// copy whole rows only, so left counts rows exactly
		end := s.off
		for end < len(s.block) && s.left > 0 {
			i := end
			for s.block[i] != '\n' {
				i++
			}
			if n+(i+1-s.off) > len(p) {
				break
			}
			end = i + 1
			s.left--
		}
		if end == s.off {
			break
		}
		n += copy(p[n:], s.block[s.off:end])
		s.off = end
		if s.off == len(s.block) {
			s.off = 0
		}
	}
	if n == 0 && s.left == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// peakHeap samples the live heap every 5 ms until stop is called.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// BenchmarkScanCSV scans synthetic predictions with two group columns.
// B/op and allocs/op equal at 1M and 10M rows show that memory does not
// grow with the row count; peak-heap-MB is the largest live heap seen.
// Run: go test -run XXX -bench ScanCSV -benchtime 1x -cpu 1 ./scanners/fairness
func BenchmarkScanCSV(b *testing.B) {
	for _, c := range []struct {
		rows  int64
		score bool
	}{{1_000_000, false}, {10_000_000, false}, {1_000_000, true}, {10_000_000, true}} {
		name := fmt.Sprintf("rows=%dM", c.rows/1_000_000)
		if c.score {
			name += "/score"
		}
		b.Run(name, func(b *testing.B) {
			o := Options{Label: "label", Prediction: "prediction", Groups: []string{"sex", "region"}}
			if c.score {
				o.Score = "score"
			}
			b.ReportAllocs()
			stop := peakHeap()
			cpu0 := cpuTime()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				ev, err := ScanReader(context.Background(), newSynth(c.rows, c.score), "csv", o)
				if err != nil {
					b.Fatal(err)
				}
				if ev.Rows != c.rows {
					b.Fatalf("%d rows scanned, want %d", ev.Rows, c.rows)
				}
			}
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			peak := stop()
			// CPU time of the process (user+system, GC included): on a shared
			// machine it is the cost on one core, which wall time is not.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(int64(b.N)*c.rows), "cpu-ns/row")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/scan")
			b.ReportMetric(float64(el.Nanoseconds())/float64(int64(b.N)*c.rows), "ns/row")
			b.ReportMetric(el.Seconds()/float64(b.N), "s/scan")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSynthRows checks the benchmark's reader emits exactly n rows.
func TestSynthRows(t *testing.T) {
	o := Options{Label: "label", Prediction: "prediction", Score: "score", Groups: []string{"sex", "region"}}
	ev, err := ScanReader(context.Background(), newSynth(200_001, true), "csv", o)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Rows != 200_001 || len(ev.Groupings) != 3 || len(ev.Groupings[2].Groups) != 15 {
		t.Fatalf("rows %d groupings %d", ev.Rows, len(ev.Groupings))
	}
}
