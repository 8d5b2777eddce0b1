package model

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

// corpus is picklescan's test data (MIT, LICENSE and SOURCE.md beside it),
// copied from ../shared/corpora. Never unpickle these files.
const corpus = "testdata/picklescan-data"

// TestCorpus: every malicious file flagged, every benign one clean, every
// malformed one not verified (exit 2). The table is the expected verdicts.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpus); err != nil {
		t.Fatalf("picklescan corpus missing at %s: %v", corpus, err)
	}
	type want struct {
		verdict int
		flagged bool // at least one finding of high or critical severity
	}
	mal := want{VerdictFindings, true}
	benign := want{VerdictClean, false}
	malformed := want{VerdictNotVerified, false}
	table := map[string]want{
		"benign0_v0.pkl": benign, "benign0_v3.pkl": benign, "benign0_v4.pkl": benign,
		"pytorch_model.bin": benign, "new_pytorch_model.bin": benign,
		"bad_pytorch.pt": malformed, "not_a_pickle.bin": malformed,
		"benign_password_protected.zip": malformed,
		// broken_model.pkl imports builtins.exec before its error: flagged
		// and not verified; the finding decides (found beats not verified).
		"broken_model.pkl": mal,
		// 7z cannot be read (not verified); the stored pickle inside is
		// still carved out and flagged, and the finding decides.
		"malicious1.7z":               mal,
		"malicious-invalid-bytes.pkl": mal, "malicious0.pkl": mal, "malicious1.zip": mal,
		"malicious10.pkl": mal, "malicious11.pkl": mal, "malicious12.pkl": mal, "malicious13a.pkl": mal,
		"malicious13b.pkl": mal, "malicious14.pkl": mal, "malicious15a.pkl": mal, "malicious15b.pkl": mal,
		"malicious16.pkl": mal, "malicious17.pkl": mal, "malicious18.pkl": mal, "malicious19.pkl": mal,
		"malicious1_0x1.zip": mal, "malicious1_0x20.zip": mal, "malicious1_0x40.zip": mal,
		"malicious1_central_directory.zip": mal, "malicious1_v0.pkl": mal, "malicious1_v3.pkl": mal,
		"malicious1_v4.pkl": mal, "malicious1_wrong_ext.zip": mal, "malicious20.pkl": mal,
		"malicious2_v0.pkl": mal, "malicious2_v3.pkl": mal, "malicious2_v4.pkl": mal, "malicious3.pkl": mal,
		"malicious4.pickle": mal, "malicious5.pickle": mal, "malicious6.pkl": mal, "malicious7.pkl": mal,
		"malicious8.pkl": mal, "malicious9.pkl": mal, "pytorch_magic_bypass.pt": mal,
		"sys_module_override_sploit.pkl": mal,
	}
	files, _ := filepath.Glob(filepath.Join(corpus, "*"))
	seen := 0
	for _, f := range files {
		name := filepath.Base(f)
		if name == "LICENSE" || name == "SOURCE.md" {
			continue
		}
		w, ok := table[name]
		if !ok {
			t.Errorf("%s: no expected verdict in the table", name)
			continue
		}
		seen++
		rep, err := Scan(context.Background(), f, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := want{rep.Verdict(finding.Medium), rep.Max() >= finding.High}
		if got != w {
			t.Errorf("%s: got %+v, want %+v\nfindings %+v\nnot verified %+v", name, got, w, rep.Findings, rep.NotVerified)
		}
	}
	if seen != len(table) {
		t.Errorf("scanned %d corpus files, table has %d", seen, len(table))
	}
}

// pickles used in fixtures
var (
	evilPickle   = []byte("\x80\x04\x95\x21\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x06ls -la\x94\x85\x94R\x94.")
	benignPickle = []byte("\x80\x02ctorch._utils\n_rebuild_tensor_v2\nq\x00((X\x07\x00\x00\x00storageq\x01ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x000q\x03X\x03\x00\x00\x00cpuq\x04K\x0ctq\x05QK\x00K\x03K\x04\x86q\x06K\x04K\x01\x86q\x07\x89ccollections\nOrderedDict\nq\x08)Rq\ttq\nRq\x0b.")
)

type zm struct {
	name   string
	data   []byte
	method uint16
}

func zipOf(t testing.TB, ms ...zm) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(14, func(out io.Writer) (io.WriteCloser, error) { return nopCloser{out}, nil }) // "LZMA"
	for _, m := range ms {
		f, err := w.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(m.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func tarGz(t testing.TB, name string, data []byte) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "README.md", Mode: 0o644, Size: 6})
	tw.Write([]byte("hello\n"))
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tb.Bytes())
	zw.Close()
	return gz.Bytes()
}

