package detect

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// mixedRows builds n rows of a typical customer table: ids, names,
// emails, phones, amounts, free text, UUIDs and timestamps.
func mixedRows(n int) (cols []Column, rows [][][]byte, size int64) {
	names := []string{"id", "first_name", "last_name", "email", "phone", "amount", "note", "uuid", "created_at", "order_id"}
	for _, c := range names {
		cols = append(cols, ColumnContext(c))
	}
	r := rand.New(rand.NewPCG(1, 2))
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy"}
	notes := []string{
		"Customer asked about delivery times for order ORD-2024-001234, version 1.2.3 of the app",
		"Called back, no answer; left a voicemail",
		"Refund of 129.99 approved on 2024-03-01 10:15:00",
		"Prefers contact by e-mail; see ticket #55123",
		"",
	}
	for i := 0; i < n; i++ {
		f, l := first[r.IntN(len(first))], last[r.IntN(len(last))]
		row := []string{
			fmt.Sprint(100000 + i),
			f,
			l,
			fmt.Sprintf("%c.%s%d@example.com", f[0]|0x20, l, i%97),
			fmt.Sprintf("(%03d) %03d-%04d", 200+r.IntN(700), 200+r.IntN(700), r.IntN(10000)),
			fmt.Sprintf("%d.%02d", r.IntN(5000), r.IntN(100)),
			notes[r.IntN(len(notes))],
			fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff),
			fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60)),
			fmt.Sprintf("%d", 4000000000000000+r.Int64N(999999999999999)),
		}
		br := make([][]byte, len(row))
		for k, v := range row {
			br[k] = []byte(v)
			size += int64(len(v)) + 1
		}
		rows = append(rows, br)
	}
	return cols, rows, size
}

// BenchmarkScan measures the recognizers alone over a mixed table (bytes/s
// of cell values). The reader-inclusive figure is BenchmarkFullCSV in
// package pii.
func BenchmarkScan(b *testing.B) {
	cols, rows, size := mixedRows(20000)
	b.SetBytes(size)
	b.ReportAllocs()
	var dst []Match
	found := 0
	for b.Loop() {
		found = 0
		for _, row := range rows {
			for k, v := range row {
				dst = Scan(dst[:0], v, cols[k])
				found += len(dst)
			}
		}
	}
	b.ReportMetric(float64(found)/float64(len(rows)), "matches/row")
}

// BenchmarkScanAdversarial scans 1 MiB values built to stress the new
// recognizers (capitalised given names back to back, honorifics, digit
// groups, IBAN-shaped runs, dates, MAC-like hex): each should run at a
// speed of the same order as BenchmarkScan, no pattern quadratic.
func BenchmarkScanAdversarial(b *testing.B) {
	patterns := map[string]string{
		"names":       "Maria Anna Maria Anna Maria ",
		"titles":      "Mr Mr Mr Mr Herr Frau ",
		"honorific":   "山田様山田様さん氏",
		"groups":      "1234 5678 9012 3456 7890 ",
		"iban-shaped": "DE89 3704 0044 0532 0130 01 ",
		"dates":       "born 01.02.1980 geb. 1990-01-02 ",
		"mac-hex":     "aa:bb:cc:dd:ee:ff:aa:bb:cc:",
		"cjk-digits":  "電話090-1234-5678まで0",
	}
	for name, p := range patterns {
		v := []byte(strings.Repeat(p, (1<<20)/len(p)))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			var dst []Match
			for b.Loop() {
				dst = Scan(dst[:0], v, Column{})
			}
		})
	}
}
