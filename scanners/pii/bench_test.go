package pii

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/pii/internal/gencsv"
)

const benchSize = 64 << 20

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

// TestMain removes the benchmark's generated CSV when the run ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile != "" {
		os.RemoveAll(filepath.Dir(benchFile))
	}
	os.Exit(code)
}

// mixedCSV writes the 64 MiB mixed CSV once per test binary run.
func mixedCSV(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pii-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, "mixed.csv")
		f, err := os.Create(benchFile)
		if err != nil {
			benchErr = err
			return
		}
		_, benchErr = gencsv.Write(f, benchSize)
		if err := f.Close(); benchErr == nil {
			benchErr = err
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

// BenchmarkFullCSV scans the whole mixed CSV (names, e-mails, phones,
// amounts, free text, UUIDs, timestamps, order numbers, hashes): MB/s is
// the full-mode figure (run with -cpu 1 for the per-core figure).
func BenchmarkFullCSV(b *testing.B) {
	path := mixedCSV(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		ev, err := Scan(context.Background(), path, Options{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		if ev.Totals["EMAIL_ADDRESS"] == 0 {
			b.Fatal("no e-mails found in the mixed CSV")
		}
	}
}

// BenchmarkSampleCSV scans the first 10000 rows of the same file.
func BenchmarkSampleCSV(b *testing.B) {
	path := mixedCSV(b)
	for b.Loop() {
		ev, err := Scan(context.Background(), path, Options{Workers: 1, SampleRows: 10000})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(ev.BytesScanned)
	}
}
