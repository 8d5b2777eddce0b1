package jinja

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzAnalyze: any template is judged or refused (ErrSyntax, ErrLimit)
// without a panic or an unbounded run.
func FuzzAnalyze(f *testing.F) {
	for _, s := range append(append([]string{}, hostileTemplates...), benignTemplates...) {
		f.Add(s)
	}
	files, _ := filepath.Glob("testdata/benign/*.jinja")
	for _, p := range files[:min(len(files), 4)] {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Analyze(src)
		if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrLimit) {
			t.Fatalf("error %v is neither ErrSyntax nor ErrLimit", err)
		}
	})
}
