package pickle

import (
	"testing"
)

// genPickle builds a protocol 4 state-dict-like pickle of about n opcodes:
// a dict of short keys to rebuilt tensors, with memo use and strings.
func genPickle(n int) []byte {
	p := &pk{}
	p.proto(4).frame(0)
	p.line(opGlobal, "torch._utils", "_rebuild_tensor_v2").op(opMemoize, opPop)
	p.line(opGlobal, "collections", "OrderedDict").op(opMemoize, opEmptyTuple, opReduce, opMemoize, opMark)
	ops := 10
	for i := 0; ops < n; i++ {
		p.short("layer.weight").op(opMemoize)
		p.op(opBinGet, 0, opMark, opMark).short("storage").op(opMemoize).op(opBinInt1, 7).op(opTuple, opBinPersID, opBinInt1, 0)
		p.op(opBinInt1, 4, opBinInt1, 4, opTuple2, opBinInt1, 4, opBinInt1, 1, opTuple2, opNewFalse, opEmptyTuple, opTuple, opReduce, opMemoize)
		ops += 22
		if i%1000 == 999 {
			p.op(opSetItems, opMark)
			ops += 2
		}
	}
	p.op(opSetItems, opStop)
	return p.Bytes()
}

// BenchmarkPickleWalk walks a generated 1 M-opcode pickle and reports opcodes/s.
func BenchmarkPickleWalk(b *testing.B) {
	data := genPickle(1_000_000)
	var ops int64
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		p := Walk(Bytes(data), 0, int64(len(data)), Limits{})
		if p.Err != nil {
			b.Fatal(p.Err)
		}
		ops = p.Opcodes
	}
	b.ReportMetric(float64(ops)*float64(b.N)/b.Elapsed().Seconds(), "opcodes/s")
}
