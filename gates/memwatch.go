package gates

import (
	"context"
	"fmt"
	"runtime/metrics"
	"sync"
	"time"
)

// defaultEvalMemory bounds the bytes one policy evaluation may allocate. A
// decision allocates tens of kilobytes; a comprehension gone quadratic
// allocates gigabytes.
const defaultEvalMemory = 2 << 30

// memWatchInterval is how often a running evaluation's heap is sampled.
// The first sample is taken only after one interval, so the usual
// sub-millisecond decision starts no goroutine at all.
const memWatchInterval = 10 * time.Millisecond

// heapMetric counts every byte allocated on the heap since the process
// started: it only grows, so a garbage collection during the evaluation
// cannot hide what the evaluation allocated (the heap's size could).
const heapMetric = "/gc/heap/allocs:bytes"

// heapBytes is the bytes allocated so far (no stop-the-world).
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// watchMemory returns a context that is cancelled, with a cause naming the
// bound, once more than limit bytes were allocated since the start. OPA's
// evaluator stops when its context ends. The count is process-wide: a
// server deciding concurrently shares the bound among its decisions.
func watchMemory(ctx context.Context, limit int64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	base := heapBytes()
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	var check func()
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if now := heapBytes(); now > base && int64(now-base) > limit {
			cancel(fmt.Errorf("policy evaluation allocated %d MiB, past its bound of %d MiB", (now-base)>>20, limit>>20))
			return
		}
		t.Reset(memWatchInterval)
	}
	mu.Lock()
	t = time.AfterFunc(memWatchInterval, check)
	mu.Unlock()
	return ctx, func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
		cancel(nil)
	}
}
