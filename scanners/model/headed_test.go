package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gen "github.com/gatehouse-dev/gatehouse/scanners/model/internal/corpus"
)

// stFile lays out a safetensors file: the header JSON padded with spaces
// to a multiple of 8, then data.
func stFile(hdr string, data []byte) []byte {
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	return append(append(b, hdr...), data...)
}

func randBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// ggufFile lays out a GGUF v3 file from raw key/value and tensor-info
// entries, padded to align, then data.
type ggufSpec struct {
	version uint32
	kvs     [][]byte
	tensors [][]byte
	align   int
	data    []byte
}

func gs(s string) []byte { return append(binary.LittleEndian.AppendUint64(nil, uint64(len(s))), s...) }

func gkvStr(key, val string) []byte {
	e := binary.LittleEndian.AppendUint32(gs(key), 8)
	return append(e, gs(val)...)
}

func gkvU32(key string, v uint32) []byte {
	e := binary.LittleEndian.AppendUint32(gs(key), 4)
	return binary.LittleEndian.AppendUint32(e, v)
}

func gkvStrArray(key string, vals []string) []byte {
	e := binary.LittleEndian.AppendUint32(gs(key), 9)
	e = binary.LittleEndian.AppendUint32(e, 8)
	e = binary.LittleEndian.AppendUint64(e, uint64(len(vals)))
	for _, v := range vals {
		e = append(e, gs(v)...)
	}
	return e
}

func gtensor(name string, typ uint32, off uint64, dims ...uint64) []byte {
	e := binary.LittleEndian.AppendUint32(gs(name), uint32(len(dims)))
	for _, d := range dims {
		e = binary.LittleEndian.AppendUint64(e, d)
	}
	e = binary.LittleEndian.AppendUint32(e, typ)
	return binary.LittleEndian.AppendUint64(e, off)
}

func (g ggufSpec) bytes() []byte {
	if g.version == 0 {
		g.version = 3
	}
	if g.align == 0 {
		g.align = 32
	}
	b := []byte("GGUF")
	b = binary.LittleEndian.AppendUint32(b, g.version)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(g.tensors)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(g.kvs)))
	for _, kv := range g.kvs {
		b = append(b, kv...)
	}
	for _, t := range g.tensors {
		b = append(b, t...)
	}
	for len(b)%g.align != 0 {
		b = append(b, 0)
	}
	return append(b, g.data...)
}

type streamCase struct {
	name     string
	file     string // base name
	b        []byte
	streamed bool // judged from the stream (else copied)
	small    bool // run with MaxHeaderBytes 1000
}

