package detect

import "bytes"

// National identity numbers, dates of birth, MAC addresses, US passport
// and driver-licence numbers. Numbers with a check digit are accepted on
// their printed shape and checksum; numbers without one (or whose bare
// digit run is too common to stand alone) need the column or a word
// before them to say what they are.

// --- checksums -------------------------------------------------------------------

var (
	verhoeffD = [10][10]uint8{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1}, {6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}
	verhoeffP = [8][10]uint8{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1}, {2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8}}
)

// verhoeff checks the Verhoeff check digit (Aadhaar): d holds digit values.
func verhoeff(d []byte) bool {
	c := uint8(0)
	for i := 0; i < len(d); i++ {
		c = verhoeffD[c][verhoeffP[i%8][d[len(d)-1-i]]]
	}
	return c == 0
}

// gs1 checks the GS1 check digit of a GTIN-8/12/13/14 (EAN, UPC).
func gs1(d []byte) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		x := int(d[len(d)-1-i])
		if i%2 == 1 {
			x *= 3
		}
		sum += x
	}
	return sum%10 == 0
}

// cpfValid checks both mod-11 check digits of a Brazilian CPF.
func cpfValid(d []byte) bool {
	if len(d) != 11 || allSame(d) {
		return false
	}
	for _, n := range []int{9, 10} {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[i]) * (n + 1 - i)
		}
		if byte(sum*10%11%10) != d[n] {
			return false
		}
	}
	return true
}

// myNumberValid checks the check digit of a Japanese Individual Number.
func myNumberValid(d []byte) bool {
	if len(d) != 12 || allSame(d) {
		return false
	}
	sum := 0
	for n := 1; n <= 11; n++ {
		q := n + 1
		if n > 6 {
			q = n - 5
		}
		sum += int(d[11-n]) * q
	}
	r := sum % 11
	c := 0
	if r > 1 {
		c = 11 - r
	}
	return byte(c) == d[11]
}

// steuerIDValid checks a German tax identification number: no leading 0,
// in the first ten digits exactly one digit appears two or three times
// (and the others at most once), ISO 7064 MOD 11,10 check digit.
func steuerIDValid(d []byte) bool {
	if len(d) != 11 || d[0] == 0 {
		return false
	}
	var cnt [10]int
	for _, x := range d[:10] {
		cnt[x]++
	}
	multi := 0
	for _, c := range cnt {
		if c > 3 {
			return false
		}
		if c >= 2 {
			multi++
		}
	}
	if multi != 1 {
		return false
	}
	p := 10
	for i := 0; i < 10; i++ {
		s := (int(d[i]) + p) % 10
		if s == 0 {
			s = 10
		}
		p = s * 2 % 11
	}
	return byte((11-p)%10) == d[10]
}

// nirValid checks a French NIR (13 digits + 2-digit key, 97 - n mod 97):
// sex 1/2 (7/8 for temporary numbers), a month 01-12 or 20-42/50-99.
func nirValid(d []byte) bool {
	if len(d) != 15 || !(d[0] == 1 || d[0] == 2 || d[0] == 7 || d[0] == 8) {
		return false
	}
	m := int(d[3])*10 + int(d[4])
	if m == 0 || (m > 12 && m < 20) || (m > 42 && m < 50) {
		return false
	}
	n := 0
	for _, x := range d[:13] {
		n = (n*10 + int(x)) % 97
	}
	return 97-n == int(d[13])*10+int(d[14])
}

// bsnValid is the Dutch 11-test: 9*d1 + 8*d2 + ... + 2*d8 - d9 ≡ 0 (mod 11).
func bsnValid(d []byte) bool {
	if len(d) != 9 || allSame(d) {
		return false
	}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += int(d[i]) * (9 - i)
	}
	sum -= int(d[8])
	return sum%11 == 0 && sum != 0
}

const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// cfOdd is the codice fiscale's value of a character in an odd position.
var cfOdd = [36]uint8{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23} // A-Z

