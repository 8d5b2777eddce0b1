// Package textsafe makes strings from outside input (file names, column
// names, licence names, SonarQube messages, pickle globals) safe to print
// in a terminal or a CI log: no raw control character, line break or
// bidirectional override from input reaches the output, and no "::" that a
// GitHub Actions runner would read as a workflow command survives.
package textsafe

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every byte or rune that could start a new line,
// move the cursor, recolour the terminal or reorder text written as a Go
// escape (\n, \r, \t, \x1b, \u2028, \u202e), invalid UTF-8 bytes as \xNN,
// and the second colon of "::" as \x3a. Printable text, including
// non-ASCII letters and backslashes, is kept as is, so a clean string is
// returned unchanged (and without allocating).
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == ':' && i > 0 && s[i-1] == ':':
			b.WriteString(`\x3a`)
		case unsafeRune(r):
			switch r {
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u2028'
				b.WriteString(q[1 : len(q)-1])
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the index of the first byte Escape changes, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == ':' && i > 0 && s[i-1] == ':' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return i
		}
		i += n
	}
	return -1
}

// unsafeRune: C0 and C1 controls, DEL, the Unicode line and paragraph
// separators (some terminals and log viewers break lines there) and the
// bidirectional embeddings, overrides and isolates (text that reads
// differently from what it is).
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
