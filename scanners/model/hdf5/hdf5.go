// Package hdf5 reads just enough of an HDF5 file, without cgo, to return
// the attributes of its root group: the superblock (versions 0 to 3, at
// offset 0, 512, 1024, ...), the root object header (version 1, or 2
// "OHDR" with "OCHK" continuation blocks) and its attribute messages with
// fixed-length and variable-length (global heap) string values. Keras 2
// keeps its model configuration there (model_config, keras_version,
// backend).
//
// Not read (reported in Root.NotVerified): dense attribute storage (a
// fractal heap, used when a group has many or very large attributes),
// shared datatypes and dataspaces. Checksums are not verified: loaders
// built on libhdf5 do verify them, so a forged checksum fails to load
// rather than hiding anything.
package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// Format is the name reported in Result.Format.
const Format = "HDF5"

// Signature starts every HDF5 superblock.
const Signature = "\x89HDF\r\n\x1a\n"

// ErrMalformed is wrapped by every error about a file that is not readable
// HDF5.
var ErrMalformed = errors.New("malformed HDF5 file")

const (
	maxMessages      = 100_000 // header messages followed in one object header
	maxContinuations = 1_000
	maxAttrElements  = 1 << 20
)

// Detect reports whether head holds the HDF5 signature at offset 0, 512,
// 1024 or 2048 (a user block may precede the superblock).
func Detect(head []byte) bool {
	for off := 0; off+len(Signature) <= len(head) && off <= 2048; off = max(512, off*2) {
		if string(head[off:off+len(Signature)]) == Signature {
			return true
		}
	}
	return false
}

// Attribute is one attribute of the root group. Values holds its string
// elements (one per element of the dataspace) for string types; it is nil
// for other types.
type Attribute struct {
	Name   string
	Class  string // "fixed-length string", "variable-length string", or the HDF5 class name
	Values []string
}

// Root is what ReadRoot found.
type Root struct {
	Attributes  []Attribute
	NotVerified []string // parts that could not be read, with the reason
}

type file struct {
	r          io.ReaderAt
	size       int64
	base       int64
	offSize    int
	lenSize    int
	maxRead    int64
	root       *Root
	heapCache  map[int64][]byte
	heapBudget int64
	v2Flags    byte // flags of the version 2 object header being read
}

// read returns n bytes at absolute offset off, bounded by the file size
// and the header read limit.
func (f *file) read(off, n int64, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || n > f.size-off {
		return nil, fmt.Errorf("%w: %s at offset %d (+%d bytes) lies outside the %d-byte file", ErrMalformed, what, off, n, f.size)
	}
	if n > f.maxRead {
		return nil, fmt.Errorf("%s at offset %d is %d bytes, over the %d-byte limit (raise MaxHeaderBytes)", what, off, n, f.maxRead)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, fmt.Errorf("read %s at offset %d: %w", what, off, err)
	}
	return b, nil
}

// addr converts a file address to an absolute offset; undefined addresses
// (all ones) return -1.
func (f *file) addr(b []byte) int64 {
	v := uintN(b[:f.offSize])
	if v == 1<<(8*uint(f.offSize))-1 || f.offSize == 8 && v == ^uint64(0) {
		return -1
	}
	if v > uint64(f.size) {
		return f.size + 1 // outside: the next read reports it
	}
	return f.base + int64(v)
}

