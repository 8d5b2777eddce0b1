package admission

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCacheDo(t *testing.T) {
	c := newCache(10, time.Now)
	k := cacheKey{image: "r/x@sha256:1", env: "prod"}

	// A verifier that panics: an error verdict, nothing cached.
	v, hit := c.do(context.Background(), k, func() (verdict, time.Duration) { panic("boom") })
	if hit || v.err == nil || !strings.Contains(v.err.Error(), "verification failed unexpectedly: boom") {
		t.Fatalf("panic: %+v %v", v, hit)
	}
	if c.len() != 0 {
		t.Fatal("a panicking verification was cached")
	}

	// A caller whose deadline passes gets its error at once; the
	// verification still finishes and is cached for the next caller.
	release := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	v, _ = c.do(ctx, k, func() (verdict, time.Duration) {
		<-release
		return verdict{digest: "r/x@sha256:1", vsaRequired: true, vsaVerified: true}, time.Minute
	})
	if !errors.Is(v.err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("deadline: %+v after %s", v, time.Since(start))
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); c.len() == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	if v, hit := c.get(k); !hit || !v.verified() {
		t.Fatalf("the finished verification was not cached: %+v %v", v, hit)
	}
}
