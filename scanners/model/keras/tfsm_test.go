package keras

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

func TestTFSMLayerAndUTF8(t *testing.T) {
	layer := func(path string) string {
		return `{"class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "t", "filepath": "` + path + `"}}]}}`
	}
	for _, p := range []string{"/opt/m", "../m", "gs://b/m", "m", `C:\\m`} {
		res := ScanConfig([]byte(layer(p)), "config.json")
		if len(res.Findings) != 1 || res.Findings[0].Severity != finding.High || !strings.Contains(res.Findings[0].Reason, "TFSMLayer") {
			t.Errorf("%s: %+v", p, res.Findings)
		}
	}
	bad := []byte(`{"class_name": "Dense", "config": {"name": "d` + "\xff" + `"}}`)
	res := ScanConfig(bad, "config.json")
	if len(res.NotVerified) != 1 || !strings.Contains(res.NotVerified[0].Reason, "UTF-8") {
		t.Fatalf("invalid UTF-8: %+v", res)
	}
}
