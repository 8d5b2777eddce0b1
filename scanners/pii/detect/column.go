package detect

import "strings"

// Column is the context a column (or JSON key) name gives its values.
// The zero Column is "no context": free text.
type Column struct {
	hints uint32
	id    Entity // the national id, passport or licence the column names (0: none)
}

const (
	hintPhone      uint32 = 1 << iota // phone, mobile, tel, fax, ...
	hintPerson                        // first_name, customer_name, ...
	hintPersonWeak                    // a bare "name" column
	hintSSN                           // ssn, social_security_number
	hintCard                          // card, credit_card, cc_number
	hintIP                            // ip, ip_address, remote_addr
	hintVersion                       // version, release, build: dotted quads are versions
	hintNegative                      // id, sku, order, serial, hash, ...: digit shapes are identifiers
	hintDOB                           // dob, date_of_birth, birthday, geburtsdatum, ...
	hintTax                           // tax_id, tin, taxpayer_id: a bare SSN or a Steuer-ID
	hintMAC                           // mac, mac_address
	hintPersonPart                    // first, last, given, family: a name part under a name key
	hintNotPerson                     // file_name, user_name, company_name: names of things and handles
)

// Phone, Person, ... report the column's hints (used in tests and reports).
func (c Column) Phone() bool  { return c.hints&hintPhone != 0 }
func (c Column) Person() bool { return c.hints&(hintPerson|hintPersonWeak) != 0 }

var (
	phoneWords = set("phone", "phones", "mobile", "tel", "telephone", "cell", "cellphone", "fax", "msisdn",
		"whatsapp", "phonenumber", "mobilenumber", "telefon", "telefono", "telephonenumber", "cellular",
		"telefone", "telemovel", "celular", "handy", "handynummer", "telefonnummer", "portable", "movil", "móvil",
		"cellulare", "mobiel", "telefoonnummer", "téléphone", "電話", "電話番号", "携帯", "携帯電話", "phoneno", "contactno")
	ssnWords     = set("ssn", "socialsecuritynumber", "socialsecurity")
	cardWords    = set("card", "creditcard", "cc", "ccnumber", "cardnumber", "pan")
	ipWords      = set("ip", "ipaddress", "ipaddr", "ipv4", "ipv6", "remoteaddr", "clientip", "sourceip", "srcip", "dstip")
	versionWords = set("version", "ver", "release", "build", "firmware", "semver", "revision", "rev", "vsn")
	negWords     = set("id", "ids", "sku", "order", "invoice", "product", "part", "item", "serial", "isbn", "upc",
		"ean", "gtin", "tracking", "ref", "reference", "lot", "batch", "hash", "checksum", "sha", "sha1", "sha256",
		"md5", "uuid", "guid", "txn", "transaction", "code", "model", "ticket", "case", "timestamp", "date", "time",
		"amount", "price", "qty", "quantity", "zip", "postcode", "postal")
	// Words that, before "name", make it a person's name.
	personQualifiers = set("first", "last", "full", "given", "family", "middle", "maiden", "customer", "client",
		"patient", "employee", "contact", "person", "owner", "holder", "cardholder", "account", "member",
		"student", "applicant", "recipient", "sender", "beneficiary", "spouse", "guardian", "parent", "mother",
		"father", "physician", "doctor", "passenger", "guest", "traveler", "traveller", "driver", "borrower",
		"subscriber", "buyer", "payer", "payee", "insured", "legal", "real", "author", "emergency", "billing",
		"shipping", "nick", "birth", "teacher", "manager", "agent", "representative", "candidate", "user")
	personWords = set("firstname", "lastname", "fullname", "surname", "forename", "forenames", "givenname",
		"familyname", "middlename", "maidenname", "cardholder", "cardholdername", "customername",
		"patientname", "employeename", "contactname", "nombre", "apellido", "vorname", "nachname", "prenom")
	// Single-word columns that usually hold a person's name.
	personRoles = set("customer", "author", "owner", "patient", "employee", "assignee", "reporter",
		"recipient", "sender", "cardholder", "beneficiary", "passenger", "guest", "borrower", "payee", "payer")
	// "name" after these words is not a person: user_name and display_name
	// are handles, the rest name things.
	notPersonBefore = set("file", "host", "product", "company", "domain", "display", "brand", "item", "table",
		"column", "field", "app", "package", "dataset", "project", "business", "org", "organization",
		"bank", "street", "city", "country", "state", "category", "service", "device", "server", "db",
		"database", "key", "class", "function", "method", "variable", "tag", "branch", "repo", "image",
		"container", "pod", "node", "cluster", "namespace", "event", "metric", "job", "task", "team",
		"group", "role", "stage", "store", "shop", "merchant", "vendor", "supplier", "model", "path",
		"region", "zone", "plan", "type", "color", "colour", "style", "font", "label", "screen", "login", "nick")
)

