package detect

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
	if col.hints&(hintPerson|hintPersonWeak) != 0 && fl&(cUpper|cLower|cHigh) != 0 && fl&cDigit == 0 {
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
	if fl&(cDigit|cColon) != 0 {
		dst = tokens(dst, v, col, fl&cColon != 0)
	}
	return dst
}

// tokens walks the word tokens of v and tries the numeric recognizers
// (SSN, credit card, IPv4, phone), IBAN and IPv6 at each token start.
// A token glued to a word on its left ("ORD-2024-000123", "v1.2.3.4") is
// part of an identifier and skipped whole.
func tokens(dst []Match, v []byte, col Column, colon bool) []Match {
	n := len(v)
	skipUntil := 0 // bytes before this are inside an earlier match
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
		if i < skipUntil || overlaps(dst, i) || leftGlued(v, i) {
			i = skipToken(v, i)
			continue
		}
		if cl&cDigit != 0 {
			if m, ok := numeric(v, i, col); ok {
				dst, skipUntil = appendNoOverlap(dst, m), m.End
				i = m.End
				continue
			}
		} else if cl&cUpper != 0 && i+3 < n && isUpper(v[i+1]) && isDigit(v[i+2]) && isDigit(v[i+3]) {
			if m, ok := iban(v, i); ok {
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

// overlaps reports whether position i lies inside an earlier match (an
// email or secret found by another recognizer).
func overlaps(dst []Match, i int) bool {
	for k := len(dst) - 1; k >= 0; k-- {
		if i >= dst[k].Start && i < dst[k].End {
			return true
		}
	}
	return false
}

func appendNoOverlap(dst []Match, m Match) []Match {
	for _, d := range dst {
		if m.Start < d.End && d.Start < m.End {
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
	if isAlnum(p) || p == '#' || p == '$' || p == '_' || p >= 0x80 {
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

// rightOK reports whether a match may end at e: the next byte does not
// continue the token ("555-123-4567-89", "1.2.3.4.5", "4567x").
func rightOK(v []byte, e int) bool {
	if e >= len(v) {
		return true
	}
	c := v[e]
	if isAlnum(c) || c == '_' || c >= 0x80 {
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
func negativeBefore(v []byte, i int) bool { return wordBefore(v, i, negContext) }

// phoneBefore reports whether a phone word ("tel", "call") precedes i.
func phoneBefore(v []byte, i int) bool { return wordBefore(v, i, phoneContext) }

// versionBefore reports whether "version" or a like word precedes i.
func versionBefore(v []byte, i int) bool { return wordBefore(v, i, versionContext) }

var (
	negContext = set("order", "orders", "sku", "invoice", "isbn", "serial", "tracking", "part", "product",
		"ref", "reference", "item", "model", "lot", "batch", "id", "no", "nr", "ticket", "case", "account",
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
