package scan

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// BenchmarkModelScanOCI scans a ModelPack artifact from a loopback
// registry with the model scanner (scan.Model: stream, copy each file,
// parse) and, in the same run, pulls it to disk as `crane pull --format
// oci` does. Size: GATEHOUSE_BENCH_MIB (default 256; the issue's figure is
// 2048): a valid safetensors file of random tensor bytes (3/4) and a
// random .bin (1/4, not a model: reported not verified, still read whole).
func BenchmarkModelScanOCI(b *testing.B) {
	addr, stop, err := testregistry.Distribution()
	if errors.Is(err, testregistry.ErrNoBinary) {
		b.Skip(err.Error())
	}
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	mib := int64(256)
	if v, err := strconv.ParseInt(os.Getenv("GATEHOUSE_BENCH_MIB"), 10, 64); err == nil && v > 0 {
		mib = v
	}
	size := mib << 20
	dir := b.TempDir()
	writeSafetensors(b, filepath.Join(dir, "model.safetensors"), size*3/4)
	writeRandomFile(b, filepath.Join(dir, "pytorch_model.bin"), size/4)
	opts := sources.Options{Registry: sources.RegistryOptions{Keychain: authn.NewMultiKeychain()}}
	ref := addr + "/bench/model:v1"
	if _, err := sources.Push(context.Background(), dir, "oci://"+ref, opts); err != nil {
		b.Fatal(err)
	}
	b.Run("scan-model", func(b *testing.B) {
		b.SetBytes(size)
		resetPeakRSS()
		for i := 0; i < b.N; i++ {
			t, err := sources.Open(context.Background(), "oci://"+ref, opts)
			if err != nil {
				b.Fatal(err)
			}
			rep, err := Model(context.Background(), t, model.DefaultOptions())
			t.Close()
			if err != nil {
				b.Fatal(err)
			}
			if rep.BytesScanned < size-4096 { // the safetensors file is a few bytes short of 3/4
				b.Fatalf("scanned %d bytes of %d: %+v", rep.BytesScanned, size, rep.NotVerified)
			}
		}
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
	b.Run("crane-pull-to-disk", func(b *testing.B) {
		b.SetBytes(size)
		resetPeakRSS()
		for i := 0; i < b.N; i++ {
			out := b.TempDir()
			img, err := crane.Pull(ref, crane.WithAuthFromKeychain(authn.NewMultiKeychain()))
			if err != nil {
				b.Fatal(err)
			}
			p, err := layout.Write(out, empty.Index)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.AppendImage(img); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(out)
		}
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	})
}

func writeRandomFile(b *testing.B, path string, n int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{7}), n); err != nil {
		b.Fatal(err)
	}
}

// writeSafetensors writes a valid safetensors file of about n bytes: one
// U8 tensor of random bytes.
func writeSafetensors(b *testing.B, path string, n int64) {
	data := n - 256
	hdr := fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}`, data, data)
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	binary.Write(f, binary.LittleEndian, uint64(len(hdr)))
	f.WriteString(hdr)
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{3}), data); err != nil {
		b.Fatal(err)
	}
}

func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSSMiB() float64 {
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