func uintN(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// ReadRoot finds the superblock and returns the root group's attributes.
func ReadRoot(r io.ReaderAt, size int64, lim finding.Limits) (Root, error) {
	root := Root{}
	maxRead := lim.MaxHeaderBytes
	if maxRead <= 0 {
		maxRead = finding.DefaultLimits().MaxHeaderBytes
	}
	f := &file{r: r, size: size, maxRead: maxRead, root: &root, heapCache: map[int64][]byte{}, heapBudget: maxRead}
	sb := int64(-1)
	for off := int64(0); off+8 <= size; off = max(512, off*2) {
		b, err := f.read(off, 8, "superblock signature")
		if err != nil {
			return root, err
		}
		if string(b) == Signature {
			sb = off
			break
		}
	}
	if sb < 0 {
		return root, fmt.Errorf("%w: no HDF5 signature at offset 0, 512, 1024, ...", ErrMalformed)
	}
	rootAddr, err := f.superblock(sb)
	if err != nil {
		return root, err
	}
	err = f.objectHeader(rootAddr)
	return root, err
}

func (f *file) notVerified(format string, args ...any) {
	f.root.NotVerified = append(f.root.NotVerified, fmt.Sprintf(format, args...))
}

// superblock parses the superblock at sb and returns the root object
// header's absolute address.
func (f *file) superblock(sb int64) (int64, error) {
	b, err := f.read(sb, min(f.size-sb, 256), "superblock")
	if err != nil {
		return 0, err
	}
	if len(b) < 12 {
		return 0, fmt.Errorf("%w: superblock at %d is truncated", ErrMalformed, sb)
	}
	version := b[8]
	var p int
	switch version {
	case 0, 1:
		if len(b) < 16 {
			return 0, fmt.Errorf("%w: superblock at %d is truncated", ErrMalformed, sb)
		}
		f.offSize, f.lenSize = int(b[13]), int(b[14])
		p = 24
		if version == 1 {
			p += 4
		}
	case 2, 3:
		f.offSize, f.lenSize = int(b[9]), int(b[10])
		p = 12
	default:
		return 0, fmt.Errorf("%w: superblock version %d at offset %d: only versions 0 to 3 exist", ErrMalformed, version, sb)
	}
	if !validSize(f.offSize) || !validSize(f.lenSize) {
		return 0, fmt.Errorf("%w: superblock sizes of offsets %d and lengths %d: want 2, 4 or 8", ErrMalformed, f.offSize, f.lenSize)
	}
	O := f.offSize
	var baseAddr, rootField int
	if version <= 1 {
		// base, free-space, end-of-file, driver info, then the root
		// symbol table entry: link name offset, object header address.
		baseAddr, rootField = p, p+4*O+O
	} else {
		// base, superblock extension, end of file, root object header.
		baseAddr, rootField = p, p+3*O
	}
	if rootField+O > len(b) {
		return 0, fmt.Errorf("%w: superblock at %d is truncated", ErrMalformed, sb)
	}
	base := uintN(b[baseAddr : baseAddr+O])
	if base > uint64(f.size) {
		return 0, fmt.Errorf("%w: superblock base address %d is past the end of the file", ErrMalformed, base)
	}
	f.base = int64(base)
	if f.base != sb && f.base != 0 {
		// The base must be the superblock (files with a user block) or 0.
		return 0, fmt.Errorf("%w: superblock at %d gives base address %d", ErrMalformed, sb, f.base)
	}
	if f.base == 0 && sb != 0 {
		f.base = sb // libhdf5 treats a zero base with a user block as the superblock's offset
	}
	// End-of-file address (third field in every version, counted from the
	// file's start as libhdf5 compares it): libhdf5 refuses a file shorter
	// than it records ("truncated file"), so must we.
	if eof := uintN(b[p+2*O : p+3*O]); eof != 1<<(8*uint(O))-1 && !(O == 8 && eof == ^uint64(0)) && eof > uint64(f.size) {
		return 0, fmt.Errorf("%w: truncated: the superblock records a %d-byte file, the file holds %d", ErrMalformed, eof, f.size)
	}
	a := f.addr(b[rootField:])
	if a < 0 {
		return 0, fmt.Errorf("%w: the root group's object header address is undefined", ErrMalformed)
	}
	return a, nil
}

func validSize(n int) bool { return n == 2 || n == 4 || n == 8 }

// block is a run of header messages to parse.
type block struct {
	off, n int64
	v2     bool // version 2 message layout
	ochk   bool // a v2 continuation block with signature and checksum
}

// objectHeader reads the messages of the object header at addr.
func (f *file) objectHeader(addr int64) error {
	if addr < 0 || addr >= f.size {
		return fmt.Errorf("%w: object header address %d is outside the %d-byte file", ErrMalformed, addr, f.size)
	}
	pre, err := f.read(addr, min(16, f.size-addr), "object header")
	if err != nil {
		return err
	}
	var blocks []block
	v2 := false
	switch {
	case len(pre) >= 16 && pre[0] == 1:
		size := int64(binary.LittleEndian.Uint32(pre[8:12]))
		blocks = append(blocks, block{off: addr + 16, n: size})
	case len(pre) >= 6 && string(pre[:4]) == "OHDR":
		v2 = true
		if pre[4] != 2 {
			return fmt.Errorf("%w: object header at %d has version %d, want 2", ErrMalformed, addr, pre[4])
		}
		flags := pre[5]
		p := int64(6)
		if flags&0x20 != 0 {
			p += 16
		}
		if flags&0x10 != 0 {
			p += 4
		}
		w := int64(1) << (flags & 3)
		sz, err := f.read(addr+p, w, "object header chunk size")
		if err != nil {
			return err
		}
		// Chunk 0's size excludes its trailing checksum.
		blocks = append(blocks, block{off: addr + p + w, n: int64(uintN(sz)) + 4, v2: true})
		f.v2Flags = flags
	default:
		return fmt.Errorf("%w: no object header at offset %d (want version 1 or \"OHDR\")", ErrMalformed, addr)
	}
	seen := map[int64]bool{}
	messages := 0
	for i := 0; i < len(blocks); i++ {
		if i > maxContinuations {
			f.notVerified("object header at %d has more than %d continuation blocks: the rest is not read", addr, maxContinuations)
			return nil
		}
		bl := blocks[i]
		if seen[bl.off] {
			return fmt.Errorf("%w: object header continuation at %d loops back to a block already read", ErrMalformed, bl.off)
		}
		seen[bl.off] = true
		data, err := f.read(bl.off, bl.n, "object header messages")
		if err != nil {
			return err
		}
		if bl.ochk {
			if len(data) < 8 || string(data[:4]) != "OCHK" {
				return fmt.Errorf("%w: continuation block at %d lacks its \"OCHK\" signature", ErrMalformed, bl.off)
			}
			data = data[4 : len(data)-4]
		} else if bl.v2 {
			if len(data) < 4 {
				return fmt.Errorf("%w: object header chunk at %d is truncated", ErrMalformed, bl.off)
			}
			data = data[:len(data)-4] // checksum
		}
		more, n, err := f.messages(data, bl.v2)
		if err != nil {
			return err
		}
		messages += n
		if messages > maxMessages {
			f.notVerified("object header at %d has more than %d messages: the rest is not read", addr, maxMessages)
			return nil
		}
		for _, c := range more {
			c.v2, c.ochk = v2, v2
			blocks = append(blocks, c)
		}
	}
	return nil
}

// Message types used here.
const (
	msgContinuation = 0x10
	msgAttribute    = 0x0C
	msgAttrInfo     = 0x15
)

// messages walks one block of header messages; it returns continuation
// blocks to read next.
func (f *file) messages(data []byte, v2 bool) ([]block, int, error) {
	var more []block
	n := 0
	for p := 0; p < len(data); {
		var typ, size, hdr int
		var flags byte
		if v2 {
			if len(data)-p < 4 {
				break // gap at the end of a chunk
			}
			typ, size, flags = int(data[p]), int(binary.LittleEndian.Uint16(data[p+1:])), data[p+3]
			hdr = 4
			if f.v2Flags&0x04 != 0 {
				hdr += 2
			}
		} else {
			if len(data)-p < 8 {
				break
			}
			typ, size, flags = int(binary.LittleEndian.Uint16(data[p:])), int(binary.LittleEndian.Uint16(data[p+2:])), data[p+4]
			hdr = 8
		}
		if p+hdr+size > len(data) {
			return nil, n, fmt.Errorf("%w: header message type %#x claims %d bytes, past the end of its block", ErrMalformed, typ, size)
		}
		body := data[p+hdr : p+hdr+size]
		n++
		switch typ {
		case msgContinuation:
			if len(body) < f.offSize+f.lenSize {
				return nil, n, fmt.Errorf("%w: continuation message too short", ErrMalformed)
			}
			off := f.addr(body)
			l := int64(uintN(body[f.offSize : f.offSize+f.lenSize]))
			if off >= 0 {
				more = append(more, block{off: off, n: l})
			}
		case msgAttribute:
			if flags&0x02 != 0 {
				f.notVerified("an attribute message of the root group is shared (stored elsewhere): not read")
				break
			}
			if err := f.attribute(body); err != nil {
				return nil, n, err
			}
		case msgAttrInfo:
			f.attrInfo(body)
		}
		p += hdr + size
		if !v2 {
			p = (p + 7) &^ 7
		}
	}
	return more, n, nil
}

// attrInfo notes dense attribute storage, which is not read.
func (f *file) attrInfo(b []byte) {
	if len(b) < 2 {
		return
	}
	p := 2
	if b[1]&0x01 != 0 {
		p += 2
	}
	if len(b) < p+f.offSize {
		return
	}
	if f.addr(b[p:]) >= 0 {
		f.notVerified("the root group keeps attributes in dense storage (a fractal heap), which gatehouse does not read: model_config may be among them")
	}
}

// attribute parses one attribute message and records it.
func (f *file) attribute(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: attribute message of %d bytes is truncated", ErrMalformed, len(b))
	}
	version, flags := b[0], b[1]
	nameLen := int(binary.LittleEndian.Uint16(b[2:]))
	dtLen := int(binary.LittleEndian.Uint16(b[4:]))
	dsLen := int(binary.LittleEndian.Uint16(b[6:]))
	p := 8
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = func(n int) int { return (n + 7) &^ 7 }
	case 2:
	case 3:
		p++ // name character set
	default:
		return fmt.Errorf("%w: attribute message version %d: want 1, 2 or 3", ErrMalformed, version)
	}
	if p+pad(nameLen) > len(b) {
		return fmt.Errorf("%w: attribute name runs past its message", ErrMalformed)
	}
	name := strings.TrimRight(string(b[p:p+nameLen]), "\x00")
	p += pad(nameLen)
	if flags&0x03 != 0 {
		f.notVerified("attribute %q uses a shared datatype or dataspace: not read", name)
		return nil
	}
	if p+pad(dtLen)+pad(dsLen) > len(b) {
		return fmt.Errorf("%w: attribute %q: datatype and dataspace run past the message", ErrMalformed, name)
	}
	dt := b[p : p+dtLen]
	p += pad(dtLen)
	ds := b[p : p+dsLen]
	p += pad(dsLen)
	data := b[p:]
	count, err := f.elements(ds, name)
	if err != nil {
		return err
	}
	a, err := f.value(name, dt, count, data)
	if err != nil {
		return err
	}
	f.root.Attributes = append(f.root.Attributes, a)
	return nil
}

