package onnx

import (
	"bytes"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// FuzzONNX: any input is judged or rejected without a panic.
func FuzzONNX(f *testing.F) {
	f.Add(model(graph(nodeField(node("relu1", "Relu", "")), initializer("w", make([]byte, 16)))))
	f.Add(model(graph(nodeField(node("if1", "If", "", graphAttr("then_branch", graph(externalInit("w", "../x"))))))))
	f.Add(model(graph(nodeField(node("call", "F", "local"))), function("local", "F", node("inner", "Evil", "org.bad"))))
	// Cut between fields: no opset_import.
	whole := model(graph(nodeField(node("relu1", "Relu", ""))))
	f.Add(whole[:bytes.LastIndexByte(whole, byte(modelOpset<<3|2))])
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _ := Scan(finding.Input{R: bytes.NewReader(data), Size: int64(len(data)), Location: "f", Limits: finding.DefaultLimits()})
		if len(res.Findings) > maxFindings+1 {
			t.Fatalf("%d findings", len(res.Findings))
		}
		Detect(data)
	})
}
