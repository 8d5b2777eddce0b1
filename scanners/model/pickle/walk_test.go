package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

// pk assembles pickles opcode by opcode.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) proto(v byte) *pk { return p.op(opProto, v) }
func (p *pk) line(op byte, args ...string) *pk {
	p.WriteByte(op)
	for _, a := range args {
		p.WriteString(a + "\n")
	}
	return p
}
func (p *pk) short(s string) *pk { p.op(opShortBinUnicode, byte(len(s))); p.WriteString(s); return p }
func (p *pk) binunicode(s string) *pk {
	p.WriteByte(opBinUnicode)
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) frame(n uint64) *pk {
	p.WriteByte(opFrame)
	binary.Write(p, binary.LittleEndian, n)
	return p
}

// payload builds "module.name(arg)" in the style of each protocol.
func payload(proto int, module, name string) []byte {
	p := &pk{}
	switch proto {
	case 0:
		p.line(opGlobal, module, name).op(opMark).line(opUnicode, "echo hi").op(opTuple, opReduce, opStop)
	case 1:
		p.line(opGlobal, module, name).op(opMark).binunicode("echo hi").op(opTuple, opReduce, opStop)
	case 2, 3:
		p.proto(byte(proto)).line(opGlobal, module, name).binunicode("echo hi").op(opTuple1, opReduce, opStop)
	default:
		p.proto(byte(proto)).frame(0).short(module).op(opMemoize).short(name).op(opMemoize, opStackGlobal, opMemoize)
		p.short("echo hi").op(opTuple1, opReduce, opStop)
	}
	return p.Bytes()
}

func scanBytes(b []byte) (finding.Result, Summary) {
	return Scan(Bytes(b), 0, int64(len(b)), "x", finding.DefaultLimits())
}

type got struct {
	Sev    []string
	Module []string
	NV     int
}

func summarize(r finding.Result) got {
	var g got
	for _, f := range r.Findings {
		g.Sev = append(g.Sev, f.Severity.String())
		g.Module = append(g.Module, f.Module+"."+f.Name)
	}
	g.NV = len(r.NotVerified)
	return g
}

func TestProtocols(t *testing.T) {
	for proto := 0; proto <= 5; proto++ {
		for _, tc := range []struct {
			module, name, sev string
		}{
			{"os", "system", "critical"},
			{"posix", "system", "critical"},
			{"__builtin__", "eval", "critical"},
			{"builtins", "exec", "critical"},
			{"asyncio.unix_events", "_UnixSubprocessTransport", "critical"},
			{"pip", "main", "critical"},
			{"pkgutil", "resolve_name", "critical"},
			{"importlib", "import_module", "critical"},
			{"runpy", "run_path", "critical"},
			{"uuid", "_get_command_stdout", "high"},
			{"imaplib", "IMAP4_stream", "critical"},
			{"_pyrepl", "pager", "critical"},
			{"webbrowser", "open", "high"},
			{"requests.api", "get", "high"},
			{"torch._inductor.codecache", "compile_file", "critical"},
			{"numpy.testing._private.utils", "runstring", "critical"},
			{"some_new_module", "gadget", "medium"},
			{"builtins", "print", "high"},
			{"collections", "OrderedDict.__init__.__globals__", "critical"},
			{"posixpath", "os.system", "critical"},
			{"torch", "_utils", "medium"},
		} {
			res, sum := scanBytes(payload(proto, tc.module, tc.name))
			if !sum.IsPickle || sum.Pickles != 1 {
				t.Errorf("proto %d %s.%s: IsPickle=%v pickles=%d", proto, tc.module, tc.name, sum.IsPickle, sum.Pickles)
			}
			want := got{Sev: []string{tc.sev}, Module: []string{tc.module + "." + tc.name}}
			if d := cmp.Diff(want, summarize(res)); d != "" {
				t.Errorf("proto %d %s.%s (-want +got):\n%s", proto, tc.module, tc.name, d)
			}
		}
	}
}

