package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

func input(b []byte) finding.Input {
	return finding.Input{R: bytes.NewReader(b), Size: int64(len(b)), Location: "m.gguf", Limits: finding.DefaultLimits()}
}

func summary(res finding.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Severity.String()+" "+f.Location)
	}
	return out
}

// valid is a small model: two F32 tensors and a Q8_0 one, 32-byte aligned.
func valid() *builder {
	g := newBuilder().str("general.architecture", "llama").u32("llama.context_length", 4096).
		strArray("tokenizer.ggml.tokens", "<s>", "</s>", "hello").
		tensor("a", 0, 0, 4, 2).  // 32 bytes
		tensor("b", 0, 32, 3).    // 12 bytes, padded to 64
		tensor("q", 8, 64, 32, 2) // Q8_0: 2 blocks of 34 bytes = 68
	g.data = make([]byte, 64+68)
	return g
}

func TestScan(t *testing.T) {
	const benign = `{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}`
	tests := []struct {
		name    string
		file    []byte
		want    []string
		wantNV  int
		wantErr error
	}{
		{name: "valid", file: valid().bytes()},
		{name: "valid, trailing padding under the alignment", file: func() []byte { g := valid(); g.data = append(g.data, make([]byte, 28)...); return g.bytes() }()},
		{name: "custom alignment", file: func() []byte {
			g := newBuilder().u32("general.alignment", 64).tensor("a", 0, 0, 16).tensor("b", 0, 64, 16)
			g.align = 64
			g.data = make([]byte, 128)
			return g.bytes()
		}()},
		{name: "chat template", file: valid().str("tokenizer.chat_template", benign).bytes(), want: []string{"low m.gguf#tokenizer.chat_template"}},
		{name: "named chat template", file: valid().str("tokenizer.chat_template.tool_use", benign).bytes(), want: []string{"low m.gguf#tokenizer.chat_template.tool_use"}},
		{name: "SSTI subclasses", file: valid().str("tokenizer.chat_template", `{{ ''.__class__.__mro__[1].__subclasses__() }}`).bytes(),
			want: []string{"critical m.gguf#tokenizer.chat_template"}},
		{name: "SSTI lipsum globals", file: valid().str("tokenizer.chat_template", `{{ lipsum.__globals__['os'].popen('id').read() }}`).bytes(),
			want: []string{"critical m.gguf#tokenizer.chat_template"}},
		{name: "SSTI attr filter", file: valid().str("tokenizer.chat_template.rag", `{{ x|attr('\x5f\x5fclass\x5f\x5f') }}`).bytes(),
			want: []string{"critical m.gguf#tokenizer.chat_template.rag"}},
		{name: "SSTI os call", file: valid().str("tokenizer.chat_template", `{{ os.system('id') }}`).bytes(),
			want: []string{"critical m.gguf#tokenizer.chat_template"}},
		{name: "template of wrong type", file: valid().u32("tokenizer.chat_template", 1).bytes(), want: []string{"medium m.gguf#tokenizer.chat_template"}},
		{name: "duplicate key", file: valid().u32("x", 1).u32("x", 2).bytes(), want: []string{"high m.gguf#x"}},
		{name: "hidden trailing bytes", file: func() []byte { g := valid(); g.data = append(g.data, make([]byte, 4096)...); return g.bytes() }(),
			want: []string{"high m.gguf@"}},
		{name: "gap between tensors", file: func() []byte {
			g := newBuilder().tensor("a", 0, 0, 8).tensor("b", 0, 128, 8)
			g.data = make([]byte, 160)
			return g.bytes()
		}(), want: []string{"high m.gguf@"}},
		{name: "overlap", file: func() []byte {
			g := newBuilder().tensor("a", 0, 0, 16).tensor("b", 0, 32, 8)
			g.data = make([]byte, 64)
			return g.bytes()
		}(), want: []string{"high m.gguf#b"}},
		{name: "duplicate tensor", file: func() []byte {
			g := newBuilder().tensor("a", 0, 0, 8).tensor("a", 0, 32, 8)
			g.data = make([]byte, 64)
			return g.bytes()
		}(), want: []string{"high m.gguf#a"}},
		{name: "unaligned offset", file: func() []byte {
			g := newBuilder().tensor("a", 0, 0, 4).tensor("b", 0, 16, 4)
			g.data = make([]byte, 32)
			return g.bytes()
		}(), want: []string{"medium m.gguf#b"}},
		{name: "tensor past end", file: func() []byte {
			g := newBuilder().tensor("a", 0, 0, 1024)
			g.data = make([]byte, 32)
			return g.bytes()
		}(), want: []string{"medium m.gguf#a"}},
		{name: "unknown ggml type", file: func() []byte {
			g := newBuilder().tensor("a", 99, 0, 8)
			g.data = make([]byte, 32)
			return g.bytes()
		}(), want: []string{"medium m.gguf#a"}},
		{name: "block misfit", file: func() []byte {
			g := newBuilder().tensor("a", 8, 0, 33)
			g.data = make([]byte, 64)
			return g.bytes()
		}(), want: []string{"medium m.gguf#a"}},
		{name: "version 1", file: func() []byte { g := valid(); g.version = 1; return g.bytes() }(), wantNV: 1},
		{name: "version 9", file: func() []byte { g := valid(); g.version = 9; return g.bytes() }(), wantNV: 1},
		{name: "big endian", file: func() []byte { g := valid(); g.version = 3 << 24; return g.bytes() }(), wantNV: 1},
		{name: "truncated", file: valid().bytes()[:40], wantErr: ErrMalformed},
		{name: "huge counts", file: append([]byte("GGUF\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 16)...), wantErr: ErrMalformed},
		{name: "string longer than file", file: func() []byte {
			b := []byte("GGUF\x03\x00\x00\x00")
			b = binary.LittleEndian.AppendUint64(b, 0)
			b = binary.LittleEndian.AppendUint64(b, 1)
			return binary.LittleEndian.AppendUint64(b, 1<<62)
		}(), wantErr: ErrMalformed},
		{name: "unknown value type", file: newBuilder().kv("k", 77, nil).bytes(), wantErr: ErrMalformed},
		{name: "array larger than file", file: newBuilder().kv("k", tArray, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, tUint64), 1<<61)).bytes(), wantErr: ErrMalformed},
		{name: "deep arrays", file: func() []byte {
			v := []byte{}
			for range 10 {
				v = binary.LittleEndian.AppendUint32(v, tArray)
				v = binary.LittleEndian.AppendUint64(v, 1)
			}
			v = binary.LittleEndian.AppendUint32(v, tUint8)
			v = binary.LittleEndian.AppendUint64(v, 0)
			return newBuilder().kv("k", tArray, v).bytes()
		}(), wantErr: ErrMalformed},
		{name: "bad alignment", file: valid().u32("general.alignment", 3).bytes(), wantErr: ErrMalformed},
		{name: "too many dims", file: newBuilder().tensor("a", 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1).bytes(), wantErr: ErrMalformed},
		{name: "bad magic", file: []byte("GGUX\x03\x00\x00\x00"), wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(input(tc.file))
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got := summary(res)
			for i := range got {
				// Offsets of trailing data depend on the header size: compare the prefix.
				if i < len(tc.want) && strings.HasSuffix(tc.want[i], "@") {
					got[i] = got[i][:strings.Index(got[i], "@")+1]
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nall: %+v", diff, res.Findings)
			}
			if len(res.NotVerified) != tc.wantNV {
				t.Errorf("not verified = %+v, want %d", res.NotVerified, tc.wantNV)
			}
		})
	}
}

func TestHeaderLimit(t *testing.T) {
	in := input(valid().str("tokenizer.chat_template", strings.Repeat("x", 4096)).bytes())
	in.Limits.MaxHeaderBytes = 1024
	if _, err := Scan(in); !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want ErrLimit", err)
	}
}

func TestTrailingOffset(t *testing.T) {
	g := valid()
	g.data = append(g.data, make([]byte, 100)...)
	b := g.bytes()
	res, err := Scan(input(b))
	if err != nil {
		t.Fatal(err)
	}
	want := []finding.Finding{{Severity: finding.High, Location: "m.gguf@" + strconv.Itoa(len(b)-100),
		Reason: "100 bytes after the last tensor belong to no tensor: a hidden payload appended to the file"}}
	if diff := cmp.Diff(want, res.Findings); diff != "" {
		t.Error(diff)
	}
}

func TestDetect(t *testing.T) {
	if !Detect(valid().bytes()) || Detect([]byte("GGU")) || Detect([]byte("\x89HDF\r\n\x1a\n")) {
		t.Error("Detect wrong")
	}
}
