package hdf5

import (
	"bytes"
	"encoding/binary"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// Hand-written HDF5 files for tests: superblock version 0 with a version 1
// object header, or version 2 with a version 2 ("OHDR") object header, a
// root group holding string attributes (fixed-length, or variable-length
// in a global heap collection), optionally a continuation block.

type attr struct {
	name  string
	value string
	vlen  bool
}

type h5 struct {
	sbVersion   int // 0 or 2
	userblock   int
	attrVersion int // 1, 2 or 3
	attrs       []attr
	continued   bool // put the attributes in a continuation block
}

func le16(b []byte, v int) []byte { return binary.LittleEndian.AppendUint16(b, uint16(v)) }
func le32(b []byte, v int) []byte { return binary.LittleEndian.AppendUint32(b, uint32(v)) }
func le64(b []byte, v int) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// attrMessage encodes an attribute message body; heapAddr/idx locate a
// variable-length value.
func (h *h5) attrMessage(a attr, heapAddr, idx int) []byte {
	name := append([]byte(a.name), 0)
	var dt []byte
	if a.vlen {
		dt = []byte{0x19, 0x01, 0, 0}
		dt = le32(dt, 16)
		dt = append(dt, 0x10, 0, 0, 0, 1, 0, 0, 0) // base: 1-byte integer
	} else {
		dt = []byte{0x13, 0x00, 0, 0}
		dt = le32(dt, len(a.value))
	}
	ds := []byte{1, 0, 0, 0, 0, 0, 0, 0} // scalar, version 1
	var data []byte
	if a.vlen {
		data = le32(nil, len(a.value))
		data = le64(data, heapAddr)
		data = le32(data, idx)
	} else {
		data = []byte(a.value)
	}
	p := func(x []byte) []byte { return x }
	b := []byte{byte(h.attrVersion), 0}
	if h.attrVersion == 1 {
		p = pad8
	}
	b = le16(b, len(name))
	b = le16(b, len(dt))
	b = le16(b, len(ds))
	if h.attrVersion == 3 {
		b = append(b, 0)
	}
	b = append(b, p(name)...)
	b = append(b, p(dt)...)
	b = append(b, p(ds)...)
	return append(b, data...)
}

// message frames a header message body for the header version.
func (h *h5) message(typ int, body []byte) []byte {
	if h.sbVersion >= 2 {
		b := []byte{byte(typ)}
		b = le16(b, len(body))
		b = append(b, 0)
		return append(b, body...)
	}
	body = pad8(body)
	b := le16(nil, typ)
	b = le16(b, len(body))
	b = append(b, 0, 0, 0, 0)
	return append(b, body...)
}

func (h *h5) bytes() []byte {
	if h.attrVersion == 0 {
		h.attrVersion = 1
	}
	ub := h.userblock
	// Layout (addresses relative to the superblock): superblock, object
	// header, continuation block, global heap collection.
	sbLen := 96
	if h.sbVersion >= 2 {
		sbLen = 48
	}
	ohAddr := sbLen
	// Global heap with every vlen value.
	var heap []byte
	idx := map[int]int{}
	for i, a := range h.attrs {
		if a.vlen {
			idx[i] = len(idx) + 1
		}
	}
	// Messages (heap address filled after sizes are known: compute twice).
	build := func(heapAddr int) ([]byte, []byte) {
		var msgs []byte
		for i, a := range h.attrs {
			msgs = append(msgs, h.message(0x0C, h.attrMessage(a, heapAddr, idx[i]))...)
		}
		return msgs, nil
	}
	msgs, _ := build(0)
	var oh, cont []byte
	headerLen := func(msgs []byte) []byte {
		if h.sbVersion >= 2 {
			b := []byte("OHDR")
			b = append(b, 2, 0x02)
			b = le32(b, len(msgs))
			b = append(b, msgs...)
			return le32(b, 0) // checksum (not verified)
		}
		b := []byte{1, 0}
		b = le16(b, 1)
		b = le32(b, 1)
		b = le32(b, len(msgs))
		b = append(b, 0, 0, 0, 0)
		return append(b, msgs...)
	}
	layout := func(msgs []byte) (int, int) {
		if !h.continued {
			oh = headerLen(msgs)
			cont = nil
			return ohAddr + len(oh), 0
		}
		var contBody []byte
		if h.sbVersion >= 2 {
			contBody = append([]byte("OCHK"), msgs...)
			contBody = le32(contBody, 0)
		} else {
			contBody = msgs
		}
		contMsg := func(addr int) []byte {
			b := le64(nil, addr)
			return h.message(0x10, le64(b, len(contBody)))
		}
		oh = headerLen(contMsg(0))
		contAddr := ohAddr + len(oh)
		oh = headerLen(contMsg(contAddr))
		cont = contBody
		return contAddr + len(cont), contAddr
	}
	heapAddr, _ := layout(msgs)
	heapAddr = (heapAddr + 7) &^ 7
	msgs, _ = build(heapAddr)
	heapAddr2, _ := layout(msgs)
	heapAddr2 = (heapAddr2 + 7) &^ 7
	if heapAddr2 != heapAddr {
		panic("layout changed")
	}
	if len(idx) > 0 {
		var objs []byte
		for i, a := range h.attrs {
			if a.vlen {
				o := le16(nil, idx[i])
				o = le16(o, 1)
				o = le32(o, 0)
				o = le64(o, len(a.value))
				objs = append(objs, pad8(append(o, a.value...))...)
			}
		}
		heap = []byte("GCOL")
		heap = append(heap, 1, 0, 0, 0)
		heap = le64(heap, 16+len(objs)+16)
		heap = append(heap, objs...)
		heap = append(heap, make([]byte, 16)...) // free space object 0
	}
	end := heapAddr + len(heap)

	var sb []byte
	sb = append(sb, Signature...)
	if h.sbVersion >= 2 {
		sb = append(sb, byte(h.sbVersion), 8, 8, 0)
		sb = le64(sb, ub) // base address
		sb = le64(sb, -1) // extension
		sb = le64(sb, end)
		sb = le64(sb, ohAddr)
		sb = le32(sb, 0)
	} else {
		sb = append(sb, 0, 0, 0, 0, 0, 8, 8, 0)
		sb = le16(sb, 4)
		sb = le16(sb, 16)
		sb = le32(sb, 0)
		sb = le64(sb, ub)
		sb = le64(sb, -1)
		sb = le64(sb, end)
		sb = le64(sb, -1)
		sb = le64(sb, 0)      // link name offset
		sb = le64(sb, ohAddr) // root object header
		sb = le32(sb, 0)
		sb = le32(sb, 0)
		sb = append(sb, make([]byte, 16)...)
	}
	out := make([]byte, ub)
	out = append(out, sb...)
	out = append(out, oh...)
	out = append(out, cont...)
	for len(out) < ub+heapAddr {
		out = append(out, 0)
	}
	return append(out, heap...)
}
