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
