package detect

import (
	"bytes"
	"slices"
	"unicode/utf8"
)

// Character classes, one table lookup per byte.
const (
	cDigit uint8 = 1 << iota
	cUpper
	cLower
	cAt     // '@': emails
	cColon  // ':': IPv6
	cSecret // first bytes of token prefixes: A (AKIA, ASIA, AIza), g (ghp_), x (xoxb-)
	cDash   // '-': armour lines ("-----BEGIN ... PRIVATE KEY-----")
	cHigh   // bytes >= 0x80 (UTF-8)
)

var (
	class [256]uint8
	// tokChar: letters, digits, '_' and UTF-8 bytes: the body of a token.
	tokChar [256]bool
	// glueChar: characters that join the parts of one identifier.
	glueChar [256]bool
	// secretFirst: first bytes of token-secret prefixes.
	secretFirst [256]bool
)

func init() {
	for _, c := range []byte("-._/\\:#$&%~=@*^|") {
		glueChar[c] = true
	}
	for _, c := range []byte("Agx") {
		secretFirst[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		class[c] |= cDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		class[c] |= cUpper
	}
	for c := 'a'; c <= 'z'; c++ {
		class[c] |= cLower
	}
	class['@'] |= cAt
	class[':'] |= cColon
	class['-'] |= cDash
	for _, c := range []byte("Agx") {
		class[c] |= cSecret
	}
	for c := 0x80; c < 0x100; c++ {
		class[c] |= cHigh
	}
	for c := 0; c < 256; c++ {
		tokChar[c] = class[c]&(cDigit|cUpper|cLower|cHigh) != 0 || c == '_'
	}
}

func isDigit(c byte) bool { return c-'0' < 10 }
func isAlnum(c byte) bool { return class[c]&(cDigit|cUpper|cLower) != 0 }
func isUpper(c byte) bool { return c-'A' < 26 }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20)-'a' < 6 }

func isLetterASCII(c byte) bool { return class[c]&(cUpper|cLower) != 0 }

// longGroupRun returns the end of a run of 13 or more digits in groups with
// one kind of separator, or 0 when g is none.
func longGroupRun(g *groups) int {
	if g.n < 2 || g.digits[g.n-1] < 13 || !g.sameSep(g.n) {
		return 0
	}
	return g.end[g.n-1]
}

// ibanRun returns the end of an IBAN-shaped run at i (country letters,
// two digits, groups of up to four letters/digits separated by spaces).
func ibanRun(v []byte, i int) int {
	j, n, chars := i, len(v), 0
	for j < n && chars < 34 {
		c := v[j]
		switch {
		case isAlnum(c):
			chars++
			j++
		case c == ' ' && j+1 < n && isAlnum(v[j+1]) && chars%4 == 0:
			j++
		default:
			goto done
		}
	}
done:
	if chars < 15 {
		return i
	}
	return j
}

// Scan appends to dst every entity found in the value v of a column with
// context col, and returns dst. Matches do not overlap. It does not retain v.
func Scan(dst []Match, v []byte, col Column) []Match {
	var fl, f2 uint8
	k := 0
	for ; k+4 <= len(v); k += 4 {
		fl |= class[v[k]] | class[v[k+1]]
		f2 |= class[v[k+2]] | class[v[k+3]]
	}
	for ; k < len(v); k++ {
		fl |= class[v[k]]
	}
	fl |= f2
	if fl == 0 {
		return dst
	}
	if col.hints&(hintPerson|hintPersonWeak|hintPersonPart) != 0 && fl&(cUpper|cLower|cHigh) != 0 && fl&cDigit == 0 {
		if m, ok := person(v, col); ok {
			return append(dst, m)
		}
	}
	if fl&(cSecret|cDash) != 0 && len(v) >= 15 {
		dst = secrets(dst, v, fl&cSecret != 0)
	}
	if fl&cAt != 0 {
		dst = emails(dst, v)
	}
	if fl&(cDigit|cColon) != 0 { // every numeric, national and IBAN format holds a digit
		dst = tokens(dst, v, col, fl&cColon != 0)
	}
	if fl&(cUpper|cHigh) != 0 && len(v) >= 5 && col.hints&noFreeTextPerson == 0 && (fl&cHigh != 0 || bytes.IndexByte(v, ' ') >= 0) {
		dst = personsInText(dst, v, fl&cHigh != 0)
	}
	return dst
}

// noFreeTextPerson: columns whose values are not prose.
const noFreeTextPerson = hintPerson | hintPersonWeak | hintPersonPart | hintNegative | hintVersion | hintPhone |
	hintSSN | hintCard | hintIP | hintDOB | hintTax | hintMAC | hintNotPerson

