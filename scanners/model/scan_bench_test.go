package model

import (
	"bufio"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// writeSparseCheckpoint writes a PyTorch zip checkpoint of about size
// bytes: data.pkl, version and n stored tensor storages whose bytes are
// holes in a sparse file (zip64 throughout, as torch.save writes them).
func writeSparseCheckpoint(tb testing.TB, path string, size int64, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	type ent struct {
		name      string
		off, size int64
	}
	var ents []ent
	var off int64
	add := func(name string, data []byte, size int64) {
		h := make([]byte, 30)
		binary.LittleEndian.PutUint32(h, 0x04034b50)
		binary.LittleEndian.PutUint16(h[4:], 45)
		binary.LittleEndian.PutUint32(h[18:], 0xffffffff)
		binary.LittleEndian.PutUint32(h[22:], 0xffffffff)
		binary.LittleEndian.PutUint16(h[26:], uint16(len(name)))
		binary.LittleEndian.PutUint16(h[28:], 20)
		extra := make([]byte, 20)
		binary.LittleEndian.PutUint16(extra, 1)
		binary.LittleEndian.PutUint16(extra[2:], 16)
		binary.LittleEndian.PutUint64(extra[4:], uint64(size))
		binary.LittleEndian.PutUint64(extra[12:], uint64(size))
		if _, err := f.WriteAt(append(append(h, name...), extra...), off); err != nil {
			tb.Fatal(err)
		}
		ents = append(ents, ent{name, off, size})
		off += int64(30 + len(name) + 20)
		if data != nil {
			f.WriteAt(data, off)
		}
		off += size
	}
	add("archive/data.pkl", benignPickle, int64(len(benignPickle)))
	add("archive/version", []byte("3\n"), 2)
	per := size / int64(n)
	for i := range n {
		add("archive/data/"+strconv.Itoa(i), nil, per) // a hole: never written
	}
	cdStart := off
	var cd []byte
	for _, e := range ents {
		h := make([]byte, 46)
		binary.LittleEndian.PutUint32(h, 0x02014b50)
		binary.LittleEndian.PutUint16(h[4:], 45)
		binary.LittleEndian.PutUint16(h[6:], 45)
		binary.LittleEndian.PutUint32(h[20:], 0xffffffff)
		binary.LittleEndian.PutUint32(h[24:], 0xffffffff)
		binary.LittleEndian.PutUint16(h[28:], uint16(len(e.name)))
		binary.LittleEndian.PutUint16(h[30:], 28)
		binary.LittleEndian.PutUint32(h[42:], 0xffffffff)
		extra := make([]byte, 28)
		binary.LittleEndian.PutUint16(extra, 1)
		binary.LittleEndian.PutUint16(extra[2:], 24)
		binary.LittleEndian.PutUint64(extra[4:], uint64(e.size))
		binary.LittleEndian.PutUint64(extra[12:], uint64(e.size))
		binary.LittleEndian.PutUint64(extra[20:], uint64(e.off))
		cd = append(append(append(cd, h...), e.name...), extra...)
	}
	end64 := make([]byte, 56)
	binary.LittleEndian.PutUint32(end64, 0x06064b50)
	binary.LittleEndian.PutUint64(end64[4:], 44)
	binary.LittleEndian.PutUint64(end64[24:], uint64(len(ents)))
	binary.LittleEndian.PutUint64(end64[32:], uint64(len(ents)))
	binary.LittleEndian.PutUint64(end64[40:], uint64(len(cd)))
	binary.LittleEndian.PutUint64(end64[48:], uint64(cdStart))
	loc := make([]byte, 20)
	binary.LittleEndian.PutUint32(loc, 0x07064b50)
	binary.LittleEndian.PutUint64(loc[8:], uint64(cdStart)+uint64(len(cd)))
	loc[16] = 1
	end := make([]byte, 22)
	binary.LittleEndian.PutUint32(end, 0x06054b50)
	binary.LittleEndian.PutUint16(end[8:], 0xffff)
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	binary.LittleEndian.PutUint32(end[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(end[16:], 0xffffffff)
	tail := append(append(append(cd, end64...), loc...), end...)
	if _, err := f.WriteAt(tail, cdStart); err != nil {
		tb.Fatal(err)
	}
}

// peakRSS reads VmHWM (peak resident set) from /proc/self/status, in MiB.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkTorchCheckpoint scans a 4 GiB PyTorch zip checkpoint (sparse
// file, 64 stored storages): only headers and data.pkl are read. It
// reports the peak resident set of the process after scanning.
func BenchmarkTorchCheckpoint(b *testing.B) {
	path := filepath.Join(b.TempDir(), "pytorch_model.bin")
	writeSparseCheckpoint(b, path, 4<<30, 64)
	st, _ := os.Stat(path)
	if st.Size() < 4<<30 {
		b.Fatalf("checkpoint is %d bytes", st.Size())
	}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		rep, err := Scan(context.Background(), path, DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		if v := rep.Verdict(finding.Low); v != VerdictClean || rep.FilesScanned != 3 {
			b.Fatalf("verdict %d, files %d: %+v %+v", v, rep.FilesScanned, rep.Findings, rep.NotVerified)
		}
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
}

// TestCheckpointMemory scans the 4 GiB sparse checkpoint once and checks
// the process stays under 200 MiB resident. It needs a file system with
// sparse files (skipped with -short).
func TestCheckpointMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 4 GiB sparse file; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "pytorch_model.bin")
	writeSparseCheckpoint(t, path, 4<<30, 64)
	rep, err := Scan(context.Background(), path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict(finding.Low) != VerdictClean {
		t.Fatalf("not clean: %+v %+v", rep.Findings, rep.NotVerified)
	}
	rss := peakRSS()
	t.Logf("peak RSS after scanning a 4 GiB checkpoint: %.1f MiB", rss)
	if rss > 200 {
		t.Errorf("peak RSS %.1f MiB, want under 200 MiB", rss)
	}
}
