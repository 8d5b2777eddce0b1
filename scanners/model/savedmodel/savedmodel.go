// Package savedmodel judges a TensorFlow SavedModel's saved_model.pb (a
// protobuf SavedModel) by the operations its graphs and function libraries
// contain. Loading a SavedModel runs its graph: Python callbacks (PyFunc)
// run arbitrary code, file operations read or write the host's files.
//
// The checkpoint saver is part of every SavedModel: SaveV2, RestoreV2 and
// MergeV2Checkpoints are expected inside it and ignored there. The saver is
// recognised as graph nodes under "save/" (or "save_N/", TF1 Saver) and
// functions whose name contains "_traced_save" or "_traced_restore" (TF2
// tf.saved_model.save). Anywhere else they are high findings.
package savedmodel

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/protowire"
)

// Format is the name reported in Result.Format.
const Format = "TensorFlow SavedModel"

const (
	maxString   = 1 << 16
	maxFindings = 200
)

// ErrMalformed is wrapped by every error about malformed protobuf.
var ErrMalformed = protowire.ErrMalformed

// Field numbers from tensorflow/core/protobuf/saved_model.proto,
// meta_graph.proto, graph.proto, node_def.proto and function.proto.
const (
	savedSchemaVersion = 1
	savedMetaGraphs    = 2
	metaGraphDef       = 2
	graphNode          = 1
	graphLibrary       = 2
	nodeName           = 1
	nodeOp             = 2
	libFunction        = 1
	funcSignature      = 1
	funcNodeDef        = 3
	opDefName          = 1
)

type rule struct {
	sev    finding.Severity
	reason string
	saver  bool // expected inside the saver: ignored there
}

// dangerousOps are operations that reach outside the tensor computation
// (ModelAudit's list of 31 and modelscan's ReadFile/WriteFile, by name).
var dangerousOps = map[string]rule{
	"PyFunc":          {finding.Critical, "calls a Python function registered by the loading program: arbitrary code", false},
	"PyFuncStateless": {finding.Critical, "calls a Python function registered by the loading program: arbitrary code", false},
	"EagerPyFunc":     {finding.Critical, "calls a Python function registered by the loading program: arbitrary code", false},
	"ShellExecute":    {finding.Critical, "is not a TensorFlow op; a graph naming it needs a custom kernel that runs shell commands", false},
	"ExecuteShell":    {finding.Critical, "is not a TensorFlow op; a graph naming it needs a custom kernel that runs shell commands", false},
	"SystemCall":      {finding.Critical, "is not a TensorFlow op; a graph naming it needs a custom kernel that runs system calls", false},

	"ReadFile":                      {finding.High, "reads a file of the host", false},
	"WriteFile":                     {finding.High, "writes a file on the host", false},
	"MatchingFiles":                 {finding.High, "lists the host's files", false},
	"Save":                          {finding.High, "writes tensors to a file", true},
	"SaveV2":                        {finding.High, "writes tensors to a file", true},
	"SaveSlices":                    {finding.High, "writes tensors to a file", true},
	"Restore":                       {finding.High, "reads tensors from a file", true},
	"RestoreV2":                     {finding.High, "reads tensors from a file", true},
	"RestoreSlice":                  {finding.High, "reads tensors from a file", true},
	"MergeV2Checkpoints":            {finding.High, "merges and deletes checkpoint files", true},
	"ImmutableConst":                {finding.High, "memory-maps a file of the host", false},
	"LoadAndRemapMatrix":            {finding.High, "reads a checkpoint file of the host", false},
	"DatasetToTFRecord":             {finding.High, "writes a file on the host", false},
	"DebugNumericSummaryV2":         {finding.Low, "sends tensors to a debugger dump", false},
	"ExperimentalDatasetToTFRecord": {finding.High, "writes a file on the host", false},

	"WholeFileReader":               {finding.Medium, "reads files of the host", false},
	"WholeFileReaderV2":             {finding.Medium, "reads files of the host", false},
	"TextLineReader":                {finding.Medium, "reads files of the host", false},
	"TextLineReaderV2":              {finding.Medium, "reads files of the host", false},
	"FixedLengthRecordReader":       {finding.Medium, "reads files of the host", false},
	"FixedLengthRecordReaderV2":     {finding.Medium, "reads files of the host", false},
	"TFRecordReader":                {finding.Medium, "reads files of the host", false},
	"TFRecordReaderV2":              {finding.Medium, "reads files of the host", false},
	"TextLineDataset":               {finding.Medium, "reads files of the host", false},
	"TFRecordDataset":               {finding.Medium, "reads files of the host", false},
	"FixedLengthRecordDataset":      {finding.Medium, "reads files of the host", false},
	"InitializeTableFromTextFile":   {finding.Medium, "reads a file of the host into a lookup table", false},
	"InitializeTableFromTextFileV2": {finding.Medium, "reads a file of the host into a lookup table", false},
	"CreateSummaryFileWriter":       {finding.Medium, "writes files on the host", false},
	"WriteSummary":                  {finding.Low, "writes a summary to a writer", false},
	"WriteAudioSummary":             {finding.Low, "writes a summary to a writer", false},

	"PrintV2":             {finding.Low, "prints to the loader's output streams", false},
	"Print":               {finding.Low, "prints to the loader's output streams", false},
	"DebugIdentity":       {finding.Low, "sends tensors to a debugger URL", false},
	"DebugIdentityV2":     {finding.Low, "sends tensors to a debugger dump", false},
	"DebugNanCount":       {finding.Low, "sends tensors to a debugger URL", false},
	"DebugNumericSummary": {finding.Low, "sends tensors to a debugger URL", false},
}

