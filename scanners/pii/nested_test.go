package pii

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNestedJSONInternational scans JSON Lines with nested objects, numbers
// stored as JSON integers, name parts under first/last keys, Japanese text
// and a barcode that passes Luhn: each value is judged under its key path.
func TestNestedJSONInternational(t *testing.T) {
	lines := `{"subscriber": {"msisdn": 4915112345678, "name": {"first": "Maria", "last": "Schmidt"}}, "product": {"barcode": 4006381333924}, "note": "電話090-1234-5678まで"}
{"subscriber": {"msisdn": 447700900123, "name": {"first": "Rahul", "last": "Sharma"}}, "product": {"barcode": 4006381333924}, "note": "Ligar para ela no (11) 98765-4321"}
{"payment": {"beneficiary": "Acme Holdings Ltd", "iban": "de89370400440532013000", "tax_id": "457555462"}, "note": "CPF 123.456.789-09"}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "subscribers.jsonl")
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	ev, err := Scan(context.Background(), dir, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[key]int64{}
	for _, f := range ev.Findings {
		got[key{filepath.Base(f.File), f.Column, f.Entity}] += f.Count
	}
	want := map[key]int64{
		{"subscribers.jsonl", "subscriber.msisdn", "PHONE_NUMBER"}: 2,
		{"subscribers.jsonl", "subscriber.name.first", "PERSON"}:   2,
		{"subscribers.jsonl", "subscriber.name.last", "PERSON"}:    2,
		{"subscribers.jsonl", "note", "PHONE_NUMBER"}:              2,
		{"subscribers.jsonl", "note", "BR_CPF"}:                    1,
		{"subscribers.jsonl", "payment.iban", "IBAN_CODE"}:         1,
		{"subscribers.jsonl", "payment.tax_id", "US_SSN"}:          1,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	for _, f := range ev.Findings {
		if f.Example == "4006381333924" || f.Example == "Maria" || f.Example == "457555462" {
			t.Errorf("example not redacted: %+v", f)
		}
	}
}
