package keras

import "testing"

// FuzzKerasConfig: any bytes are judged or reported not verified, never a
// panic; findings stay bounded.
func FuzzKerasConfig(f *testing.F) {
	f.Add([]byte(seq(input3, dense3, lambda3, lambdaFn, custom3, tfop, evalFn)))
	f.Add([]byte(`{"model_config":"{\"class_name\":\"Lambda\",\"config\":{\"function\":[\"x\"]}}"}`))
	f.Add([]byte(`[[[[{"class_name":"Lambda"}]]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := ScanConfig(data, "c")
		if len(res.Findings) > maxFindings+1 {
			t.Fatalf("%d findings", len(res.Findings))
		}
	})
}
