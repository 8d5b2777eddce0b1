package pii

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/gatehouse-dev/gatehouse/gates"
)

type key struct{ File, Column, Entity string }

// labelled is the truth for testdata/labelled: every entity a person
// reading the files would mark, and nothing else. The files also hold
// decoys (order numbers, UUIDs, hashes, Luhn-failing and checksum-failing
// look-alikes, invalid SSNs and IPs, versions, timestamps, product codes,
// user@localhost, icon@2x.png, AWS's documentation key) that must not be
// reported.
var labelled = map[key]int64{
	{"customers.csv", "first_name", "PERSON"}:        5,
	{"customers.csv", "last_name", "PERSON"}:         5,
	{"customers.csv", "email", "EMAIL_ADDRESS"}:      3,
	{"customers.csv", "phone", "PHONE_NUMBER"}:       5,
	{"customers.csv", "ssn", "US_SSN"}:               1,
	{"customers.csv", "card_number", "CREDIT_CARD"}:  4,
	{"customers.csv", "iban", "IBAN_CODE"}:           4,
	{"customers.csv", "ip", "IP_ADDRESS"}:            3,
	{"customers.csv", "notes", "EMAIL_ADDRESS"}:      1,
	{"customers.csv", "notes", "PHONE_NUMBER"}:       2,
	{"events.jsonl", "user.email", "EMAIL_ADDRESS"}:  2,
	{"events.jsonl", "user.ip", "IP_ADDRESS"}:        2,
	{"events.jsonl", "message", "PHONE_NUMBER"}:      1,
	{"support.txt.gz", "", "EMAIL_ADDRESS"}:          1,
	{"support.txt.gz", "", "PHONE_NUMBER"}:           1,
	{"support.txt.gz", "", "CREDIT_CARD"}:            1,
	{"support.txt.gz", "", "AWS_ACCESS_KEY"}:         1,
	{"support.txt.gz", "", "PRIVATE_KEY"}:            1,
	{"sa-key.json", "", "GCP_SERVICE_ACCOUNT_KEY"}:   1,
	{"sa-key.json", "private_key", "PRIVATE_KEY"}:    1,
	{"sa-key.json", "client_email", "EMAIL_ADDRESS"}: 1,
}

func TestLabelledDataset(t *testing.T) {
	ev, err := Scan(context.Background(), "testdata/labelled", Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := map[key]int64{}
	for _, f := range ev.Findings {
		got[key{filepath.Base(f.File), f.Column, f.Entity}] += f.Count
	}
	var tp, fp, fn int64
	for k, n := range got {
		want := labelled[k]
		tp += min(n, want)
		if n > want {
			fp += n - want
			t.Errorf("false positive: %d more %v than labelled (%d)", n-want, k, want)
		}
	}
	for k, want := range labelled {
		if n := got[k]; n < want {
			fn += want - n
			t.Logf("missed: %d of %d %v", want-n, want, k)
		}
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("precision %.3f recall %.3f (tp %d fp %d fn %d)", precision, recall, tp, fp, fn)
	if precision != 1 {
		t.Errorf("precision %.3f, want 1.0 (no decoy reported)", precision)
	}
	if recall < 0.9 {
		t.Errorf("recall %.3f, want at least 0.9", recall)
	}
	if ev.FilesScanned != 4 || len(ev.Skipped) != 1 || len(ev.NotVerified) != 0 {
		t.Errorf("files %d skipped %v not verified %v; want 4 files, pixel.png skipped, none unverified", ev.FilesScanned, ev.Skipped, ev.NotVerified)
	}
	var sum int64
	for _, n := range ev.Totals {
		sum += n
	}
	if sum != tp+fp {
		t.Errorf("totals add up to %d, findings to %d", sum, tp+fp)
	}
}

// The evidence must never hold a value from the dataset unredacted.
func TestEvidenceHoldsNoPII(t *testing.T) {
	ev, err := Scan(context.Background(), "testdata/labelled", Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ada.lovelace", "lovelace", "Lovelace", "4111111111111111", "4111 1111", "536-22-1234", "DE89370400440532013000",
		"192.168.10.20", "(212) 555-0143", "AKIAZ2V7Q3KXJ4ABCDEF", "MIIEowIBAAKCAQEA", "dave@example", "svc@demo-123"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("evidence holds %q", secret)
		}
	}
}

func TestSampling(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("1,someone@example.com\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		o     Options
		mode  string
		rows  int64
		count int64
	}{
		{"full", Options{}, "full", 1000, 1000},
		{"rows", Options{SampleRows: 10}, "sample", 10, 10},
		{"bytes larger than the file", Options{SampleBytes: 1 << 20}, "sample", 1000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for run := 0; run < 2; run++ { // deterministic: same result twice
				ev, err := Scan(context.Background(), dir, tt.o)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Mode != tt.mode || ev.RowsScanned != tt.rows || ev.Totals["EMAIL_ADDRESS"] != tt.count {
					t.Fatalf("mode %s rows %d emails %d; want %s %d %d", ev.Mode, ev.RowsScanned, ev.Totals["EMAIL_ADDRESS"], tt.mode, tt.rows, tt.count)
				}
			}
		})
	}
}