func streamCases() []streamCase {
	const n = 20000
	data := randBytes(n, 1)
	tens := func(name string, b, e int) string {
		return fmt.Sprintf(`%q:{"dtype":"U8","shape":[%d],"data_offsets":[%d,%d]}`, name, e-b, b, e)
	}
	var many []string
	for i := 0; i < 3000; i++ {
		many = append(many, tens(fmt.Sprintf("layer.%d.weight", i), i*4, i*4+4))
	}
	tokens := make([]string, 20000)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok%05d", i)
	}
	f32 := func(name string, off, dim uint64) []byte { return gtensor(name, 0, off, dim) }
	arch := gkvStr("general.architecture", "llama")
	hostile := gkvStr("tokenizer.chat_template", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
	benignT := gkvStr("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}")
	cases := []streamCase{
		{name: "st valid", file: "model.safetensors", b: stFile("{"+tens("w", 0, n)+"}", data), streamed: true},
		{name: "st metadata", file: "model.safetensors", b: stFile(`{"__metadata__":{"format":"pt"},`+tens("w", 0, n)+"}", data), streamed: true},
		{name: "st bad metadata", file: "model.safetensors", b: stFile(`{"__metadata__":{"format":1},`+tens("w", 0, n)+"}", data), streamed: true},
		{name: "st gap", file: "model.safetensors", b: stFile("{"+tens("w", 100, n)+"}", data), streamed: true},
		{name: "st appended payload", file: "model.safetensors", b: stFile("{"+tens("w", 0, n-500)+"}", data), streamed: true},
		{name: "st truncated data", file: "model.safetensors", b: stFile("{"+tens("w", 0, n)+"}", data[:n/2]), streamed: true},
		{name: "st offsets past data", file: "model.safetensors", b: stFile("{"+tens("w", 0, n+8)+"}", data), streamed: true},
		{name: "st overlap", file: "model.safetensors", b: stFile("{"+tens("a", 0, 12000)+","+tens("b", 10000, n)+"}", data), streamed: true},
		{name: "st unknown dtype", file: "model.safetensors", b: stFile(`{"w":{"dtype":"Q9","shape":[20000],"data_offsets":[0,20000]}}`, data), streamed: true},
		{name: "st shape mismatch", file: "model.safetensors", b: stFile(`{"w":{"dtype":"F32","shape":[20000],"data_offsets":[0,20000]}}`, data), streamed: true},
		{name: "st duplicate key", file: "model.safetensors", b: stFile("{"+tens("w", 0, n)+","+tens("w", 0, 4)+"}", data), streamed: true},
		{name: "st junk after JSON", file: "model.safetensors", b: stFile("{"+tens("w", 0, n)+"} import os", data), streamed: true},
		{name: "st not JSON", file: "model.safetensors", b: stFile("{"+tens("w", 0, n)+",,", data), streamed: true},
		{name: "st big header", file: "model.safetensors", b: stFile("{"+strings.Join(many, ",")+"}", data[:12000]), streamed: true},
		{name: "st big header gap", file: "model.safetensors", b: stFile("{"+strings.Join(many, ",")+"}", data), streamed: true},
		{name: "st header over limit", file: "model.safetensors", b: stFile("{"+strings.Join(many[:40], ",")+"}", data[:4000]), streamed: true, small: true},
		{name: "st header longer than file", file: "model.safetensors", b: append(binary.LittleEndian.AppendUint64(nil, 1<<30), append([]byte("{"), data...)...)},
		// "PK" as the low bytes of a header length: copied, same verdict.
		{name: "st length spells PK", file: "model.safetensors", b: stFile("{"+tens("w", 0, n)+"}"+strings.Repeat(" ", 0x4b50-len(tens("w", 0, n))-2), data)},
		// A JSON header that holds "ustar" at byte 257 is a tar to scanInput.
		{name: "st ustar polyglot", file: "model.safetensors", b: stFile(`{"__metadata__":{"x":"`+strings.Repeat("a", 257-8-21)+`ustar"},`+tens("w", 0, n)+"}", data)},
		{name: "st named bin", file: "pytorch_model.bin", b: stFile("{"+tens("w", 0, n)+"}", data), streamed: true},

		{name: "gguf valid", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf hostile template", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch, hostile}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf benign template", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch, benignT}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf appended payload", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch}, tensors: [][]byte{f32("w", 0, n/8)}, data: data}.bytes(), streamed: true},
		{name: "gguf gap", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch}, tensors: [][]byte{f32("a", 0, 1000), f32("b", 8192, (n-8192)/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf tensor past end", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch}, tensors: [][]byte{f32("w", 0, n)}, data: data}.bytes(), streamed: true},
		{name: "gguf big tokens", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch, gkvStrArray("tokenizer.ggml.tokens", tokens), hostile}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf big tokens over limit", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch, gkvStrArray("tokenizer.ggml.tokens", tokens)}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true, small: true},
		{name: "gguf alignment", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch, gkvU32("general.alignment", 64)}, align: 64, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf bad alignment", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch, gkvU32("general.alignment", 48)}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf version 1", file: "m.gguf", b: ggufSpec{version: 1, kvs: [][]byte{arch}, data: data}.bytes(), streamed: true},
		{name: "gguf unknown type", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch}, tensors: [][]byte{gtensor("w", 99, 0, n/4)}, data: data}.bytes(), streamed: true},
		{name: "gguf misaligned offset", file: "m.gguf", b: ggufSpec{kvs: [][]byte{arch}, tensors: [][]byte{f32("w", 4, n/4-1)}, data: data}.bytes(), streamed: true},
	}
	// A GGUF header cut short: the token array runs past the end.
	whole := ggufSpec{kvs: [][]byte{arch, gkvStrArray("tokenizer.ggml.tokens", tokens)}, tensors: [][]byte{f32("w", 0, n/4)}, data: data}.bytes()
	cases = append(cases, streamCase{name: "gguf truncated header", file: "m.gguf", b: whole[:100000], streamed: true})
	// A random .bin and a text file: copied as before.
	cases = append(cases, streamCase{name: "random bin", file: "pytorch_model.bin", b: randBytes(n, 2)},
		streamCase{name: "text", file: "README.md", b: bytes.Repeat([]byte("hello model\n"), 2000)})
	// Every single-file case of the issue-14 corpus.
	for _, c := range gen.Cases(filepath.Join("jinja", "testdata", "benign")) {
		if len(c.Files) != 1 {
			continue
		}
		for name, b := range c.Files {
			if strings.Contains(name, "/") || len(b) == 0 {
				continue
			}
			cases = append(cases, streamCase{name: "corpus " + c.Class + " " + c.Name, file: name, b: b})
		}
	}
	return cases
}