// fiscalCodeValid checks an Italian codice fiscale: 6 letters, 2 digits,
// a month letter, 2 digits, a letter, 3 digits, a check letter (digits may
// be replaced by the omocodia letters LMNPQRSTUV).
func fiscalCodeValid(s []byte) bool {
	if len(s) != 16 {
		return false
	}
	for i, c := range s {
		switch {
		case i < 6 || i == 8 || i == 11 || i == 15:
			if !isUpper(c) {
				return false
			}
		default:
			if !isDigit(c) && bytes.IndexByte([]byte("LMNPQRSTUV"), c) < 0 {
				return false
			}
		}
	}
	if bytes.IndexByte([]byte("ABCDEHLMPRST"), s[8]) < 0 {
		return false
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		v := int(c - 'A')
		if isDigit(c) {
			v = int(c - '0')
		}
		if i%2 == 0 {
			k := int(c-'A') + 10
			if isDigit(c) {
				k = int(c - '0')
			}
			sum += int(cfOdd[k])
		} else {
			sum += v
		}
	}
	return s[15] == byte('A'+sum%26)
}

func allSame(d []byte) bool {
	for _, x := range d[1:] {
		if x != d[0] {
			return false
		}
	}
	return true
}

// --- context -----------------------------------------------------------------------

var (
	birthContext = set("born", "dob", "birth", "birthday", "birthdate", "geboren", "geb", "geburtsdatum", "nacido",
		"nacida", "nacimiento", "nascido", "nascida", "nascimento", "nato", "nata", "naissance")
	idContext = map[string]Entity{
		"aadhaar": INAadhaar, "aadhar": INAadhaar, "uidai": INAadhaar,
		"cpf":    BRCPF,
		"steuer": DETaxID, "steuerid": DETaxID, "idnr": DETaxID, "steueridentifikationsnummer": DETaxID,
		"identifikationsnummer": DETaxID,
		"nir":                   FRNIR, "insee": FRNIR, "secu": FRNIR,
		"dni": ESNIF, "nif": ESNIF, "nie": ESNIE,
		"bsn": NLBSN, "burgerservicenummer": NLBSN, "sofinummer": NLBSN,
		"nino": UKNINO, "passport": USPassport, "pasaporte": USPassport, "passeport": USPassport, "reisepass": USPassport,
		"passaporte": USPassport, "license": USDriverLicense, "licence": USDriverLicense, "dl": USDriverLicense,
	}
	jaMyNumber = [][]byte{[]byte("マイナンバー"), []byte("個人番号")}
	jaBirth    = [][]byte{[]byte("生年月日"), []byte("誕生日")}
	jaBorn     = []byte("生まれ")
)

// idBefore returns the entity a word in the 32 bytes before i names
// ("CPF 123...", "Steuer-ID: ...", "driver's license D1234567").
func idBefore(v []byte, i int) Entity {
	lo := max(i-32, 0)
	end := i
	for k := 0; k < 3 && end > lo; k++ {
		for end > lo && !isAlnum(v[end-1]) {
			if v[end-1] >= 0x80 {
				break
			}
			end--
		}
		start := end
		for start > lo && class[v[start-1]]&(cUpper|cLower) != 0 {
			start--
		}
		if start == end || end-start > 27 {
			break
		}
		var buf [27]byte
		for x, c := range v[start:end] {
			buf[x] = c | 0x20
		}
		if e, ok := idContext[string(buf[:end-start])]; ok {
			return e
		}
		end = start
	}
	w := v[max(i-48, 0):i]
	for _, k := range jaMyNumber {
		if bytes.Contains(w, k) {
			return JPMyNumber
		}
	}
	return 0
}

// birthAround reports whether a birth word precedes i or "生まれ" follows e.
func birthAround(v []byte, i, e int) bool {
	if wordBefore(v, i, birthContext) {
		return true
	}
	w := v[max(i-40, 0):i]
	for _, k := range jaBirth {
		if bytes.Contains(w, k) {
			return true
		}
	}
	return bytes.HasPrefix(v[e:], jaBorn)
}

// cjkNear reports whether Japanese or Chinese text is within 24 bytes before i.
func cjkNear(v []byte, i int) bool {
	for k := i - 1; k >= max(i-24, 0); k-- {
		if v[k] >= 0xE3 && v[k] <= 0xE9 && k+3 <= len(v) && cjkAt(v, k) {
			return true
		}
	}
	return false
}

// --- recognizers ---------------------------------------------------------------------

// digitsOf returns the digit values in v[s:e] (at most 20).
func digitsOf(v []byte, s, e int, buf *[20]byte) []byte {
	n := 0
	for _, c := range v[s:e] {
		if isDigit(c) && n < 20 {
			buf[n] = c - '0'
			n++
		}
	}
	return buf[:n]
}

