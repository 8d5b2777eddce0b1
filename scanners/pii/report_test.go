package pii

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestParseSample(t *testing.T) {
	tests := []struct {
		in          string
		rows, bytes int64
		err         string
	}{
		{"", 0, 0, ""},
		{"10000", 10000, 0, ""},
		{"64MB", 0, 64e6, ""},
		{"64MiB", 0, 64 << 20, ""},
		{"1g", 0, 1e9, ""},
		{"500kB", 0, 500e3, ""},
		{"0", 0, 0, "want a positive number"},
		{"-5", 0, 0, "want a positive number"},
		{"MB", 0, 0, "want a positive number"},
		{"10 rows", 0, 0, "unknown unit"},
		{"9999999999999GiB", 0, 0, "too large"},
	}
	for _, tt := range tests {
		rows, b, err := ParseSample(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSample(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || rows != tt.rows || b != tt.bytes {
			t.Errorf("ParseSample(%q) = %d, %d, %v; want %d, %d", tt.in, rows, b, err, tt.rows, tt.bytes)
		}
	}
}

func TestWriteText(t *testing.T) {
	ev, err := Scan(context.Background(), "testdata/labelled/customers.csv", Options{SampleRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, ev); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"FILE", "testdata/labelled/customers.csv  email", "EMAIL_ADDRESS", "a***@e***.com", "sample (first 1 rows per file)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "lovelace") {
		t.Errorf("text output holds a value unredacted:\n%s", out)
	}
}
