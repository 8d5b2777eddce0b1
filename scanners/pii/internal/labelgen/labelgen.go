// Package labelgen generates a labelled PII set for measuring the
// recognizers: international formats of every entity gatehouse claims or
// should find, free text in five languages (English, German,
// French/Spanish/Portuguese, Hindi-English transliterated, Japanese),
// nested JSON key paths, and decoys (barcodes, order numbers, versions,
// timestamps, hashes, company names, card and IBAN look-alikes).
//
// Check digits are computed here independently of the detector, so a bug
// in one does not hide in the other. The set is deterministic for a seed.
package labelgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Sample is one value of a column (or a JSON key path; "" for free text)
// and the entities a compliance officer would mark in it, one name per
// occurrence (none for decoys).
type Sample struct {
	Kind   string // what the generator meant: "phone-de", "decoy-ean13", ...
	Column string
	Value  string
	Want   []string
}

type gen struct {
	r   *rand.Rand
	out []Sample
}

func (g *gen) add(kind, col, val string, want ...string) {
	g.out = append(g.out, Sample{Kind: kind, Column: col, Value: val, Want: want})
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

// Generate returns about n samples per kind.
func Generate(seed uint64, n int) []Sample {
	g := &gen{r: rand.New(rand.NewPCG(seed, 7))}
	for k := 0; k < n; k++ {
		g.claimed()
		g.national()
		g.freeText()
		g.nested()
		g.decoys()
		g.harder()
	}
	return g.out
}

var (
	firstNames = []string{"Maria", "James", "Anna", "Thomas", "Sophie", "Lukas", "Camille", "Pierre", "Lucía", "Javier",
		"João", "Ana", "Rahul", "Priya", "Amit", "Sunita", "Kenji", "Yuki", "Hiroshi", "Emily", "Michael", "Laura", "Jonas",
		"Julia", "Marco", "Giulia", "Daan", "Emma", "Olivia", "Noah"}
	lastNames = []string{"Smith", "Johnson", "Müller", "Schmidt", "Schneider", "Dubois", "Martin", "García", "Fernández",
		"Silva", "Santos", "Oliveira", "Sharma", "Patel", "Gupta", "Singh", "Tanaka", "Suzuki", "Sato", "Brown", "Wilson",
		"Rossi", "Bianchi", "de Vries", "Jansen", "Taylor", "Kowalski", "Novak"}
	jaNames   = []string{"山田太郎", "佐藤花子", "鈴木一郎", "田中美咲", "高橋健"}
	companies = []string{"Acme Holdings Ltd", "Siemens AG", "Müller Logistik GmbH", "Blue Ocean Trading LLC",
		"Tata Consultancy Services", "Banco Santander SA", "Société Générale", "Global Tech Solutions Inc",
		"Northwind Traders", "Contoso Pharmaceuticals", "Deutsche Bahn AG", "Infosys Limited", "Sony Group Corporation",
		"Fabrikam Industries", "Rossi & Figli S.p.A.", "Van der Berg Holding B.V."}
	domains = []string{"example.com", "mail.example.de", "example.co.uk", "example.fr", "example.com.br", "example.co.jp", "example.in"}
)

func (g *gen) name() string { return g.pick(firstNames) + " " + g.pick(lastNames) }

func (g *gen) email() string {
	f := strings.ToLower(asciiFold(g.pick(firstNames)))
	l := strings.ToLower(strings.ReplaceAll(asciiFold(g.pick(lastNames)), " ", ""))
	return fmt.Sprintf("%s.%s%d@%s", f, l, g.r.IntN(100), g.pick(domains))
}

func asciiFold(s string) string {
	r := strings.NewReplacer("ü", "u", "é", "e", "í", "i", "ã", "a", "á", "a", "ç", "c", "ó", "o")
	return r.Replace(s)
}

// --- claimed entities: e-mail, phone, card, IBAN, SSN, IP, PERSON --------

func (g *gen) claimed() {
	g.add("email", "email", g.email(), "EMAIL_ADDRESS")
	g.add("email-idn", "email", fmt.Sprintf("info@%s.de", g.pick([]string{"müller", "bücher", "straße-köln", "café-münchen"})), "EMAIL_ADDRESS")
	g.add("phone-us", "phone", fmt.Sprintf("(%d) %03d-%04d", 201+g.r.IntN(700), 200+g.r.IntN(700), g.r.IntN(10000)), "PHONE_NUMBER")
	g.add("phone-intl", "phone", g.intlPhone(), "PHONE_NUMBER")
	g.add("phone-de-slash", "telefon", "030/"+fmt.Sprint(1000000+g.r.IntN(9000000))+g.digits(1), "PHONE_NUMBER")
	g.add("phone-in-national", "phone", fmt.Sprintf("0%d%s %s", 8+g.r.IntN(2), g.digits(4), g.digits(5)), "PHONE_NUMBER")
	g.add("phone-remark", "phone", g.intlPhone()+" (office)", "PHONE_NUMBER")
	g.add("phone-msisdn-int", "msisdn", "49151"+g.digits(8), "PHONE_NUMBER")
	g.add("card", "credit_card", g.card("4", 16, " "), "CREDIT_CARD")
	g.add("card-mc", "card_number", g.card("5"+fmt.Sprint(1+g.r.IntN(5)), 16, ""), "CREDIT_CARD")
	g.add("iban", "iban", g.iban("DE", 18, true), "IBAN_CODE")
	g.add("iban-lower", "iban", strings.ToLower(g.iban("FR", 23, false)), "IBAN_CODE")
	g.add("ssn", "ssn", g.ssn("-"), "US_SSN")
	g.add("ssn-taxid", "tax_id", g.ssn(""), "US_SSN")
	g.add("ip", "ip_address", fmt.Sprintf("%d.%d.%d.%d", 11+g.r.IntN(200), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254)), "IP_ADDRESS")
	g.add("person", "customer_name", g.name(), "PERSON")
	g.add("person-beneficiary", "beneficiary", g.name(), "PERSON")
}

