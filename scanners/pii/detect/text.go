package detect

import (
	"bytes"
	"net/netip"
	"unicode/utf8"
)

// --- IBAN -----------------------------------------------------------------

// ibanLengths is the IBAN length per country (SWIFT IBAN registry,
// release 99: all SEPA countries and the other registered ones).
var ibanLengths = map[[2]byte]uint8{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20,
	{'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27, {'B', 'R'}: 29, {'B', 'Y'}: 28,
	{'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27,
	{'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18,
	{'F', 'K'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23,
	{'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'N'}: 28, {'H', 'R'}: 21, {'H', 'U'}: 28,
	{'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30,
	{'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20,
	{'L', 'U'}: 20, {'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22,
	{'M', 'K'}: 19, {'M', 'N'}: 20, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28,
	{'N', 'L'}: 18, {'N', 'O'}: 15, {'O', 'M'}: 23, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29,
	{'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22, {'R', 'U'}: 33, {'S', 'A'}: 24,
	{'S', 'C'}: 31, {'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24, {'S', 'M'}: 27,
	{'S', 'O'}: 23, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26,
	{'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

// iban accepts CC + 2 check digits + BBAN at i, compact or printed in
// groups of four separated by single spaces, of its country's length and
// with mod-97 == 1. Letters are upper case or (all) lower case.
func iban(v []byte, i int) (Match, bool) {
	want, ok := ibanLengths[[2]byte{v[i] &^ 0x20, v[i+1] &^ 0x20}]
	if !ok {
		return Match{}, false
	}
	var buf [34]byte
	n, j := 0, i
	for j < len(v) && n < int(want) {
		c := v[j]
		switch {
		case isDigit(c) || isUpper(c):
			buf[n] = c
			n++
			j++
		case isLetterASCII(c):
			buf[n] = c &^ 0x20 // lower-case IBANs are read as upper case
			n++
			j++
		case c == ' ' && n%4 == 0 && n > 0 && j+1 < len(v) && isAlnum(v[j+1]):
			j++
		default:
			return Match{}, false
		}
	}
	if n != int(want) || !rightOK(v, j) || !mod97(buf[:n]) {
		return Match{}, false
	}
	return Match{Entity: IBAN, Start: i, End: j, Confidence: 1}, true
}

// mod97 is the ISO 13616 check: move the first four characters to the
// end, letters to 10..35, and the number mod 97 must be 1.
func mod97(s []byte) bool {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	for _, c := range s[4:] {
		add(c)
	}
	for _, c := range s[:4] {
		add(c)
	}
	return r == 1
}

// --- IPv6 -------------------------------------------------------------------

// ipv6 accepts an IPv6 address at i: hex groups with at least two colons
// that net/netip parses, other than "::", with at least four hex digits
// (so "a::b" in prose is not taken) unless the column says ip. MAC
// addresses (six groups, no "::") and times ("10:30:45") do not parse.
func ipv6(v []byte, i int, col Column) (Match, bool) {
	if i > 0 && (isAlnum(v[i-1]) || v[i-1] == ':' || v[i-1] == '.') {
		return Match{}, false
	}
	j, colons, hex := i, 0, 0
	for j < len(v) && j-i < 45 {
		c := v[j]
		switch {
		case c == ':':
			colons++
		case isHex(c):
			hex++
		case c == '.':
		default:
			goto done
		}
		j++
	}
done:
	if colons < 2 || colons > 7 || (hex < 4 && !(col.hints&hintIP != 0 && hex > 0)) {
		return Match{}, false
	}
	// Without "::" an address has all eight groups (seven colons), or six
	// colons before an embedded IPv4; "10:30:45" and MACs fail here.
	if colons != 7 && !bytes.Contains(v[i:j], dcolon) && !(colons == 6 && bytes.IndexByte(v[i:j], '.') >= 0) {
		return Match{}, false
	}
	end := j
	if end < len(v) && (isAlnum(v[end]) || v[end] == '_') {
		return Match{}, false
	}
	for end > i && v[end-1] == '.' {
		end-- // sentence end
	}
	if col.hints&hintVersion != 0 {
		return Match{}, false
	}
	a, err := netip.ParseAddr(string(v[i:end]))
	if err != nil || !a.Is6() || a.IsUnspecified() {
		return Match{}, false
	}
	return Match{Entity: IP, Start: i, End: end, Confidence: 0.9}, true
}

// --- emails -----------------------------------------------------------------

// notTLD are file extensions seen after '@' in asset names
// ("logo@2x.png") that are not e-mail domains.
var notTLD = set("png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "mjs", "ts", "json",
	"txt", "map", "yaml", "yml", "lock", "html", "htm", "xml", "csv", "tsv", "pdf", "zip", "gz", "tar", "mp3",
	"mp4", "wav", "woff", "woff2", "ttf", "exe", "dll", "so", "dylib", "jar", "whl")

// emails finds local@domain.tld: a local part of [A-Za-z0-9._%+'-] (not
// starting, ending or doubling '.'), a domain of at least two labels, and
// a top-level label of 2-24 letters (or xn--) that is not a file
// extension. "user@localhost", "pkg@1.2.3" and "icon@2x.png" are not e-mails.
func emails(dst []Match, v []byte) []Match {
	off := 0
	for {
		k := bytes.IndexByte(v[off:], '@')
		if k < 0 {
			return dst
		}
		a := off + k
		off = a + 1
		s := a
		for s > 0 && a-s < 64 && localChar(v[s-1]) {
			s--
		}
		for s < a && (v[s] == '.' || v[s] == '\'') {
			s++
		}
		if s == a || v[a-1] == '.' || bytes.Contains(v[s:a], dotDot) {
			continue
		}
		if s > 0 && (localChar(v[s-1]) || (v[s-1] >= 0x80 && !cjkBefore(v, s))) {
			continue // local part longer than 64, or glued to a word
		}
		// The domain may hold internationalised labels (münchen.de); the
		// top-level label is ASCII, and CJK text may follow it unspaced.
		e := a + 1
		lastDot := -1
		high := false
		for e < len(v) && e-a <= 253 && (isAlnum(v[e]) || v[e] == '-' || v[e] == '.' || v[e] >= 0x80) {
			if v[e] >= 0x80 {
				if cjkAt(v, e) && lastDot > a && e > lastDot+1 && asciiLabel(v[lastDot+1:e]) {
					break // "example.co.jpまで"
				}
				high = true
			}
			if v[e] == '.' {
				lastDot = e
			}
			e++
		}
		for e > a+1 && (v[e-1] == '.' || v[e-1] == '-') {
			e--
		}
		if e < len(v) && (v[e] == '@' || v[e] == '_') {
			continue
		}
		if e < len(v) && v[e] >= 0x80 && !cjkAt(v, e) {
			continue
		}
		if high && !utf8.Valid(v[a+1:e]) {
			continue
		}
		if !validDomain(v[a+1 : e]) {
			continue
		}
		dst = appendNoOverlap(dst, Match{Entity: Email, Start: s, End: e, Confidence: 0.95})
		off = e
	}
}

func asciiLabel(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func localChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\''
}

func validDomain(d []byte) bool {
	if len(d) < 4 || len(d) > 253 {
		return false
	}
	labels := 0
	var last []byte
	for len(d) > 0 {
		k := bytes.IndexByte(d, '.')
		var l []byte
		if k < 0 {
			l, d = d, nil
		} else {
			l, d = d[:k], d[k+1:]
		}
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		last = l
	}
	if labels < 2 {
		return false
	}
	if len(last) >= 4 && (last[0]|0x20) == 'x' && (last[1]|0x20) == 'n' && last[2] == '-' && last[3] == '-' {
		return true
	}
	if len(last) < 2 || len(last) > 24 {
		return false
	}
	for _, c := range last {
		if class[c]&(cUpper|cLower) == 0 {
			return false
		}
	}
	var buf [24]byte
	for x, c := range last {
		buf[x] = c | 0x20
	}
	return !notTLD[string(buf[:len(last)])]
}

// --- PERSON -------------------------------------------------------------------

// nullish values stand for "no value" in datasets.
var nullish = set("null", "none", "nil", "nan", "n/a", "na", "unknown", "anonymous", "redacted", "test",
	"true", "false", "yes", "no", "", "-", "tbd", "undefined", "missing", "default", "admin", "user", "guest")

// person accepts the value of a person-name column when it reads as a
// name: 1-6 words of letters (any script) with ' - . , between, at least
// one letter, no digits. A bare "name" column (hintPersonWeak) needs 2-4
// capitalised words ("Ada Lovelace"), since products have names too.
func person(v []byte, col Column) (Match, bool) {
	s, e := 0, len(v)
	for s < e && (v[s] == ' ' || v[s] == '\t') {
		s++
	}
	for e > s && (v[e-1] == ' ' || v[e-1] == '\t' || v[e-1] == '\r') {
		e--
	}
	t := v[s:e]
	if len(t) < 2 || len(t) > 100 || !utf8.Valid(t) {
		return Match{}, false
	}
	if len(t) <= 10 {
		var buf [10]byte
		for x, c := range t {
			buf[x] = c
			if isUpper(c) {
				buf[x] = c | 0x20
			}
		}
		if nullish[string(buf[:len(t)])] {
			return Match{}, false
		}
	}
	words, letters := 0, 0
	inWord := false
	for k := 0; k < len(t); {
		r, size := utf8.DecodeRune(t[k:])
		switch {
		case isLetter(r):
			if !inWord {
				words++
			}
			inWord = true
			letters++
		case r == ' ':
			inWord = false
		case r == '\'' || r == '-' || r == '.' || r == ',' || r == '’':
		default:
			return Match{}, false
		}
		k += size
	}
	if letters < 2 || words > 6 {
		return Match{}, false
	}
	conf := 0.85
	switch {
	case col.hints&hintPerson != 0:
		for k := 0; words > 1 && k < len(t); {
			w, ok := nextWord(t, k)
			if !ok {
				k++
				continue
			}
			if lowerIn(t[w.s:w.e], orgWords) {
				return Match{}, false // a company in a customer_name column
			}
			k = w.e
		}
	case col.hints&hintPersonPart != 0:
		if !personName(t, true) {
			return Match{}, false
		}
		conf = 0.75
	default:
		// "beneficiary", "customer", a bare "name": companies and products
		// have names too; it must read as a person's name.
		if words < 2 || words > 5 || !personName(t, false) {
			return Match{}, false
		}
		conf = 0.6
	}
	return Match{Entity: Person, Start: s, End: e, Confidence: conf}, true
}

func isLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0xC0 && r != 0xD7 && r != 0xF7 && r != '’'
}

// --- secrets ------------------------------------------------------------------

var (
	beginArmour    = []byte("-----BEGIN ")
	serviceAccount = []byte("service_account")
	privateKeyName = []byte("private_key")
	githubPAT      = []byte("github_pat_")
	exampleSuffix  = []byte("EXAMPLE")
	dotDot         = []byte("..")
	dcolon         = []byte("::")
)

// secrets finds private keys, cloud access keys and tokens, and GCP
// service-account key JSON, in one pass over v keyed on the first byte of
// each prefix.
func secrets(dst []Match, v []byte, prefixes bool) []Match {
	n := len(v)
	if n >= 27 {
		for off := 0; ; {
			k := bytes.Index(v[off:], beginArmour)
			if k < 0 {
				break
			}
			var end int
			dst, end = privateKey(dst, v, off+k)
			off = end
		}
	}
	for i := 0; prefixes && i+4 <= n; i++ {
		if !secretFirst[v[i]] {
			continue
		}
		switch v[i] {
		case 'A':
			switch {
			case (v[i+1] == 'K' || v[i+1] == 'S') && v[i+2] == 'I' && v[i+3] == 'A':
				if m, ok := token(v, i, 20, 20, upperDigit, AWSAccessKey); ok && !bytes.HasSuffix(v[m.Start:m.End], exampleSuffix) {
					dst = appendNoOverlap(dst, m)
					i = m.End - 1
				}
			case v[i+1] == 'I' && v[i+2] == 'z' && v[i+3] == 'a':
				if m, ok := token(v, i, 39, 39, urlSafe, GCPAPIKey); ok {
					dst = appendNoOverlap(dst, m)
					i = m.End - 1
				}
			}
		case 'g':
			if v[i+1] != 'h' {
				continue
			}
			if v[i+3] == '_' && (v[i+2] == 'p' || v[i+2] == 'o' || v[i+2] == 'u' || v[i+2] == 's' || v[i+2] == 'r') {
				if m, ok := token(v, i, 40, 40, alnumUnderscore, GitHubToken); ok {
					dst = appendNoOverlap(dst, m)
					i = m.End - 1
				}
			} else if bytes.HasPrefix(v[i:], githubPAT) {
				if m, ok := token(v, i, 93, 93, alnumUnderscore, GitHubToken); ok {
					dst = appendNoOverlap(dst, m)
					i = m.End - 1
				}
			}
		case 'x':
			if v[i+1] == 'o' && v[i+2] == 'x' && i+4 < n && v[i+4] == '-' && (v[i+3] == 'b' || v[i+3] == 'a' || v[i+3] == 'p' || v[i+3] == 'r' || v[i+3] == 's') {
				if m, ok := token(v, i, 15, 255, alnumDash, SlackToken); ok {
					dst = appendNoOverlap(dst, m)
					i = m.End - 1
				}
			}
		}
	}
	if n >= 60 && bytes.Contains(v, privateKeyName) && ServiceAccountJSON(v) {
		k := bytes.Index(v, serviceAccount)
		dst = appendNoOverlap(dst, Match{Entity: GCPServiceAccountKey, Start: k, End: k + len(serviceAccount), Confidence: 1})
	}
	return dst
}

// ServiceAccountJSON reports whether b holds the two marks of a GCP
// service-account key: "type": "service_account" and a "private_key"
// member with a PEM private key (possibly with escaped newlines).
func ServiceAccountJSON(b []byte) bool {
	return typeServiceAccount(b) && bytes.Contains(b, []byte(`"private_key"`)) && bytes.Contains(b, []byte("PRIVATE KEY"))
}

func typeServiceAccount(b []byte) bool {
	for off := 0; ; {
		k := bytes.Index(b[off:], []byte(`"type"`))
		if k < 0 {
			return false
		}
		j := off + k + len(`"type"`)
		off = j
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == ':' || b[j] == '\r' || b[j] == '\n') {
			j++
		}
		if bytes.HasPrefix(b[j:], []byte(`"service_account"`)) {
			return true
		}
	}
}

// privateKey checks the armour line at k ("-----BEGIN ... PRIVATE KEY-----"
// or "... PRIVATE KEY BLOCK-----") and returns where the scan goes on.
func privateKey(dst []Match, v []byte, k int) ([]Match, int) {
	j := k + len(beginArmour)
	e := j
	for e < len(v) && e-j < 40 && (isUpper(v[e]) || v[e] == ' ' || isDigit(v[e])) {
		e++
	}
	label := v[j:e]
	if (bytes.HasSuffix(label, []byte("PRIVATE KEY")) || bytes.HasSuffix(label, []byte("PRIVATE KEY BLOCK"))) && bytes.HasPrefix(v[e:], []byte("-----")) {
		return appendNoOverlap(dst, Match{Entity: PrivateKey, Start: k, End: e + 5, Confidence: 1}), e + 5
	}
	return dst, j
}

func upperDigit(c byte) bool      { return isUpper(c) || isDigit(c) }
func urlSafe(c byte) bool         { return isAlnum(c) || c == '_' || c == '-' }
func alnumUnderscore(c byte) bool { return isAlnum(c) || c == '_' }
func alnumDash(c byte) bool       { return isAlnum(c) || c == '-' }

// token accepts a secret of min..max bytes of ok at k, standing alone:
// no token character right before or after it.
func token(v []byte, k, min, max int, ok func(byte) bool, e Entity) (Match, bool) {
	if k > 0 && (ok(v[k-1]) || isAlnum(v[k-1])) {
		return Match{}, false
	}
	j := k
	for j < len(v) && j-k < max && ok(v[j]) {
		j++
	}
	if j-k < min || (j < len(v) && (ok(v[j]) || isAlnum(v[j]))) {
		return Match{}, false
	}
	return Match{Entity: e, Start: k, End: j, Confidence: 1}, true
}