func streamOpts(small bool) Options {
	o := DefaultOptions()
	if small {
		o.Limits.MaxHeaderBytes = 1000
	}
	return o
}

// sameReport compares what a verdict rests on (not Path).
func sameReport(t *testing.T, what string, want, got *Report) {
	t.Helper()
	if got.Verified != want.Verified || got.FilesScanned != want.FilesScanned || got.BytesScanned != want.BytesScanned ||
		!reflect.DeepEqual(got.Findings, want.Findings) || !reflect.DeepEqual(got.NotVerified, want.NotVerified) {
		t.Errorf("%s differs:\nwant verified=%v files=%d bytes=%d\n  findings %+v\n  not verified %+v\ngot verified=%v files=%d bytes=%d\n  findings %+v\n  not verified %+v",
			what, want.Verified, want.FilesScanned, want.BytesScanned, want.Findings, want.NotVerified,
			got.Verified, got.FilesScanned, got.BytesScanned, got.Findings, got.NotVerified)
	}
}

// TestScanMemberSizedMatchesLocal: a file judged as it streams past gets
// the report a folder scan of the same file on disk gets, and the one the
// copying path (size unknown) gets, for valid, malformed and hostile
// safetensors and GGUF files and the issue-14 corpus.
func TestScanMemberSizedMatchesLocal(t *testing.T) {
	ctx := context.Background()
	nStreamed := 0
	for _, c := range streamCases() {
		t.Run(c.name, func(t *testing.T) {
			opts := streamOpts(c.small)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.file), c.b, 0o644); err != nil {
				t.Fatal(err)
			}
			local, err := Scan(ctx, dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.b) >= headSize {
				h := streamableFormat(c.b[:headSize], int64(len(c.b)))
				if (h != nil) != c.streamed {
					t.Fatalf("judged from the stream: %v, want %v", h != nil, c.streamed)
				}
			} else if c.streamed {
				t.Fatal("case too small to stream")
			}
			if c.streamed {
				nStreamed++
			}
			streamed := ScanMemberSized(ctx, bytes.NewReader(c.b), c.file, int64(len(c.b)), opts)
			sameReport(t, "streamed vs local", local, streamed)
			copied := ScanMember(ctx, bytes.NewReader(c.b), c.file, opts)
			sameReport(t, "copied vs local", local, copied)
			// Through a reader that hands out a few bytes at a time.
			trickle := ScanMemberSized(ctx, &trickleReader{b: c.b}, c.file, int64(len(c.b)), opts)
			sameReport(t, "streamed (short reads) vs local", local, trickle)
		})
	}
	if nStreamed < 20 {
		t.Fatalf("only %d cases took the streaming path", nStreamed)
	}
}