func (g *gen) intlPhone() string {
	switch g.r.IntN(6) {
	case 0:
		return "+49 30 " + g.digits(8)
	case 1:
		return "+44 20 7946 " + g.digits(4)
	case 2:
		return "+91 9" + g.digits(4) + " " + g.digits(5)
	case 3:
		return "+55 11 9" + g.digits(4) + "-" + g.digits(4)
	case 4:
		return "+81 90-" + g.digits(4) + "-" + g.digits(4)
	}
	return "+33 6 " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2) + " " + g.digits(2)
}

func luhnDigit(s string) byte {
	sum := 0
	dbl := true
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if dbl {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return byte('0' + (10-sum%10)%10)
}

func (g *gen) card(prefix string, n int, sep string) string {
	s := prefix + g.digits(n-1-len(prefix))
	s += string(luhnDigit(s))
	if sep == "" {
		return s
	}
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, sep)
}

func ibanCheck(cc, bban string) string {
	r := 0
	for _, c := range bban + cc + "00" {
		if c >= '0' && c <= '9' {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	return fmt.Sprintf("%02d", 98-r)
}

// iban returns a valid IBAN of country cc with a numeric BBAN of n digits.
func (g *gen) iban(cc string, n int, spaced bool) string {
	bban := g.digits(n)
	s := cc + ibanCheck(cc, bban) + bban
	if !spaced {
		return s
	}
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, " ")
}

func (g *gen) ssn(sep string) string {
	for {
		a, b, c := 1+g.r.IntN(665), 1+g.r.IntN(99), 1+g.r.IntN(9999)
		s := fmt.Sprintf("%03d%s%02d%s%04d", a, sep, b, sep, c)
		if s != "123-45-6789" && s != "123456789" {
			return s
		}
	}
}

// --- national formats ------------------------------------------------------

func (g *gen) national() {
	g.add("uk-nino", "national_insurance_number", g.nino(), "UK_NINO")
	g.add("in-aadhaar", "aadhaar", g.aadhaar(" "), "IN_AADHAAR")
	g.add("br-cpf", "cpf", g.cpf(true), "BR_CPF")
	g.add("jp-mynumber", "my_number", g.myNumber(), "JP_MY_NUMBER")
	g.add("de-taxid", "steuer_id", g.steuerID(), "DE_TAX_ID")
	g.add("fr-nir", "numero_securite_sociale", g.nir(true), "FR_NIR")
	g.add("es-dni", "dni", g.dni(), "ES_NIF")
	g.add("es-nie", "nie", g.nie(), "ES_NIE")
	g.add("it-cf", "codice_fiscale", g.codiceFiscale(), "IT_FISCAL_CODE")
	g.add("nl-bsn", "bsn", g.bsn(), "NL_BSN")
	g.add("mac", "mac_address", g.mac(":"), "MAC_ADDRESS")
	g.add("dob", "date_of_birth", fmt.Sprintf("19%02d-%02d-%02d", 40+g.r.IntN(60), 1+g.r.IntN(12), 1+g.r.IntN(28)), "DATE_OF_BIRTH")
	g.add("dob-eu", "geburtsdatum", fmt.Sprintf("%02d.%02d.19%02d", 1+g.r.IntN(28), 1+g.r.IntN(12), 40+g.r.IntN(60)), "DATE_OF_BIRTH")
	g.add("us-passport", "passport_number", g.digits(1+0)+g.digits(8), "US_PASSPORT")
	g.add("us-dl", "drivers_license", string(rune('A'+g.r.IntN(26)))+g.digits(7), "US_DRIVER_LICENSE")
}

func (g *gen) nino() string {
	const first = "ABCEGHJKLMNOPRSTWXYZ"
	const second = "ABCEGHJKLMNPRSTWXYZ"
	for {
		p := string(first[g.r.IntN(len(first))]) + string(second[g.r.IntN(len(second))])
		switch p {
		case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
			continue
		}
		d := g.digits(6)
		s := string("ABCD"[g.r.IntN(4)])
		if g.r.IntN(2) == 0 {
			return p + " " + d[:2] + " " + d[2:4] + " " + d[4:] + " " + s
		}
		return p + d + s
	}
}

var (
	verhoeffD = [10][10]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1}, {6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}
	verhoeffP = [8][10]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1}, {2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8}}
	verhoeffInv = [10]int{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

func verhoeffDigit(s string) byte {
	c := 0
	for i := 0; i < len(s); i++ {
		c = verhoeffD[c][verhoeffP[(i+1)%8][int(s[len(s)-1-i]-'0')]]
	}
	return byte('0' + verhoeffInv[c])
}

func (g *gen) aadhaar(sep string) string {
	s := fmt.Sprint(2+g.r.IntN(8)) + g.digits(10)
	s += string(verhoeffDigit(s))
	return s[:4] + sep + s[4:8] + sep + s[8:]
}

func (g *gen) cpf(formatted bool) string {
	for {
		s := g.digits(9)
		if strings.Count(s, s[:1]) == 9 {
			continue
		}
		for _, n := range []int{9, 10} {
			sum := 0
			for i := 0; i < n; i++ {
				sum += int(s[i]-'0') * (n + 1 - i)
			}
			d := (sum * 10) % 11 % 10
			s += fmt.Sprint(d)
		}
		if formatted {
			return s[:3] + "." + s[3:6] + "." + s[6:9] + "-" + s[9:]
		}
		return s
	}
}

func (g *gen) myNumber() string {
	s := g.digits(11)
	sum := 0
	for n := 1; n <= 11; n++ {
		p := int(s[11-n] - '0')
		q := n + 1
		if n > 6 {
			q = n - 5
		}
		sum += p * q
	}
	r := sum % 11
	d := 0
	if r > 1 {
		d = 11 - r
	}
	s += fmt.Sprint(d)
	return s[:4] + " " + s[4:8] + " " + s[8:]
}

// steuerID: 11 digits; in the first ten one digit appears exactly twice,
// one digit is missing; check digit ISO 7064 MOD 11,10.
func (g *gen) steuerID() string {
	perm := g.r.Perm(10)
	d := perm[:10]
	if d[0] == 0 {
		d[0], d[1] = d[1], d[0]
	}
	d[9] = d[2+g.r.IntN(7)] // one digit twice, one missing
	s := ""
	for _, x := range d {
		s += fmt.Sprint(x)
	}
	p := 10
	for i := 0; i < 10; i++ {
		sum := (int(s[i]-'0') + p) % 10
		if sum == 0 {
			sum = 10
		}
		p = (sum * 2) % 11
	}
	c := (11 - p) % 10
	s += fmt.Sprint(c)
	return s[:2] + " " + s[2:5] + " " + s[5:8] + " " + s[8:]
}

func (g *gen) nir(spaced bool) string {
	s := fmt.Sprintf("%d%02d%02d%02d%03d%03d", 1+g.r.IntN(2), g.r.IntN(100), 1+g.r.IntN(12), 1+g.r.IntN(95), 1+g.r.IntN(990), 1+g.r.IntN(999))
	n := 0
	for _, c := range s {
		n = (n*10 + int(c-'0')) % 97
	}
	key := fmt.Sprintf("%02d", 97-n)
	if !spaced {
		return s + key
	}
	return s[:1] + " " + s[1:3] + " " + s[3:5] + " " + s[5:7] + " " + s[7:10] + " " + s[10:13] + " " + key
}

const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

func (g *gen) dni() string {
	n := 10000000 + g.r.IntN(89999999)
	return fmt.Sprintf("%08d%c", n, dniLetters[n%23])
}

func (g *gen) nie() string {
	p := g.r.IntN(3)
	n := g.r.IntN(10000000)
	return fmt.Sprintf("%c%07d%c", "XYZ"[p], n, dniLetters[(p*10000000+n)%23])
}

var (
	cfOdd = map[byte]int{'0': 1, '1': 0, '2': 5, '3': 7, '4': 9, '5': 13, '6': 15, '7': 17, '8': 19, '9': 21,
		'A': 1, 'B': 0, 'C': 5, 'D': 7, 'E': 9, 'F': 13, 'G': 15, 'H': 17, 'I': 19, 'J': 21, 'K': 2, 'L': 4, 'M': 18,
		'N': 20, 'O': 11, 'P': 3, 'Q': 6, 'R': 8, 'S': 12, 'T': 14, 'U': 16, 'V': 10, 'W': 22, 'X': 25, 'Y': 24, 'Z': 23}
)

func (g *gen) codiceFiscale() string {
	letters := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('A' + g.r.IntN(26))
		}
		return string(b)
	}
	s := letters(6) + g.digits(2) + string("ABCDEHLMPRST"[g.r.IntN(12)]) + fmt.Sprintf("%02d", 1+g.r.IntN(71)) + letters(1) + g.digits(3)
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		if i%2 == 0 {
			sum += cfOdd[c]
		} else if c >= '0' && c <= '9' {
			sum += int(c - '0')
		} else {
			sum += int(c - 'A')
		}
	}
	return s + string(rune('A'+sum%26))
}