var (
	dobWords = set("dob", "dateofbirth", "birthdate", "birthday", "birthdt", "geburtsdatum", "geburtstag",
		"fechanacimiento", "fechadenacimiento", "datanascimento", "datadenascimento", "datenaissance",
		"datedenaissance", "datadinascita", "geboortedatum", "生年月日", "誕生日")
	taxWords  = set("tax", "taxid", "tin", "taxpayer", "taxpayerid", "taxnumber", "taxno", "itin")
	macWords  = set("mac", "macaddress", "macaddr", "hwaddr", "hwaddress", "bssid", "ethernetaddress")
	nameParts = set("first", "last", "given", "family", "middle", "surname", "forename")
	idColumns = map[string]Entity{
		"aadhaar": INAadhaar, "aadhar": INAadhaar, "aadhaarnumber": INAadhaar, "aadhaarno": INAadhaar, "uidai": INAadhaar,
		"cpf": BRCPF, "cpfnumber": BRCPF,
		"mynumber": JPMyNumber, "kojinbango": JPMyNumber, "individualnumber": JPMyNumber, "マイナンバー": JPMyNumber, "個人番号": JPMyNumber,
		"steuerid": DETaxID, "steueridentifikationsnummer": DETaxID, "idnr": DETaxID, "steuernummer": DETaxID,
		"nir": FRNIR, "insee": FRNIR, "numerosecuritesociale": FRNIR, "securitesociale": FRNIR, "nss": FRNIR,
		"dni": ESNIF, "nif": ESNIF, "nie": ESNIE,
		"codicefiscale": ITFiscalCode, "cf": ITFiscalCode, "fiscalcode": ITFiscalCode,
		"bsn": NLBSN, "burgerservicenummer": NLBSN, "sofinummer": NLBSN,
		"nino": UKNINO, "nationalinsurancenumber": UKNINO, "nationalinsurance": UKNINO, "ninumber": UKNINO,
		"passport": USPassport, "passportnumber": USPassport, "passportno": USPassport, "passportid": USPassport,
		"driverslicense": USDriverLicense, "driverlicense": USDriverLicense, "driverslicence": USDriverLicense,
		"drivinglicence": USDriverLicense, "drivinglicense": USDriverLicense, "dl": USDriverLicense, "dlnumber": USDriverLicense,
		"driverslicensenumber": USDriverLicense, "driverlicensenumber": USDriverLicense, "licensenumber": USDriverLicense,
	}
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// ColumnContext derives the context of a column from its name
// ("customer_email", "PhoneNumber", "user.address.ip").
// For a dotted JSON path only the last key counts.
func ColumnContext(name string) Column {
	if i := strings.LastIndexAny(name, ".]"); i >= 0 && i+1 < len(name) {
		name = name[i+1:]
	}
	words := splitWords(name)
	if len(words) == 0 {
		return Column{}
	}
	var h uint32
	joined := strings.Join(words, "")
	var id Entity
	if e, ok := idColumns[joined]; ok {
		id = e
	}
	for _, w := range words {
		if e, ok := idColumns[w]; ok && id == 0 {
			id = e
		}
		switch {
		case dobWords[w]:
			h |= hintDOB
		case taxWords[w]:
			h |= hintTax
		case macWords[w]:
			h |= hintMAC
		}
	}
	switch {
	case dobWords[joined]:
		h |= hintDOB
	case taxWords[joined]:
		h |= hintTax
	case macWords[joined]:
		h |= hintMAC
	}
	if len(words) == 1 && nameParts[words[0]] {
		h |= hintPersonPart // "first", "last" under "name."/"customer."
	}
	for i, w := range words {
		switch {
		case phoneWords[w]:
			h |= hintPhone
		case ssnWords[w]:
			h |= hintSSN
		case cardWords[w]:
			h |= hintCard
		case ipWords[w]:
			h |= hintIP
		case versionWords[w]:
			h |= hintVersion
		case personWords[w]:
			h |= hintPerson
		case len(words) == 1 && personRoles[w]:
			h |= hintPersonWeak // "customer", "author": a name or an id; names must look like one
		case w == "name" || w == "names":
			switch {
			case i == 0 && len(words) == 1:
				h |= hintPersonWeak
			case i > 0 && personQualifiers[words[i-1]] && !(words[i-1] == "user" || words[i-1] == "nick"):
				h |= hintPerson
			case i > 0 && (notPersonBefore[words[i-1]] || words[i-1] == "user"):
				h |= hintNotPerson // file_name, user_name: no person's name
			case i == 0 && len(words) > 1 && (words[1] == "first" || words[1] == "last" || words[1] == "full"):
				h |= hintPerson // name_first, name_last
			}
		case negWords[w]:
			h |= hintNegative
		}
	}
	switch {
	case phoneWords[joined] || joined == "contactnumber" || joined == "phoneno" || joined == "telno" || joined == "mobileno":
		h |= hintPhone
	case ssnWords[joined]:
		h |= hintSSN
	case cardWords[joined] || joined == "creditcardnumber":
		h |= hintCard
	case ipWords[joined]:
		h |= hintIP
	case personWords[joined]:
		h |= hintPerson
	}
	if h&(hintPhone|hintSSN|hintCard|hintIP|hintPerson|hintDOB|hintTax|hintMAC) != 0 || id != 0 {
		h &^= hintNegative // "phone_number", "card_id", "tax_id": the entity word wins
	}
	if h&hintDOB != 0 {
		h &^= hintPerson | hintPersonWeak // "birth_name" is a name, "date_of_birth" a date
	}
	return Column{hints: h, id: id}
}

// splitWords lower-cases name and splits it at non-letters/digits and at
// camelCase boundaries: "customerEmail2" -> ["customer", "email2"].
func splitWords(name string) []string {
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(name) && i < 256; i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 && name[i-1] >= 'a' && name[i-1] <= 'z' {
				flush()
			}
			cur = append(cur, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c >= 0x80:
			cur = append(cur, c)
		default:
			flush()
		}
	}
	flush()
	return words
}
