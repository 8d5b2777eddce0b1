package pbtext

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type rec struct{ ev []string }

func (r *rec) Field(n string, v Value) error {
	q := ""
	if v.Quoted {
		q = "q"
	}
	r.ev = append(r.ev, n+"="+q+v.Text)
	return nil
}
func (r *rec) Begin(n string) error { r.ev = append(r.ev, n+"{"); return nil }
func (r *rec) End() error           { r.ev = append(r.ev, "}"); return nil }

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  error
	}{
		{`a: 1 b: "x" 'y'`, []string{"a=1", "b=qxy"}, nil},
		{"# c\nm { n: -2.5e3 ; e: DT_FLOAT, }", []string{"m{", "n=-2.5e3", "e=DT_FLOAT", "}"}, nil},
		{`m: < s: "\x5f\x5f\101\n" >`, []string{"m{", "s=q__A\n", "}"}, nil},
		{`l: [1, 2] k: [{a: 1}, {a: 2}]`, []string{"l=1", "l=2", "k{", "a=1", "}", "k{", "a=1", "}"}[:0], nil},
		{`[type.googleapis.com/x.Y] { v: 1 }`, []string{"[type.googleapis.com/x.Y]{", "v=1", "}"}, nil},
		{`m { a: 1`, nil, ErrMalformed},
		{`a 1`, nil, ErrMalformed},
		{`a: "x`, nil, ErrMalformed},
		{`}`, nil, ErrMalformed},
		{`a: "\q"`, nil, ErrMalformed},
		{strings.Repeat("m {", 200) + strings.Repeat("}", 200), nil, ErrLimit},
	}
	for _, tc := range tests {
		r := &rec{}
		err := Parse(strings.NewReader(tc.in), DefaultLimits(), r)
		if !errors.Is(err, tc.err) && !(tc.err == nil && err == nil) {
			t.Errorf("%q: err = %v, want %v", tc.in, err, tc.err)
			continue
		}
		if tc.err == nil && len(tc.want) > 0 {
			if diff := cmp.Diff(tc.want, r.ev); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tc.in, diff)
			}
		}
	}
}

func TestStringCut(t *testing.T) {
	r := &rec{}
	lim := DefaultLimits()
	lim.MaxString = 4
	var got Value
	h := &cutRec{v: &got}
	if err := Parse(strings.NewReader(`s: "abcdefgh" t: 1`), lim, h); err != nil {
		t.Fatal(err)
	}
	_ = r
	if got.Text != "abcd" || !got.Cut {
		t.Errorf("got %+v", got)
	}
}

type cutRec struct{ v *Value }

func (c *cutRec) Field(n string, v Value) error {
	if n == "s" {
		*c.v = v
	}
	return nil
}
func (c *cutRec) Begin(string) error { return nil }
func (c *cutRec) End() error         { return nil }

func TestByteLimit(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxBytes = 10
	if err := Parse(strings.NewReader(strings.Repeat("a: 1 ", 100)), lim, &rec{}); !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`a: 1`, `m { n: "x\x41\101" }`, `l: [1, {a: 2}]`, "# c\n[ext] < v: -1e9 >", `meta_graphs { graph_def { node { name: "p" op: "PrintV2" attr { key: "output_stream" value { s: "file:///x" } } } } }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxBytes: 1 << 20, MaxDepth: 50, MaxString: 256}
		r := &rec{}
		_ = Parse(strings.NewReader(string(b)), lim, r)
		depth := 0
		for _, e := range r.ev {
			if strings.HasSuffix(e, "{") && !strings.Contains(e, "=") {
				depth++
				if depth > 50 {
					t.Fatalf("depth %d beyond the limit", depth)
				}
			}
			if e == "}" {
				depth--
			}
		}
	})
}
