package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/protowire"
	"github.com/google/go-cmp/cmp"
	pw "google.golang.org/protobuf/encoding/protowire"
)

func protowireNum(n int) pw.Number { return pw.Number(n) }

func input(b []byte, dir string) finding.Input {
	return finding.Input{R: bytes.NewReader(b), Size: int64(len(b)), Location: "m.onnx", Dir: dir, Limits: finding.DefaultLimits()}
}

func summary(res finding.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Severity.String()+" "+f.Location)
	}
	for _, n := range res.NotVerified {
		out = append(out, "not verified "+n.Location)
	}
	return out
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "weights.bin"), make([]byte, 8), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link.bin")))
	must(t, os.Symlink(outside, filepath.Join(dir, "linkdir")))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "w.bin"), make([]byte, 8), 0o644))

	relu := nodeField(node("relu1", "Relu", ""))
	tests := []struct {
		name    string
		file    []byte
		dir     string
		want    []string
		wantErr bool
	}{
		{name: "valid", file: model(graph(relu, initializer("w", make([]byte, 64))))},
		{name: "ml and microsoft-free domains", file: model(graph(relu, nodeField(node("lin", "LinearRegressor", "ai.onnx.ml"))))},
		{name: "external data present", file: model(graph(relu, externalInit("w", "weights.bin"), externalInit("v", "sub/w.bin"))), dir: dir},
		{name: "custom domain", file: model(graph(relu, nodeField(node("evil", "Exec", "com.attacker")), nodeField(node("evil2", "Exec", "com.attacker")))),
			want: []string{"medium m.onnx#evil"}},
		{name: "microsoft contrib", file: model(graph(nodeField(node("attn", "Attention", "com.microsoft")))),
			want: []string{"low m.onnx#attn"}},
		{name: "model-local function", file: model(graph(nodeField(node("call", "MyGelu", "custom.fn"))),
			function("custom.fn", "MyGelu", node("inner", "Tanh", "")))},
		{name: "custom op inside a function", file: model(graph(nodeField(node("call", "F", "local"))),
			function("local", "F", node("inner", "Evil", "org.bad"))),
			want: []string{"medium m.onnx#inner"}},
		{name: "custom op in an If branch", file: model(graph(nodeField(node("if1", "If", "", graphAttr("then_branch", graph(nodeField(node("deep", "Run", "x.y")))))))),
			want: []string{"medium m.onnx#deep"}},
		{name: "external absolute", file: model(graph(externalInit("w", "/etc/passwd"))),
			want: []string{"critical m.onnx#w"}},
		{name: "external windows absolute", file: model(graph(externalInit("w", `C:\Windows\win.ini`))),
			want: []string{"critical m.onnx#w"}},
		{name: "external dotdot", file: model(graph(externalInit("w", "../../home/u/.ssh/id_rsa"))),
			want: []string{"critical m.onnx#w"}},
		{name: "external dotdot backslash", file: model(graph(externalInit("w", `sub\..\..\x`))),
			want: []string{"critical m.onnx#w"}},
		{name: "external in nested graph", file: model(graph(nodeField(node("loop", "Loop", "", graphAttr("body", graph(externalInit("bw", "/proc/self/environ"))))))),
			want: []string{"critical m.onnx#bw"}},
		{name: "external symlink file", file: model(graph(externalInit("w", "link.bin"))), dir: dir,
			want: []string{"high m.onnx#w"}},
		{name: "external through symlinked folder", file: model(graph(externalInit("w", "linkdir/secret"))), dir: dir,
			want: []string{"high m.onnx#w"}},
		{name: "external missing", file: model(graph(externalInit("w", "gone.bin"))), dir: dir,
			want: []string{"not verified m.onnx#w"}},
		{name: "external in archive not checked for presence", file: model(graph(externalInit("w", "gone.bin")))},
		{name: "external location empty", file: model(graph(externalInit("w", ""))), want: []string{"medium m.onnx#w"}},
		{name: "same external file once", file: model(graph(externalInit("a", "/x"), externalInit("b", "/x"))), want: []string{"critical m.onnx#a"}},
		{name: "no graph", file: varint(nil, 1, 8), wantErr: true},
		{name: "truncated", file: model(graph(relu))[:20], wantErr: true},
		{name: "garbage", file: []byte{0xff, 0xff, 0xff}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(input(tc.file, tc.dir))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v does not wrap ErrMalformed", err)
			}
			if diff := cmp.Diff(tc.want, summary(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, res)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	g := graph(externalInit("deepest", "/etc/shadow"))
	for range maxGraphDepth + 3 {
		g = graph(nodeField(node("n", "If", "", graphAttr("then_branch", g))))
	}
	res, err := Scan(input(model(g), ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.NotVerified) != 1 || len(res.Findings) != 0 {
		t.Fatalf("want one not-verified record for the too-deep graph, got %+v", res)
	}
}

func TestDetect(t *testing.T) {
	saved := protowire.AppendBytesField(protowire.AppendVarintField(nil, 1, 1), 2, str(nil, 1, "meta"))
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"model", model(graph(nodeField(node("a", "Relu", "")))), true},
		{"model truncated head", model(graph(nodeField(node("a", "Relu", ""))))[:12], true},
		{"savedmodel", saved, false},
		{"text", []byte("hello world, this is text"), false},
		{"pickle", []byte{0x80, 0x02, 'c', 'o', 's'}, false},
	}
	for _, tc := range tests {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
