package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDepthAndTopLevel(t *testing.T) {
	tests := []struct {
		doc           string
		depth, colons int
		commas        int
	}{
		{`{}`, 1, 0, 0},
		{`{"a":1,"b":{"c":[1,2,3]}}`, 3, 2, 1},
		{`{"a":"x:{[,\"}]","b":2}`, 1, 2, 1},
		{`[1,[2,[3]],"]"]`, 3, 0, 2},
		{`"just a string {"`, 0, 0, 0},
	}
	for _, tt := range tests {
		if got := Depth([]byte(tt.doc), 100); got != tt.depth {
			t.Errorf("Depth(%s) = %d, want %d", tt.doc, got, tt.depth)
		}
		if got := TopLevel([]byte(tt.doc), ':'); got != tt.colons {
			t.Errorf("TopLevel(%s, ':') = %d, want %d", tt.doc, got, tt.colons)
		}
		if got := TopLevel([]byte(tt.doc), ','); got != tt.commas {
			t.Errorf("TopLevel(%s, ',') = %d, want %d", tt.doc, got, tt.commas)
		}
	}
	deep := strings.Repeat("[", 1_000_000)
	if got := Depth([]byte(deep), 64); got != 65 {
		t.Errorf("Depth stops at limit+1: got %d", got)
	}
}

// FuzzDepth: the depth agrees with encoding/json's view of well-formed text.
func FuzzDepth(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"]"}]}`, `[[[]]]`, `"x"`, `{"\\\"":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Depth([]byte(s), 1000)
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		if want := depthOf(v); d != want {
			t.Fatalf("Depth(%q) = %d, want %d", s, d, want)
		}
	})
}

func depthOf(v any) int {
	best := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			best = max(best, depthOf(e))
		}
		return best + 1
	case []any:
		for _, e := range x {
			best = max(best, depthOf(e))
		}
		return best + 1
	}
	return 0
}
