package pickle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// FuzzPickleWalk: any input walks without panicking, within its limits,
// and the in-memory and ReaderAt paths agree.
func FuzzPickleWalk(f *testing.F) {
	for proto := 0; proto <= 5; proto++ {
		f.Add(payload(proto, "os", "system"))
	}
	f.Add(genPickle(200))
	f.Add([]byte("(lp0\nVa\np1\naVb\np2\na."))
	f.Add([]byte{opProto, 2, opExt1, 7, opEmptyTuple, opReduce, opStop})
	if files, _ := filepath.Glob("/work/shared/corpora/picklescan-data/*.pkl"); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	lim := finding.DefaultLimits()
	lim.MaxOpcodes = 100_000
	lim.MaxMemo = 10_000
	f.Fuzz(func(t *testing.T, data []byte) {
		res, sum := Scan(Bytes(data), 0, int64(len(data)), "f", lim)
		res2, sum2 := Scan(bytes.NewReader(data), 0, int64(len(data)), "f", lim)
		if sum != sum2 || len(res.Findings) != len(res2.Findings) || len(res.NotVerified) != len(res2.NotVerified) {
			t.Fatalf("memory and ReaderAt walks differ: %+v vs %+v", sum, sum2)
		}
		if sum.IsPickle && sum.Pickles == 0 {
			t.Fatal("IsPickle without a pickle")
		}
	})
}