var saverNode = regexp.MustCompile(`^save(_\d+)?/`)

func saverFunction(name string) bool {
	return strings.Contains(name, "_traced_save") || strings.Contains(name, "_traced_restore")
}

// Detect sniffs a SavedModel: saved_model_schema_version (field 1, varint
// 1) then meta_graphs (field 2) whose MetaGraphDef starts with field 1
// (meta_info_def) or 2 (graph_def); or meta_graphs first when the version
// was left out. ONNX's Detect rejects ir_version 1, so the two never both
// match.
func Detect(head []byte) bool {
	fs := protowire.Head(head, 2)
	if len(fs) == 0 {
		return false
	}
	if fs[0].Num == savedSchemaVersion {
		if fs[0].Type != protowire.VarintType || fs[0].Varint != 1 || len(fs) < 2 {
			return false
		}
		fs = fs[1:]
	}
	f := fs[0]
	if f.Num != savedMetaGraphs || f.Type != protowire.BytesType || f.Len < 2 || f.Off >= int64(len(head)) {
		return false
	}
	b := head[f.Off]
	return b == 0x0a || b == 0x12
}

type scan struct {
	in      finding.Input
	src     *protowire.Source
	res     finding.Result
	dropped int
	seen    map[string]bool // findings by (op, location) once
	graphs  int
	scratch []protowire.Field
}

func (s *scan) add(sev finding.Severity, where, format string, args ...any) {
	if len(s.res.Findings) >= maxFindings {
		s.dropped++
		return
	}
	s.res.Findings = append(s.res.Findings, finding.Finding{Severity: sev, Location: s.in.Location + where, Reason: fmt.Sprintf(format, args...)})
}