// nationalDigits tries the digit-led national formats at i: dates of
// birth, CPF, Aadhaar, My Number, Steuer-ID, NIR, BSN, DNI, US passport
// and driver's licence numbers, bare SSNs in tax columns.
func nationalDigits(v []byte, i int, col Column, g *groups) (Match, bool) {
	if col.hints&(hintPhone|hintNegative|hintVersion) != 0 && col.id == 0 && col.hints&hintDOB == 0 {
		return Match{}, false
	}
	if m, ok := dateOfBirth(v, i, col); ok {
		return m, true
	}
	if g.n == 0 || g.digits[g.n-1] < 7 || (i > 0 && v[i-1] == '+') {
		return Match{}, false // "+34 612 ...": a phone number
	}
	end := g.end[g.n-1]
	var buf [20]byte
	ctx := col.id
	if ctx == 0 && g.n == 1 {
		ctx = idBefore(v, i) // bare digit runs need a word that names them
	}
	// DNI: 8 digits and a control letter; "12345678Z" or "12345678-Z".
	if g.n == 1 && g.len[0] == 8 && end < len(v) {
		le := end
		if v[le] == '-' && le+1 < len(v) {
			le++
		}
		if isUpper(v[le]) && rightOK(v, le+1) {
			d := digitsOf(v, i, end, &buf)
			n := 0
			for _, x := range d {
				n = n*10 + int(x)
			}
			if dniLetters[n%23] == v[le] {
				return Match{Entity: ESNIF, Start: i, End: le + 1, Confidence: 1}, true
			}
		}
	}
	if end < len(v) && isAlnum(v[end]) {
		return Match{}, false
	}
	lens := func(ls ...uint8) bool {
		if g.n != len(ls) {
			return false
		}
		for k, l := range ls {
			if g.len[k] != l {
				return false
			}
		}
		return true
	}
	if !rightOK(v, end) {
		// a trailing '.' ends a sentence
		if !(end+1 < len(v) && v[end] == '.' && !isAlnum(v[end+1])) {
			return Match{}, false
		}
	}
	d := digitsOf(v, i, end, &buf)
	if col.id == 0 && negativeBefore(v, i) {
		if ctx = idBefore(v, i); ctx == 0 {
			return Match{}, false // "Invoice 2024 0001 7973", "order 12 345 678 901"
		}
	}
	switch {
	case lens(3, 3, 3, 2) && g.sep[1] == '.' && g.sep[2] == '.' && g.sep[3] == '-',
		lens(11) && ctx == BRCPF:
		if cpfValid(d) {
			return Match{Entity: BRCPF, Start: i, End: end, Confidence: 1}, true
		}
	case lens(4, 4, 4) && g.sameSep(3) && g.sep[1] != '.', lens(12) && (ctx == INAadhaar || ctx == JPMyNumber):
		aad := d[0] >= 2 && verhoeff(d)
		myn := myNumberValid(d)
		if ctx == 0 && (aad || myn) {
			ctx = idBefore(v, i)
		}
		switch {
		case ctx == JPMyNumber && myn:
			return Match{Entity: JPMyNumber, Start: i, End: end, Confidence: 1}, true
		case aad && ctx != JPMyNumber:
			return Match{Entity: INAadhaar, Start: i, End: end, Confidence: 1}, true
		case myn && ctx != INAadhaar && cjkNear(v, i):
			return Match{Entity: JPMyNumber, Start: i, End: end, Confidence: 0.9}, true
		}
	case lens(2, 3, 3, 3) && g.sameSep(4) && g.sep[1] != '.', lens(11) && (ctx == DETaxID || col.hints&hintTax != 0):
		if steuerIDValid(d) {
			return Match{Entity: DETaxID, Start: i, End: end, Confidence: 1}, true
		}
	case lens(1, 2, 2, 2, 3, 3, 2) && g.sameSep(7), lens(13, 2) && g.sep[1] == ' ', lens(15) && ctx == FRNIR:
		if nirValid(d) {
			return Match{Entity: FRNIR, Start: i, End: end, Confidence: 1}, true
		}
	case lens(9) && ctx == NLBSN, lens(4, 2, 3) && g.sameSep(3) && (col.id == NLBSN || idBefore(v, i) == NLBSN):
		if bsnValid(d) {
			return Match{Entity: NLBSN, Start: i, End: end, Confidence: 1}, true
		}
	case lens(9) && ctx == USPassport:
		if !allSame(d) {
			return Match{Entity: USPassport, Start: i, End: end, Confidence: 0.8}, true
		}
	case g.n == 1 && g.len[0] >= 7 && g.len[0] <= 13 && ctx == USDriverLicense:
		if !allSame(d) {
			return Match{Entity: USDriverLicense, Start: i, End: end, Confidence: 0.7}, true
		}
	}
	return Match{}, false
}

