package scan

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/gatehouse-dev/gatehouse/internal/benchutil"
	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// BenchmarkModelScanOCI scans a ModelPack artifact from a loopback
// registry with the model scanner (scan.Model: stream; safetensors judged
// from the stream, other files copied and parsed) and, in the same run,
// pulls it to disk as `crane pull --format oci` does. Size:
// GATEHOUSE_BENCH_MIB (default 256; the figure is 2048): a valid
// safetensors file of random tensor bytes (3/4) and a PyTorch zip
// checkpoint pytorch_model.bin (1/4: data.pkl and one stored storage of
// random bytes). GATEHOUSE_BENCH_BIN=random makes the .bin random bytes
// instead (not a model: reported not verified, still read whole).
//
// With GATEHOUSE_BENCH_GATEHOUSE naming a built gatehouse binary, the
// artifact is pushed with `gatehouse push model`, and two more
// sub-benchmarks run it under /usr/bin/time -v: `gatehouse check --env dev
// model:oci://…` and the same check of the folder on disk; they report the
// wall time and the binary's maximum resident set size.
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
	randomBin := os.Getenv("GATEHOUSE_BENCH_BIN") == "random"
	gh := os.Getenv("GATEHOUSE_BENCH_GATEHOUSE")
	dir := b.TempDir()
	writeSafetensors(b, filepath.Join(dir, "model.safetensors"), size*3/4)
	if randomBin {
		benchutil.WriteRandom(b, filepath.Join(dir, "pytorch_model.bin"), size/4, 7)
	} else {
		writeTorchZip(b, filepath.Join(dir, "pytorch_model.bin"), size/4)
	}
	opts := sources.Options{Registry: sources.RegistryOptions{Keychain: authn.NewMultiKeychain()}}
	ref := addr + "/bench/model:v1"
	if gh != "" {
		if out, err := exec.Command(gh, "push", "model", dir, "oci://"+ref).CombinedOutput(); err != nil {
			b.Fatalf("gatehouse push: %v\n%s", err, out)
		}
	} else if _, err := sources.Push(context.Background(), dir, "oci://"+ref, opts); err != nil {
		b.Fatal(err)
	}
	b.Run("scan-model", func(b *testing.B) {
		b.SetBytes(size)
		benchutil.ResetPeakRSS()
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
			if rep.BytesScanned < size-4096 { // the files are a few bytes short of the size
				b.Fatalf("scanned %d bytes of %d: %+v", rep.BytesScanned, size, rep.NotVerified)
			}
			switch {
			case randomBin && len(rep.NotVerified) != 1:
				// The random .bin is not verified; what carving it for
				// pickles finds in random bytes is not checked here.
				b.Fatalf("want the random .bin not verified: %+v", rep.NotVerified)
			case !randomBin && (len(rep.NotVerified) != 0 || len(rep.Findings) != 0):
				b.Fatalf("want a clean, verified report: %+v %+v", rep.Findings, rep.NotVerified)
			}
		}
		b.ReportMetric(benchutil.PeakRSSMiB(), "peak-RSS-MiB")
	})
	b.Run("crane-pull-to-disk", benchutil.CranePull(ref, authn.NewMultiKeychain(), size))
	if gh == "" {
		return
	}
	for _, c := range []struct{ name, target string }{
		{"gatehouse-check-oci", "model:oci://" + ref},
		{"gatehouse-check-local", "model:" + dir},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			var wall, rss float64
			for i := 0; i < b.N; i++ {
				wall, rss = timeV(b, gh, "check", "--env", "dev", c.target)
			}
			b.ReportMetric(wall, "wall-s")
			b.ReportMetric(rss, "max-RSS-MiB")
		})
	}
}

// timeV runs a command under /usr/bin/time -v and returns its wall time
// (seconds) and maximum resident set size (MiB). Exit status 0, 1 and 2
// are gatehouse's verdicts; anything else fails the benchmark.
func timeV(b *testing.B, args ...string) (wall, rssMiB float64) {
	cmd := exec.Command("/usr/bin/time", append([]string{"-v"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() <= 2) {
		b.Fatalf("%v: %v\n%s\n%s", args, err, out, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Maximum resident set size (kbytes): "); ok {
			kb, _ := strconv.ParseFloat(v, 64)
			rssMiB = kb / 1024
		}
		if v, ok := strings.CutPrefix(line, "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			parts := strings.Split(v, ":")
			for _, p := range parts {
				f, _ := strconv.ParseFloat(p, 64)
				wall = wall*60 + f
			}
		}
		if v, ok := strings.CutPrefix(line, "Exit status: "); ok && v != "0" {
			b.Logf("%v: exit status %s (%d bytes of output)", args[1:], v, len(out))
		}
	}
	if rssMiB == 0 {
		b.Fatalf("no maximum RSS in /usr/bin/time output:\n%s", stderr.String())
	}
	return wall, rssMiB
}

// writeTorchZip writes a PyTorch zip checkpoint of about n bytes, as
// torch.save does: data.pkl (a benign state dict), byteorder, one stored
// storage of random bytes, version.
func writeTorchZip(b *testing.B, path string, n int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := zip.NewWriter(f)
	add := func(name string, fill func(io.Writer) error) {
		z, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err == nil {
			err = fill(z)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	str := func(s string) func(io.Writer) error {
		return func(z io.Writer) error { _, err := io.WriteString(z, s); return err }
	}
	add("archive/data.pkl", str(torchPickle))
	add("archive/byteorder", str("little"))
	add("archive/data/0", func(z io.Writer) error {
		_, err := io.CopyN(z, rand.NewChaCha8([32]byte{5}), n-4096)
		return err
	})
	add("archive/version", str("3\n"))
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// torchPickle is a state dict of one tensor as torch.save pickles it.
const torchPickle = "\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00((X\x07\x00\x00\x00storageq\x01ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x000q\x03X\x03\x00\x00\x00cpuq\x04K\x0ctq\x05QK\x00K\x03K\x04\x86q\x06K\x04K\x01\x86q\x07\x89ccollections\nOrderedDict\nq\x08)Rq\ttq\nRq\x0b."

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
