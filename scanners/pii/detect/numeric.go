package detect

// groups is a run of digit groups with single separators between them:
// "555-123-4567" is groups {3,3,4} with seps {'-','-'}.
type groups struct {
	n      int
	len    [maxGroups]uint8
	sep    [maxGroups]byte // sep[k] precedes group k (sep[0] unused)
	end    [maxGroups]int  // end offset of group k
	digits [maxGroups]int  // digits up to and including group k
}

const maxGroups = 8

// readGroups reads digit groups from i, separated by one of ' ', '-', '.'.
func readGroups(v []byte, i int) groups {
	var g groups
	n := len(v)
	total := 0
	for g.n < maxGroups {
		j := i
		for j < n && isDigit(v[j]) && j-i < 20 {
			j++
		}
		if j == i || (j < n && isDigit(v[j])) {
			break
		}
		total += j - i
		g.len[g.n] = uint8(j - i)
		g.end[g.n] = j
		g.digits[g.n] = total
		g.n++
		if j+1 < n && (v[j] == ' ' || v[j] == '-' || v[j] == '.') && isDigit(v[j+1]) {
			if g.n < maxGroups {
				g.sep[g.n] = v[j]
			}
			i = j + 1
			continue
		}
		break
	}
	return g
}

// sameSep reports whether groups 1..k-1 share one separator.
func (g *groups) sameSep(k int) bool {
	for x := 2; x < k; x++ {
		if g.sep[x] != g.sep[1] {
			return false
		}
	}
	return true
}

// numeric tries the digit-led recognizers at i: US SSN, credit card,
// IPv4, phone number. The longest prefix of digit groups that one of them
// accepts wins.
func numeric(v []byte, i int, col Column, g *groups) (Match, bool) {
	// A '(' or '+' right before the digits starts a phone number.
	if i > 0 && (v[i-1] == '(' || v[i-1] == '+') {
		if m, ok := phone(v, i-1, col); ok {
			return m, true
		}
	}
	if g.n == 0 {
		return Match{}, false
	}
	if g.n == 1 && g.len[0] < 7 {
		if e := g.end[0]; e+1 < len(v) && v[e] == '/' && isDigit(v[e+1]) {
			return phone(v, i, col) // "030/16363365"
		}
		return Match{}, false // too few digits for any entity
	}
	if e := g.end[g.n-1]; e < len(v) && (isAlnum(v[e]) || (v[e] >= 0x80 && !cjkAt(v, e))) && v[e] != 'x' && v[e] != 'X' {
		// The last group runs into letters ("550e8400", "2024-01-15T10"):
		// a shorter prefix ends before a '-' or '.' and a digit, which
		// glues too, so only space-separated groups may still hold an entity.
		spaced := false
		for k := 1; k < g.n; k++ {
			spaced = spaced || g.sep[k] == ' '
		}
		if !spaced {
			return Match{}, false
		}
	}
	for k := g.n; k >= 1; k-- {
		end := g.end[k-1]
		if !g.sameSep(k) {
			continue
		}
		sep := g.sep[1]
		switch {
		case k == 4 && sep == '.':
			if m, ok := ipv4(v, i, g, col); ok {
				return m, true
			}
		case k == 3 && g.len[0] == 3 && g.len[1] == 2 && g.len[2] == 4:
			if rightOK(v, end) {
				if m, ok := ssn(v, i, end, col); ok {
					return m, true
				}
			}
		case k == 1 && g.len[0] == 9 && col.hints&(hintSSN|hintTax) != 0:
			if rightOK(v, end) {
				if m, ok := ssn(v, i, end, col); ok {
					return m, true
				}
			}
		}
		// In a phone column (an MSISDN stored as a number) digits are a phone.
		if sep != '.' && g.digits[k-1] >= 13 && g.digits[k-1] <= 19 && rightOK(v, end) && col.hints&(hintPhone|hintCard) != hintPhone {
			if m, ok := card(v, i, end, g, k, col); ok {
				return m, true
			}
		}
	}
	return phone(v, i, col)
}

// --- US SSN ---------------------------------------------------------------

