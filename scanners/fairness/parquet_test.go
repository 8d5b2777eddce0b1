package fairness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func writeParquet[T any](t *testing.T, rows []T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestParquetEdges(t *testing.T) {
	type rep struct {
		Y    bool     `parquet:"y"`
		Yhat bool     `parquet:"yhat"`
		Tags []string `parquet:"tags"`
		G    *string  `parquet:"g,optional"`
	}
	a := "A"
	p := writeParquet(t, []rep{{true, true, []string{"x"}, &a}, {false, true, []string{"x", "y"}, nil}})
	o := Options{Label: "y", Prediction: "yhat", Positive: "true", Groups: []string{"tags"}, MinGroupSize: 1}
	if _, err := Scan(context.Background(), p, o); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "repeated") {
		t.Errorf("repeated column: %v", err)
	}
	o.Groups = []string{"g"}
	ev, err := Scan(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	g := grouping(t, ev, "g")
	if group(t, g, "A").TP != 1 || group(t, g, MissingGroup).FP != 1 {
		t.Errorf("optional column with a null: %+v", g.Groups)
	}
	o.Groups = []string{"region"}
	if _, err := Scan(context.Background(), p, o); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), `no group column "region"`) {
		t.Errorf("unknown column: %v", err)
	}
}
