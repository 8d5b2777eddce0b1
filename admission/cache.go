package admission

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

// cacheKey names one verification: an image (repository@digest, never a
// tag), the digest of the verification policy (keys, accepted policy and
// configuration digests, required gates), the gates configuration digest
// and the environment.
type cacheKey struct {
	image, policy, config, env string
}

// cache is the verification cache: LRU-bounded, each entry with its own
// expiry, and one verification in flight per key (a burst of pods of one
// Deployment verifies the image once).
type cache struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]*list.Element
	lru     *list.List // front: most recently used
	flights map[cacheKey]*cacheFlight
}

type cacheEntry struct {
	key     cacheKey
	v       verdict
	expires time.Time
}

type cacheFlight struct {
	done chan struct{}
	v    verdict
}

func newCache(max int, now func() time.Time) *cache {
	return &cache{max: max, now: now, entries: map[cacheKey]*list.Element{}, lru: list.New(), flights: map[cacheKey]*cacheFlight{}}
}

// get returns a live entry.
func (c *cache) get(k cacheKey) (verdict, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(k)
}

func (c *cache) getLocked(k cacheKey) (verdict, bool) {
	el, ok := c.entries[k]
	if !ok {
		return verdict{}, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, k)
		return verdict{}, false
	}
	c.lru.MoveToFront(el)
	return e.v, true
}

func (c *cache) put(k cacheKey, v verdict, ttl time.Duration) {
	if ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		el.Value = &cacheEntry{key: k, v: v, expires: c.now().Add(ttl)}
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, v: v, expires: c.now().Add(ttl)})
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).key)
	}
}

// len is the number of entries (live or not yet noticed expired).
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// do returns the cached verdict for k (hit true), or runs verify once for
// all concurrent callers and caches its verdict for the ttl it returns
// (0: not cached). verify runs on its own goroutine: a caller whose ctx
// ends first gets ctx's error while the verification finishes for the
// cache (verify must bound its own time).
func (c *cache) do(ctx context.Context, k cacheKey, verify func() (verdict, time.Duration)) (verdict, bool) {
	c.mu.Lock()
	if v, ok := c.getLocked(k); ok {
		c.mu.Unlock()
		return v, true
	}
	f, inFlight := c.flights[k]
	if !inFlight {
		f = &cacheFlight{done: make(chan struct{})}
		c.flights[k] = f
		go func() {
			defer func() {
				if r := recover(); r != nil {
					// A verifier bug must not take the server down: this
					// image is "could not be verified" (never cached).
					f.v = verdict{err: fmt.Errorf("verification failed unexpectedly: %v", r)}
				}
				c.mu.Lock()
				delete(c.flights, k)
				c.mu.Unlock()
				close(f.done)
			}()
			v, ttl := verify()
			c.put(k, v, ttl)
			f.v = v
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.v, false
	case <-ctx.Done():
		return verdict{err: context.Cause(ctx)}, false
	}
}
