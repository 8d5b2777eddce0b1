package sources

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"cloud.google.com/go/storage"

	"github.com/gatehouse-dev/gatehouse/internal/benchutil"
)

// benchMiB is the size of the synthetic model (GATEHOUSE_BENCH_MIB,
// default 512; the figure is 2048).
func benchMiB() int64 {
	if v, err := strconv.ParseInt(os.Getenv("GATEHOUSE_BENCH_MIB"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 512
}

var (
	benchOnce   sync.Once
	benchRef    string
	benchDigest string
	benchBytes  int64
	benchErr    error
)

// benchArtifact pushes, once per test binary, a ModelPack artifact of a
// safetensors file (3/4), a pickle-ish .bin (1/4), config and card.
func benchArtifact(b *testing.B) (ref string, size int64) {
	addr := registry(b)
	benchOnce.Do(func() {
		dir := b.TempDir()
		total := benchMiB() << 20
		benchutil.WriteRandom(b, filepath.Join(dir, "model.safetensors"), total*3/4, 1)
		benchutil.WriteRandom(b, filepath.Join(dir, "pytorch_model.bin"), total/4, 2)
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures":["X"]}`), 0o600)
		os.WriteFile(filepath.Join(dir, "README.md"), []byte("# bench model"), 0o600)
		benchRef = addr + "/bench/model:v1"
		benchDigest, benchErr = Push(context.Background(), dir, benchRef, testOptions())
		benchBytes = total
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchRef, benchBytes
}

// BenchmarkOCI streams the artifact through Walk (every byte read, as a
// scanner does) and, in the same run, pulls it to disk as `crane pull
// --format oci` does. The ratio of the two ns/op is the figure of issue 12.
func BenchmarkOCI(b *testing.B) {
	ref, size := benchArtifact(b)
	b.Run("stream-walk", func(b *testing.B) {
		b.SetBytes(size)
		benchutil.ResetPeakRSS()
		for i := 0; i < b.N; i++ {
			tree, err := Open(context.Background(), "oci://"+ref, testOptions())
			if err != nil {
				b.Fatal(err)
			}
			var mu sync.Mutex
			var n int64
			err = tree.Walk(context.Background(), func(ctx context.Context, f *File) error {
				r, err := f.Open(ctx)
				if err != nil {
					return err
				}
				c, err := io.Copy(io.Discard, r)
				mu.Lock()
				n += c
				mu.Unlock()
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			if n < size {
				b.Fatalf("read %d bytes of %d", n, size)
			}
		}
		b.ReportMetric(benchutil.PeakRSSMiB(), "peak-RSS-MiB")
	})
	b.Run("crane-pull-to-disk", benchutil.CranePull(ref, testRegistryOptions.keychain(), size))
}

// BenchmarkGCSSample reads 64 MiB of a large object (GATEHOUSE_BENCH_GCS_MIB,
// default 1024) from fake-gcs-server with SamplePerObject.
func BenchmarkGCSSample(b *testing.B) {
	mib := int64(1024)
	if v, err := strconv.ParseInt(os.Getenv("GATEHOUSE_BENCH_GCS_MIB"), 10, 64); err == nil && v > 0 {
		mib = v
	}
	fakeGCSBinary(b)
	gcsBenchOnce.Do(func() { gcsBenchClient, gcsBenchMiB = seedGCSBench(b, mib) })
	c, written := gcsBenchClient, gcsBenchMiB<<20
	ctx := context.Background()
	opts := testOptions()
	opts.Storage.Client = c
	opts.SamplePerObject = 64 << 20
	b.SetBytes(64 << 20)
	b.ResetTimer()
	benchutil.ResetPeakRSS()
	for i := 0; i < b.N; i++ {
		tree, err := Open(ctx, "gs://bench/data/", opts)
		if err != nil {
			b.Fatal(err)
		}
		err = tree.Walk(ctx, func(ctx context.Context, f *File) error {
			r, err := f.Open(ctx)
			if err != nil {
				return err
			}
			defer r.Close()
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != 64<<20 {
				return fmt.Errorf("sampled %d bytes", n)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(benchutil.PeakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(float64(written>>20), "object-MiB")
}

var (
	gcsBenchOnce   sync.Once
	gcsBenchClient *storage.Client
	gcsBenchMiB    int64
)

// seedGCSBench starts fake-gcs-server once per test binary (seeding a
// large object takes minutes) with one CSV-ish object of mib MiB. The
// server (memory backend) is killed when the test binary exits.
func seedGCSBench(b *testing.B, mib int64) (*storage.Client, int64) {
	tmp, err := os.MkdirTemp("", "gatehouse-gcs-bench-")
	if err != nil {
		b.Fatal(err)
	}
	keep := &keepTB{TB: b, dir: filepath.Join(tmp, "work")}
	// The CSV-ish object is written to the seed folder (an upload through
	// fake-gcs-server's API buffers it in memory and is very slow).
	defer os.RemoveAll(tmp) // the memory backend holds the object once started
	data := filepath.Join(tmp, "seed")
	os.MkdirAll(filepath.Join(data, "bench", "data"), 0o755)
	f, err := os.Create(filepath.Join(data, "bench", "data", "big.csv"))
	if err != nil {
		keep.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bw := bufio.NewWriterSize(f, 1<<20)
	var written int64
	for written < mib<<20 {
		n, _ := fmt.Fprintf(bw, "%d,user%d,user%d@example.com,comment %d\n", rng.Int64(), rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e9))
		written += int64(n)
	}
	if err := bw.Flush(); err != nil {
		keep.Fatal(err)
	}
	f.Close()
	return startFakeGCSData(keep, "memory", data), written >> 20
}

// keepTB lets a once-per-binary fixture outlive the benchmark run that
// started it: its Cleanup, TempDir and Setenv are not tied to that run.
type keepTB struct {
	testing.TB
	dir string
	n   int
}

func (k *keepTB) Cleanup(func()) {}
func (k *keepTB) TempDir() string {
	k.n++
	d := filepath.Join(k.dir, strconv.Itoa(k.n))
	os.MkdirAll(d, 0o755)
	return d
}
func (k *keepTB) Setenv(key, value string) { os.Setenv(key, value) }
