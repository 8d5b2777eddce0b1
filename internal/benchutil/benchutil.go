// Package benchutil holds what benchmarks that race gatehouse against a
// baseline share: the process's peak RSS, random files, and `crane pull`
// of an artifact to disk, the baseline of issue 12's remote-scan figure.
package benchutil

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// ResetPeakRSS returns freed heap to the OS (setting up a benchmark leaves
// some) and restarts the peak at the current RSS (Linux: clear_refs 5).
func ResetPeakRSS() {
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSSMiB is the process's peak RSS (VmHWM) since the last reset, 0
// where /proc/self/status cannot say.
func PeakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// WriteRandom writes n incompressible bytes (ChaCha8 from seed) to path.
func WriteRandom(tb testing.TB, path string, n int64, seed byte) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{seed}), n); err != nil {
		tb.Fatal(err)
	}
}

// CranePull is the baseline sub-benchmark: `crane pull --format oci` of ref
// to a fresh folder (crane.Pull + layout.AppendImage), size bytes per op,
// reporting peak-RSS-MiB.
func CranePull(ref string, kc authn.Keychain, size int64) func(*testing.B) {
	return func(b *testing.B) {
		b.SetBytes(size)
		ResetPeakRSS()
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			img, err := crane.Pull(ref, crane.WithAuthFromKeychain(kc))
			if err != nil {
				b.Fatal(err)
			}
			p, err := layout.Write(dir, empty.Index)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.AppendImage(img); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(dir)
		}
		b.ReportMetric(PeakRSSMiB(), "peak-RSS-MiB")
	}
}
