package gguf

import (
	"bytes"
	"encoding/binary"
)

// builder writes GGUF files for tests.
type builder struct {
	b        bytes.Buffer
	kvs      [][]byte
	tensors  [][]byte
	version  uint32
	data     []byte
	align    int
	nTensors int
}

func newBuilder() *builder { return &builder{version: 3, align: 32} }

func gstr(s string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, uint64(len(s))), s...)
}

func (g *builder) kv(key string, typ uint32, val []byte) *builder {
	e := gstr(key)
	e = binary.LittleEndian.AppendUint32(e, typ)
	g.kvs = append(g.kvs, append(e, val...))
	return g
}

func (g *builder) str(key, val string) *builder { return g.kv(key, tString, gstr(val)) }

func (g *builder) u32(key string, v uint32) *builder {
	return g.kv(key, tUint32, binary.LittleEndian.AppendUint32(nil, v))
}

func (g *builder) strArray(key string, vals ...string) *builder {
	v := binary.LittleEndian.AppendUint32(nil, tString)
	v = binary.LittleEndian.AppendUint64(v, uint64(len(vals)))
	for _, s := range vals {
		v = append(v, gstr(s)...)
	}
	return g.kv(key, tArray, v)
}

func (g *builder) tensor(name string, typ uint32, off uint64, dims ...uint64) *builder {
	e := gstr(name)
	e = binary.LittleEndian.AppendUint32(e, uint32(len(dims)))
	for _, d := range dims {
		e = binary.LittleEndian.AppendUint64(e, d)
	}
	e = binary.LittleEndian.AppendUint32(e, typ)
	e = binary.LittleEndian.AppendUint64(e, off)
	g.tensors = append(g.tensors, e)
	return g
}

// bytes lays out the file: header, padding to the alignment, data.
func (g *builder) bytes() []byte {
	var b bytes.Buffer
	b.WriteString("GGUF")
	binary.Write(&b, binary.LittleEndian, g.version)
	binary.Write(&b, binary.LittleEndian, uint64(len(g.tensors)))
	binary.Write(&b, binary.LittleEndian, uint64(len(g.kvs)))
	for _, kv := range g.kvs {
		b.Write(kv)
	}
	for _, t := range g.tensors {
		b.Write(t)
	}
	for b.Len()%g.align != 0 {
		b.WriteByte(0)
	}
	b.Write(g.data)
	return b.Bytes()
}