func (g *gen) bsn() string {
	for {
		s := fmt.Sprint(1+g.r.IntN(9)) + g.digits(7)
		sum := 0
		for i := 0; i < 8; i++ {
			sum += int(s[i]-'0') * (9 - i)
		}
		// 9*d1 + ... + 2*d8 - d9 ≡ 0 (mod 11)
		d := sum % 11
		if d < 10 {
			return s + fmt.Sprint(d)
		}
	}
}

func (g *gen) mac(sep string) string {
	b := make([]string, 6)
	for i := range b {
		b[i] = fmt.Sprintf("%02x", g.r.IntN(256))
	}
	b[0] = fmt.Sprintf("%02x", (g.r.IntN(64)*4)|0) // unicast, globally administered
	if b[0] == "00" {
		b[0] = "3c"
	}
	if g.r.IntN(2) == 0 {
		return strings.ToUpper(strings.Join(b, sep))
	}
	return strings.Join(b, sep)
}

// --- free text in five languages ---------------------------------------------

func (g *gen) freeText() {
	n := g.name()
	g.add("text-en", "notes", fmt.Sprintf("Spoke with %s today, she asked us to call back on (%d) %03d-%04d or write to %s.",
		n, 201+g.r.IntN(700), 200+g.r.IntN(700), g.r.IntN(10000), g.email()), "PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS")
	g.add("text-en-dob", "comment", fmt.Sprintf("Patient born %02d/%02d/19%02d, SSN %s.", 1+g.r.IntN(12), 1+g.r.IntN(28), 40+g.r.IntN(60), g.ssn("-")),
		"DATE_OF_BIRTH", "US_SSN")
	g.add("text-de", "bemerkung", fmt.Sprintf("Herr %s ist unter 030/%s%s erreichbar, IBAN %s.", g.pick(lastNames), fmt.Sprint(1000000+g.r.IntN(9000000)), g.digits(1), g.iban("DE", 18, true)),
		"PERSON", "PHONE_NUMBER", "IBAN_CODE")
	g.add("text-de-taxid", "bemerkung", fmt.Sprintf("Steuer-ID: %s, geboren am %02d.%02d.19%02d", g.steuerID(), 1+g.r.IntN(28), 1+g.r.IntN(12), 40+g.r.IntN(60)),
		"DE_TAX_ID", "DATE_OF_BIRTH")
	g.add("text-fr", "commentaire", fmt.Sprintf("Mme %s, tél. 06 %s %s %s %s, numéro de sécurité sociale %s.", g.pick(lastNames), g.digits(2), g.digits(2), g.digits(2), g.digits(2), g.nir(true)),
		"PERSON", "PHONE_NUMBER", "FR_NIR")
	g.add("text-es", "comentario", fmt.Sprintf("El cliente %s (DNI %s) pide que le llamen al +34 612 %s %s.", n, g.dni(), g.digits(3), g.digits(3)),
		"PERSON", "ES_NIF", "PHONE_NUMBER")
	g.add("text-pt", "observacao", fmt.Sprintf("Ligar para ela no (11) 9%s-%s, CPF %s.", g.digits(4), g.digits(4), g.cpf(true)),
		"PHONE_NUMBER", "BR_CPF")
	g.add("text-hi", "remarks", fmt.Sprintf("%s ji ka Aadhaar %s hai, unka mobile 0%d%s %s hai.", n, g.aadhaar(" "), 8+g.r.IntN(2), g.digits(4), g.digits(5)),
		"PERSON", "IN_AADHAAR", "PHONE_NUMBER")
	g.add("text-ja", "備考", fmt.Sprintf("%s様の電話番号は090-%s-%sです。メールは%sまで。", g.pick(jaNames), g.digits(4), g.digits(4), g.email()),
		"PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS")
	g.add("text-ja-mynumber", "備考", fmt.Sprintf("マイナンバー%s、生年月日19%02d年%d月%d日", g.myNumber(), 40+g.r.IntN(60), 1+g.r.IntN(12), 1+g.r.IntN(28)),
		"JP_MY_NUMBER", "DATE_OF_BIRTH")
	g.add("text-uk", "notes", fmt.Sprintf("NI number %s, mobile 07700 900%s, MAC %s", g.nino(), g.digits(3), g.mac("-")),
		"UK_NINO", "PHONE_NUMBER", "MAC_ADDRESS")
	g.add("text-it", "note", fmt.Sprintf("Codice fiscale %s del sig. %s", g.codiceFiscale(), g.name()), "IT_FISCAL_CODE", "PERSON")
	g.add("text-nl", "opmerking", fmt.Sprintf("BSN %s, geb. %02d-%02d-19%02d", g.bsn(), 1+g.r.IntN(28), 1+g.r.IntN(12), 40+g.r.IntN(60)), "NL_BSN", "DATE_OF_BIRTH")
	g.add("text-us-ids", "notes", fmt.Sprintf("Passport %s%s, driver's license %c%s", fmt.Sprint(1+g.r.IntN(9)), g.digits(8), 'A'+g.r.IntN(26), g.digits(7)),
		"US_PASSPORT", "US_DRIVER_LICENSE")
}