// tokens walks the word tokens of v and tries the numeric recognizers
// (SSN, credit card, IPv4, phone), IBAN and IPv6 at each token start.
// A token glued to a word on its left ("ORD-2024-000123", "v1.2.3.4") is
// part of an identifier and skipped whole.
func tokens(dst []Match, v []byte, col Column, colon bool) []Match {
	n := len(v)
	skipUntil := 0 // bytes before this are inside an earlier match
	// Matches of earlier passes (e-mails, secrets), by position: a token
	// inside one is skipped. The cursor p only moves forward with i.
	pre := dst[:len(dst):len(dst)]
	if !slices.IsSortedFunc(pre, byStart) {
		slices.SortFunc(pre, byStart)
	}
	p := 0
	for i := 0; i < n; {
		c := v[i]
		cl := class[c]
		if cl&(cDigit|cUpper|cLower) == 0 {
			if colon && c == ':' && i+2 < n && v[i+1] == ':' && (i == 0 || !isAlnum(v[i-1])) {
				if m, ok := ipv6(v, i, col); ok {
					dst, skipUntil = appendNoOverlap(dst, m), m.End
					i = m.End
					continue
				}
			}
			i++
			continue
		}
		for p < len(pre) && pre[p].End <= i {
			p++
		}
		if i < skipUntil || (p < len(pre) && pre[p].Start <= i) || leftGlued(v, i) {
			i = skipToken(v, i)
			continue
		}
		if isHex(c) && i+4 < n && (v[i+2] == ':' || v[i+2] == '-' || v[i+4] == '.') {
			if m, ok := mac(v, i); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
		}
		if cl&cDigit != 0 {
			g := readGroups(v, i)
			if m, ok := nationalDigits(v, i, col, &g); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
			if m, ok := numeric(v, i, col, &g); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
			// A run of digit groups that no recognizer took whole (a card
			// that fails Luhn, a long reference) holds no shorter match:
			// "4532 0151 1283 0367" is not a phone "0151 1283 0367".
			if e := longGroupRun(&g); e > i {
				i = e
				continue
			}
		} else if i+3 < n && isLetterASCII(v[i+1]) && isDigit(v[i+2]) && isDigit(v[i+3]) && cl&(cUpper|cLower) != 0 && (cl&cUpper != 0) == isUpper(v[i+1]) {
			if m, ok := iban(v, i); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
			// A printed IBAN with a bad checksum is no phone number either.
			if e := ibanRun(v, i); e > i {
				i = e
				continue
			}
		}
		if cl&cUpper != 0 && i+8 <= n && (isDigit(v[i+1]) || isDigit(v[i+2]) || v[i+2] == ' ' || isUpper(v[i+5])) {
			if m, ok := nationalLetters(v, i, col); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
		}
		if colon && isHex(c) {
			if m, ok := ipv6(v, i, col); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
		}
		i = skipToken(v, i)
	}
	return dst
}

func byStart(a, b Match) int { return a.Start - b.Start }

// MaxMatches is the most matches Scan reports for one value: a value of
// thousands of e-mails or names is reported (and counted up to here)
// without the overlap checks growing with the square of the matches.
const MaxMatches = 4096

// appendNoOverlap appends m unless it overlaps a match already in dst or
// dst holds MaxMatches.
func appendNoOverlap(dst []Match, m Match) []Match {
	if len(dst) >= MaxMatches {
		return dst
	}
	for k := len(dst) - 1; k >= 0; k-- {
		if d := dst[k]; m.Start < d.End && d.Start < m.End {
			return dst
		}
	}
	return append(dst, m)
}

// isGlue reports whether c joins the parts of one identifier: "ORD-2024", "1.2.3".
func isGlue(c byte) bool { return glueChar[c] }

// leftGlued reports whether the token starting at i continues a word on
// its left: a letter or digit right before it, or a glue character with a
// letter or digit before that ("ORD-123", "10:30", "v1.2"). A ':' after a
// word is a label ("phone:555-123-4567"), and '#', '$' always glue ("#12345").
func leftGlued(v []byte, i int) bool {
	if i == 0 {
		return false
	}
	p := v[i-1]
	if p >= 0x80 {
		return !cjkBefore(v, i) // Japanese and Chinese text has no spaces
	}
	if isAlnum(p) || p == '#' || p == '$' || p == '_' {
		return true
	}
	if !isGlue(p) || i < 2 {
		return false
	}
	pp := v[i-2]
	if p == ':' || p == '=' {
		return isDigit(pp) // "10:30" glues; "tel:", "phone=" label
	}
	return isAlnum(pp) || pp == '_'
}

