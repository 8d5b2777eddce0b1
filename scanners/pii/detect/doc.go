// Package detect holds gatehouse's PII and secret recognizers: hand-written
// byte scanners (no backtracking regular expressions) with checksums
// (Luhn, IBAN mod-97), format rules and column/word context, named as
// Presidio names its entities. Precision comes first: a value is reported
// only when its shape, its checksum (where the entity has one) and its
// context agree.
//
// One call, Scan(dst, value, column), looks at one cell (or one line of
// text). A first pass classifies the value's bytes; each recognizer runs
// only when its trigger bytes are present ('@' for e-mail, digits for the
// numbers, ':' for IPv6, A/g/x/- for secrets). Scan does not allocate in
// the common case.
//
// Rules, entity by entity:
//
//   - EMAIL_ADDRESS: local@domain.tld; local part [A-Za-z0-9._%+'-] up to
//     64 bytes, not starting, ending or doubling '.'; two or more domain
//     labels; a top-level label of 2-24 letters (or xn--) that is not a
//     file extension. user@localhost, pkg@1.2.3, icon@2x.png are not e-mails.
//   - PHONE_NUMBER: '+' and 8-15 digits (any separators, "(0)" allowed);
//     North American (NNN) NNN-NNNN, NNN-NNN-NNNN, NNN.NNN.NNNN, NNN NNN NNNN
//     with an optional 1 / 001 prefix; national numbers with a trunk 0 in
//     2-5 groups and 10-12 digits ("020 7946 0958", "(0115) 496 0123");
//     an extension (x123, ext. 123) may follow. Bare digit runs only in a
//     phone column or after a phone word ("tel", "call"). Never in an
//     identifier column (id, sku, order, serial, ...) or after "order",
//     "sku", "invoice", "#", ...
//   - CREDIT_CARD: 13-19 digits, contiguous or in groups of four (Amex
//     4-6-5, Diners 4-6-4) with one kind of separator; Luhn valid; an issuer
//     prefix and length that exist (Visa, Mastercard incl. 2-series, Amex,
//     Discover, JCB, Diners, UnionPay, Maestro, Mir); not one repeated
//     digit. Contiguous numbers in identifier columns or after "order" etc.
//     are ids.
//   - IBAN_CODE: country code + 2 check digits + BBAN, upper case, compact
//     or in groups of four; the country's registered length; mod-97 == 1.
//   - US_SSN: NNN-NN-NNNN (or spaces/dots, one kind); area 000, 666 and
//     900-999, group 00, serial 0000, one repeated digit and published
//     numbers (078-05-1120, 219-09-9999, 123-45-6789) are rejected. Nine bare
//     digits only in an ssn column.
//   - IP_ADDRESS: dotted quads with octets 0-255 and no leading zeros (a
//     port or /prefix may follow), not in a version column or after
//     "version"/"build"/"v"; IPv6 that net/netip parses, with "::" or all
//     eight groups and at least four hex digits (any in an ip column).
//   - PERSON: only in a column whose name says so (first_name, last_name,
//     full_name, customer_name, surname, ...): 1-6 words of letters (any
//     script) and ' - . , ; a bare "name" column, or a role column
//     ("customer", "author", "owner", ...), needs 2-4 capitalised words.
//     Free text yields no PERSON (there is no NER model here).
//   - Secrets: PRIVATE_KEY (-----BEGIN ... PRIVATE KEY----- armour lines,
//     PGP private key blocks), AWS_ACCESS_KEY (AKIA/ASIA + 16 [A-Z0-9],
//     AWS's documented ...EXAMPLE key excepted), GCP_API_KEY (AIza + 35),
//     GITHUB_TOKEN (ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_ + 82),
//     SLACK_TOKEN (xoxb-/xoxp-/xoxa-/xoxr-/xoxs-), GCP_SERVICE_ACCOUNT_KEY
//     (a value with "type": "service_account" and a "private_key" holding a
//     PEM key; ServiceAccountJSON checks a whole file).
//
// Everywhere, a match must stand alone: a token glued to a word on its left
// or right ("ORD-2024-000123", "v1.2.3.4", "555-123-4567-89",
// "550e8400-e29b-...") is part of an identifier. Redact renders a match for
// reports without the personal part.
package detect
