package corpus

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"math"
	"time"

	pw "google.golang.org/protobuf/encoding/protowire"
)

// ---- pickles, byte by byte (the opcodes CPython writes) ----

type pk struct{ b []byte }

func newPickle(proto byte) *pk { return &pk{b: []byte{0x80, proto}} }

func (p *pk) op(b ...byte) *pk { p.b = append(p.b, b...); return p }

// global is GLOBAL "module\nname\n" (protocols 0-3).
func (p *pk) global(module, name string) *pk {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}

// str is SHORT_BINUNICODE (or BINUNICODE when long).
func (p *pk) str(s string) *pk {
	if len(s) < 256 {
		p.b = append(p.b, 0x8c, byte(len(s)))
	} else {
		p.b = append(p.b, 'X')
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	}
	p.b = append(p.b, s...)
	return p
}

// stackGlobal is STACK_GLOBAL of two pushed strings (protocol 4+).
func (p *pk) stackGlobal(module, name string) *pk {
	return p.str(module).str(name).op(0x93)
}

func (p *pk) binint(v uint32) *pk {
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, v)
	return p
}

func (p *pk) float(v float64) *pk {
	p.b = append(p.b, 'G')
	p.b = binary.BigEndian.AppendUint64(p.b, math.Float64bits(v))
	return p
}

func (p *pk) binbytes(b []byte) *pk {
	p.b = append(p.b, 'B')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(b)))
	p.b = append(p.b, b...)
	return p
}

const (
	opMark       = '('
	opEmptyTuple = ')'
	opTuple      = 't'
	opTuple1     = 0x85
	opReduce     = 'R'
	opBuild      = 'b'
	opNewObj     = 0x81
	opEmptyDict  = '}'
	opSetItems   = 'u'
	opSetItem    = 's'
	opStop       = '.'
	opList       = 'l'
	opBinPersID  = 'Q'
	opNone       = 'N'
	opNewFalse   = 0x89
	opPut        = 'q'
)

// call is "global(*args)" with args already pushed after a MARK.
func (p *pk) callEmpty(module, name string) *pk {
	return p.global(module, name).op(opEmptyTuple, opReduce)
}

func (p *pk) stop() []byte { return append(p.b, opStop) }

// framed wraps a protocol 4 body in one FRAME of the given declared length
// (len(body) for a good pickle).
func framed(body []byte, declared uint64) []byte {
	out := []byte{0x80, 4, 0x95}
	out = binary.LittleEndian.AppendUint64(out, declared)
	return append(out, body...)
}

// evilPickle calls module.name("id") (protocol 2).
func evilPickle(module, name string) []byte {
	return newPickle(2).global(module, name).op(opMark).str("id").op(opTuple, opReduce).stop()
}

// ---- protobuf ----

func pstr(b []byte, num int, s string) []byte {
	return pw.AppendBytes(pw.AppendTag(b, pw.Number(num), pw.BytesType), []byte(s))
}
func pmsg(b []byte, num int, m []byte) []byte { return pstr(b, num, string(m)) }
func pvar(b []byte, num int, v uint64) []byte {
	return pw.AppendVarint(pw.AppendTag(b, pw.Number(num), pw.VarintType), v)
}

// ---- TensorFlow SavedModel (binary) ----

type tfNode struct {
	name, op string
	inputs   []string
	attrs    [][2]string // key, string value (AttrValue.s)
	urls     []string    // debug_urls (AttrValue.list.s)
	constStr string      // Const string value
}

func (n tfNode) bytes() []byte {
	b := pstr(nil, 1, n.name)
	b = pstr(b, 2, n.op)
	for _, in := range n.inputs {
		b = pstr(b, 3, in)
	}
	b = pstr(b, 4, "/device:CPU:0")
	for _, a := range n.attrs {
		b = pmsg(b, 5, pmsg(pstr(nil, 1, a[0]), 2, pstr(nil, 2, a[1])))
	}
	if len(n.urls) > 0 {
		var l []byte
		for _, u := range n.urls {
			l = pstr(l, 2, u)
		}
		b = pmsg(b, 5, pmsg(pstr(nil, 1, "debug_urls"), 2, pmsg(nil, 1, l)))
	}
	if n.op == "Const" {
		t := pvar(nil, 1, 7) // DT_STRING
		t = pstr(t, 8, n.constStr)
		b = pmsg(b, 5, pmsg(pstr(nil, 1, "value"), 2, pmsg(nil, 8, t)))
		b = pmsg(b, 5, pmsg(pstr(nil, 1, "dtype"), 2, pvar(nil, 6, 7)))
	}
	return b
}

type tfFunc struct {
	name  string
	nodes []tfNode
}

// savedModelPB builds saved_model.pb: main-graph nodes, library functions
// and asset tensors (AssetFileDef tensor name, filename).
func savedModelPB(nodes []tfNode, fns []tfFunc, assets [][2]string) []byte {
	var g []byte
	for _, n := range nodes {
		g = pmsg(g, 1, n.bytes())
	}
	if len(fns) > 0 {
		var lib []byte
		for _, f := range fns {
			fb := pmsg(nil, 1, pstr(nil, 1, f.name))
			for _, n := range f.nodes {
				fb = pmsg(fb, 3, n.bytes())
			}
			lib = pmsg(lib, 1, fb)
		}
		g = pmsg(g, 2, lib)
	}
	meta := pmsg(nil, 1, pstr(nil, 4, "serve"))
	meta = pmsg(meta, 2, g)
	for _, a := range assets {
		meta = pmsg(meta, 6, pstr(pmsg(nil, 1, pstr(nil, 1, a[0])), 2, a[1]))
	}
	return pmsg(pvar(nil, 1, 1), 2, meta)
}

