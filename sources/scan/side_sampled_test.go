package scan

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/sources"
)

// sampledTree hands out every file as opened sampled (its first n bytes),
// as a gs:// tree with SamplePerObject does.
type sampledTree struct {
	sources.Tree
	n int64
}

func (t sampledTree) Walk(ctx context.Context, fn func(context.Context, *sources.File) error) error {
	return t.Tree.Walk(ctx, func(ctx context.Context, f *sources.File) error {
		s := f.WithContent(func(ctx context.Context) (io.ReadCloser, error) {
			rc, err := f.Open(ctx)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(rc, t.n), rc}, nil
		})
		s.Sampled, s.SampleBytes = true, t.n
		return fn(ctx, s)
	})
}

// A side file that arrives sampled is never copied in part: it is an
// error for the collectors that read it, and the walk's callback still
// gets the sample.
func TestSideTreeRefusesSampled(t *testing.T) {
	tree, err := sources.Open(context.Background(), writeTree(t, map[string][]byte{
		"LICENSE":  []byte(strings.Repeat("MIT License ", 20)),
		"data.csv": []byte("a,b\n1,2\n"),
	}), sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewSideTree(sampledTree{Tree: tree, n: 16}, t.TempDir(), sideMatch, SideLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	got := map[string]int{}
	err = st.Walk(context.Background(), func(ctx context.Context, f *sources.File) error {
		rc, err := f.Open(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		mu.Lock()
		got[f.Path] = len(b)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	side := st.Side()
	if len(side.Files) != 0 {
		t.Errorf("copied %v, want nothing", side.Files)
	}
	if e := side.Errors["LICENSE"]; !errors.Is(e, ErrSideFile) || !errors.Is(e, sources.ErrLimit) || !strings.Contains(e.Error(), "sampled") {
		t.Errorf("LICENSE error %v, want a sampled side file refused", e)
	}
	if got["LICENSE"] != 16 {
		t.Errorf("the callback read %d bytes of LICENSE, want the 16-byte sample", got["LICENSE"])
	}
}