// nationalLetters tries the letter-led formats at i: UK NINO, Spanish NIE,
// Italian codice fiscale, and (with context) US passport (letter + 8
// digits) and driver's licence numbers (1-2 letters + 4-14 digits).
func nationalLetters(v []byte, i int, col Column) (Match, bool) {
	n := len(v)
	c := v[i]
	if !isUpper(c) || i+8 > n {
		return Match{}, false
	}
	// codice fiscale: 16 characters
	if i+16 <= n && isUpper(v[i+1]) && isUpper(v[i+5]) && rightOK(v, i+16) && fiscalCodeValid(v[i:i+16]) {
		return Match{Entity: ITFiscalCode, Start: i, End: i + 16, Confidence: 1}, true
	}
	// NIE: X/Y/Z + 7 digits + letter
	if (c == 'X' || c == 'Y' || c == 'Z') && i+9 <= n && allDigits(v[i+1:i+8]) {
		e := i + 8
		if v[e] == '-' && e+1 < n {
			e++
		}
		if isUpper(v[e]) && rightOK(v, e+1) {
			x := int(c - 'X')
			for _, d := range v[i+1 : i+8] {
				x = x*10 + int(d-'0')
			}
			if dniLetters[x%23] == v[e] {
				return Match{Entity: ESNIE, Start: i, End: e + 1, Confidence: 1}, true
			}
		}
	}
	// UK NINO: two prefix letters, six digits (optionally in pairs), A-D.
	if isUpper(v[i+1]) && validNINOPrefix(c, v[i+1]) {
		j := i + 2
		digits := 0
		for digits < 6 && j < n {
			if v[j] == ' ' && digits%2 == 0 && j+1 < n && isDigit(v[j+1]) {
				j++
				continue
			}
			if !isDigit(v[j]) {
				break
			}
			digits++
			j++
		}
		if digits == 6 {
			if j+1 < n && v[j] == ' ' && v[j+1] >= 'A' && v[j+1] <= 'D' {
				j++
			}
			if j < n && v[j] >= 'A' && v[j] <= 'D' && rightOK(v, j+1) {
				return Match{Entity: UKNINO, Start: i, End: j + 1, Confidence: 0.95}, true
			}
		}
	}
	ctx := col.id
	if ctx == 0 {
		ctx = idBefore(v, i)
	}
	if ctx != USPassport && ctx != USDriverLicense {
		return Match{}, false
	}
	j := i + 1
	if j < n && isUpper(v[j]) {
		j++
	}
	s := j
	for j < n && isDigit(v[j]) {
		j++
	}
	if !rightOK(v, j) {
		return Match{}, false
	}
	switch {
	case ctx == USPassport && s == i+1 && j-s == 8:
		return Match{Entity: USPassport, Start: i, End: j, Confidence: 0.8}, true
	case ctx == USDriverLicense && j-s >= 4 && j-s <= 14:
		return Match{Entity: USDriverLicense, Start: i, End: j, Confidence: 0.7}, true
	}
	return Match{}, false
}

