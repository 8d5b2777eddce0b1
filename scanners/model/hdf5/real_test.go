package hdf5

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

// TestH5pyFixtures reads files written by libhdf5 (see testdata/README.md).
func TestH5pyFixtures(t *testing.T) {
	tests := []struct {
		file   string
		want   map[string]string // attribute -> first 20 bytes of its value
		wantNV int
	}{
		{"keras2_lambda.h5", map[string]string{"model_config": `{"class_name": "Sequ`, "keras_version": "2.15.0", "backend": "tensorflow"}, 0},
		{"keras2_clean.h5", map[string]string{"model_config": `{"class_name": "Sequ`, "keras_version": "2.15.0", "backend": "tensorflow"}, 0},
		{"keras2_lambda_latest.h5", map[string]string{"model_config": `{"class_name": "Sequ`, "keras_version": "2.15.0", "backend": "tensorflow"}, 0},
		{"keras2_lambda_userblock.h5", map[string]string{"model_config": `{"class_name": "Sequ`, "keras_version": "2.15.0", "backend": "tensorflow"}, 0},
		{"vlen_config_latest.h5", map[string]string{"model_config": `{"class_name": "Sequ`}, 0},
		{"dense_attrs.h5", map[string]string{}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := mustRead(t, filepath.Join("testdata", tc.file))
			root, err := ReadRoot(bytesReader(b), int64(len(b)), finding.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, a := range root.Attributes {
				if len(a.Values) == 1 {
					got[a.Name] = a.Values[0][:min(20, len(a.Values[0]))]
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			if len(root.NotVerified) != tc.wantNV {
				t.Errorf("not verified = %q, want %d", root.NotVerified, tc.wantNV)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
