package bearer

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

const tok = "0123456789abcdef0123456789abcdef"

func TestParseRoles(t *testing.T) {
	ts, err := Parse([]byte("# callers\n"+tok+" checker Humanitec pipeline\n"), "checker")
	if err != nil {
		t.Fatal(err)
	}
	id, ok := ts.Lookup(tok)
	if !ok || id.Name != "Humanitec pipeline" || id.Role != "checker" {
		t.Fatalf("Lookup = %+v, %v", id, ok)
	}
	if _, ok := ts.Lookup(tok[:31]); ok {
		t.Error("a prefix of a token opened")
	}
	if _, ok := ts.Lookup(""); ok {
		t.Error("the empty token opened")
	}
	_, err = Parse([]byte(tok+" admin X\n"), "checker")
	if err == nil || !strings.Contains(err.Error(), `role "admin": want checker`) {
		t.Errorf("role outside the list: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), tok) {
		t.Error("the error shows the token")
	}
}

func TestFromHeader(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer " + tok, tok, true},
		{"bearer  " + tok + " ", tok, true},
		{"Basic " + tok, "", false},
		{"Bearer", "", false},
		{"Bearer   ", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		got, ok := FromHeader(r)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{tok + " checker a\n", "", "#\n", tok + " checker a\n" + tok + " checker b", "x y z\n", tok + "\tchecker\tA\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := Parse(data, "checker")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		ids := ts.Identities()
		if len(ids) == 0 || slices.ContainsFunc(ids, func(id Identity) bool { return id.Role != "checker" }) {
			t.Fatalf("identities %v", ids)
		}
	})
}