// elements returns the number of elements a dataspace message describes.
func (f *file) elements(ds []byte, name string) (int, error) {
	if len(ds) < 4 {
		return 0, fmt.Errorf("%w: attribute %q: dataspace truncated", ErrMalformed, name)
	}
	version, rank := ds[0], int(ds[1])
	p := 0
	switch version {
	case 1:
		p = 8
	case 2:
		p = 4
		switch ds[3] {
		case 0:
			return 1, nil // scalar
		case 2:
			return 0, nil // null
		}
	default:
		return 0, fmt.Errorf("%w: attribute %q: dataspace version %d", ErrMalformed, name, version)
	}
	if rank == 0 {
		return 1, nil
	}
	if p+rank*f.lenSize > len(ds) {
		return 0, fmt.Errorf("%w: attribute %q: dataspace dimensions truncated", ErrMalformed, name)
	}
	n := uint64(1)
	for i := range rank {
		d := uintN(ds[p+i*f.lenSize : p+(i+1)*f.lenSize])
		if d != 0 && n > maxAttrElements/d {
			return 0, fmt.Errorf("%w: attribute %q has more than %d elements", ErrMalformed, name, maxAttrElements)
		}
		n *= d
	}
	return int(n), nil
}

var classNames = []string{"fixed-point", "floating-point", "time", "fixed-length string", "bitfield", "opaque", "compound", "reference", "enumerated", "variable-length", "array", "complex"}