func ssn(v []byte, start, end int, col Column) (Match, bool) {
	if col.hints&hintNegative != 0 || (col.hints&(hintSSN|hintTax) == 0 && negativeBefore(v, start)) {
		return Match{}, false
	}
	var d [9]byte
	k := 0
	for _, c := range v[start:end] {
		if isDigit(c) {
			if k == 9 {
				return Match{}, false
			}
			d[k] = c
			k++
		}
	}
	if k != 9 || !validSSN(d) {
		return Match{}, false
	}
	conf := 0.85
	if col.hints&(hintSSN|hintTax) != 0 {
		conf = 0.95
	}
	return Match{Entity: SSN, Start: start, End: end, Confidence: conf}, true
}

// validSSN rejects numbers the SSA never issues (area 000, 666, 900-999;
// group 00; serial 0000), one digit repeated, and well-known published
// numbers (078-05-1120 from the Woolworth wallet, 219-09-9999 from an
// advertisement, 123-45-6789 and 987-65-432x).
func validSSN(d [9]byte) bool {
	s := string(d[:])
	area := s[:3]
	if area == "000" || area == "666" || area[0] == '9' || s[3:5] == "00" || s[5:] == "0000" {
		return false
	}
	same := true
	for i := 1; i < 9; i++ {
		if d[i] != d[0] {
			same = false
			break
		}
	}
	if same {
		return false
	}
	switch s {
	case "078051120", "219099999", "123456789":
		return false
	}
	return true
}

// --- credit cards ---------------------------------------------------------

// card accepts 13-19 digits, contiguous or in groups of four separated by
// one kind of separator (the last group shorter; Amex 4-6-5, Diners
// 4-6-4), Luhn valid, with a known issuer prefix.
func card(v []byte, start, end int, g *groups, k int, col Column) (Match, bool) {
	total := g.digits[k-1]
	switch {
	case k == 1:
		// contiguous: an identifier column or word makes it an id
		if col.hints&hintNegative != 0 || (col.hints&hintCard == 0 && negativeBefore(v, start)) {
			return Match{}, false
		}
	case k == 3 && g.len[0] == 4 && g.len[1] == 6 && (g.len[2] == 5 || g.len[2] == 4):
	default:
		for x := 0; x < k-1; x++ {
			if g.len[x] != 4 {
				return Match{}, false
			}
		}
		if g.len[k-1] > 4 || g.sep[1] == '.' {
			return Match{}, false
		}
	}
	var d [19]byte
	n := 0
	for _, c := range v[start:end] {
		if isDigit(c) {
			d[n] = c - '0'
			n++
		}
	}
	if n != total || !luhn(d[:n]) || !knownIIN(d[:n]) {
		return Match{}, false
	}
	// A 13- or 14-digit run with a right GS1 check digit is an EAN-13 /
	// GTIN-14 barcode unless the column says card.
	if k == 1 && (n == 13 || n == 14) && col.hints&hintCard == 0 && gs1(d[:n]) {
		return Match{}, false
	}
	for x := 1; x < n; x++ {
		if d[x] != d[0] {
			return Match{Entity: CreditCard, Start: start, End: end, Confidence: 1}, true
		}
	}
	return Match{}, false
}

func luhn(d []byte) bool {
	sum := 0
	dbl := false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i])
		if dbl {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		dbl = !dbl
	}
	return sum%10 == 0
}

// knownIIN checks the issuer prefix and the lengths the issuer uses.
func knownIIN(d []byte) bool {
	n := len(d)
	p := func(k int) int {
		x := 0
		for i := 0; i < k; i++ {
			x = x*10 + int(d[i])
		}
		return x
	}
	p2, p3, p4, p6 := p(2), p(3), p(4), p(6)
	switch {
	case d[0] == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649, p6 >= 622126 && p6 <= 622925: // Discover
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589, p4 >= 3088 && p4 <= 3094, p4 >= 3096 && p4 <= 3102, p4 >= 3112 && p4 <= 3120,
		p4 >= 3158 && p4 <= 3159, p4 >= 3337 && p4 <= 3349: // JCB
		return n >= 16 && n <= 19
	case p4 == 1800 || p4 == 2131: // JCB, 15-digit legacy range
		return n == 15
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39, p4 == 3095: // Diners Club
		return n >= 14 && n <= 19
	case p2 == 62: // UnionPay
		return n >= 16 && n <= 19
	case p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 || p4 == 6761 || p4 == 6762 || p4 == 6763 ||
		p4 == 6390 || p4 == 604 || p2 >= 56 && p2 <= 58: // Maestro
		return n >= 12 && n <= 19
	case p4 >= 2200 && p4 <= 2204: // Mir
		return n >= 16 && n <= 19
	}
	return false
}

