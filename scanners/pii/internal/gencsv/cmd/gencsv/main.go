// Command gencsv writes the PII benchmark's mixed CSV:
//
//	go run ./scanners/pii/internal/gencsv/cmd/gencsv -size 67108864 -out /tmp/mixed.csv
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gatehouse-dev/gatehouse/scanners/pii/internal/gencsv"
)

func main() {
	size := flag.Int64("size", 64<<20, "bytes to write (whole rows)")
	out := flag.String("out", "", "file to write (required)")
	flag.Parse()
	if *out == "" || *size <= 0 {
		fmt.Fprintln(os.Stderr, "gencsv: -out FILE is required and -size must be positive")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(2)
	}
	n, err := gencsv.Write(f, *size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gencsv: write %s: %v\n", *out, err)
		os.Exit(2)
	}
	fmt.Printf("%s %d\n", *out, n)
}
