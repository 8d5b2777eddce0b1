package pickle

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

func TestFrameLength(t *testing.T) {
	body := []byte("}.") // EMPTY_DICT STOP
	mk := func(n uint64) []byte {
		b := []byte{0x80, 4, 0x95}
		b = binary.LittleEndian.AppendUint64(b, n)
		return append(b, body...)
	}
	for _, tc := range []struct {
		n  uint64
		ok bool
	}{{2, true}, {1, true}, {3, false}, {1 << 40, false}, {1<<63 + 1, false}} {
		p := Walk(Bytes(mk(tc.n)), 0, int64(len(mk(tc.n))), Limits{})
		if (p.Err == nil) != tc.ok {
			t.Errorf("FRAME %d: err = %v, want ok %v", tc.n, p.Err, tc.ok)
		}
		// A peek (Partial) does not judge the frame length.
		if p := Walk(Bytes(mk(tc.n)), 0, int64(len(mk(tc.n))), Limits{Partial: true}); tc.n < 1<<63 && p.Err != nil {
			t.Errorf("partial FRAME %d: %v", tc.n, p.Err)
		}
	}
}

func TestCommonGlobalsAllowed(t *testing.T) {
	for _, g := range [][2]string{
		{"__builtin__", "xrange"}, {"__builtin__", "set"}, {"__builtin__", "frozenset"}, {"__builtin__", "unicode"},
		{"__builtin__", "long"}, {"copy_reg", "_reconstructor"}, {"torch", "per_tensor_affine"}, {"torch", "per_channel_affine"},
		{"torch._utils", "_rebuild_qtensor"}, {"tokenizers", "Tokenizer"}, {"tokenizers.models", "BPE"},
		{"torch.ao.nn.quantized.modules.linear", "Linear"},
	} {
		if sev, why := Judge(g[0], g[1]); sev != 0 {
			t.Errorf("%s.%s: %v %s", g[0], g[1], sev, why)
		}
	}
	for _, g := range [][3]string{
		{"__builtin__", "reduce", "functools.reduce"}, {"__builtin__", "intern", "sys.intern"}, {"tokenizers", "Tokenizer.from_file", "dotted"},
		{"tokenizers.models", "load", ""}, {"torch", "load", ""},
	} {
		sev, why := Judge(g[0], g[1])
		if sev < finding.Medium || !strings.Contains(why, g[2]) {
			t.Errorf("%s.%s: %v %q", g[0], g[1], sev, why)
		}
	}
}
