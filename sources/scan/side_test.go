package scan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/sources"
)

func sideMatch(p string) bool {
	n := strings.ToLower(filepath.Base(p))
	return !strings.Contains(p, "/") && (strings.HasPrefix(n, "license") || strings.HasPrefix(n, "readme") || strings.HasPrefix(n, "predictions"))
}

// walkSide wraps a local tree of files and walks it, returning what the
// callback read for each path and the side files.
func walkSide(t *testing.T, files map[string][]byte, lim SideLimits) (map[string][]byte, Side, error) {
	t.Helper()
	tree, err := sources.Open(context.Background(), writeTree(t, files), sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := NewSideTree(tree, dir, sideMatch, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	read := map[string][]byte{}
	err = st.Walk(context.Background(), func(ctx context.Context, f *sources.File) error {
		rc, err := f.Open(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		mu.Lock()
		read[f.Path] = b
		mu.Unlock()
		return nil
	})
	return read, st.Side(), err
}

func TestSideTreeCopiesSideFiles(t *testing.T) {
	files := map[string][]byte{
		"LICENSE":           []byte("MIT License\n"),
		"README.md":         []byte("# card\n"),
		"predictions.csv":   []byte("label,prediction\n1,1\n"),
		"model.safetensors": bytes.Repeat([]byte{1}, 100),
		"sub/LICENSE":       []byte("not a side file: not at the top\n"),
	}
	read, side, err := walkSide(t, files, SideLimits{})
	if err != nil {
		t.Fatal(err)
	}
	// The callback reads every file, side or not, with its own bytes.
	if diff := cmp.Diff(files, read); diff != "" {
		t.Errorf("callback read (-want +got):\n%s", diff)
	}
	if len(side.Errors) != 0 {
		t.Errorf("errors: %v", side.Errors)
	}
	var copied []string
	for p := range side.Files {
		copied = append(copied, p)
	}
	if diff := cmp.Diff([]string{"LICENSE", "README.md", "predictions.csv"}, copied, cmpSorted); diff != "" {
		t.Errorf("copied (-want +got):\n%s", diff)
	}
	for _, p := range copied {
		b, err := os.ReadFile(filepath.Join(side.Dir, p))
		if err != nil || !bytes.Equal(b, files[p]) {
			t.Errorf("copy of %s: %q, %v; want %q", p, b, err, files[p])
		}
		fi, err := os.Stat(filepath.Join(side.Dir, p))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("copy of %s: mode %v, %v; want 0600", p, fi.Mode(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(side.Dir, "model.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file that is no side file was copied (%v)", err)
	}
	if o := side.Origins(func(p string) bool { return p == "LICENSE" }); len(o) != 1 || o[0].Path != "LICENSE" {
		t.Errorf("origins %+v, want LICENSE only", o)
	}
}

var cmpSorted = cmp.Options{cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()}

func TestSideTreeLimits(t *testing.T) {
	files := map[string][]byte{
		"LICENSE":         bytes.Repeat([]byte("a"), 10),
		"README.md":       bytes.Repeat([]byte("b"), 30),
		"predictions.csv": bytes.Repeat([]byte("c"), 20),
		"model.bin":       bytes.Repeat([]byte("d"), 1000),
	}
	tests := []struct {
		name   string
		lim    SideLimits
		failed []string // side files not copied
	}{
		{"per file", SideLimits{MaxFileBytes: 25}, []string{"README.md"}},
		{"exactly at the per-file limit", SideLimits{MaxFileBytes: 30}, nil},
		{"count", SideLimits{MaxFiles: 2}, nil}, // one of three fails; which depends on order
		{"total", SideLimits{MaxTotalBytes: 45}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			read, side, err := walkSide(t, files, tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			// Over a limit or not, the scanner still reads every file whole.
			if diff := cmp.Diff(files, read); diff != "" {
				t.Errorf("callback read (-want +got):\n%s", diff)
			}
			var failed []string
			for p, e := range side.Errors {
				failed = append(failed, p)
				if !errors.Is(e, ErrSideFile) || !errors.Is(e, sources.ErrLimit) || !strings.Contains(e.Error(), p) {
					t.Errorf("%s: error %v, want ErrSideFile and ErrLimit naming the file", p, e)
				}
				if _, ok := side.Files[p]; ok {
					t.Errorf("%s is both copied and failed", p)
				}
				if _, err := os.Stat(filepath.Join(side.Dir, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s over a limit is in the folder (%v)", p, err)
				}
			}
			switch tc.name {
			case "count", "total":
				if len(failed) != 1 || len(side.Files) != 2 {
					t.Errorf("failed %v, copied %d: want one failed, two copied", failed, len(side.Files))
				}
			default:
				if diff := cmp.Diff(tc.failed, failed, cmpSorted); diff != "" {
					t.Errorf("failed (-want +got):\n%s", diff)
				}
			}
			keep := func(p string) bool { return p == "README.md" }
			if got := side.FirstError(keep); (got != nil) != (tc.name == "per file") {
				t.Errorf("FirstError(README.md) = %v", got)
			}
		})
	}
}

// A link named like a side file is never followed: an error for the
// collectors that read it, and the model scanner still lists it.
func TestSideTreeLinks(t *testing.T) {
	dir := writeTree(t, map[string][]byte{"notes.txt": []byte("x")})
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "LICENSE")); err != nil {
		t.Fatal(err)
	}
	tree, err := sources.Open(context.Background(), dir, sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewSideTree(tree, t.TempDir(), sideMatch, SideLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := Model(context.Background(), st, model.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.NotVerified) != 1 || !strings.HasPrefix(rep.NotVerified[0].Location, "LICENSE") {
		t.Errorf("model report not_verified %+v, want the link", rep.NotVerified)
	}
	side := st.Side()
	if e := side.Errors["LICENSE"]; e == nil || !strings.Contains(e.Error(), "not followed") {
		t.Errorf("LICENSE error %v, want a link not followed", e)
	}
	if len(side.Files) != 0 {
		t.Errorf("copied %v", side.Files)
	}
}

// duplicateTree hands out the same path twice, as two OCI layers can.
type duplicateTree struct{ sources.Tree }

func (d duplicateTree) Walk(ctx context.Context, fn func(context.Context, *sources.File) error) error {
	for range 2 {
		if err := d.Tree.Walk(ctx, fn); err != nil {
			return err
		}
	}
	return nil
}

func TestSideTreeDuplicatePath(t *testing.T) {
	tree, err := sources.Open(context.Background(), writeTree(t, map[string][]byte{"LICENSE": []byte("MIT")}), sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewSideTree(duplicateTree{tree}, t.TempDir(), sideMatch, SideLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	if err := st.Walk(context.Background(), func(context.Context, *sources.File) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	side := st.Side()
	if n != 2 || side.Errors["LICENSE"] == nil || len(side.Files) != 0 {
		t.Errorf("callback %d times, errors %v, files %v: want 2, LICENSE ambiguous, none copied", n, side.Errors, side.Files)
	}
}

// A failing walk is recorded for callers whose callback hid it.
func TestSideTreeWalkErr(t *testing.T) {
	want := errors.New("boom: " + sources.ErrIntegrity.Error())
	st, err := NewSideTree(fakeTree{want}, t.TempDir(), sideMatch, SideLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Walk(context.Background(), nil); err != want || st.WalkErr() != want {
		t.Errorf("Walk %v, WalkErr %v; want %v", err, st.WalkErr(), want)
	}
}