func TestAllowed(t *testing.T) {
	for _, g := range []string{
		"torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.BFloat16Storage", "torch.float16",
		"collections.OrderedDict", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
		"numpy.dtype", "numpy.ndarray", "builtins.set", "__builtin__.frozenset", "copy_reg._reconstructor",
		"_codecs.encode", "sklearn.linear_model._logistic.LogisticRegression", "torch.nn.modules.linear.Linear",
		"__torch__.MyModule", "joblib.numpy_pickle.NumpyArrayWrapper", "numpy.dtypes.Float32DType",
	} {
		i := strings.LastIndexByte(g, '.')
		if sev, reason := Judge(g[:i], g[i+1:]); sev != 0 {
			t.Errorf("Judge(%s) = %v %q, want allowed", g, sev, reason)
		}
	}
	for _, g := range []string{"sklearn.datasets.fetch_openml", "sklearn.utils._testing.Foo", "torch.load", "numpy.load", "dill._dill._create_function", "torch.storage._load_from_bytes", "torch.jit.load", "copyreg.add_extension", "bad name.x"} {
		i := strings.LastIndexByte(g, '.')
		if sev, _ := Judge(g[:i], g[i+1:]); sev < finding.Medium {
			t.Errorf("Judge(%s) = %v, want at least medium", g, sev)
		}
	}
}

