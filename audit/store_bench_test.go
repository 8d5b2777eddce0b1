package audit

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// BenchmarkAppend: durable appends (each acknowledged after its commit),
// from 1 caller and from 16 concurrent callers (a busy webhook) whose
// appends share group commits. PostgreSQL's "4writers" uses 4 stores
// (separate pools, as 4 replicas), 4 callers each.
func BenchmarkAppend(b *testing.B) {
	for _, be := range backends(b) {
		for _, mode := range []struct {
			name            string
			stores, callers int
		}{{"serial", 1, 1}, {"16callers", 1, 16}, {"64callers", 1, 64}, {"4writers", 4, 4}, {"4writersx16", 4, 16}} {
			b.Run(be.name+"/"+mode.name, func(b *testing.B) {
				ctx := context.Background()
				stores := make([]Store, mode.stores)
				for i := range stores {
					stores[i] = be.open(b)
				}
				e := NewEntry(ctx, sampleDecision(3))
				var next atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for _, s := range stores {
					for c := 0; c < mode.callers; c++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for next.Add(1) <= int64(b.N) {
								if _, err := s.Append(ctx, e); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			})
		}
	}
}

// BenchmarkMillion: query by subject digest and Verify over 1M entries.
// Filling takes minutes: set GATEHOUSE_AUDIT_BENCH_1M=1
// (GATEHOUSE_AUDIT_BENCH_N=200000 for another size).
func BenchmarkMillion(b *testing.B) {
	if os.Getenv("GATEHOUSE_AUDIT_BENCH_1M") == "" {
		b.Skip("set GATEHOUSE_AUDIT_BENCH_1M=1 to fill 1M entries (minutes)")
	}
	n := int64(1_000_000)
	if v, err := strconv.ParseInt(os.Getenv("GATEHOUSE_AUDIT_BENCH_N"), 10, 64); err == nil && v > 0 {
		n = v // a smaller log for profiling
	}
	for _, be := range backends(b) {
		ctx := context.Background()
		s := be.open(b)
		var next atomic.Int64
		var wg sync.WaitGroup
		for c := 0; c < 512; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= n; i = next.Add(1) {
					if _, err := s.Append(ctx, NewEntry(ctx, sampleDecision(int(i)))); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		digest := sampleDecision(5).Subject.Digest
		b.Run(be.name+"/query-digest", func(b *testing.B) {
			for b.Loop() {
				es, _, err := s.Query(ctx, Query{Digest: digest, Limit: 100})
				if err != nil || len(es) != 100 {
					b.Fatal(len(es), err)
				}
			}
		})
		b.Run(be.name+"/verify", func(b *testing.B) {
			for b.Loop() {
				r, err := Verify(ctx, s, []signature.Verifier{})
				if err != nil || !r.OK || r.Entries != n {
					b.Fatal(r, err)
				}
			}
		})
	}
}