func validNINOPrefix(a, b byte) bool {
	if bytes.IndexByte([]byte("DFIQUV"), a) >= 0 || bytes.IndexByte([]byte("DFIOQUV"), b) >= 0 {
		return false
	}
	switch string([]byte{a, b}) {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// --- dates of birth ---------------------------------------------------------------------

// dateOfBirth accepts a calendar date at i in a birth-date column or after
// a birth word: YYYY-MM-DD, YYYY/MM/DD, DD.MM.YYYY, DD/MM/YYYY,
// MM/DD/YYYY, DD-MM-YYYY and 1990年1月2日. A date with no such context is
// not personal data by itself and is not reported.
func dateOfBirth(v []byte, i int, col Column) (Match, bool) {
	e, ok := dateAt(v, i)
	if !ok {
		return Match{}, false
	}
	if col.hints&hintDOB == 0 && !birthAround(v, i, e) {
		return Match{}, false
	}
	return Match{Entity: DateOfBirth, Start: i, End: e, Confidence: 0.9}, true
}

func num(v []byte, i, k int) (int, bool) {
	if i+k > len(v) {
		return 0, false
	}
	x := 0
	for _, c := range v[i : i+k] {
		if !isDigit(c) {
			return 0, false
		}
		x = x*10 + int(c-'0')
	}
	return x, true
}

// dateAt returns the end of a valid date at i.
func dateAt(v []byte, i int) (int, bool) {
	n := len(v)
	if y, ok := num(v, i, 4); ok && i+4 < n {
		// YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日
		if bytes.HasPrefix(v[i+4:], []byte("年")) {
			j := i + 4 + len("年")
			m, k := digitsUpTo(v, j, 2)
			if k == 0 || !bytes.HasPrefix(v[j+k:], []byte("月")) {
				return 0, false
			}
			j += k + len("月")
			d, k2 := digitsUpTo(v, j, 2)
			if k2 == 0 || !bytes.HasPrefix(v[j+k2:], []byte("日")) {
				return 0, false
			}
			return j + k2 + len("日"), validDate(y, m, d)
		}
		s := v[i+4]
		if s != '-' && s != '/' && s != '.' {
			return 0, false
		}
		m, ok1 := num(v, i+5, 2)
		if !ok1 || i+7 >= n || v[i+7] != s {
			return 0, false
		}
		d, ok2 := num(v, i+8, 2)
		if !ok2 || !dateEndOK(v, i+10) {
			return 0, false
		}
		return i + 10, validDate(y, m, d)
	}
	// DD.MM.YYYY, DD/MM/YYYY, MM/DD/YYYY, DD-MM-YYYY
	a, ok := num(v, i, 2)
	if !ok || i+10 > n {
		return 0, false
	}
	s := v[i+2]
	if (s != '.' && s != '/' && s != '-') || v[i+5] != s {
		return 0, false
	}
	b, ok1 := num(v, i+3, 2)
	y, ok2 := num(v, i+6, 4)
	if !ok1 || !ok2 || !dateEndOK(v, i+10) {
		return 0, false
	}
	return i + 10, validDate(y, b, a) || validDate(y, a, b)
}

func dateEndOK(v []byte, e int) bool {
	if e >= len(v) {
		return true
	}
	c := v[e]
	return !isAlnum(c) && !(isGlue(c) && c != '.' && c != ':' && e+1 < len(v) && isDigit(v[e+1])) &&
		!(c == '.' && e+1 < len(v) && isDigit(v[e+1])) && !(c == 'T' || c == ':')
}

func digitsUpTo(v []byte, i, k int) (int, int) {
	x, j := 0, i
	for j < len(v) && j-i < k && isDigit(v[j]) {
		x = x*10 + int(v[j]-'0')
		j++
	}
	return x, j - i
}

func validDate(y, m, d int) bool {
	if y < 1900 || y > 2030 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	return d <= days[m]
}

// --- MAC addresses ------------------------------------------------------------------------

// mac accepts six hex pairs with one kind of separator (':' or '-'), or
// Cisco's three dotted groups of four, standing alone; the all-zero and
// broadcast addresses are not a device.
func mac(v []byte, i int) (Match, bool) {
	n := len(v)
	if i+14 > n || !isHex(v[i]) || !isHex(v[i+1]) {
		return Match{}, false
	}
	sep := v[i+2]
	if sep == ':' || sep == '-' {
		if i+17 > n {
			return Match{}, false
		}
		for k := 0; k < 6; k++ {
			p := i + 3*k
			if !isHex(v[p]) || !isHex(v[p+1]) || (k < 5 && v[p+2] != sep) {
				return Match{}, false
			}
		}
		e := i + 17
		if !macEndOK(v, e) || zeroOrBroadcast(v[i:e]) {
			return Match{}, false
		}
		return Match{Entity: MACAddress, Start: i, End: e, Confidence: 0.9}, true
	}
	if i+14 <= n && v[i+4] == '.' && v[i+9] == '.' {
		for _, p := range []int{0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13} {
			if !isHex(v[i+p]) {
				return Match{}, false
			}
		}
		if !macEndOK(v, i+14) || zeroOrBroadcast(v[i:i+14]) {
			return Match{}, false
		}
		return Match{Entity: MACAddress, Start: i, End: i + 14, Confidence: 0.85}, true
	}
	return Match{}, false
}

func macEndOK(v []byte, e int) bool {
	return e >= len(v) || !(isAlnum(v[e]) || v[e] == ':' || v[e] == '-' || v[e] == '_' || (v[e] == '.' && e+1 < len(v) && isAlnum(v[e+1])))
}

func zeroOrBroadcast(b []byte) bool {
	z, f := true, true
	for _, c := range b {
		if isHex(c) {
			z = z && c == '0'
			f = f && (c|0x20) == 'f'
		}
	}
	return z || f
}
