package hdf5

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// FuzzHDF5: any input reads or fails without a panic, within its limits.
func FuzzHDF5(f *testing.F) {
	f.Add((&h5{sbVersion: 0, attrs: []attr{{name: "model_config", value: "{}"}, {name: "k", value: "v", vlen: true}}, continued: true}).bytes())
	f.Add((&h5{sbVersion: 2, attrVersion: 3, attrs: []attr{{name: "k", value: "v", vlen: true}}, continued: true}).bytes())
	files, _ := filepath.Glob("testdata/*.h5")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
			f.Add(b[:len(b)/2]) // shorter than its superblock's end-of-file address
		}
	}
	lim := finding.DefaultLimits()
	lim.MaxHeaderBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadRoot(bytesReader(data), int64(len(data)), lim)
		Detect(data)
	})
}
