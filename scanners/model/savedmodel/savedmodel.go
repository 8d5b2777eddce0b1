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
		return s.src.Message(f, func(g protowire.Field) error {
			if g.Num == metaGraphDef {
				s.graphs++
				return s.graph(g)
			}
			return nil
		})
	})
	if err == nil && s.graphs == 0 {
		err = fmt.Errorf("%w: no meta graph with a graph_def (SavedModel field 2, MetaGraphDef field 2): not a SavedModel", ErrMalformed)
	}
	if s.dropped > 0 {
		s.res.Findings = append(s.res.Findings, finding.Finding{Severity: finding.High, Location: in.Location,
			Reason: fmt.Sprintf("%d more findings not listed (first %d shown)", s.dropped, maxFindings)})
	}
	return s.res, err
}

func (s *scan) graph(f protowire.Field) error {
	return s.src.Message(f, func(g protowire.Field) error {
		switch g.Num {
		case graphNode:
			return s.node(g, "", false)
		case graphLibrary:
			return s.src.Message(g, func(h protowire.Field) error {
				if h.Num == libFunction {
					return s.function(h)
				}
				return nil
			})
		}
		return nil
	})
}

func (s *scan) function(f protowire.Field) error {
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
	inSaver := saverFunction(name)
	for _, n := range nodes {
		if err := s.node(n, name, inSaver); err != nil {
			return err
		}
	}
	return nil
}

// node judges one NodeDef; fn is the enclosing function's name ("" for the
// main graph).
func (s *scan) node(f protowire.Field, fn string, inSaver bool) error {
	var name, op string
	err := s.src.Message(f, func(g protowire.Field) error {
		var err error
		switch g.Num {
		case nodeName:
			name, err = s.src.String(g, maxString)
		case nodeOp:
			op, err = s.src.String(g, maxString)
		}
		return err
	})
	if err != nil {
		return err
	}
	r, bad := dangerousOps[op]
	if !bad {
		return nil
	}
	if r.saver && (inSaver || fn == "" && saverNode.MatchString(name)) {
		return nil
	}
	where := "#" + name
	if fn != "" {
		where = "#" + fn + "/" + name
	}
	if s.seen[op+where] {
		return nil
	}
	s.seen[op+where] = true
	ctx := ""
	if r.saver {
		ctx = " outside the checkpoint saver"
	}
	s.add(r.sev, where, "operation %s%s %s", op, ctx, r.reason)
	return nil
}