// value decodes string attributes; other types are named only.
func (f *file) value(name string, dt []byte, count int, data []byte) (Attribute, error) {
	if len(dt) < 8 {
		return Attribute{}, fmt.Errorf("%w: attribute %q: datatype truncated", ErrMalformed, name)
	}
	class := int(dt[0] & 0x0f)
	size := int(binary.LittleEndian.Uint32(dt[4:]))
	a := Attribute{Name: name, Class: "unknown"}
	if class < len(classNames) {
		a.Class = classNames[class]
	}
	switch {
	case class == 3: // fixed-length string
		if size <= 0 || count > len(data)/size {
			return a, fmt.Errorf("%w: attribute %q: %d strings of %d bytes do not fit its %d data bytes", ErrMalformed, name, count, size, len(data))
		}
		for i := range count {
			s := data[i*size : (i+1)*size]
			if k := bytes.IndexByte(s, 0); k >= 0 {
				s = s[:k]
			}
			if dt[1]&0x0f == 2 {
				s = bytes.TrimRight(s, " ")
			}
			a.Values = append(a.Values, string(s))
		}
	case class == 9 && dt[1]&0x0f == 1: // variable-length string
		a.Class = "variable-length string"
		el := 4 + f.offSize + 4
		if count > len(data)/el {
			return a, fmt.Errorf("%w: attribute %q: %d variable-length strings do not fit its %d data bytes", ErrMalformed, name, count, len(data))
		}
		for i := range count {
			e := data[i*el:]
			n := int64(binary.LittleEndian.Uint32(e))
			coll := f.addr(e[4:])
			idx := binary.LittleEndian.Uint32(e[4+f.offSize:])
			if n == 0 || coll < 0 {
				a.Values = append(a.Values, "")
				continue
			}
			s, err := f.heapObject(coll, idx, n, name)
			if err != nil {
				return a, err
			}
			a.Values = append(a.Values, string(bytes.TrimRight(s, "\x00")))
		}
	}
	return a, nil
}

