package savedmodel

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/pbtext"
)

// FormatText is the Result.Format of a text-format saved_model.pbtxt.
const FormatText = "TensorFlow SavedModel (text format)"

// DetectText sniffs a text-format SavedModel: after blank lines and
// comments, the first field is saved_model_schema_version or meta_graphs.
func DetectText(head []byte) bool {
	b := head
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		if !bytes.HasPrefix(b, []byte("#")) {
			break
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i:]
	}
	for _, f := range []string{"saved_model_schema_version", "meta_graphs"} {
		if rest, ok := bytes.CutPrefix(b, []byte(f)); ok {
			rest = bytes.TrimLeft(rest, " \t\r\n")
			return len(rest) > 0 && (rest[0] == ':' || rest[0] == '{' || rest[0] == '<')
		}
	}
	return false
}

// textBuilder turns pbtext events into the same nodes, functions and asset
// tensors the binary walk collects.
type textBuilder struct {
	s      *scan
	stack  []string
	meta   *meta
	g      *graph // current main graph or function
	main   *graph // the meta graph's main graph
	n      *node  // node being read
	judged bool   // n's op is judged (known once op is read)
	akey   string // attr entry key
	aval   attrValue
	assetN string // AssetFileDef tensor name
	graphs int
}

func (t *textBuilder) path(k int) string {
	if len(t.stack) < k {
		return ""
	}
	return strings.Join(t.stack[len(t.stack)-k:], "/")
}

func (t *textBuilder) Begin(name string) error {
	t.stack = append(t.stack, name)
	switch {
	case len(t.stack) == 1 && name == "meta_graphs":
		t.meta = &meta{assets: map[string]bool{}}
	case t.meta == nil:
	case len(t.stack) == 2 && name == "graph_def":
		t.graphs++
		t.main = &graph{resolv: map[string]*node{}}
		t.meta.graphs = append(t.meta.graphs, t.main)
		t.g = t.main
	case t.path(3) == "graph_def/library/function":
		t.g = &graph{resolv: map[string]*node{}}
		t.meta.graphs = append(t.meta.graphs, t.g)
	case t.path(2) == "graph_def/node" || t.path(2) == "function/node_def":
		t.n = &node{}
	case t.n != nil && t.path(2) == "node/attr" || t.n != nil && t.path(2) == "node_def/attr":
		t.akey, t.aval = "", attrValue{}
	case len(t.stack) == 2 && name == "asset_file_def":
		t.meta.hasAssets = true
		t.assetN = ""
	}
	return nil
}

func (t *textBuilder) Field(name string, v pbtext.Value) error {
	if t.meta == nil {
		return nil
	}
	p := t.path(1) + "/" + name
	switch {
	case t.path(3) == "library/function/signature" && name == "name":
		if t.g != nil && t.g != t.main {
			t.g.fn = v.Text
			t.g.inSaver = saverFunction(v.Text)
		}
	case t.n != nil && (p == "node/name" || p == "node_def/name"):
		t.n.name = v.Text
	case t.n != nil && (p == "node/op" || p == "node_def/op"):
		t.n.op = v.Text
	case t.n != nil && (p == "node/input" || p == "node_def/input"):
		t.n.inputs = append(t.n.inputs, v.Text)
	case t.n != nil && p == "attr/key":
		t.akey = v.Text
	case t.n != nil && p == "value/s":
		t.aval.s, t.aval.hasS = v.Text, true
	case t.n != nil && p == "list/s":
		t.aval.list = append(t.aval.list, v.Text)
	case t.n != nil && p == "tensor/string_val" && len(t.aval.strs) < 16:
		t.aval.strs = append(t.aval.strs, v.Text)
	case p == "tensor_info/name" && t.path(2) == "asset_file_def/tensor_info":
		t.meta.assets[nodeOfInput(v.Text)] = true
	}
	return nil
}

func (t *textBuilder) End() error {
	top := t.stack[len(t.stack)-1]
	k2 := t.path(2)
	t.stack = t.stack[:len(t.stack)-1]
	switch {
	case t.n != nil && (k2 == "node/attr" || k2 == "node_def/attr"):
		if usedAttrs[t.akey] {
			if t.n.attrs == nil {
				t.n.attrs = map[string]attrValue{}
			}
			t.n.attrs[t.akey] = t.aval
		}
	case t.n != nil && (k2 == "graph_def/node" || k2 == "function/node_def"):
		if t.g != nil {
			_, judged := dangerousOps[t.n.op]
			if judged || passThrough[t.n.op] || t.n.op == "Const" {
				t.g.add(t.n, judged)
			}
		}
		t.n = nil
	case k2 == "library/function":
		t.g = t.main
	case len(t.stack) == 0 && top == "meta_graphs":
		t.s.judgeMeta(t.meta)
		t.meta, t.main, t.g = nil, nil, nil
	}
	return nil
}

// ScanText judges a text-format saved_model.pbtxt by the same rules as
// Scan. An error means the text does not parse or holds no graph.
func ScanText(in finding.Input) (finding.Result, error) {
	s := &scan{in: in, res: finding.Result{Format: FormatText}, seen: map[string]bool{}}
	if max := in.Limits.MaxFileSize; max > 0 && in.Size > max {
		return s.res, fmt.Errorf("saved_model.pbtxt is %d bytes, over the %d-byte limit (raise MaxFileSize)", in.Size, max)
	}
	t := &textBuilder{s: s}
	lim := pbtext.DefaultLimits()
	lim.MaxBytes = in.Size
	err := pbtext.Parse(io.NewSectionReader(in.R, 0, in.Size), lim, t)
	if err == nil && t.graphs == 0 {
		err = fmt.Errorf("%w: no meta_graphs with a graph_def: not a SavedModel", ErrMalformed)
	}
	if err != nil {
		err = fmt.Errorf("saved_model.pbtxt: %w", err)
	}
	s.finish()
	return s.res, err
}