// --- IPv4 -------------------------------------------------------------------

func ipv4(v []byte, start int, g *groups, col Column) (Match, bool) {
	if col.hints&hintVersion != 0 {
		return Match{}, false
	}
	end := g.end[3]
	for x := 0; x < 4; x++ {
		if g.len[x] > 3 {
			return Match{}, false
		}
		s := g.end[x] - int(g.len[x])
		if g.len[x] > 1 && v[s] == '0' {
			return Match{}, false // leading zero: not how addresses are written
		}
		val := 0
		for _, c := range v[s:g.end[x]] {
			val = val*10 + int(c-'0')
		}
		if val > 255 {
			return Match{}, false
		}
	}
	// A port (":8080") or a prefix length ("/24") may follow an address.
	if end+1 < len(v) && v[end] == '/' && !isDigit(v[end+1]) {
		// a URL path: "http://10.0.0.1/admin"
	} else if end < len(v) && (v[end] == ':' || v[end] == '/') {
		j := end + 1
		for j < len(v) && isDigit(v[j]) {
			j++
		}
		if j == end+1 || !rightOK(v, j) {
			return Match{}, false
		}
	} else if !rightOK(v, end) {
		return Match{}, false
	}
	if versionBefore(v, start) {
		return Match{}, false
	}
	return Match{Entity: IP, Start: start, End: end, Confidence: 0.9}, true
}

// --- phone numbers ------------------------------------------------------------

// phone accepts, from i ('+', '(' or a digit):
//   - international: '+' then 8-15 digits, with or without separators;
//   - North American: [1 or 001 sep] (NNN) NNN-NNNN, NNN-NNN-NNNN,
//     NNN.NNN.NNNN, NNN NNN NNNN (one kind of separator);
//   - national with a trunk 0: 0NN... in 2-5 groups, one kind of separator,
//     9-12 digits ("020 7946 0958", "01 23 45 67 89", "030-12345678");
//   - in a phone column or after a phone word: any 7-15 digits, with or
//     without separators.
//
// An extension ("x123", " ext. 123") may follow. Digit runs without
// separators, identifier columns and "order"/"sku"-like words before are
// rejected.
func phone(v []byte, i int, col Column) (Match, bool) {
	if col.hints&(hintNegative|hintVersion) != 0 {
		return Match{}, false
	}
	n := len(v)
	start := i
	ctx := col.hints&hintPhone != 0
	j := i
	plus := false
	if v[j] == '+' {
		plus = true
		j++
	}
	// Read digits, groups and separators: ' ', '-', '.', '(' ... ')'.
	var glen [12]uint8
	var gsep [13]byte // gsep[k] precedes group k
	ng, digits := 0, 0
	paren, parenGroup := false, -1
	for j < n && ng < len(glen) {
		if v[j] == '(' && !paren {
			paren = true
			parenGroup = ng
			j++
		}
		s := j
		for j < n && isDigit(v[j]) && j-s < 15 {
			j++
		}
		if j == s {
			return Match{}, false
		}
		glen[ng] = uint8(j - s)
		digits += j - s
		ng++
		if paren && parenGroup == ng-1 {
			if j >= n || v[j] != ')' {
				return Match{}, false
			}
			j++
			if j < n && v[j] == ' ' && j+1 < n && isDigit(v[j+1]) {
				gsep[ng] = ')'
				j++
				continue
			}
			if j < n && isDigit(v[j]) {
				gsep[ng] = ')'
				continue
			}
			if j+1 < n && (v[j] == '-' || v[j] == '.') && isDigit(v[j+1]) {
				gsep[ng] = ')'
				j++
				continue
			}
			break
		}
		if plus && j < n && v[j] == '(' && !paren {
			gsep[ng] = ' ' // "+44(0)117 ...": the paren group follows directly
			continue
		}
		if j+1 < n && (v[j] == ' ' || v[j] == '-' || v[j] == '.') && (isDigit(v[j+1]) || (v[j+1] == '(' && !paren && j+2 < n && isDigit(v[j+2]))) {
			gsep[ng] = v[j]
			j++
			continue
		}
		// "030/16363365": a slash after the area code only
		if ng == 1 && !plus && j+1 < n && v[j] == '/' && isDigit(v[j+1]) && (v[i] == '0' || ctx) {
			gsep[ng] = ')'
			j++
			continue
		}
		break
	}
	end := j
	if ng == len(glen) || digits > 15 || digits < 7 {
		return Match{}, false
	}
	// One kind of separator apart from the parenthesised group.
	var sep byte
	for x := 1; x < ng && !plus; x++ {
		if gsep[x] == ')' || x == parenGroup {
			continue
		}
		if sep == 0 {
			sep = gsep[x]
		} else if gsep[x] != sep {
			return Match{}, false
		}
	}
	ok := false
	conf := 0.75
	switch {
	case plus:
		// International: country code first, 8-15 digits in all.
		ok = digits >= 8 && v[i+1] != '0'
		conf = 0.85
	case ctx || phoneBefore(v, start):
		ok = true
		conf = 0.9
	case ng == 1:
		ok = false // a bare digit run is an id unless the column says phone
	case paren && parenGroup == 0 && v[i+1] == '0' && glen[0] >= 3 && glen[0] <= 5:
		// national with the trunk prefix in parens: "(0115) 496 0123"
		ok = ng >= 2 && ng <= 4 && digits >= 10 && digits <= 12 && allBetween(glen[1:ng], 2, 8) && nationalPhone(v, i, end)
	case paren && parenGroup >= 0 && glen[parenGroup] == 3 && tailNANP(glen[parenGroup:ng]) && prefixNANP(v, i, glen[:parenGroup]):
		// (NNN) NNN-NNNN, optionally after 1 or 001.
		ok = true
	case paren && parenGroup == 0 && glen[0] == 2 && ng >= 2 && ng <= 3 && digits >= 10 && digits <= 11:
		// an area code without trunk prefix: "(11) 98765-4321"
		ok = nationalPhone(v, i, end)
	case paren:
	default:
		if ng >= 3 && tailNANP(glen[ng-3:ng]) && prefixNANP(v, i, glen[:ng-3]) && (sep != '.' || ng == 3) {
			ok = true
		} else if v[i] == '0' && v[i+1] != '0' && ng >= 2 && ng <= 5 && digits >= 10 && digits <= 12 && glen[0] >= 2 && glen[0] <= 6 {
			// national with a trunk 0: "030 12345678", "087967 78838", "090-1234-5678"
			ok = allBetween(glen[1:ng], 2, 8) && nationalPhone(v, i, end)
		}
	}
	if !ok {
		return Match{}, false
	}
	end = extension(v, end)
	if !rightOK(v, end) {
		return Match{}, false
	}
	if !ctx && negativeBefore(v, start) {
		return Match{}, false
	}
	return Match{Entity: Phone, Start: start, End: end, Confidence: conf}, true
}