// heapObject returns object idx of the global heap collection at coll.
func (f *file) heapObject(coll int64, idx uint32, n int64, name string) ([]byte, error) {
	gc, ok := f.heapCache[coll]
	if !ok {
		hdr, err := f.read(coll, int64(8+f.lenSize), "global heap collection")
		if err != nil {
			return nil, err
		}
		if string(hdr[:4]) != "GCOL" {
			return nil, fmt.Errorf("%w: attribute %q points to offset %d, which is not a global heap collection", ErrMalformed, name, coll)
		}
		size := int64(uintN(hdr[8 : 8+f.lenSize]))
		if size > f.heapBudget {
			return nil, fmt.Errorf("global heap collections at %d exceed the %d-byte limit (raise MaxHeaderBytes)", coll, f.maxRead)
		}
		gc, err = f.read(coll, size, "global heap collection")
		if err != nil {
			return nil, err
		}
		f.heapBudget -= size
		f.heapCache[coll] = gc
	}
	for p := 8 + f.lenSize; p+8+f.lenSize <= len(gc); {
		oi := binary.LittleEndian.Uint16(gc[p:])
		osz := uintN(gc[p+8 : p+8+f.lenSize])
		if oi == 0 {
			break // free space
		}
		start := p + 8 + f.lenSize
		if osz > uint64(len(gc)-start) {
			return nil, fmt.Errorf("%w: global heap object %d at %d runs past its collection", ErrMalformed, oi, coll)
		}
		if uint32(oi) == idx {
			if int64(osz) < n {
				return nil, fmt.Errorf("%w: attribute %q: heap object %d holds %d bytes, %d expected", ErrMalformed, name, idx, osz, n)
			}
			return gc[start : start+int(n)], nil
		}
		p = start + int((osz+7)&^7)
	}
	return nil, fmt.Errorf("%w: attribute %q: global heap object %d not found in the collection at %d", ErrMalformed, name, idx, coll)
}

// Scan reads the root group's attributes of an HDF5 file. It makes no
// findings of its own (Keras models are judged by keras.ScanH5); parts it
// cannot read are reported as not verified.
func Scan(in finding.Input) (finding.Result, error) {
	root, err := ReadRoot(in.R, in.Size, in.Limits)
	res := finding.Result{Format: Format}
	for _, nv := range root.NotVerified {
		res.NotVerified = append(res.NotVerified, finding.NotVerified{Location: in.Location, Reason: nv})
	}
	return res, err
}
