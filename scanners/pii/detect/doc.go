// Package detect holds gatehouse's PII and secret recognizers: hand-written
// byte scanners (no backtracking regular expressions) with checksums
// (Luhn, IBAN mod-97, GS1, Verhoeff, mod-11, ISO 7064), format rules and
// column/word context, named as Presidio names its entities. Precision comes first: a value is reported
// only when its shape, its checksum (where the entity has one) and its
// context agree.
//
// One call, Scan(dst, value, column), looks at one cell (or one line of
// text). A first pass classifies the value's bytes; each recognizer runs
// only when its trigger bytes are present ('@' for e-mail, digits for the
// numbers, ':' for IPv6, A/g/x/- for secrets, a capital letter or UTF-8
// for names in free text). Scan does not allocate in the common case (the
// name gazetteer is loaded once, on first use; libphonenumber is asked
// only about national phone candidates, and its answers are cached).
//
// Rules, entity by entity:
//
//   - EMAIL_ADDRESS: local@domain.tld; local part [A-Za-z0-9._%+'-] up to
//     64 bytes, not starting, ending or doubling '.'; two or more domain
//     labels, which may be internationalised (bücher.de); a top-level label
//     of 2-24 ASCII letters (or xn--) that is not a file extension.
//     user@localhost, pkg@1.2.3, icon@2x.png are not e-mails. Japanese or
//     Chinese text may touch it on either side.
//   - PHONE_NUMBER: '+' and 8-15 digits (any separators, "(0)" allowed);
//     North American (NNN) NNN-NNNN, NNN-NNN-NNNN, NNN.NNN.NNNN, NNN NNN NNNN
//     with an optional 1 / 001 prefix; national numbers with a trunk 0 in
//     2-5 groups and 10-12 digits ("020 7946 0958", "030/16363365",
//     "087967 78838", "090-1234-5678", "(0115) 496 0123") or an area code in
//     parentheses ("(11) 98765-4321") when libphonenumber's numbering plan
//     (github.com/nyaruka/phonenumbers) of one of 16 regions says the number
//     is valid; an extension (x123, ext. 123) or a remark in parentheses
//     may follow. Bare digit runs only in a phone column (where a card-like
//     run is a phone too: an MSISDN stored as an integer) or after a phone
//     word ("tel", "call"). Never in an identifier column (id, sku, order,
//     serial, ...), after "order", "sku", "invoice", "#", "No." (not the
//     Portuguese word "no"), nor inside a longer run of digit groups.
//   - CREDIT_CARD: 13-19 digits, contiguous or in groups of four (Amex
//     4-6-5, Diners 4-6-4) with one kind of separator; Luhn valid; an issuer
//     prefix and length that exist (Visa, Mastercard incl. 2-series, Amex,
//     Discover, JCB, Diners, UnionPay, Maestro, Mir); not one repeated
//     digit. Contiguous numbers in identifier columns or after "order" etc.
//     are ids; a contiguous 13/14-digit run with a right GS1 check digit is
//     an EAN-13/GTIN-14 barcode unless the column says card.
//   - IBAN_CODE: country code + 2 check digits + BBAN, upper or lower case,
//     compact or in groups of four; the country's registered length;
//     mod-97 == 1. A failing IBAN-shaped run yields nothing inside it.
//   - US_SSN: NNN-NN-NNNN (or spaces/dots, one kind); area 000, 666 and
//     900-999, group 00, serial 0000, one repeated digit and published
//     numbers (078-05-1120, 219-09-9999, 123-45-6789) are rejected. Nine bare
//     digits only in an ssn or tax_id/tin column.
//   - IP_ADDRESS: dotted quads with octets 0-255 and no leading zeros (a
//     port or /prefix may follow), not in a version column or after
//     "version"/"build"/"v"; IPv6 that net/netip parses, with "::" or all
//     eight groups and at least four hex digits (any in an ip column).
//   - MAC_ADDRESS: six hex pairs with ':' or '-', or Cisco's xxxx.xxxx.xxxx;
//     not all zeros, not broadcast.
//   - DATE_OF_BIRTH: a valid calendar date (YYYY-MM-DD, DD.MM.YYYY,
//     DD/MM/YYYY, MM/DD/YYYY, 1990年1月2日; years 1900-2030) in a birth-date
//     column (dob, date_of_birth, geburtsdatum, 生年月日, ...) or after a
//     birth word (born, DOB, geboren, geb., nacido, nascido, 生年月日) or
//     before 生まれ. Other dates are not personal data by themselves.
//   - National ids, with their check digits: UK_NINO (prefix rules, suffix
//     A-D), IN_AADHAAR (12 digits, first 2-9, Verhoeff), BR_CPF (two mod-11
//     digits), JP_MY_NUMBER (check digit; needs a column, マイナンバー /
//     個人番号 or Japanese text before it), DE_TAX_ID (Steuer-ID: digit
//     distribution, ISO 7064 MOD 11,10), FR_NIR (sex, month, 97 - n mod 97
//     key), ES_NIF (DNI, mod-23 letter), ES_NIE (X/Y/Z, mod-23 letter),
//     IT_FISCAL_CODE (shape, month letter, check letter, omocodia), NL_BSN
//     (11-test; needs a bsn column or word). Printed forms
//     (123.456.789-09, 2345 6789 0124, 86 095 742 719, 1 85 05 78 006 084 91)
//     stand alone; bare digit runs need a column or a word naming the id,
//     and a negative word ("invoice", "order") before them rejects them.
//   - US_PASSPORT (9 digits, or a letter and 8 digits) and
//     US_DRIVER_LICENSE (0-2 letters and 4-14 digits): only in a column
//     or after a word that names them (passport, driver's license, DL).
//   - PERSON: in a column whose name says so (first_name, last_name,
//     full_name, customer_name, surname, ...): 1-6 words of letters (any
//     script) and ' - . , and no company word (Ltd, GmbH, Services, ...).
//     Under a first/last/given/family key (name.first) one or two
//     capitalised words the name gazetteer knows. A bare "name" column or a
//     role column ("beneficiary", "customer", "owner", ...) needs 2-5
//     capitalised words (particles such as "de", "van" allowed), a known
//     given name first or a known surname last, and no company word. In
//     free text: a title (Mr, Mrs, Dr, Herr, Frau, Mme, Sr., Sra., Shri,
//     ...) and 1-3 capitalised words, or a given name from the gazetteer
//     and 1-2 capitalised words it knows as names, and in Japanese 2-6
//     kanji/katakana before 様, さん, 氏, くん, ちゃん. The gazetteer
//     (names/, shipped in the binary) is public-domain given names (Moby
//     via @stdlib) and @cspell/dict-people-names (MIT). Names that are
//     also places or firms ("Morgan Stanley") are reported; names the
//     gazetteer lacks are missed.
//   - Secrets: PRIVATE_KEY (-----BEGIN ... PRIVATE KEY----- armour lines,
//     PGP private key blocks), AWS_ACCESS_KEY (AKIA/ASIA + 16 [A-Z0-9],
//     AWS's documented ...EXAMPLE key excepted), GCP_API_KEY (AIza + 35),
//     GITHUB_TOKEN (ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_ + 82),
//     SLACK_TOKEN (xoxb-/xoxp-/xoxa-/xoxr-/xoxs-), GCP_SERVICE_ACCOUNT_KEY
//     (a value with "type": "service_account" and a "private_key" holding a
//     PEM key; ServiceAccountJSON checks a whole file).
//
// Everywhere, a match must stand alone (Japanese and Chinese characters do
// not glue, since those scripts have no spaces): a token glued to a word on its left
// or right ("ORD-2024-000123", "v1.2.3.4", "555-123-4567-89",
// "550e8400-e29b-...") is part of an identifier. Redact renders a match for
// reports without the personal part. A value yields at most MaxMatches
// matches.
package detect