func npy(descr string, body []byte) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (2,), }", descr)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), body...)
}

func legacyTorch(main []byte) []byte {
	var b []byte
	b = append(b, "\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."...) // magic number
	b = append(b, "\x80\x02M\xe9\x03."...)                         // protocol version
	b = append(b, "\x80\x02}q\x00."...)                            // sys info
	b = append(b, main...)
	b = append(b, "\x80\x02]q\x00X\x01\x00\x00\x000q\x01a."...) // storage keys
	b = append(b, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x28, 0x93, 0x80, 0x02, 0xff, 0xff)
	return b
}

type outcome struct {
	Verdict  int
	Findings []string // severity + location
	NotVer   []string // location
}

func run(t *testing.T, name string, data []byte, lim *finding.Limits) outcome {
	t.Helper()
	opts := DefaultOptions()
	if lim != nil {
		opts.Limits = *lim
	}
	rep := ScanReader(context.Background(), bytes.NewReader(data), int64(len(data)), name, opts)
	o := outcome{Verdict: rep.Verdict(finding.Medium)}
	for _, f := range rep.Findings {
		o.Findings = append(o.Findings, f.Severity.String()+" "+f.Location)
	}
	for _, n := range rep.NotVerified {
		o.NotVer = append(o.NotVer, n.Location)
	}
	return o
}

