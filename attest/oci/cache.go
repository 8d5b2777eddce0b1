package oci

import (
	"container/list"
	"sync"
)

// DefaultBlobCacheBytes bounds the cache of blobs and manifests fetched by
// digest when Options.BlobCacheBytes is zero.
const DefaultBlobCacheBytes = 32 << 20

// blobCache keeps recently read content-addressed registry content (blobs
// and manifests fetched by digest): immutable, so it never goes stale, and
// its digest was checked when it was read. Tags (.sig, .att, the referrers
// list) are never cached: they change. Least recently used goes first.
type blobCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	key  string
	data []byte
}

func newBlobCache(max int64) *blobCache {
	if max <= 0 {
		return nil
	}
	return &blobCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the content under key; callers must not modify it.
func (c *blobCache) get(key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).data, true
}

func (c *blobCache) put(key string, data []byte) {
	if c == nil || int64(len(data)) > c.max/4 {
		return // one item may not crowd out the rest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, data: data})
	c.size += int64(len(data))
	for c.size > c.max {
		last := c.order.Back()
		ent := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.items, ent.key)
		c.size -= int64(len(ent.data))
	}
}