func TestNotVerified(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bad.jsonl", "{\"email\":\"a@example.com\"}\n{not json\n")
	write("fake.csv.gz", "plain text, not gzip")
	write("open.csv", "a\n\"unterminated\n")
	write("big.txt", strings.Repeat("x", 200))
	ev, err := Scan(context.Background(), dir, Options{MaxFileSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ev.NotVerified {
		got = append(got, filepath.Base(n.Location)+": "+n.Reason)
	}
	want := []string{
		"bad.jsonl: bad.jsonl: line 2: not valid JSON: invalid character 'n' looking for beginning of object key string",
		"big.txt: 200 bytes, more than the 100-byte limit: raise it or scan with --sample",
		"fake.csv.gz: named .gz but not gzip data",
		"open.csv: open.csv: record at line 2: quoted field not closed before the end of the file",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("not_verified (-want +got):\n%s", diff)
	}
	// what was read before the error still counts
	if ev.Totals["EMAIL_ADDRESS"] != 1 {
		t.Errorf("totals %v, want the email of bad.jsonl's first line", ev.Totals)
	}
	if _, err := Scan(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Error("missing path: no error")
	}
}

func TestParquetFile(t *testing.T) {
	type row struct {
		CustomerName string `parquet:"customer_name"`
		Email        string `parquet:"email"`
		Phone        int64  `parquet:"phone"`
		OrderID      int64  `parquet:"order_id"`
	}
	p := filepath.Join(t.TempDir(), "d.parquet")
	if err := parquet.WriteFile(p, []row{{"Ada Lovelace", "ada@example.com", 2125550143, 1234567890}, {"Alan Turing", "alan@example.com", 2025550188, 1234567891}}); err != nil {
		t.Fatal(err)
	}
	ev, err := Scan(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range ev.Findings {
		got[f.Column+"/"+f.Entity] = f.Count
	}
	want := map[string]int64{"customer_name/PERSON": 2, "email/EMAIL_ADDRESS": 2, "phone/PHONE_NUMBER": 2}
	if diff := cmp.Diff(want, got); diff != "" || ev.RowsScanned != 2 {
		t.Errorf("rows %d; findings (-want +got):\n%s", ev.RowsScanned, diff)
	}
}

func TestCollector(t *testing.T) {
	c, err := NewCollector(map[string]any{"sample_rows": 2.0, "max": map[string]any{"EMAIL_ADDRESS": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "pii" || !c.Applies(gates.Subject{Kind: gates.KindDataset}) || c.Applies(gates.Subject{Kind: gates.KindModel}) {
		t.Error("Name/Applies wrong")
	}
	got, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindDataset, Ref: "testdata/labelled/customers.csv"})
	if err != nil {
		t.Fatal(err)
	}
	ev := got.(*Evidence)
	if ev.Mode != "sample" || ev.RowsScanned != 2 {
		t.Errorf("mode %s rows %d, want sample 2", ev.Mode, ev.RowsScanned)
	}
	if _, err := NewCollector(map[string]any{"sample_rows": "many"}); err == nil {
		t.Error("sample_rows \"many\": no error")
	}
	data, _ := json.Marshal(ev)
	parsed, err := c.ParseEvidence(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, parsed); diff != "" {
		t.Errorf("ParseEvidence round trip (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"schema":"pii/v2","mode":"full"}`, `{"schema":"pii/v1","mode":"some"}`, `[]`, `{"schema":"pii/v1","mode":"full","findings":[{"count":1}]}`} {
		if _, err := c.ParseEvidence([]byte(bad)); err == nil {
			t.Errorf("ParseEvidence(%s): no error", bad)
		}
	}
}