type trickleReader struct {
	b []byte
	i int
}

func (r *trickleReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+r.i%4093)], r.b[r.i:])
	r.i += n
	return n, nil
}

// failAfter yields b[:n] then err.
type failAfter struct {
	b   []byte
	n   int
	err error
	i   int
}

func (r *failAfter) Read(p []byte) (int, error) {
	if r.i >= r.n {
		return 0, r.err
	}
	k := copy(p[:min(len(p), r.n-r.i)], r.b[r.i:])
	r.i += k
	return k, nil
}

// TestScanMemberSizedStreamFaults: a stream that fails, ends early, runs
// long or outlives its context is not verified, never judged from what
// the parser saw of it; a read error gets the copying path's report.
func TestScanMemberSizedStreamFaults(t *testing.T) {
	ctx := context.Background()
	var st, gg []byte
	for _, c := range streamCases() {
		switch c.name {
		case "st gap":
			st = c.b
		case "gguf hostile template":
			gg = c.b
		}
	}
	boom := errors.New("connection reset")
	for _, b := range [][]byte{st, gg} {
		for _, at := range []int{10, 5000, len(b) - 1} {
			opts := DefaultOptions()
			want := ScanMember(ctx, &failAfter{b: b, n: at, err: boom}, "m.safetensors", opts)
			got := ScanMemberSized(ctx, &failAfter{b: b, n: at, err: boom}, "m.safetensors", int64(len(b)), opts)
			sameReport(t, fmt.Sprintf("error after %d bytes", at), want, got)
			if got.Verified || len(got.Findings) != 0 || !strings.Contains(fmt.Sprint(got.NotVerified), "connection reset") {
				t.Errorf("error after %d bytes: %+v", at, got)
			}
			// io.ErrUnexpectedEOF from the reader (a truncated tar entry) is an error, not an end.
			got = ScanMemberSized(ctx, &failAfter{b: b, n: at, err: io.ErrUnexpectedEOF}, "m.safetensors", int64(len(b)), opts)
			if got.Verified || len(got.Findings) != 0 || !strings.Contains(fmt.Sprint(got.NotVerified), "unexpected EOF") {
				t.Errorf("unexpected EOF after %d bytes: %+v", at, got)
			}
		}
		// Shorter and longer than the source says.
		for _, size := range []int64{int64(len(b)) + 1, int64(len(b)) - 1, int64(len(b)) + 100000} {
			got := ScanMemberSized(ctx, bytes.NewReader(b), "m.safetensors", size, DefaultOptions())
			if got.Verified || len(got.Findings) != 0 || !strings.Contains(fmt.Sprint(got.NotVerified), fmt.Sprintf("held %d bytes but its source states %d", len(b), size)) {
				t.Errorf("size %d for %d bytes: %+v", size, len(b), got)
			}
		}
		// Longer than MaxFileSize (the stated size fits).
		opts := DefaultOptions()
		opts.Limits.MaxFileSize = int64(len(b)) - 1
		got := ScanMemberSized(ctx, bytes.NewReader(b), "m.safetensors", int64(len(b))-1, opts)
		if got.Verified || !strings.Contains(fmt.Sprint(got.NotVerified), "longer than the") {
			t.Errorf("over the limit: %+v", got)
		}
		// The context ends while the tensor data streams past.
		cctx, cancel := context.WithCancel(ctx)
		got = ScanMemberSized(cctx, &cancelAfter{r: bytes.NewReader(b), n: len(b) - 100, cancel: cancel}, "m.safetensors", int64(len(b)), DefaultOptions())
		if got.Verified || len(got.Findings) != 0 || !strings.Contains(fmt.Sprint(got.NotVerified), "interrupted") {
			t.Errorf("cancelled: %+v", got)
		}
	}
}

