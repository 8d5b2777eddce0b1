// Package shingle turns a licence text into the normalised words and word
// shingles that gatehouse's licence index is built from and matched with.
// The generator (cmd gen-index) and the scanner must agree byte for byte,
// so both use this package.
package shingle

import (
	"hash/fnv"
	"regexp"
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

// copyrightLine matches a copyright statement line: "Copyright (c) 2024
// Acme", "Copyright 1992-2012 The FreeBSD Project", "(c) 2001 X", "© X".
// Wrapped licence prose ("copyright notice and this permission notice")
// does not match: "copyright" must be followed by (c), © or a year.
var copyrightLine = regexp.MustCompile(`(?im)^[\s#*/;!'"-]*(?:copyright\s*(?:\(c\)|©|&copy;|\d{4}|<|\[)|\(c\)\s*\d{4}|©).*$`)

// StripCopyright blanks the copyright statement lines of a text: they name
// holders and years, which differ in every copy of a licence.
func StripCopyright(text string) string {
	return copyrightLine.ReplaceAllString(text, "")
}
