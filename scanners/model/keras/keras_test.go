package keras

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

type got struct {
	Sev, Loc, Module, Name string
}

func summary(res finding.Result) []got {
	var out []got
	for _, f := range res.Findings {
		out = append(out, got{f.Severity.String(), f.Location, f.Module, f.Name})
	}
	return out
}

// Keras 3 config.json fragments.
const (
	dense3   = `{"module":"keras.layers","class_name":"Dense","config":{"name":"dense","units":2,"activation":"relu"},"registered_name":null,"build_config":{"input_shape":[null,4]}}`
	input3   = `{"module":"keras.layers","class_name":"InputLayer","config":{"batch_shape":[null,4],"name":"input"},"registered_name":null}`
	lambda3  = `{"module":"keras.layers","class_name":"Lambda","config":{"name":"evil","function":{"class_name":"__lambda__","config":{"code":"4wEAAAAA","defaults":null,"closure":null}},"output_shape":null},"registered_name":null}`
	lambdaFn = `{"module":"keras.layers","class_name":"Lambda","config":{"name":"callfn","function":{"module":"mypkg.ops","class_name":"function","config":"shout","registered_name":"function"}},"registered_name":null}`
	custom3  = `{"module":"mypkg.layers","class_name":"Attention","config":{"name":"attn"},"registered_name":"mypkg>Attention"}`
	tfop     = `{"module":"keras.layers","class_name":"TFOpLambda","config":{"name":"tf.math.add","function":"math.add"},"registered_name":null}`
	evalFn   = `{"module":"keras.layers","class_name":"Dense","config":{"name":"d2","activation":{"module":"builtins","class_name":"function","config":"eval","registered_name":"function"}},"registered_name":null}`
)

func seq(layers ...string) string {
	return `{"module":"keras","class_name":"Sequential","config":{"name":"seq","trainable":true,"dtype":{"module":"keras","class_name":"DTypePolicy","config":{"name":"float32"},"registered_name":null},"layers":[` +
		strings.Join(layers, ",") + `]},"registered_name":null,"compile_config":{"optimizer":{"module":"keras.optimizers","class_name":"Adam","config":{"name":"adam"},"registered_name":null},"loss":"mse"}}`
}

func TestScanConfig(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   []got
		wantNV int
	}{
		{name: "clean", config: seq(input3, dense3)},
		{name: "keras 3 lambda", config: seq(input3, lambda3), want: []got{{"high", "config.json#evil", "", "<lambda>"}}},
		{name: "lambda calling a function", config: seq(lambdaFn), want: []got{{"high", "config.json#callfn", "mypkg.ops", "shout"}}},
		{name: "custom object", config: seq(dense3, custom3), want: []got{{"medium", "config.json#attn", "mypkg.layers", "Attention"}}},
		{name: "TFOpLambda", config: seq(tfop), want: []got{{"low", "config.json#tf.math.add", "tensorflow", "math.add"}}},
		{name: "builtins eval as activation", config: seq(evalFn), want: []got{{"critical", "config.json#d2", "builtins", "eval"}}},
		{name: "nested functional model", config: `{"module":"keras","class_name":"Functional","config":{"name":"outer","layers":[{"module":"keras","class_name":"Sequential","config":{"name":"inner","layers":[` + lambda3 + `]},"registered_name":null}]},"registered_name":null}`,
			want: []got{{"high", "config.json#evil", "", "<lambda>"}}},
		{name: "keras 2 lambda", config: `{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Lambda","config":{"name":"l1","function":["4wEAAAAA",null,null],"function_type":"lambda","module":"__main__"}}]}}`,
			want: []got{{"high", "config.json#l1", "__main__", "<lambda>"}}},
		{name: "keras 2 raw function lambda", config: `{"class_name":"Model","config":{"name":"m","layers":[{"class_name":"Lambda","config":{"name":"l2","function":"system","function_type":"raw","module":"os"}}]}}`,
			want: []got{{"high", "config.json#l2", "os", "system"}}},
		{name: "model_config wrapper", config: `{"model_config":` + seq(lambda3) + `}`, want: []got{{"high", "config.json#evil", "", "<lambda>"}}},
		{name: "model_config as string", config: `{"model_config":"{\"class_name\":\"Lambda\",\"config\":{\"name\":\"s\",\"function\":[\"x\"]}}"}`,
			want: []got{{"high", "config.json#s", "", "<lambda>"}}},
		{name: "not JSON", config: `{"class_name":`, wantNV: 1},
		{name: "too deep", config: strings.Repeat("[", 200) + strings.Repeat("]", 200), wantNV: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := ScanConfig([]byte(tc.config), "config.json")
			if diff := cmp.Diff(tc.want, summary(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, res.Findings)
			}
			if len(res.NotVerified) != tc.wantNV {
				t.Errorf("not verified = %+v, want %d", res.NotVerified, tc.wantNV)
			}
		})
	}
}

// TestScanH5 uses the h5py-written fixtures of the hdf5 package.
func TestScanH5(t *testing.T) {
	dir := filepath.Join("..", "hdf5", "testdata")
	tests := []struct {
		file   string
		want   []got
		wantNV int
	}{
		{"keras2_clean.h5", nil, 0},
		{"keras2_lambda.h5", []got{{"high", "m.h5#evil", "__main__", "<lambda>"}}, 0},
		{"keras2_lambda_latest.h5", []got{{"high", "m.h5#evil", "__main__", "<lambda>"}}, 0},
		{"keras2_lambda_userblock.h5", []got{{"high", "m.h5#evil", "__main__", "<lambda>"}}, 0},
		{"vlen_config_latest.h5", []got{{"high", "m.h5#evil", "__main__", "<lambda>"}}, 0},
		{"dense_attrs.h5", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := ScanH5(finding.Input{R: bytes.NewReader(b), Size: int64(len(b)), Location: "m.h5", Limits: finding.DefaultLimits()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summary(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if len(res.NotVerified) != tc.wantNV {
				t.Errorf("not verified = %+v, want %d", res.NotVerified, tc.wantNV)
			}
		})
	}
	if _, err := ScanH5(finding.Input{R: bytes.NewReader([]byte("junk")), Size: 4, Location: "x"}); err == nil {
		t.Error("ScanH5 of junk: want an error")
	}
}
