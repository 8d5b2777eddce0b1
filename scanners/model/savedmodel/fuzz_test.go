package savedmodel

import (
	"bytes"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// FuzzSavedModel: any input is judged or rejected without a panic.
func FuzzSavedModel(f *testing.F) {
	f.Add(savedModel([][]byte{nodeDef("x", "Placeholder"), nodeDef("py", "PyFunc")}, tf2Saver()...))
	f.Add(savedModel([][]byte{nodeDef("save/SaveV2", "SaveV2")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _ := Scan(finding.Input{R: bytes.NewReader(data), Size: int64(len(data)), Location: "f", Limits: finding.DefaultLimits()})
		if len(res.Findings) > maxFindings+1 {
			t.Fatalf("%d findings", len(res.Findings))
		}
		Detect(data)
	})
}

// FuzzSavedModelText: any text is judged or rejected without a panic.
func FuzzSavedModelText(f *testing.F) {
	f.Add([]byte(textModel))
	f.Add([]byte("saved_model_schema_version: 1\nmeta_graphs { graph_def { node { name: \"save/SaveV2\" op: \"SaveV2\" input: \"c\" } node { name: \"c\" op: \"Const\" attr { key: \"value\" value { tensor { string_val: \"/etc/x\" } } } } } }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _ := ScanText(finding.Input{R: bytes.NewReader(data), Size: int64(len(data)), Location: "f", Limits: finding.DefaultLimits()})
		if len(res.Findings) > maxFindings+1 {
			t.Fatalf("%d findings", len(res.Findings))
		}
		DetectText(data)
	})
}
