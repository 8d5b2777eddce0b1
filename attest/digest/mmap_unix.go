//go:build linux || darwin || freebsd

package digest

import (
	"fmt"
	"hash"
	"os"
	"runtime/debug"
	"syscall"
)

// hashRange hashes size bytes of f at off into h through a read-only
// memory mapping of the range: page-cache pages are hashed in place, with
// no copy. It reports false when the range cannot be mapped, and the caller
// falls back to reads.
func hashRange(h hash.Hash, f *os.File, off, size int64) (ok bool, err error) {
	if size == 0 {
		return true, nil
	}
	if off%int64(os.Getpagesize()) != 0 || size > 1<<40 {
		return false, nil
	}
	m, err := syscall.Mmap(int(f.Fd()), off, int(size), syscall.PROT_READ, syscall.MAP_SHARED|mapPopulate)
	if err != nil {
		return false, nil
	}
	defer syscall.Munmap(m)
	// A file truncated under the mapping faults (SIGBUS): turn the fault
	// into an error of this file instead of a crash of the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			ok, err = true, fmt.Errorf("file changed while hashing (offset %d, %d bytes): %v", off, size, r)
		}
	}()
	for len(m) > 0 {
		n := min(len(m), 4<<20)
		h.Write(m[:n])
		m = m[n:]
	}
	return true, nil
}
