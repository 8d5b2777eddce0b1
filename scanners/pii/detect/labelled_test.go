package detect

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestLabelled runs the recognizers over testdata/labelled.tsv (column,
// value, expected entities) and asserts precision 1.0 (no decoy or wrong
// entity reported) and recall 1.0 on this set.
func TestLabelled(t *testing.T) {
	f, err := os.Open("testdata/labelled.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tp, fp, fn int
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			t.Fatalf("labelled.tsv:%d: want 3 tab-separated fields, got %d", line, len(parts))
		}
		var want []string
		if parts[2] != "-" {
			want = strings.Split(parts[2], ",")
		}
		var got []string
		for _, m := range Scan(nil, []byte(parts[1]), ColumnContext(parts[0])) {
			got = append(got, m.Entity.String())
		}
		for _, g := range got {
			if k := slices.Index(want, g); k >= 0 {
				tp++
				want = slices.Delete(want, k, k+1)
			} else {
				fp++
				t.Errorf("labelled.tsv:%d: false positive %s in column %q value %q", line, g, parts[0], parts[1])
			}
		}
		for _, w := range want {
			fn++
			t.Errorf("labelled.tsv:%d: missed %s in column %q value %q", line, w, parts[0], parts[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if tp == 0 {
		t.Fatal("no positives in labelled.tsv")
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("labelled set: %d true positives, %d false positives, %d missed: precision %.3f, recall %.3f", tp, fp, fn, precision, recall)
	if precision != 1 || recall != 1 {
		t.Errorf("precision %.3f, recall %.3f: want 1.0 and 1.0", precision, recall)
	}
}
