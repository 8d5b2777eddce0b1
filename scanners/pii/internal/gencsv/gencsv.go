// Package gencsv writes the mixed CSV the PII benchmarks scan: ids, names,
// e-mails, phones, amounts, free text, UUIDs, timestamps, order numbers and
// hashes, deterministic for a given size.
package gencsv

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

var (
	first = []string{"Ada", "Grace", "Alan", "Linus", "Margaret", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Dennis"}
	last  = []string{"Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Ritchie"}
	words = []string{"the", "order", "arrived", "late", "and", "customer", "asked", "for", "a", "refund", "please", "check",
		"shipment", "status", "thanks", "version", "update", "ticket", "closed", "resolved", "payment", "pending", "box", "damaged"}
	domains = []string{"example.com", "example.org", "mail.example.net", "corp.example.co.uk"}
)

// Header is the CSV's header line.
const Header = "id,customer_name,email,phone,amount,note,uuid,created_at,order_id,sha256\n"

// Write writes about size bytes of CSV (whole rows) to w and returns the
// bytes written.
func Write(w io.Writer, size int64) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	n, err := bw.WriteString(Header)
	total := int64(n)
	var buf []byte
	for id := 1; total < size && err == nil; id++ {
		buf = buf[:0]
		f, l := first[r.IntN(len(first))], last[r.IntN(len(last))]
		buf = fmt.Appendf(buf, "%d,%s %s,%c.%s%d@%s,", id, f, l, f[0]|0x20, lower(l), r.IntN(1000), domains[r.IntN(len(domains))])
		switch r.IntN(3) {
		case 0:
			buf = fmt.Appendf(buf, "(%d) 555-%04d,", 200+r.IntN(700), r.IntN(10000))
		case 1:
			buf = fmt.Appendf(buf, "+44 20 7946 %04d,", r.IntN(10000))
		default:
			buf = fmt.Appendf(buf, "%d-555-%04d,", 200+r.IntN(700), r.IntN(10000))
		}
		buf = fmt.Appendf(buf, "%d.%02d,\"", r.IntN(5000), r.IntN(100))
		for k, nw := 0, 4+r.IntN(10); k < nw; k++ {
			if k > 0 {
				buf = append(buf, ' ')
			}
			buf = append(buf, words[r.IntN(len(words))]...)
		}
		if r.IntN(10) == 0 {
			buf = fmt.Appendf(buf, " call %d-555-%04d", 200+r.IntN(700), r.IntN(10000))
		}
		buf = fmt.Appendf(buf, "\",%08x-%04x-%04x-%04x-%012x,", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()&(1<<48-1))
		buf = fmt.Appendf(buf, "2024-%02d-%02dT%02d:%02d:%02dZ,ORD-2024-%06d,", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), id)
		for k := 0; k < 4; k++ {
			buf = fmt.Appendf(buf, "%016x", r.Uint64())
		}
		buf = append(buf, '\n')
		n, err = bw.Write(buf)
		total += int64(n)
	}
	if err == nil {
		err = bw.Flush()
	}
	return total, err
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
