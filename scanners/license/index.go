package license

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// spdxIndex is built by internal/genindex from the SPDX License List's
// texts: 32-bit hashes of every 5-word shingle of each normalised text
// (no licence text is stored).
//
//go:embed spdx_index.bin
var spdxIndex []byte

type indexEntry struct {
	id         string
	unresolved []string
	shingles   int // distinct shingles of the licence text
}

// index is a read-only view of spdxIndex: the hash table and postings
// stay in the embedded bytes, so loading costs only the entry table.
type index struct {
	version  string
	entries  []indexEntry
	n        int    // distinct hashes
	hashes   []byte // n × u32, sorted
	offsets  []byte // (n+1) × u32
	postings []byte // u16 entry numbers

	fwdOnce sync.Once
	fwd     [][]uint32 // per entry, its hash numbers (lazily, see forward)
}

var (
	indexOnce sync.Once
	theIndex  *index
	indexErr  error
)

// loadIndex parses the embedded index once, on first use.
func loadIndex() (*index, error) {
	indexOnce.Do(func() { theIndex, indexErr = parseIndex(spdxIndex) })
	return theIndex, indexErr
}

var errIndex = errors.New("licence index is corrupt (rebuild spdx_index.bin with internal/genindex)")

func parseIndex(b []byte) (*index, error) {
	const magic = "GHLI2\n"
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, errIndex
	}
	p := len(magic)
	u16 := func() (int, bool) {
		if p+2 > len(b) {
			return 0, false
		}
		v := binary.LittleEndian.Uint16(b[p:])
		p += 2
		return int(v), true
	}
	u32 := func() (int, bool) {
		if p+4 > len(b) {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b[p:])
		p += 4
		return int(v), true
	}
	str := func() (string, bool) {
		n, ok := u16()
		if !ok || p+n > len(b) {
			return "", false
		}
		s := string(b[p : p+n])
		p += n
		return s, true
	}
	ix := &index{}
	var ok bool
	if ix.version, ok = str(); !ok {
		return nil, errIndex
	}
	ne, ok := u32()
	if !ok || ne > 1<<16 {
		return nil, errIndex
	}
	ix.entries = make([]indexEntry, ne)
	for i := range ix.entries {
		e := &ix.entries[i]
		if e.id, ok = str(); !ok || p >= len(b) {
			return nil, errIndex
		}
		nu := int(b[p])
		p++
		for range nu {
			u, ok := str()
			if !ok {
				return nil, errIndex
			}
			e.unresolved = append(e.unresolved, u)
		}
		if e.shingles, ok = u32(); !ok {
			return nil, errIndex
		}
	}
	if ix.n, ok = u32(); !ok || p+8*ix.n+4 > len(b) {
		return nil, errIndex
	}
	ix.hashes = b[p : p+4*ix.n]
	p += 4 * ix.n
	ix.offsets = b[p : p+4*(ix.n+1)]
	p += 4 * (ix.n + 1)
	ix.postings = b[p:]
	if last := int(binary.LittleEndian.Uint32(ix.offsets[4*ix.n:])); 2*last != len(ix.postings) {
		return nil, fmt.Errorf("%w: postings size", errIndex)
	}
	return ix, nil
}

// lookup returns the hash number and postings (entry numbers as u16
// pairs of bytes) of a shingle hash, or -1 and nil.
func (ix *index) lookup(h uint32) (int, []byte) {
	lo, hi := 0, ix.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if binary.LittleEndian.Uint32(ix.hashes[4*m:]) < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == ix.n || binary.LittleEndian.Uint32(ix.hashes[4*lo:]) != h {
		return -1, nil
	}
	a := binary.LittleEndian.Uint32(ix.offsets[4*lo:])
	z := binary.LittleEndian.Uint32(ix.offsets[4*lo+4:])
	return lo, ix.postings[2*a : 2*z]
}