// tf2Saver is what tf.saved_model.save writes for checkpointing.
var tf2Saver = []tfFunc{
	{"__inference__traced_save_1234", []tfNode{{name: "SaveV2", op: "SaveV2", inputs: []string{"file_prefix", "tensor_names", "shape_and_slices"}},
		{name: "MergeV2Checkpoints", op: "MergeV2Checkpoints", inputs: []string{"checkpoint_files", "file_prefix"}}}},
	{"__inference__traced_restore_1250", []tfNode{{name: "RestoreV2", op: "RestoreV2", inputs: []string{"file_prefix", "names", "slices"}}}},
	{"__inference_serving_default_99", []tfNode{{name: "dense/MatMul", op: "MatMul", inputs: []string{"x", "w"}}}},
}

// ---- ONNX ----

type onnxTensor struct {
	name     string
	dims     []uint64
	dtype    uint64
	raw      []byte
	hasRaw   bool
	location string // external data
	offset   int64
	length   int64
}

func (t onnxTensor) bytes() []byte {
	var b []byte
	for _, d := range t.dims {
		b = pvar(b, 1, d)
	}
	b = pvar(b, 2, t.dtype)
	b = pstr(b, 8, t.name)
	if t.hasRaw {
		b = pstr(b, 9, string(t.raw))
	}
	if t.location != "" {
		b = pmsg(b, 13, pstr(pstr(nil, 1, "location"), 2, t.location))
		if t.offset > 0 {
			b = pmsg(b, 13, pstr(pstr(nil, 1, "offset"), 2, itoa(t.offset)))
		}
		if t.length > 0 {
			b = pmsg(b, 13, pstr(pstr(nil, 1, "length"), 2, itoa(t.length)))
		}
		b = pvar(b, 14, 1)
	}
	return b
}

func onnxModel(inits []onnxTensor, extraGraph []byte) []byte {
	node := pstr(pstr(pstr(pstr(nil, 1, "x"), 1, "w"), 2, "y"), 4, "MatMul")
	g := pmsg(nil, 1, node)
	g = pstr(g, 2, "main")
	for _, t := range inits {
		g = pmsg(g, 5, t.bytes())
	}
	g = append(g, extraGraph...)
	m := pvar(nil, 1, 8)
	m = pstr(m, 2, "pytorch")
	m = pmsg(m, 7, g)
	m = pmsg(m, 8, pvar(pstr(nil, 1, ""), 2, 17))
	return m
}

// ---- GGUF ----

func ggufWithTemplate(tmpl string) []byte {
	var b []byte
	b = append(b, "GGUF"...)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint64(b, 0) // tensors
	b = binary.LittleEndian.AppendUint64(b, 2) // kv
	gs := func(s string) {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	gs("general.architecture")
	b = binary.LittleEndian.AppendUint32(b, 8)
	gs("llama")
	gs("tokenizer.chat_template")
	b = binary.LittleEndian.AppendUint32(b, 8)
	gs(tmpl)
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return b
}

// ---- archives ----

type tarEntry struct {
	name, link string
	typ        byte
	data       []byte
}

func tarBytes(entries ...tarEntry) []byte {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			panic(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = w.Write(e.data)
		}
	}
	_ = w.Close()
	return buf.Bytes()
}

type zipEntry struct {
	name    string
	data    []byte
	symlink bool
}

func zipBytes(entries ...zipEntry) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store}
		h.SetMode(0o644)
		if e.symlink {
			h.SetMode(0o777 | 0o120000<<0)
			h.ExternalAttrs = (0o120777) << 16
			h.CreatorVersion = 3<<8 | 20
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			panic(err)
		}
		_, _ = f.Write(e.data)
	}
	_ = w.Close()
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// torchZip is a PyTorch zip checkpoint around data.pkl.
func torchZip(dataPkl []byte, storages ...[]byte) []byte {
	e := []zipEntry{{name: "archive/data.pkl", data: dataPkl}, {name: "archive/byteorder", data: []byte("little")}}
	for i, s := range storages {
		e = append(e, zipEntry{name: "archive/data/" + itoa(int64(i)), data: s})
	}
	e = append(e, zipEntry{name: "archive/version", data: []byte("3\n")})
	return zipBytes(e...)
}

// kerasZip is a Keras 3 .keras archive around config.json.
func kerasZip(config []byte) []byte {
	return zipBytes(zipEntry{name: "metadata.json", data: []byte(`{"keras_version": "3.6.0", "date_saved": "2025-01-01@00:00:00"}`)},
		zipEntry{name: "config.json", data: config})
}

func kerasConfig(layers ...map[string]any) []byte {
	cfg := map[string]any{"module": "keras", "class_name": "Sequential", "config": map[string]any{"name": "sequential", "layers": layers}}
	b, _ := json.Marshal(cfg)
	return b
}

func dense(name string) map[string]any {
	return map[string]any{"module": "keras.layers", "class_name": "Dense", "config": map[string]any{"name": name, "units": 4}, "registered_name": nil}
}

func tfsm(path string) map[string]any {
	return map[string]any{"module": "keras.layers", "class_name": "TFSMLayer", "config": map[string]any{"name": "tfsm", "filepath": path, "call_endpoint": "serving_default"}, "registered_name": nil}
}

func tokenizerConfig(template any) []byte {
	b, _ := json.MarshalIndent(map[string]any{"bos_token": "<s>", "eos_token": "</s>", "model_max_length": 4096,
		"tokenizer_class": "LlamaTokenizer", "chat_template": template}, "", "  ")
	return b
}

func itoa(v int64) string {
	b := []byte{}
	if v == 0 {
		return "0"
	}
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}