// Scan walks one saved_model.pb. An error means the protobuf is malformed
// or holds no graph (findings so far are returned).
func Scan(in finding.Input) (finding.Result, error) {
	s := &scan{in: in, src: protowire.NewSource(in.R, in.Size), res: finding.Result{Format: Format}, seen: map[string]bool{}}
	if max := in.Limits.MaxFileSize; max > 0 && in.Size > max {
		return s.res, fmt.Errorf("saved_model.pb is %d bytes, over the %d-byte limit (raise MaxFileSize)", in.Size, max)
	}
	err := s.src.Fields(0, in.Size, func(f protowire.Field) error {
		if f.Num != savedMetaGraphs {
			return nil
		}
		m := &meta{assets: map[string]bool{}}
		var graphs []protowire.Field
		err := s.src.Message(f, func(g protowire.Field) error {
			switch g.Num {
			case metaGraphDef:
				s.graphs++
				graphs = append(graphs, g)
			case metaAssetFileDef:
				return s.asset(g, m)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, g := range graphs {
			if err := s.graph(g, m); err != nil {
				return err
			}
		}
		s.judgeMeta(m)
		return nil
	})
	if err == nil && s.graphs == 0 {
		err = fmt.Errorf("%w: no meta graph with a graph_def (SavedModel field 2, MetaGraphDef field 2): not a SavedModel", ErrMalformed)
	}
	s.finish()
	return s.res, err
}

func (s *scan) finish() {
	if s.dropped > 0 {
		s.res.Findings = append(s.res.Findings, finding.Finding{Severity: finding.High, Location: s.in.Location,
			Reason: fmt.Sprintf("%d more findings not listed (first %d shown)", s.dropped, maxFindings)})
	}
}

// asset reads an AssetFileDef: the tensor the loader feeds the asset's
// path (under the SavedModel's assets/ folder) into.
func (s *scan) asset(f protowire.Field, m *meta) error {
	m.hasAssets = true
	return s.src.Message(f, func(g protowire.Field) error {
		if g.Num != assetTensorInfo {
			return nil
		}
		return s.src.Message(g, func(h protowire.Field) error {
			if h.Num == tensorInfoName {
				name, err := s.src.String(h, maxString)
				m.assets[nodeOfInput(name)] = true
				return err
			}
			return nil
		})
	})
}

func (s *scan) graph(f protowire.Field, m *meta) error {
	main := &graph{resolv: map[string]*node{}}
	m.graphs = append(m.graphs, main)
	return s.src.Message(f, func(g protowire.Field) error {
		switch g.Num {
		case graphNode:
			return s.node(g, main)
		case graphLibrary:
			return s.src.Message(g, func(h protowire.Field) error {
				if h.Num == libFunction {
					return s.function(h, m)
				}
				return nil
			})
		}
		return nil
	})
}

func (s *scan) function(f protowire.Field, m *meta) error {
	var name string
	var nodes []protowire.Field
	err := s.src.Message(f, func(g protowire.Field) error {
		switch g.Num {
		case funcSignature:
			return s.src.Message(g, func(h protowire.Field) error {
				if h.Num == opDefName {
					var err error
					name, err = s.src.String(h, maxString)
					return err
				}
				return nil
			})
		case funcNodeDef:
			nodes = append(nodes, g)
		}
		return nil
	})
	if err != nil {
		return err
	}
	g := &graph{fn: name, inSaver: saverFunction(name), resolv: map[string]*node{}}
	m.graphs = append(m.graphs, g)
	for _, n := range nodes {
		if err := s.node(n, g); err != nil {
			return err
		}
	}
	return nil
}

// node reads one NodeDef: its name and op always; its inputs and the
// attributes the rules read only for ops that are judged or that a judged
// op's input may resolve to (constants and pass-throughs).
func (s *scan) node(f protowire.Field, g *graph) error {
	var name, op string
	rest := s.scratch[:0]
	err := s.src.Message(f, func(h protowire.Field) error {
		var err error
		switch h.Num {
		case nodeName:
			name, err = s.src.String(h, maxString)
		case nodeOp:
			op, err = s.src.String(h, maxString)
		case nodeInput, nodeAttr:
			rest = append(rest, h)
		}
		return err
	})
	s.scratch = rest[:0]
	if err != nil {
		return err
	}
	_, judged := dangerousOps[op]
	if !judged && !passThrough[op] && op != "Const" {
		return nil
	}
	n := &node{name: name, op: op}
	for _, h := range rest {
		switch h.Num {
		case nodeInput:
			in, err := s.src.String(h, maxString)
			if err != nil {
				return err
			}
			n.inputs = append(n.inputs, in)
		case nodeAttr:
			if err := s.attr(h, n); err != nil {
				return err
			}
		}
	}
	g.add(n, judged)
	return nil
}

// attr reads one attr map entry of the attributes the rules use.
func (s *scan) attr(f protowire.Field, n *node) error {
	var key string
	var val protowire.Field
	has := false
	err := s.src.Message(f, func(h protowire.Field) error {
		switch h.Num {
		case 1:
			var err error
			key, err = s.src.String(h, maxString)
			return err
		case 2:
			val, has = h, true
		}
		return nil
	})
	if err != nil || !has || !usedAttrs[key] {
		return err
	}
	var a attrValue
	err = s.src.Message(val, func(h protowire.Field) error {
		var err error
		switch h.Num {
		case attrS:
			a.s, err = s.src.String(h, maxString)
			a.hasS = true
		case attrList:
			err = s.src.Message(h, func(l protowire.Field) error {
				if l.Num == listS {
					v, err := s.src.String(l, maxString)
					a.list = append(a.list, v)
					return err
				}
				return nil
			})
		case attrTensor:
			err = s.src.Message(h, func(t protowire.Field) error {
				if t.Num == tensorStringVal && len(a.strs) < 16 {
					v, err := s.src.String(t, maxString)
					a.strs = append(a.strs, v)
					return err
				}
				return nil
			})
		}
		return err
	})
	if err != nil {
		return err
	}
	if n.attrs == nil {
		n.attrs = map[string]attrValue{}
	}
	n.attrs[key] = a
	return nil
}
