// Package shingle turns a licence text into the normalised words and word
// shingles that gatehouse's licence index is built from and matched with.
// The generator (cmd gen-index) and the scanner must agree byte for byte,
// so both use this package.
package shingle

import (
	"hash/fnv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Size is the number of words in one shingle.
const Size = 5

// equivalent folds spellings the SPDX matching guidelines treat as the same
// word (a subset of equivalentwords.txt) and drops words that carry no
// meaning for matching.
var equivalent = map[string]string{
	"licence": "license", "licences": "licenses", "licenced": "licensed", "licencing": "licensing",
	"organisation": "organization", "organisations": "organizations",
	"authorisation": "authorization", "authorised": "authorized",
	"acknowledgement": "acknowledgment", "acknowledgements": "acknowledgments",
	"analogue": "analog", "whilst": "while",
	"favour": "favor", "offence": "offense", "utilisation": "utilization", "utilise": "utilize",
	"recognise": "recognize",
	// "copyright holder" and "copyright owner" are the same words to
	// the SPDX matching guidelines.
	"owner": "holder", "owners": "holders",
}

// Words returns the normalised words of text: lower case, letters and
// digits only (punctuation and markup are separators; "2.0" stays one
// word), single letters and one- or two-digit numbers dropped (list
// markers: "1.", "(a)", and the "c" of "(c)"), British spellings and
// "owner"/"holder" folded.
// Work and output are linear in len(text).
func Words(text string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		w := b.String()
		b.Reset()
		if len(w) == 1 && w[0] >= 'a' && w[0] <= 'z' {
			return
		}
		if len(w) <= 2 && w[0] >= '0' && w[0] <= '9' && w[len(w)-1] >= '0' && w[len(w)-1] <= '9' {
			return // a list marker ("1.", "(2)"), not a version
		}
		if e, ok := equivalent[w]; ok {
			w = e
		}
		out = append(out, w)
	}
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		i += n
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
		case r == '.' && b.Len() > 0 && isDigit(text[i-2]) && i < len(text) && isDigit(text[i]):
			b.WriteByte('.') // "2.0": a version stays one word
		case r < utf8.RuneSelf && r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		default:
			flush()
		}
	}
	flush()
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Hash returns the 32-bit hash of the shingle words[i:i+Size].
func Hash(words []string) uint32 {
	h := fnv.New32a()
	for i, w := range words {
		if i > 0 {
			h.Write([]byte{' '})
		}
		h.Write([]byte(w))
	}
	return h.Sum32()
}

// Hashes returns the hash of every shingle of words, in order (none when
// there are fewer words than Size: such a text is matched as one shingle).
func Hashes(words []string) []uint32 {
	if len(words) == 0 {
		return nil
	}
	if len(words) < Size {
		return []uint32{Hash(words)}
	}
	out := make([]uint32, 0, len(words)-Size+1)
	for i := 0; i+Size <= len(words); i++ {
		out = append(out, Hash(words[i:i+Size]))
	}
	return out
}

// StripCopyright blanks the copyright statement lines of a text: they name
// holders and years, which differ in every copy of a licence. A line is a
// copyright statement when, after comment and quote marks, it starts with
// "copyright" followed by "(c)", "©", "&copy;", a year, "<" or "[", or
// with "(c) <year>" or "©". Wrapped licence prose ("copyright notice and
// this permission notice") does not match.
func StripCopyright(text string) string {
	var b strings.Builder
	done := 0 // text[:done] is in b (once b is in use)
	for start := 0; start < len(text); {
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		if isCopyrightLine(text[start:end]) {
			if b.Cap() == 0 {
				b.Grow(len(text))
			}
			b.WriteString(text[done:start])
			done = end
		}
		start = end + 1
	}
	if b.Cap() == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

func isCopyrightLine(line string) bool {
	l := strings.TrimLeft(line, " \t\r#*/;!'\"-")
	if strings.HasPrefix(l, "©") {
		return true
	}
	if len(l) >= 3 && (l[:3] == "(c)" || l[:3] == "(C)") {
		r := strings.TrimLeft(l[3:], " \t")
		return len(r) > 0 && isDigit(r[0])
	}
	if len(l) < 9 || !strings.EqualFold(l[:9], "copyright") {
		return false
	}
	r := strings.TrimLeft(l[9:], " \t")
	switch {
	case r == "":
		return false
	case isDigit(r[0]), r[0] == '<', r[0] == '[':
		return true
	case len(r) >= 3 && (r[:3] == "(c)" || r[:3] == "(C)"):
		return true
	case strings.HasPrefix(r, "©"), strings.HasPrefix(strings.ToLower(r), "&copy;"):
		return true
	}
	return false
}