func TestWalkCases(t *testing.T) {
	ok := func(b *pk) []byte { return b.Bytes() }
	cases := []struct {
		name string
		data []byte
		want got
		pick bool
	}{
		{"benign list v0", []byte("(lp0\nVa\np1\naVb\np2\na."), got{}, true},
		{"memo indirection", ok((&pk{}).line(opUnicode, "os").line(opPut, "1").op(opPop).line(opUnicode, "system").line(opPut, "2").op(opPop).
			line(opGet, "1").line(opGet, "2").op(opStackGlobal, opStop)), got{Sev: []string{"critical"}, Module: []string{"os.system"}}, true},
		{"computed module", ok((&pk{}).proto(4).short("builtins").short("getattr").op(opStackGlobal).op(opEmptyTuple, opReduce).short("x").op(opStackGlobal, opStop)),
			got{Sev: []string{"critical", "critical"}, Module: []string{"builtins.getattr", ".x"}}, true},
		{"ext code", []byte{opProto, 2, opExt1, 7, opEmptyTuple, opReduce, opStop}, got{Sev: []string{"critical"}, Module: []string{"."}}, true},
		{"ext2 ext4", []byte{opProto, 2, opExt2, 1, 0, opExt4, 1, 0, 0, 0, opPop, opPop, opNone, opStop}, got{Sev: []string{"critical", "critical"}, Module: []string{".", "."}}, true},
		{"inst", ok((&pk{}).op(opMark).line(opInst, "subprocess", "Popen").op(opStop)), got{Sev: []string{"critical"}, Module: []string{"subprocess.Popen"}}, true},
		{"obj", ok((&pk{}).op(opMark).line(opGlobal, "os", "system").line(opUnicode, "id").op(opObj, opStop)), got{Sev: []string{"critical"}, Module: []string{"os.system"}}, true},
		{"newobj_ex", ok((&pk{}).proto(4).line(opGlobal, "foo", "Bar").op(opEmptyTuple, opEmptyDict, opNewObjEx, opStop)), got{Sev: []string{"medium"}, Module: []string{"foo.Bar"}}, true},
		{"build on global", ok((&pk{}).proto(2).line(opGlobal, "torch._utils", "_rebuild_tensor").op(opEmptyDict, opBuild, opStop)),
			got{Sev: []string{"critical"}, Module: []string{"torch._utils._rebuild_tensor"}}, true},
		{"persid and buffers", ok((&pk{}).proto(5).line(opPersID, "0").op(opBinPersID, opNextBuffer, opReadonlyBuffer, opPop, opStop)), got{}, true},
		{"bytes8 skipped", append(append([]byte{opProto, 4, opBinBytes8}, le8(3)...), 'a', 'b', 'c', opStop), got{}, true},
		{"import then truncation", []byte("cos\nsystem\n(X\xff\xff\x00\x00ab"), got{Sev: []string{"critical"}, Module: []string{"os.system"}, NV: 1}, true},
		{"proto then garbage", []byte{opProto, 2, 0xff}, got{NV: 1}, true},
		{"unsupported proto", []byte{opProto, 9, opNone, opStop}, got{}, false},
		{"text is not a pickle", []byte("# README\nhello\n"), got{}, false},
		{"empty", nil, got{}, false},
		{"stack underflow", []byte{opProto, 2, opReduce, opStop}, got{NV: 1}, true},
		{"mark missing", []byte{opProto, 2, opTuple, opStop}, got{NV: 1}, true},
		{"memo missing", []byte{opProto, 2, opBinGet, 3, opStop}, got{NV: 1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, sum := scanBytes(tc.data)
			if sum.IsPickle != tc.pick {
				t.Fatalf("IsPickle = %v, want %v", sum.IsPickle, tc.pick)
			}
			if d := cmp.Diff(tc.want, summarize(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func le8(n uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, n); return b }

func TestStackedPickles(t *testing.T) {
	// Legacy PyTorch: magic, protocol, sys info, then the payload in the 4th pickle, then storage bytes.
	var b []byte
	b = append(b, opProto, 2, opLong1, 2, 0x6c, 0xfc, opStop)
	b = append(b, opProto, 2, opBinInt2, 0xe9, 0x03, opStop)
	b = append(b, opProto, 2, opEmptyDict, opStop)
	b = append(b, payload(2, "posix", "system")...)
	b = append(b, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4) // storage bytes
	res, sum := scanBytes(b)
	if sum.Pickles != 4 || sum.Trailing < 0 {
		t.Errorf("pickles = %d trailing = %d, want 4 pickles and trailing data", sum.Pickles, sum.Trailing)
	}
	want := got{Sev: []string{"critical"}, Module: []string{"posix.system"}}
	if d := cmp.Diff(want, summarize(res)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if !strings.HasPrefix(res.Findings[0].Location, "x@") {
		t.Errorf("location %q lacks the offset", res.Findings[0].Location)
	}
}

func TestLimits(t *testing.T) {
	p := &pk{}
	p.proto(4)
	for range 100 {
		p.op(opNone, opMemoize, opPop)
	}
	p.op(opNone, opStop)
	lim := finding.DefaultLimits()
	lim.MaxOpcodes = 50
	res, _ := Scan(Bytes(p.Bytes()), 0, int64(p.Len()), "x", lim)
	if len(res.NotVerified) != 1 || !strings.Contains(res.NotVerified[0].Reason, "opcodes") {
		t.Errorf("opcode limit: %+v", res.NotVerified)
	}
	lim = finding.DefaultLimits()
	lim.MaxMemo = 10
	res, _ = Scan(Bytes(p.Bytes()), 0, int64(p.Len()), "x", lim)
	if len(res.NotVerified) != 1 || !strings.Contains(res.NotVerified[0].Reason, "memo") {
		t.Errorf("memo limit: %+v", res.NotVerified)
	}
	w := Walk(Bytes(p.Bytes()), 0, int64(p.Len()), Limits{MaxMemo: 10})
	if !errors.Is(w.Err, ErrLimit) {
		t.Errorf("Err = %v, want ErrLimit", w.Err)
	}
}

// TestReaderAtMatchesBytes walks through the buffered file path, with a
// pickle larger than one chunk, and compares with the in-memory path.
func TestReaderAtMatchesBytes(t *testing.T) {
	b := genPickle(200_000)
	mem := Walk(Bytes(b), 0, int64(len(b)), Limits{})
	file := Walk(bytes.NewReader(b), 0, int64(len(b)), Limits{})
	if mem.Err != nil || file.Err != nil {
		t.Fatalf("errors: %v / %v", mem.Err, file.Err)
	}
	if d := cmp.Diff(mem, file, cmp.Comparer(func(a, b error) bool { return a == b })); d != "" {
		t.Errorf("(-mem +file):\n%s", d)
	}
	if len(mem.Imports) == 0 || mem.Opcodes < 200_000 {
		t.Errorf("generated pickle too small: %d opcodes, %d imports", mem.Opcodes, len(mem.Imports))
	}
}
