package tabular

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// ctx is the context of tests that do not cancel.
var ctx = context.Background()

type cell struct {
	Col, Val string
}

func collect(cols *Columns) (*[]cell, Handler) {
	var got []cell
	return &got, Handler{Value: func(c int, v []byte) {
		got = append(got, cell{cols.Names()[c], string(v)})
	}}
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		sep  byte
		want []cell
		rows int64
	}{
		{"plain", "name,email\nAda,ada@x.org\nBob,bob@y.org\n", ',', []cell{{"name", "Ada"}, {"email", "ada@x.org"}, {"name", "Bob"}, {"email", "bob@y.org"}}, 2},
		{"crlf and no final newline", "a,b\r\n1,2\r\n3,4", ',', []cell{{"a", "1"}, {"b", "2"}, {"a", "3"}, {"b", "4"}}, 2},
		{"quoted separators and quotes", "a,b\n\"x, y\",\"say \"\"hi\"\"\"\n", ',', []cell{{"a", "x, y"}, {"b", `say "hi"`}}, 1},
		{"newline in quoted field", "a,b\n\"line1\nline2\",z\n", ',', []cell{{"a", "line1\nline2"}, {"b", "z"}}, 1},
		{"literal quote in unquoted field", "a\nab\"c\n", ',', []cell{{"a", `ab"c`}}, 1},
		{"tsv", "a\tb\n1,5\t2\n", '\t', []cell{{"a", "1,5"}, {"b", "2"}}, 1},
		{"extra fields get names", "a\n1,2\n", ',', []cell{{"a", "1"}, {"column_2", "2"}}, 1},
		{"empty header name and BOM", "\xef\xbb\xbfa,\n1,2\n", ',', []cell{{"a", "1"}, {"column_2", "2"}}, 1},
		{"blank lines skipped, empty fields too", "a,b\n\n,2\n", ',', []cell{{"b", "2"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cols Columns
			got, h := collect(&cols)
			rows, err := CSV(ctx, strings.NewReader(tt.in), tt.sep, Limits{}, &cols, h)
			if err != nil {
				t.Fatal(err)
			}
			if rows != tt.rows {
				t.Errorf("rows = %d, want %d", rows, tt.rows)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCSVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		lim      Limits
		want     string
		limit    bool
	}{
		{"unterminated quote", "a\n\"abc\n", Limits{}, "record at line 2: quoted field not closed", false},
		{"long line", "a\n" + strings.Repeat("x", 100) + "\n", Limits{MaxRecordBytes: 50}, "line 2: line longer than 50 bytes", true},
		{"long quoted record", "a\n\"" + strings.Repeat("x\n", 40) + "\"\n", Limits{MaxRecordBytes: 50}, "record longer than 50 bytes", true},
		{"too many columns", "a,b,c\n", Limits{MaxColumns: 2}, "header: more than 2 columns", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cols Columns
			_, err := CSV(ctx, strings.NewReader(tt.in), ',', tt.lim, &cols, Handler{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, ErrLimit) != tt.limit {
				t.Errorf("errors.Is(err, ErrLimit) = %v, want %v", !tt.limit, tt.limit)
			}
		})
	}
}

func TestCSVRowStops(t *testing.T) {
	var cols Columns
	n := 0
	rows, err := CSV(ctx, strings.NewReader("a\n1\n2\n3\n4\n"), ',', Limits{}, &cols, Handler{Row: func() bool { n++; return n < 2 }})
	if err != nil || rows != 2 {
		t.Fatalf("rows, err = %d, %v; want 2, nil", rows, err)
	}
}

func TestJSONL(t *testing.T) {
	in := `{"user":{"email":"a@b.org","age":41},"tags":["x","y"],"ok":true,"n":null}

"just a string"
{"phone": 5551234567}
`
	var cols Columns
	got, h := collect(&cols)
	var raws int
	rows, err := JSONL(ctx, strings.NewReader(in), Limits{}, &cols, h, func([]byte) { raws++ })
	if err != nil {
		t.Fatal(err)
	}
	want := []cell{{"tags[]", "x"}, {"tags[]", "y"}, {"user.age", "41"}, {"user.email", "a@b.org"}, {"$", "just a string"}, {"phone", "5551234567"}}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
	if rows != 3 || raws != 3 {
		t.Errorf("rows %d raws %d, want 3 3", rows, raws)
	}
}

func TestJSONLErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		lim            Limits
	}{
		{"bad json", "{\"a\":1}\n{\"a\":\n", "line 2: not valid JSON", Limits{}},
		{"two values", `{"a":1} {"b":2}`, "line 1: more than one JSON value", Limits{}},
		{"deep", strings.Repeat("[", 70) + strings.Repeat("]", 70), "line 1: JSON nested deeper than 64", Limits{}},
		{"deep with brackets in strings", `{"a":"[[[[[[","b":[[1]]}`, "nested deeper than 2", Limits{MaxDepth: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cols Columns
			_, err := JSONL(ctx, strings.NewReader(tt.in), tt.lim, &cols, Handler{Value: func(int, []byte) {}}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestJSONDocument(t *testing.T) {
	var cols Columns
	got, h := collect(&cols)
	rows, err := JSONDocument(ctx, []byte(`[{"email":"a@b.org"},{"email":"c@d.org","x":{"y":"z"}}]`), Limits{}, &cols, h)
	if err != nil {
		t.Fatal(err)
	}
	want := []cell{{"email", "a@b.org"}, {"email", "c@d.org"}, {"x.y", "z"}}
	if diff := cmp.Diff(want, *got); diff != "" || rows != 2 {
		t.Errorf("rows %d; cells (-want +got):\n%s", rows, diff)
	}
}

func TestText(t *testing.T) {
	var got []string
	lines, err := Text(ctx, strings.NewReader("one\r\n\ntwo\n"+strings.Repeat("z", 30)), Limits{MaxRecordBytes: 16},
		Handler{Value: func(_ int, v []byte) { got = append(got, string(v)) }})
	if err != nil {
		t.Fatal(err)
	}
	if lines != 4 || len(got) < 3 || got[0] != "one" || got[1] != "two" || !strings.HasPrefix(got[2], "zzzz") {
		t.Errorf("lines %d got %q", lines, got)
	}
}

type prow struct {
	Name  string `parquet:"name"`
	Phone int64  `parquet:"phone"`
	Score float64
	Email string `parquet:"email,optional"`
}

func TestParquet(t *testing.T) {
	var buf bytes.Buffer
	in := []prow{{"Ada Lovelace", 2025550143, 0.5, "ada@example.org"}, {"Bob", 2025550199, 1, ""}, {"Cy", 7, 2, "cy@example.org"}}
	if err := parquet.Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		max  int64
		rows int64
		want []cell
	}{
		{0, 3, []cell{{"name", "Ada Lovelace"}, {"name", "Bob"}, {"name", "Cy"}, {"phone", "2025550143"}, {"phone", "2025550199"}, {"phone", "7"}, {"email", "ada@example.org"}, {"email", "cy@example.org"}}},
		{1, 1, []cell{{"name", "Ada Lovelace"}, {"phone", "2025550143"}, {"email", "ada@example.org"}}},
	} {
		var cols Columns
		got, h := collect(&cols)
		rows, err := Parquet(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), tt.max, Limits{}, &cols, h)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" || rows != tt.rows {
			t.Errorf("max %d: rows %d; cells (-want +got):\n%s", tt.max, rows, diff)
		}
	}
	var cols Columns
	if _, err := Parquet(ctx, bytes.NewReader([]byte("PAR1 not really PAR1")), 20, 0, Limits{}, &cols, Handler{}); err == nil {
		t.Error("corrupt file: no error")
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\n\"x\"\"y\",\"\n\"\n", "\"", "a\n\"abc", ",,,\n,,\n", "a\tb\n\r\n", "\xef\xbb\xbf\n\"\"\"\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var cols Columns
		rows, err := CSV(ctx, strings.NewReader(in), ',', Limits{MaxRecordBytes: 1 << 12, MaxColumns: 64}, &cols,
			Handler{Value: func(c int, v []byte) {
				if c < 0 || c >= cols.Len() || len(v) == 0 {
					t.Fatalf("value %q for column %d of %d", v, c, cols.Len())
				}
			}})
		if err == nil && rows > int64(strings.Count(in, "\n")+1) {
			t.Fatalf("%d rows from %d lines", rows, strings.Count(in, "\n")+1)
		}
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"a\":[1,{\"b\":\"c\"}]}\n\"x\"\n", `[[[[`, `{"a":"\"[["}`, "{}\n{\n", `1e999`, `{"a":{"a":{"a":{}}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var cols Columns
		_, _ = JSONL(ctx, strings.NewReader(in), Limits{MaxRecordBytes: 1 << 12, MaxColumns: 64, MaxDepth: 8}, &cols,
			Handler{Value: func(c int, v []byte) {
				if c < 0 || c >= cols.Len() {
					t.Fatalf("column %d of %d", c, cols.Len())
				}
			}}, nil)
		for _, n := range cols.Names() {
			if strings.Count(n, ".")+strings.Count(n, "[]") > 9 {
				t.Fatalf("column %q deeper than the depth limit", n)
			}
		}
	})
}

// TestReadersStopWhenCancelled cancels each reader from inside its first
// value: it must stop with context.Canceled before the next record, not
// read on to the end of the file.
func TestReadersStopWhenCancelled(t *testing.T) {
	rows := strings.Repeat("a@example.org,x\n", 10000)
	var pq bytes.Buffer
	type rec struct{ Email string }
	recs := make([]rec, 5000)
	for i := range recs {
		recs[i].Email = "a@example.org"
	}
	if err := parquet.Write(&pq, recs); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		read func(context.Context, Handler) (int64, error)
	}{
		{"csv", func(ctx context.Context, h Handler) (int64, error) {
			return CSV(ctx, strings.NewReader("email,x\n"+rows), ',', Limits{}, &Columns{}, h)
		}},
		{"jsonl", func(ctx context.Context, h Handler) (int64, error) {
			return JSONL(ctx, strings.NewReader(strings.Repeat(`{"e":"a@example.org"}`+"\n", 10000)), Limits{}, &Columns{}, h, nil)
		}},
		{"json", func(ctx context.Context, h Handler) (int64, error) {
			return JSONDocument(ctx, []byte("["+strings.Repeat(`{"e":"a"},`, 9999)+`{"e":"a"}]`), Limits{}, &Columns{}, h)
		}},
		{"text", func(ctx context.Context, h Handler) (int64, error) {
			return Text(ctx, strings.NewReader(rows), Limits{}, h)
		}},
		{"parquet", func(ctx context.Context, h Handler) (int64, error) {
			return Parquet(ctx, bytes.NewReader(pq.Bytes()), int64(pq.Len()), 0, Limits{}, &Columns{}, h)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			values := 0
			_, err := tt.read(ctx, Handler{Value: func(int, []byte) {
				values++
				cancel()
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if values > 1024 {
				t.Fatalf("read %d values after the cancel, want at most one record or chunk", values)
			}
		})
	}
}