func TestFixtures(t *testing.T) {
	noise := bytes.Repeat([]byte{0x80, 0x02, 0x11, 0x7f}, 1000) // tensor bytes that start like a pickle
	small := finding.DefaultLimits()
	small.MaxDecompressedBytes = 1 << 20
	shallow := finding.DefaultLimits()
	shallow.MaxDepth = 2
	cases := []struct {
		name string
		file string
		data []byte
		lim  *finding.Limits
		want outcome
	}{
		{"pytorch zip benign", "m.pt", zipOf(t, zm{"archive/data.pkl", benignPickle, zip.Store}, zm{"archive/data/0", noise, zip.Store}, zm{"archive/version", []byte("3\n"), zip.Store}),
			nil, outcome{Verdict: 0}},
		{"pytorch zip payload under any name", "m.pt", zipOf(t, zm{"archive/data.pkl", benignPickle, zip.Store}, zm{"archive/extra/notes.txt", evilPickle, zip.Deflate}),
			nil, outcome{Verdict: 1, Findings: []string{"critical m.pt:archive/extra/notes.txt@28"}}},
		{"pickle hidden as tensor storage", "m.pt", zipOf(t, zm{"archive/data.pkl", benignPickle, zip.Store}, zm{"archive/data/0", evilPickle, zip.Store}),
			nil, outcome{Verdict: 1, Findings: []string{"critical m.pt:archive/data/0@28"}}},
		{"torchscript code for review", "ts.pt", zipOf(t, zm{"ts/data.pkl", benignPickle, zip.Store}, zm{"ts/code/__torch__.py", []byte("def forward(self):\n  return 1\n"), zip.Store}, zm{"ts/code/x.py", []byte("import os\nos.system('id')\n"), zip.Store}),
			nil, outcome{Verdict: 1, Findings: []string{"medium ts.pt:ts/code/x.py", "low ts.pt:ts/code/__torch__.py"}}},
		{"legacy torch payload in main pickle", "old.bin", legacyTorch(evilPickle),
			nil, outcome{Verdict: 1, Findings: []string{"critical old.bin@55"}}},
		{"legacy torch benign", "old.bin", legacyTorch(benignPickle), nil, outcome{Verdict: 0}},
		{"npy object array", "a.npy", npy("|O", evilPickle), nil, outcome{Verdict: 1, Findings: []string{"critical a.npy@156"}}},
		{"npy float array", "a.npy", npy("<f4", []byte{0x80, 0x02, 0, 0, 0, 0, 0, 0}), nil, outcome{Verdict: 0}},
		{"npz with object member", "a.npz", zipOf(t, zm{"x.npy", npy("<f8", make([]byte, 16)), zip.Deflate}, zm{"y.npy", npy("|O", evilPickle), zip.Deflate}),
			nil, outcome{Verdict: 1, Findings: []string{"critical a.npz:y.npy@156"}}},
		{"tar.gz > zip > pickle", "bundle.tar.gz", tarGz(t, "model/weights.pt", zipOf(t, zm{"a/data.pkl", evilPickle, zip.Deflate})),
			nil, outcome{Verdict: 1, Findings: []string{"critical bundle.tar.gz:bundle.tar:model/weights.pt:a/data.pkl@28"}}},
		{"gzip pickle", "m.pkl.gz", gz(evilPickle), nil, outcome{Verdict: 1, Findings: []string{"critical m.pkl.gz:m.pkl@28"}}},
		{"zip bomb stops at the cap", "bomb.zip", zipOf(t, zm{"zeros", make([]byte, 8<<20), zip.Deflate}), &small,
			outcome{Verdict: 2, NotVer: []string{"bomb.zip:zeros"}}},
		{"nesting limit", "n.zip", zipOf(t, zm{"a.zip", zipOf(t, zm{"b.zip", zipOf(t, zm{"c.pkl", evilPickle, zip.Store}), zip.Store}), zip.Store}), &shallow,
			outcome{Verdict: 2, NotVer: []string{"n.zip:a.zip:b.zip"}}},
		{"7z", "m.7z", append([]byte("7z\xbc\xaf\x27\x1c\x00\x04"), make([]byte, 40)...), nil, outcome{Verdict: 2, NotVer: []string{"m.7z"}}},
		{"unsupported zip method", "m.zip", zipOf(t, zm{"x", []byte("x"), 14}), nil, outcome{Verdict: 2, NotVer: []string{"m.zip:x"}}},
		{"json config", "config.json", []byte(`{"architectures": ["Bert"]}`), nil, outcome{Verdict: 0}},
		{"text named like a model", "model.pt", []byte("version https://git-lfs.github.com/spec/v1\n"), nil, outcome{Verdict: 2, NotVer: []string{"model.pt"}}},
		{"keras archive with a Lambda layer", "m.keras", zipOf(t,
			zm{name: "metadata.json", data: []byte(`{"keras_version":"3.3.3"}`)},
			zm{name: "config.json", data: []byte(`{"module":"keras","class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"Lambda","config":{"name":"evil","function":{"class_name":"__lambda__","config":{"code":"4wEAAAAA"}}},"registered_name":null}]}}`)}),
			nil, outcome{Verdict: 1, Findings: []string{"high m.keras:config.json#evil"}}},
		{"keras archive with plain layers is clean", "ok.keras", zipOf(t,
			zm{name: "metadata.json", data: []byte(`{"keras_version":"3.3.3"}`)},
			zm{name: "config.json", data: []byte(`{"module":"keras","class_name":"Sequential","config":{"layers":[{"module":"keras.layers","class_name":"Dense","config":{"units":2},"registered_name":null}]}}`)}),
			nil, outcome{Verdict: 0}},
		{"empty safetensors is clean", "m.safetensors", append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...), nil, outcome{Verdict: 0}},
		{"safetensors hiding bytes no tensor covers", "m.safetensors", append(binary.LittleEndian.AppendUint64(nil, 2), "{}HIDDEN-PAYLOAD"...), nil, outcome{Verdict: 1, Findings: []string{"high m.safetensors@10"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.file, tc.data, tc.lim)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"README.md":               []byte("# model\n"),
		".gitattributes":          []byte("*.bin filter=lfs\n"),
		"config.json":             []byte(`{"model_type": "bert"}`),
		"tokenizer.json":          []byte(`{"version": "1.0"}`),
		"vocab.txt":               []byte("[PAD]\n[unused0]\n"),
		"tokenizer.model":         append([]byte{0x0a, 0x0b, 0x0a, 0x05}, "<unk>\x15\x00\x00\x00\x00\x18\x02"...),
		"pytorch_model.bin":       zipOf(t, zm{"archive/data.pkl", benignPickle, zip.Store}),
		"training_args.bin":       evilPickle,
		".git/objects/ab/cdef":    {0x78, 0x01, 0xff, 0xfe},
		"modeling_custom.py":      []byte("import torch\n"),
		"sub/optimizer.pt":        legacyTorch(benignPickle),
		"assets/blob.dat.unknown": {0x00, 0x01, 0x02, 0x03},
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Scan(context.Background(), dir, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Severity.String()+" "+f.Location)
	}
	for _, n := range rep.NotVerified {
		got = append(got, "unread "+n.Location)
	}
	want := []string{"critical training_args.bin@28", "low modeling_custom.py", "unread assets/blob.dat.unknown"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if rep.FilesScanned != len(files)-1+1 { // .git skipped; one zip member counted
		t.Errorf("files scanned = %d", rep.FilesScanned)
	}
	if _, err := Scan(context.Background(), filepath.Join(dir, "missing"), DefaultOptions()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing path: err = %v", err)
	}
}