type cancelAfter struct {
	r      io.Reader
	n      int
	read   int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.read += k
	if c.read >= c.n {
		c.cancel()
	}
	return k, err
}

// TestForwardAtRefusesPassedBytes: a parser that asks for bytes already
// streamed past gets an error, and the result is marked.
func TestForwardAtRefusesPassedBytes(t *testing.T) {
	b := randBytes(10000, 3)
	fa := &forwardAt{head: b[:100], r: bytes.NewReader(b[100:]), pos: 100}
	p := make([]byte, 50)
	for _, off := range []int64{0, 80, 200, 250, 9950} {
		if n, err := fa.ReadAt(p, off); n != 50 || err != nil || !bytes.Equal(p, b[off:off+50]) {
			t.Fatalf("read at %d: %d, %v", off, n, err)
		}
	}
	if fa.strayed {
		t.Fatal("strayed on forward reads")
	}
	if _, err := fa.ReadAt(p, 0); err != nil {
		t.Fatalf("the kept head: %v", err)
	}
	if _, err := fa.ReadAt(p, 300); !errors.Is(err, errPassed) || !fa.strayed {
		t.Fatalf("read behind: %v, strayed %v", err, fa.strayed)
	}
	fa = &forwardAt{head: b[:100], r: bytes.NewReader(b[100:]), pos: 100}
	if n, err := fa.ReadAt(p, 9990); n != 10 || err != io.EOF {
		t.Fatalf("read past the end: %d, %v", n, err)
	}
}

// TestSpoolSized: the stated size picks the buffer, never the result.
func TestSpoolSized(t *testing.T) {
	b := randBytes(5<<20, 4)
	for _, tc := range []struct {
		n, hint, limit int64
		over           bool
	}{
		{100, -1, 1 << 30, false}, {100, 100, 1 << 30, false}, {100, 10, 1 << 30, false}, {100, 1000, 1 << 30, false},
		{5 << 20, -1, 1 << 30, false}, {5 << 20, 5 << 20, 1 << 30, false}, {5 << 20, 100, 1 << 30, false},
		{5 << 20, 5 << 20, 5<<20 - 1, true}, {100, 100, 99, true}, {100, -1, 99, true}, {0, 0, 10, false}, {0, -1, 10, false},
	} {
		ra, n, done, over, err := spoolSized(bytes.NewReader(b[:tc.n]), tc.limit, t.TempDir(), tc.hint, memSpool)
		if err != nil || over != tc.over {
			t.Fatalf("%+v: over %v, err %v", tc, over, err)
		}
		if over {
			continue
		}
		got := make([]byte, n)
		if n != tc.n {
			t.Fatalf("%+v: %d bytes", tc, n)
		}
		if _, err := ra.ReadAt(got, 0); err != nil && n > 0 || !bytes.Equal(got, b[:n]) {
			t.Fatalf("%+v: content differs (%v)", tc, err)
		}
		done()
	}
}

// FuzzScanMemberSized: judged from the stream or copied, any input gets
// the same report as the copying path (size unknown).
func FuzzScanMemberSized(f *testing.F) {
	for _, c := range streamCases() {
		if c.streamed && !c.small && len(c.b) < 200_000 {
			f.Add(c.b)
		}
	}
	opts := DefaultOptions()
	opts.Limits.MaxOpcodes = 100_000
	opts.Limits.MaxMemo = 10_000
	opts.Limits.MaxDecompressedBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		want := ScanMember(ctx, bytes.NewReader(data), "m.safetensors", opts)
		got := ScanMemberSized(ctx, bytes.NewReader(data), "m.safetensors", int64(len(data)), opts)
		sameReport(t, "streamed vs copied", want, got)
	})
}
