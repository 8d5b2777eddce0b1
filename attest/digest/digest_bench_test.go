package digest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchFileSize is the model size of the figures: 2 GiB.
const benchFileSize = 2 << 30

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// bigFile writes the 2 GiB file once per test binary (pseudo-random bytes,
// so nothing can shortcut the hashing) and reads it once so that it is in
// the page cache, as a model just downloaded or built is.
func bigFile(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-digest-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchPath = filepath.Join(dir, "model.bin")
		f, err := os.Create(benchPath)
		if err != nil {
			benchErr = err
			return
		}
		chunk := make([]byte, 4<<20)
		x := uint64(0x9E3779B97F4A7C15)
		for i := range chunk {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			chunk[i] = byte(x)
		}
		for off := 0; off < benchFileSize; off += len(chunk) {
			chunk[0], chunk[1], chunk[2] = byte(off>>22), byte(off>>30), byte(off>>14)
			if _, err := f.Write(chunk); err != nil {
				benchErr = err
				return
			}
		}
		if benchErr = f.Close(); benchErr != nil {
			return
		}
		_, _, benchErr = File(context.Background(), benchPath) // warm the page cache
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	b.Cleanup(func() {}) // the file is removed by TestMain
	return benchPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchPath != "" {
		os.RemoveAll(filepath.Dir(benchPath))
	}
	os.Exit(code)
}

// BenchmarkShardedDigest hashes a 2 GiB file from the page cache with the
// parallel sharded SHA-256 (MB/s is the figure; target ≥ 2400 on 2 cores).
func BenchmarkShardedDigest(b *testing.B) {
	p := bigFile(b)
	for _, shard := range []int64{64 << 20, 128 << 20, 256 << 20} {
		for _, mm := range []bool{true, false} {
			b.Run(fmt.Sprintf("shard=%dMiB/mmap=%v", shard>>20, mm), func(b *testing.B) {
				b.SetBytes(benchFileSize)
				for b.Loop() {
					if _, err := ShardedFile(context.Background(), p, Options{ShardSize: shard, NoMmap: !mm}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkFileSHA256 is the plain, sequential SHA-256 of the same file:
// one core's speed, the baseline the sharded digest is compared with.
func BenchmarkFileSHA256(b *testing.B) {
	p := bigFile(b)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		if _, _, err := File(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}
