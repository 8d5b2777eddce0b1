package scan

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/sources"
)

// BenchmarkSideTree: what teeing a side file to disk costs over reading it
// from the tree alone (a 64 MiB predictions.csv beside a 64 MiB model).
func BenchmarkSideTree(b *testing.B) {
	dir := b.TempDir()
	big := bytes.Repeat([]byte("0,1,a\n"), (64<<20)/6)
	for _, n := range []string{"predictions.csv", "model.bin"} {
		if err := os.WriteFile(filepath.Join(dir, n), big, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	read := func(ctx context.Context, f *sources.File) error {
		rc, err := f.Open(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	}
	for _, side := range []bool{false, true} {
		name := "plain"
		if side {
			name = "side"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(2 * len(big)))
			for b.Loop() {
				tree, err := sources.Open(context.Background(), dir, sources.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if side {
					st, err := NewSideTree(tree, b.TempDir(), sideMatch, SideLimits{})
					if err != nil {
						b.Fatal(err)
					}
					tree = st
				}
				if err := tree.Walk(context.Background(), read); err != nil {
					b.Fatal(err)
				}
				tree.Close()
			}
		})
	}
}
