package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain.csv", "plain.csv"},
		{"données/été.csv", "données/été.csv"},
		{`C:\data\x.csv`, `C:\data\x.csv`},
		{"https://sonar.example/dashboard?id=a", "https://sonar.example/dashboard?id=a"},
		{"x\n::error::pwn", `x\n:\x3aerror:\x3apwn`},
		{"::add-mask::secret", `:\x3aadd-mask:\x3asecret`},
		{"a\r\nb", `a\r\nb`},
		{"tab\there", `tab\there`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"del\x7f", `del\x7f`},
		{"nel\u0085line", `nel\u0085line`},
		{"sep\u2028para\u2029", `sep\u2028para\u2029`},
		{"evil\u202egpj.exe", `evil\u202egpj.exe`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"nul\x00", `nul\x00`},
		{":", ":"},
		{"a: b", "a: b"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEscapeKeepsCleanStringsWithoutAllocating(t *testing.T) {
	s := strings.Repeat("column_name.email ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Fatalf("Escape of a clean string allocated %v times", n)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"x\n::error::pwn", "a\u2028b", "\xff\xfe", "::", ":::", "é", "\x1b]8;;http://x\x07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q is not valid UTF-8", s, out)
		}
		if strings.Contains(out, "::") {
			t.Fatalf("Escape(%q) = %q keeps a \"::\"", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, out, r)
			}
		}
		if firstUnsafe(s) < 0 && out != s {
			t.Fatalf("clean %q changed to %q", s, out)
		}
	})
}