// isCJK reports whether r is a character of a script written without
// spaces between words (CJK ideographs, kana, Hangul, full-width forms and
// CJK punctuation): such a character next to a number does not glue it.
func isCJK(r rune) bool {
	return r >= 0x3000 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7AF || r >= 0xF900 && r <= 0xFAFF || r >= 0xFF00 && r <= 0xFFEF
}

func cjkBefore(v []byte, i int) bool {
	r, _ := utf8.DecodeLastRune(v[max(i-4, 0):i])
	return isCJK(r)
}

func cjkAt(v []byte, i int) bool {
	r, _ := utf8.DecodeRune(v[i:])
	return isCJK(r)
}

// rightOK reports whether a match may end at e: the next byte does not
// continue the token ("555-123-4567-89", "1.2.3.4.5", "4567x").
func rightOK(v []byte, e int) bool {
	if e >= len(v) {
		return true
	}
	c := v[e]
	if c >= 0x80 {
		return cjkAt(v, e)
	}
	if isAlnum(c) || c == '_' {
		return false
	}
	if isGlue(c) && e+1 < len(v) && (isAlnum(v[e+1]) || v[e+1] == '_') {
		return false
	}
	return true
}

// skipToken returns the end of the token at i: letters, digits and glue
// characters between them.
func skipToken(v []byte, i int) int {
	n := len(v)
	for i < n {
		if tokChar[v[i]] {
			i++
			continue
		}
		c := v[i]
		if glueChar[c] && i+1 < n && tokChar[v[i+1]] && v[i+1] < 0x80 {
			if c == ':' && !isDigit(v[i-1]) {
				return i // "Phone:555-..." : the label ends here
			}
			i++
			continue
		}
		return i
	}
	return n
}

// negativeBefore reports whether a word that makes the following number an
// identifier ("order", "sku", "invoice") closely precedes position i.
//
// "No" and "Nr" count only as abbreviations ("No. 123", "Nr: 5", "no#"):
// Portuguese and Spanish "no" is a word ("ligue no 11 ...").
func negativeBefore(v []byte, i int) bool {
	if wordBefore(v, i, negContext) {
		return true
	}
	j := i
	for j > 0 && v[j-1] == ' ' {
		j--
	}
	if j < 3 || (v[j-1] != '.' && v[j-1] != ':' && v[j-1] != '#') {
		return false
	}
	a, b := v[j-3]|0x20, v[j-2]|0x20
	return a == 'n' && (b == 'o' || b == 'r') && (j == 3 || !isAlnum(v[j-4]))
}

// phoneBefore reports whether a phone word ("tel", "call") precedes i.
func phoneBefore(v []byte, i int) bool { return wordBefore(v, i, phoneContext) }

// versionBefore reports whether "version" or a like word precedes i.
func versionBefore(v []byte, i int) bool { return wordBefore(v, i, versionContext) }

var (
	negContext = set("order", "orders", "sku", "invoice", "isbn", "serial", "tracking", "part", "product",
		"ref", "reference", "item", "model", "lot", "batch", "id", "ticket", "case", "account",
		"acct", "upc", "ean", "gtin", "txn", "transaction", "confirmation", "booking", "po", "shipment",
		"version", "build", "release", "code", "pin", "otp", "v")
	versionContext = set("version", "ver", "release", "released", "releasing", "build", "firmware", "semver",
		"revision", "rev", "vsn", "v", "tag", "tagged", "deployed", "deploy", "deploying", "shipped", "ship",
		"upgraded", "upgrade", "upgrading", "updated", "update", "bumped", "bump", "pinned", "pin",
		"installed", "install", "patched", "patch", "downgraded", "downgrade", "rollback", "rolled", "sdk",
		"kernel", "driver", "package", "pkg", "plugin", "library", "lib")
	phoneContext = set("phone", "tel", "telephone", "mobile", "cell", "call", "fax", "whatsapp", "sms", "text",
		"contact", "dial", "reach")
)

// wordBefore reports whether one of the (at most two) words in the 24
// bytes before i is in m. Words are letters only, compared lower-cased;
// digits or the window's edge end the look-back. It does not allocate.
func wordBefore(v []byte, i int, m map[string]bool) bool {
	lo := max(i-24, 0)
	end := i
	for k := 0; k < 2 && end > lo; k++ {
		for end > lo && !isAlnum(v[end-1]) {
			end--
		}
		start := end
		for start > lo && class[v[start-1]]&(cUpper|cLower) != 0 {
			start--
		}
		if start == end || end-start > 24 || (start == lo && lo > 0 && isAlnum(v[lo-1])) {
			return false // digits, or a word cut by the window
		}
		var buf [24]byte
		for x, c := range v[start:end] {
			buf[x] = c | 0x20
		}
		if m[string(buf[:end-start])] {
			return true
		}
		end = start
	}
	return false
}
