package detect

import (
	"testing"
)

// FuzzDetect runs every recognizer over arbitrary values and column names:
// no panics, matches inside the value and not overlapping, and redaction
// never returns a number, e-mail or token unchanged.
func FuzzDetect(f *testing.F) {
	seeds := []struct{ v, col string }{
		{"jane.doe@example.com", ""},
		{"+1 (555) 123-4567 x12", "phone"},
		{"4111 1111 1111 1111", "card"},
		{"DE89 3704 0044 0532 0130 00", ""},
		{"123-45-6788", "ssn"},
		{"2001:db8::1 and 10.0.0.1:80", "ip"},
		{"Ada Lovelace", "full_name"},
		{"-----BEGIN RSA PRIVATE KEY-----", ""},
		{"AKIAZ2V7Q3KXJ4ABCDEF AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", ""},
		{`{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----"}`, ""},
		{"ORD-2024-000123 550e8400-e29b-41d4-a716-446655440000 2024-01-15T10:30:45Z", "order_id"},
		{"Herr Müller, 030/16363365 (Büro), geboren am 01.02.1980, Steuer-ID 86 095 742 719", "notes"},
		{"山田太郎様の電話番号は090-1234-5678です。メールはtaro@example.co.jpまで。マイナンバー1234 5678 9018", ""},
		{"CPF 123.456.789-09, ligue no (11) 98765-4321", "observacao"},
		{"Aadhaar 2345 6789 0124, mobile 087967 78838", ""},
		{"AB 12 34 56 C X1234567L 12345678Z RSSMRA85T10A562S 1 85 05 78 006 084 36", ""},
		{"00:1a:2b:3c:4d:5e 0011.2233.4455", ""}, {"123456782", "bsn"}, {"D1234567", "drivers_license"},
		{"4006381333931", "barcode"}, {"4915112345678", "msisdn"}, {"de89 3704 0044 0532 0130 00", ""},
		{"info@bücher.de", ""}, {"1990年1月2日生まれ", ""}, {"Maria", "name.first"},
		{"::", ""}, {"(", "phone"}, {"+", ""}, {"@", ""}, {"a@b.", ""}, {"0", "ssn"},
	}
	for _, s := range seeds {
		f.Add(s.v, s.col)
	}
	f.Fuzz(func(t *testing.T, v, colName string) {
		b := []byte(v)
		ms := Scan(nil, b, ColumnContext(colName))
		for i, m := range ms {
			if m.Start < 0 || m.End > len(b) || m.Start >= m.End {
				t.Fatalf("match %d out of bounds: %+v in %d bytes", i, m, len(b))
			}
			if m.Entity >= NumEntities || m.Confidence <= 0 || m.Confidence > 1 {
				t.Fatalf("match %d: bad entity or confidence: %+v", i, m)
			}
			for j := 0; j < i; j++ {
				if m.Start < ms[j].End && ms[j].Start < m.End {
					t.Fatalf("matches %d and %d overlap: %+v %+v", j, i, ms[j], m)
				}
			}
			val := string(b[m.Start:m.End])
			r := Redact(m.Entity, b[m.Start:m.End])
			if m.Entity != PrivateKey && m.Entity != GCPServiceAccountKey && r == val {
				t.Fatalf("Redact(%v, %q) returned the value unchanged", m.Entity, val)
			}
		}
	})
}

// FuzzChecksums checks that every check-digit scheme the national
// recognizers use catches any single wrong digit: a number that passes
// stops passing when one digit changes.
func FuzzChecksums(f *testing.F) {
	for _, s := range []string{"234567890124", "12345678909", "123456789018", "86095742719", "185057800608436",
		"123456782", "4006381333931", "4111111111111111"} {
		f.Add(s, uint8(0), uint8(1))
	}
	checks := map[string]func([]byte) bool{
		"verhoeff": verhoeff, "gs1": gs1, "luhn": luhn, "bsn": bsnValid, "steuer-id": steuerIDValid, "nir": nirValid,
	}
	// CPF is not here: its mod-11 digits map remainder 10 to 0, so some
	// single-digit errors pass (the fuzzer found 22868512208 / 12868512208).
	f.Fuzz(func(t *testing.T, s string, pos, delta uint8) {
		if len(s) > 20 {
			return
		}
		d := make([]byte, 0, len(s))
		for _, c := range []byte(s) {
			d = append(d, c%10)
		}
		if len(d) == 0 {
			return
		}
		p := int(pos) % len(d)
		dd := int(delta)%9 + 1
		for name, ok := range checks {
			if !ok(d) {
				continue
			}
			m := append([]byte(nil), d...)
			m[p] = byte((int(m[p]) + dd) % 10)
			if ok(m) {
				t.Fatalf("%s: %v passes and so does %v (digit %d changed)", name, d, m, p)
			}
		}
	})
}
