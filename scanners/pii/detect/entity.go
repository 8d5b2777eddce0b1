package detect

// Entity is a kind of personal data or secret.
type Entity uint8

// The entities, in report order. PII names are Presidio's; the secret
// entities have no Presidio counterpart and are named after what they are.
const (
	Email Entity = iota
	Phone
	CreditCard
	IBAN
	SSN
	IP
	Person
	DateOfBirth
	MACAddress
	USPassport
	USDriverLicense
	UKNINO
	INAadhaar
	BRCPF
	JPMyNumber
	DETaxID
	FRNIR
	ESNIF
	ESNIE
	ITFiscalCode
	NLBSN
	PrivateKey
	AWSAccessKey
	GCPAPIKey
	GCPServiceAccountKey
	GitHubToken
	SlackToken
	NumEntities
)

var entityNames = [NumEntities]string{
	Email:                "EMAIL_ADDRESS",
	Phone:                "PHONE_NUMBER",
	CreditCard:           "CREDIT_CARD",
	IBAN:                 "IBAN_CODE",
	SSN:                  "US_SSN",
	IP:                   "IP_ADDRESS",
	Person:               "PERSON",
	DateOfBirth:          "DATE_OF_BIRTH",
	MACAddress:           "MAC_ADDRESS",
	USPassport:           "US_PASSPORT",
	USDriverLicense:      "US_DRIVER_LICENSE",
	UKNINO:               "UK_NINO",
	INAadhaar:            "IN_AADHAAR",
	BRCPF:                "BR_CPF",
	JPMyNumber:           "JP_MY_NUMBER",
	DETaxID:              "DE_TAX_ID",
	FRNIR:                "FR_NIR",
	ESNIF:                "ES_NIF",
	ESNIE:                "ES_NIE",
	ITFiscalCode:         "IT_FISCAL_CODE",
	NLBSN:                "NL_BSN",
	PrivateKey:           "PRIVATE_KEY",
	AWSAccessKey:         "AWS_ACCESS_KEY",
	GCPAPIKey:            "GCP_API_KEY",
	GCPServiceAccountKey: "GCP_SERVICE_ACCOUNT_KEY",
	GitHubToken:          "GITHUB_TOKEN",
	SlackToken:           "SLACK_TOKEN",
}

// String is the entity's name, e.g. "EMAIL_ADDRESS".
func (e Entity) String() string {
	if e < NumEntities {
		return entityNames[e]
	}
	return "UNKNOWN"
}

// Secret reports whether the entity is a credential rather than personal data.
func (e Entity) Secret() bool { return e >= PrivateKey && e < NumEntities }

// ParseEntity maps a name such as "US_SSN" to its entity.
func ParseEntity(name string) (Entity, bool) {
	for i, n := range entityNames {
		if n == name {
			return Entity(i), true
		}
	}
	return 0, false
}

// Match is one entity found in a value: the bytes v[Start:End].
type Match struct {
	Entity     Entity
	Start, End int
	// Confidence in [0,1]: 1 for checksum-validated numbers and secrets,
	// lower for entities that rest on format and context alone.
	Confidence float64
}
