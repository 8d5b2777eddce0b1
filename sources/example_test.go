package sources_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/gatehouse-dev/gatehouse/sources"
)

// Walk a tree and read every file, as a scanner does. The same code reads
// oci://REGISTRY/REPO@sha256:… or gs://BUCKET/PREFIX/.
func ExampleOpen() {
	ctx := context.Background()
	tree, err := sources.Open(ctx, "testdata/model", sources.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tree.Close()
	var mu sync.Mutex
	var lines []string
	err = tree.Walk(ctx, func(ctx context.Context, f *sources.File) error {
		r, err := f.Open(ctx) // OCI: only during this call, once
		if err != nil {
			return err
		}
		defer r.Close()
		n, err := io.Copy(io.Discard, r)
		mu.Lock() // fn runs on up to Options.Concurrency goroutines
		lines = append(lines, fmt.Sprintf("%s %d bytes", f.Path, n))
		mu.Unlock()
		return err
	})
	if err != nil { // a failed walk judged nothing
		fmt.Println(err)
		return
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// README.md 7 bytes
	// config.json 27 bytes
	// tokenizer/tokenizer.json 3 bytes
}
