package savedmodel

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/protowire"
	"github.com/google/go-cmp/cmp"
)

func input(b []byte) finding.Input {
	return finding.Input{R: bytes.NewReader(b), Size: int64(len(b)), Location: "saved_model.pb", Limits: finding.DefaultLimits()}
}

func summary(res finding.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Severity.String()+" "+f.Location)
	}
	return out
}

func TestScan(t *testing.T) {
	plain := [][]byte{nodeDef("x", "Placeholder"), nodeDef("dense/MatMul", "MatMul"), nodeDef("ReadVariableOp", "ReadVariableOp")}
	tf1Saver := [][]byte{nodeDef("save/SaveV2", "SaveV2"), nodeDef("save/RestoreV2", "RestoreV2"), nodeDef("save_1/RestoreV2", "RestoreV2"), nodeDef("save/MergeV2Checkpoints", "MergeV2Checkpoints")}
	tests := []struct {
		name    string
		file    []byte
		want    []string
		wantErr bool
	}{
		{name: "tf2 model with saver", file: savedModel(plain, tf2Saver()...)},
		{name: "tf1 model with saver", file: savedModel(append(plain, tf1Saver...))},
		{name: "pyfunc in graph", file: savedModel(append(plain, nodeDef("py", "PyFunc"))), want: []string{"critical saved_model.pb#py"}},
		{name: "eager pyfunc in function", file: savedModel(plain, function("__inference_call_7", nodeDef("cb", "EagerPyFunc"))),
			want: []string{"critical saved_model.pb#__inference_call_7/cb"}},
		{name: "shell execute", file: savedModel([][]byte{nodeDef("sh", "ShellExecute")}), want: []string{"critical saved_model.pb#sh"}},
		{name: "read and write files", file: savedModel([][]byte{nodeDef("r", "ReadFile"), nodeDef("w", "WriteFile"), nodeDef("m", "MatchingFiles")}),
			want: []string{"high saved_model.pb#r", "high saved_model.pb#w", "high saved_model.pb#m"}},
		{name: "read file inside the saver is still high", file: savedModel(nil, function("__inference__traced_save_1", nodeDef("r", "ReadFile"))),
			want: []string{"high saved_model.pb#__inference__traced_save_1/r"}},
		{name: "save outside saver", file: savedModel([][]byte{nodeDef("exfil/SaveV2", "SaveV2")}), want: []string{"high saved_model.pb#exfil/SaveV2"}},
		{name: "restore in a serving function", file: savedModel(nil, function("__inference_serving_default_1", nodeDef("RestoreV2", "RestoreV2"))),
			want: []string{"high saved_model.pb#__inference_serving_default_1/RestoreV2"}},
		{name: "print is low", file: savedModel([][]byte{nodeDef("p", "PrintV2")}), want: []string{"low saved_model.pb#p"}},
		{name: "file reader is medium", file: savedModel([][]byte{nodeDef("t", "InitializeTableFromTextFileV2")}), want: []string{"medium saved_model.pb#t"}},
		{name: "no graph", file: protowire.AppendVarintField(nil, 1, 1), wantErr: true},
		{name: "truncated", file: savedModel(plain)[:30], wantErr: true},
		{name: "garbage", file: []byte{0x0f, 0xff}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(input(tc.file))
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

func TestDetect(t *testing.T) {
	onnxHead := protowire.AppendBytesField(protowire.AppendVarintField(nil, 1, 8), 2, []byte("pytorch"))
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"savedmodel", savedModel([][]byte{nodeDef("a", "Const")}), true},
		{"savedmodel head only", savedModel([][]byte{nodeDef("a", "Const")})[:6], true},
		{"onnx", onnxHead, false},
		{"text", []byte("some text"), false},
		{"schema version 2", protowire.AppendBytesField(protowire.AppendVarintField(nil, 1, 2), 2, []byte{0x0a, 0}), false},
	}
	for _, tc := range tests {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}