// nationalPhone reports whether the digits of v[s:e] are a valid national
// phone number in one of the regions gatehouse knows (see phonelib.go).
func nationalPhone(v []byte, s, e int) bool {
	var buf [20]byte
	return nationalPhoneValid(digitsOf(v, s, e, &buf))
}

// tailNANP reports whether the groups are NNN NNN NNNN (or (NNN) NNN NNNN).
func tailNANP(g []uint8) bool {
	return len(g) == 3 && g[0] == 3 && g[1] == 3 && g[2] == 4
}

// prefixNANP accepts no prefix, "1" or "001" before a North American number.
func prefixNANP(v []byte, i int, pre []uint8) bool {
	switch len(pre) {
	case 0:
		return true
	case 1:
		return (pre[0] == 1 && v[i] == '1') || (pre[0] == 3 && string(v[i:i+3]) == "001")
	}
	return false
}

func allBetween(g []uint8, lo, hi uint8) bool {
	for _, x := range g {
		if x < lo || x > hi {
			return false
		}
	}
	return true
}

// extension consumes "x123", " x123", " ext 123", " ext. 123" after a number.
func extension(v []byte, end int) int {
	j := end
	n := len(v)
	if j < n && v[j] == ' ' {
		j++
	}
	switch {
	case j < n && (v[j] == 'x' || v[j] == 'X'):
		j++
	case j+2 < n && (v[j]|0x20) == 'e' && (v[j+1]|0x20) == 'x' && (v[j+2]|0x20) == 't':
		j += 3
		if j < n && v[j] == '.' {
			j++
		}
		if j < n && v[j] == ' ' {
			j++
		}
	default:
		return end
	}
	s := j
	for j < n && isDigit(v[j]) && j-s < 6 {
		j++
	}
	if j == s || j-s > 5 {
		return end
	}
	return j
}