// --- nested JSON key paths ----------------------------------------------------

func (g *gen) nested() {
	g.add("json-first", "customer.name.first", g.pick(firstNames), "PERSON")
	g.add("json-last", "customer.name.last", g.pick(lastNames), "PERSON")
	g.add("json-phone", "contacts[].phone", g.intlPhone(), "PHONE_NUMBER")
	g.add("json-email", "user.profile.email", g.email(), "EMAIL_ADDRESS")
	g.add("json-msisdn", "subscriber.msisdn", "4477009"+g.digits(5), "PHONE_NUMBER")
	g.add("json-iban", "payment.account.iban", g.iban("NL", 14, false), "IBAN_CODE")
	g.add("json-ip", "request.client_ip", fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254)), "IP_ADDRESS")
}

// --- decoys -----------------------------------------------------------------------

func gs1Digit(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// ean13Luhn returns an EAN-13 whose GS1 check digit is right and that
// also passes Luhn with a Visa prefix: the look-alike of a 13-digit card.
func (g *gen) ean13Luhn() string {
	for {
		s := "4" + g.digits(11)
		s += string(gs1Digit(s))
		if luhnDigit(s[:12]) == s[12] {
			return s
		}
	}
}

func (g *gen) decoys() {
	g.add("decoy-ean13-col", "barcode", g.ean13Luhn())
	g.add("decoy-ean13-text", "description", "Artikel "+g.ean13Luhn()+" auf Lager")
	g.add("decoy-ean13-gtin", "product", g.ean13Luhn())
	g.add("decoy-order", "order_id", fmt.Sprintf("ORD-2024-%06d", g.r.IntN(1000000)))
	g.add("decoy-order-text", "notes", fmt.Sprintf("Order #%s shipped", g.digits(10)))
	g.add("decoy-version", "notes", fmt.Sprintf("upgraded to version %d.%d.%d.%d", 1+g.r.IntN(9), g.r.IntN(20), g.r.IntN(20), g.r.IntN(200)))
	g.add("decoy-timestamp", "created_at", fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02dZ", 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60)))
	g.add("decoy-timestamp-text", "log", fmt.Sprintf("job finished 2024-%02d-%02d %02d:%02d:%02d in %dms", 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(5000)))
	g.add("decoy-epoch", "ts", fmt.Sprint(1700000000000+g.r.Int64N(100000000000)))
	g.add("decoy-sha256", "checksum", fmt.Sprintf("%016x%016x%016x%016x", g.r.Uint64(), g.r.Uint64(), g.r.Uint64(), g.r.Uint64()))
	g.add("decoy-uuid", "notes", fmt.Sprintf("request %08x-%04x-%04x-%04x-%012x failed", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<16), g.r.IntN(1<<16), g.r.Uint64()&(1<<48-1)))
	g.add("decoy-company", "beneficiary", g.pick(companies))
	g.add("decoy-company-text", "notes", "Invoice sent to "+g.pick(companies)+" for review.")
	bad := g.card("4", 16, " ")
	bad = bad[:len(bad)-1] + string('0'+(bad[len(bad)-1]-'0'+1)%10)
	g.add("decoy-card-luhn-fail", "notes", "ref card "+bad+" declined")
	ib := g.iban("DE", 18, true)
	ib = ib[:2] + string('0'+(ib[2]-'0'+1)%10) + ib[3:]
	g.add("decoy-iban-bad-check", "notes", "Konto "+ib+" ungültig")
	g.add("decoy-amount", "amount", fmt.Sprintf("%d.%02d", g.r.IntN(100000), g.r.IntN(100)))
	g.add("decoy-date-nocontext", "notes", fmt.Sprintf("Meeting on %02d/%02d/2024 about the roadmap", 1+g.r.IntN(12), 1+g.r.IntN(28)))
	g.add("decoy-words", "notes", "The Order Status Page shows New York and Grace Period details")
	g.add("decoy-pt-no", "observacao", "Pedido no estoque desde ontem")
}

// --- harder: names and formats the generator's own lists do not hold -------

var (
	otherNames = []string{"Olga Petrova", "Chen Wei", "Fatima Zahra", "Kwame Mensah", "Siobhan O'Brien",
		"Hans-Peter Meier", "José María Pérez", "Nguyen Van An", "Ingrid Johansson", "Mehmet Yılmaz",
		"Agnieszka Nowak", "Dimitris Papadopoulos", "Aisha Bello", "Sean Murphy", "Lars Nielsen", "Elena Popescu"}
	placeDecoys = []string{"Victoria Station", "Santa Clara", "Georgia State University", "Madison Square Garden",
		"Jordan River", "Washington Street", "Hamilton Road", "Lincoln Park", "Florence Cathedral", "Austin Convention Center",
		"Jackson Hole", "Charlotte Airport", "Mercedes Benz", "Harley Davidson", "Morgan Stanley", "Johnson Controls"}
)

func (g *gen) harder() {
	n := g.pick(otherNames)
	g.add("person-other-text", "notes", fmt.Sprintf("Ticket reassigned to %s after the call.", n), "PERSON")
	g.add("person-other-col", "full_name", n, "PERSON")
	g.add("decoy-place", "notes", fmt.Sprintf("Meet at %s on arrival.", g.pick(placeDecoys)))
	g.add("phone-de-intl-paren", "notes", "Tel. +49 (0)30 "+g.digits(7), "PHONE_NUMBER")
	g.add("phone-00", "phone", "0049 30 "+g.digits(7), "PHONE_NUMBER")
	g.add("phone-uk-national", "notes", "Call me on 020 7946 0"+g.digits(3)+" tomorrow", "PHONE_NUMBER")
	g.add("phone-uk-mobile-col", "mobile", "07700 900"+g.digits(3), "PHONE_NUMBER")
	g.add("phone-jp-col", "電話番号", "03-"+g.digits(4)+"-"+g.digits(4), "PHONE_NUMBER")
	g.add("phone-fr-col", "telephone", "01 "+g.digits(2)+" "+g.digits(2)+" "+g.digits(2)+" "+g.digits(2), "PHONE_NUMBER")
	g.add("decoy-isbn", "notes", "ISBN 978-3-16-"+g.digits(6)+"-0 in stock")
	g.add("decoy-invoice-groups", "notes", "Invoice 2024 0001 "+g.digits(4)+" paid")
	g.add("decoy-gtin14-col", "gtin", g.gtin14())
	g.add("decoy-version-long", "notes", fmt.Sprintf("release 2024.%d.%d build %d", 1+g.r.IntN(12), g.r.IntN(30), 10000+g.r.IntN(90000)))
	g.add("aadhaar-dash-text", "notes", "Aadhaar no. "+g.aadhaar("-"), "IN_AADHAAR")
	g.add("cpf-bare-col", "cpf", g.cpf(false), "BR_CPF")
	g.add("nir-bare-text", "notes", "NIR "+g.nir(false), "FR_NIR")
	g.add("dob-us-col", "dob", fmt.Sprintf("%02d/%02d/19%02d", 1+g.r.IntN(12), 1+g.r.IntN(28), 40+g.r.IntN(60)), "DATE_OF_BIRTH")
	g.add("dob-text-de", "notes", fmt.Sprintf("geb. %02d.%02d.19%02d in Köln", 1+g.r.IntN(28), 1+g.r.IntN(12), 40+g.r.IntN(60)), "DATE_OF_BIRTH")
	g.add("mac-cisco", "notes", fmt.Sprintf("device %04x.%04x.%04x online", 1+g.r.IntN(0xfffe), g.r.IntN(0xffff), g.r.IntN(0xffff)), "MAC_ADDRESS")
	g.add("email-plus-text-de", "notes", "Bitte an "+g.email()+" schreiben.", "EMAIL_ADDRESS")
	g.add("ssn-text", "notes", "SSN "+g.ssn(" ")+" verified", "US_SSN")
	g.add("card-amex-text", "notes", "Amex "+g.amex()+" on file", "CREDIT_CARD")
	g.add("iban-gb-text", "notes", "Pay to "+g.ibanGB(), "IBAN_CODE")
}

func (g *gen) gtin14() string {
	s := "1" + g.digits(12)
	return s + string(gs1Digit(s))
}

func (g *gen) amex() string {
	s := "37" + g.digits(12)
	s += string(luhnDigit(s))
	return s[:4] + " " + s[4:10] + " " + s[10:]
}

func (g *gen) ibanGB() string {
	bban := "NWBK" + g.digits(14)
	conv := ""
	for _, c := range bban {
		if c >= 'A' && c <= 'Z' {
			conv += fmt.Sprint(int(c-'A') + 10)
		} else {
			conv += string(c)
		}
	}
	r := 0
	for _, c := range conv + "1611" + "00" { // G=16, B=11
		r = (r*10 + int(c-'0')) % 97
	}
	s := "GB" + fmt.Sprintf("%02d", 98-r) + bban
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:min(i+4, len(s))])
	}
	return strings.Join(parts, " ")
}
