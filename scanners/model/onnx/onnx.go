// Package onnx judges an ONNX model (a protobuf ModelProto) without loading
// its weights: operators from custom domains (they need a native custom-op
// library to load), external-data paths that escape the model's folder
// (absolute, "..", symlinks) and external data files that are missing.
// Graphs nested in node attributes (If/Loop/Scan bodies) and model-local
// functions are walked with a depth limit.
package onnx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/protowire"
)

// Format is the name reported in Result.Format.
const Format = "ONNX"

const (
	maxGraphDepth = 16
	maxString     = 1 << 16 // names, domains, paths
	maxFindings   = 200
)

// ErrMalformed is wrapped by every error about a file that is not a
// readable ONNX model.
var ErrMalformed = protowire.ErrMalformed

// Field numbers from onnx.proto.
const (
	modelIRVersion    = 1
	modelGraph        = 7
	modelOpset        = 8
	modelFunctions    = 25
	graphNode         = 1
	graphInitializer  = 5
	graphSparseInit   = 15
	nodeName          = 3
	nodeOpType        = 4
	nodeAttribute     = 5
	nodeDomain        = 7
	attrT             = 5
	attrG             = 6
	attrTensors       = 10
	attrGraphs        = 11
	attrSparseTensor  = 22
	attrSparseTensors = 23
	tensorName        = 8
	tensorExternal    = 13
	tensorLocation    = 14
	sparseValues      = 1
	sparseIndices     = 2
	funcName          = 1
	funcNode          = 7
	funcDomain        = 10
	opsetDomain       = 1
	entryKey          = 1
	entryValue        = 2
)

// standardDomains are operator sets every ONNX runtime implements.
var standardDomains = map[string]bool{"": true, "ai.onnx": true, "ai.onnx.ml": true, "ai.onnx.training": true, "ai.onnx.preview.training": true}

// Detect sniffs a serialized ModelProto: protobuf writers emit fields in
// number order, so a model starts with ir_version (field 1, a varint from 3
// to 64) followed by a field of ModelProto numbered 2 to 8, 14, 20 or 25
// with the right wire type. ir_version 1 and 2 (2017) are not recognised:
// "08 01 12" is also how a TensorFlow SavedModel starts.
func Detect(head []byte) bool {
	fs := protowire.Head(head, 2)
	if len(fs) < 2 || fs[0].Num != modelIRVersion || fs[0].Type != protowire.VarintType || fs[0].Varint < 3 || fs[0].Varint > 64 {
		return false
	}
	f := fs[1]
	switch f.Num {
	case 5: // model_version
		return f.Type == protowire.VarintType
	case 2, 3, 4, 6, 7, 8, 14, 20, 25:
		return f.Type == protowire.BytesType
	}
	return false
}

type customOp struct{ domain, op string }

type scan struct {
	in      finding.Input
	src     *protowire.Source
	res     finding.Result
	dropped int
	// opUses: the first node using each (domain, op_type) outside the
	// standard domains; judged after model-local functions are known.
	opUses   map[customOp]string
	opOrder  []customOp
	localFns map[customOp]bool
	extSeen  map[string]bool
	sawGraph bool
	sawOpset bool
}

func (s *scan) add(sev finding.Severity, where, format string, args ...any) {
	if len(s.res.Findings) >= maxFindings {
		s.dropped++
		return
	}
	s.res.Findings = append(s.res.Findings, finding.Finding{Severity: sev, Location: s.in.Location + where, Reason: fmt.Sprintf(format, args...)})
}

func (s *scan) notVerified(where, format string, args ...any) {
	s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.in.Location + where, Reason: fmt.Sprintf(format, args...)})
}

// Scan walks one ONNX model. Tensor data is skipped, never loaded. An
// error means the protobuf is malformed (findings so far are returned).
func Scan(in finding.Input) (finding.Result, error) {
	s := &scan{in: in, src: protowire.NewSource(in.R, in.Size), res: finding.Result{Format: Format},
		opUses: map[customOp]string{}, localFns: map[customOp]bool{}, extSeen: map[string]bool{}}
	if max := in.Limits.MaxFileSize; max > 0 && in.Size > max {
		return s.res, fmt.Errorf("ONNX file is %d bytes, over the %d-byte limit (raise MaxFileSize)", in.Size, max)
	}
	err := s.src.Fields(0, in.Size, func(f protowire.Field) error {
		switch f.Num {
		case modelGraph:
			s.sawGraph = true
			return s.graph(f, "", 0)
		case modelOpset:
			s.sawOpset = true
			// Validated as a message; domains are judged where nodes use them.
			return s.src.Message(f, func(protowire.Field) error { return nil })
		case modelFunctions:
			return s.function(f)
		}
		return nil
	})
	if err == nil && !s.sawGraph {
		err = fmt.Errorf("%w: no graph (ModelProto field 7): not an ONNX model", ErrMalformed)
	}
	if err == nil && !s.sawOpset {
		// Runtimes refuse it; a file cut short between fields looks like this.
		err = fmt.Errorf("%w: no opset_import (ModelProto field 8): runtimes refuse the model (truncated?)", ErrMalformed)
	}
	s.judgeOps()
	if s.dropped > 0 {
		s.res.Findings = append(s.res.Findings, finding.Finding{Severity: finding.High, Location: in.Location,
			Reason: fmt.Sprintf("%d more findings not listed (first %d shown)", s.dropped, maxFindings)})
	}
	return s.res, err
}

func (s *scan) function(f protowire.Field) error {
	var name, domain string
	var nodes []protowire.Field
	err := s.src.Message(f, func(g protowire.Field) error {
		var err error
		switch g.Num {
		case funcName:
			name, err = s.src.String(g, maxString)
		case funcDomain:
			domain, err = s.src.String(g, maxString)
		case funcNode:
			nodes = append(nodes, g)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.localFns[customOp{domain, name}] = true
	for _, n := range nodes {
		if err := s.node(n, "function "+domain+"."+name, 1); err != nil {
			return err
		}
	}
	return nil
}

// graph walks a GraphProto; scope names the enclosing node for nested graphs.
func (s *scan) graph(f protowire.Field, scope string, depth int) error {
	if depth > maxGraphDepth {
		s.notVerified("#"+scope, "graphs nest deeper than %d levels: the inner graphs are not checked", maxGraphDepth)
		return nil
	}
	return s.src.Message(f, func(g protowire.Field) error {
		switch g.Num {
		case graphNode:
			return s.node(g, scope, depth)
		case graphInitializer:
			return s.tensor(g)
		case graphSparseInit:
			return s.sparse(g)
		}
		return nil
	})
}

func (s *scan) node(f protowire.Field, scope string, depth int) error {
	var name, op, domain string
	var attrs []protowire.Field
	err := s.src.Message(f, func(g protowire.Field) error {
		var err error
		switch g.Num {
		case nodeName:
			name, err = s.src.String(g, maxString)
		case nodeOpType:
			op, err = s.src.String(g, maxString)
		case nodeDomain:
			domain, err = s.src.String(g, maxString)
		case nodeAttribute:
			attrs = append(attrs, g)
		}
		return err
	})
	if err != nil {
		return err
	}
	if name == "" {
		name = op
	}
	if !standardDomains[domain] {
		k := customOp{domain, op}
		if _, ok := s.opUses[k]; !ok {
			s.opUses[k] = name
			s.opOrder = append(s.opOrder, k)
		}
	}
	for _, a := range attrs {
		err := s.src.Message(a, func(g protowire.Field) error {
			switch g.Num {
			case attrG, attrGraphs:
				return s.graph(g, name, depth+1)
			case attrT, attrTensors:
				return s.tensor(g)
			case attrSparseTensor, attrSparseTensors:
				return s.sparse(g)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *scan) sparse(f protowire.Field) error {
	return s.src.Message(f, func(g protowire.Field) error {
		if g.Num == sparseValues || g.Num == sparseIndices {
			return s.tensor(g)
		}
		return nil
	})
}

// tensor judges a TensorProto's external data reference.
func (s *scan) tensor(f protowire.Field) error {
	var name string
	external := false
	var entries []protowire.Field
	err := s.src.Message(f, func(g protowire.Field) error {
		var err error
		switch g.Num {
		case tensorName:
			name, err = s.src.String(g, maxString)
		case tensorLocation:
			external = g.Type == protowire.VarintType && g.Varint == 1
		case tensorExternal:
			entries = append(entries, g)
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		if external {
			s.add(finding.Medium, "#"+name, "tensor %q is stored externally but names no location", name)
		}
		return nil
	}
	location, found := "", false
	for _, e := range entries {
		var k, v string
		err := s.src.Message(e, func(g protowire.Field) error {
			var err error
			switch g.Num {
			case entryKey:
				k, err = s.src.String(g, maxString)
			case entryValue:
				v, err = s.src.String(g, maxString)
			}
			return err
		})
		if err != nil {
			return err
		}
		if k == "location" {
			location, found = v, true
		}
	}
	if !found || location == "" {
		s.add(finding.Medium, "#"+name, "tensor %q has external_data without a location", name)
		return nil
	}
	if s.extSeen[location] {
		return nil
	}
	s.extSeen[location] = true
	s.judgeExternal(name, location)
	return nil
}

// judgeExternal: the path must stay inside the model's folder.
func (s *scan) judgeExternal(tensor, loc string) {
	where := "#" + tensor
	slash := strings.ReplaceAll(loc, `\`, "/")
	switch {
	case strings.ContainsRune(loc, 0):
		s.add(finding.Critical, where, "external data path %q of tensor %q contains a NUL byte", loc, tensor)
		return
	case path.IsAbs(slash) || filepath.IsAbs(loc) || len(slash) >= 2 && slash[1] == ':':
		s.add(finding.Critical, where, "external data path %q of tensor %q is absolute: loading reads a file outside the model folder (path traversal)", loc, tensor)
		return
	}
	for _, part := range strings.Split(slash, "/") {
		if part == ".." {
			s.add(finding.Critical, where, "external data path %q of tensor %q climbs out with \"..\": loading reads a file outside the model folder (path traversal)", loc, tensor)
			return
		}
	}
	if s.in.Dir == "" {
		return // inside an archive: its members are scanned on their own
	}
	full := filepath.Join(s.in.Dir, filepath.FromSlash(slash))
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		s.notVerified(where, "external data file %q of tensor %q is missing: the model cannot be checked or loaded as shipped", loc, tensor)
		return
	}
	if err != nil {
		s.notVerified(where, "external data file %q: %v", loc, err)
		return
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		// The folders on the way may still be links.
		if !s.inside(full) {
			s.add(finding.High, where, "external data path %q of tensor %q passes through a symbolic link leading outside the model folder", loc, tensor)
		}
		return
	}
	if !s.inside(full) {
		s.add(finding.High, where, "external data file %q of tensor %q is a symbolic link leading outside the model folder", loc, tensor)
	}
}

// inside reports whether p, with links resolved, stays under in.Dir.
func (s *scan) inside(p string) bool {
	root, err1 := filepath.EvalSymlinks(s.in.Dir)
	real, err2 := filepath.EvalSymlinks(p)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(root, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// judgeOps reports operators from domains other than the standard ones,
// once per (domain, op_type), unless a model-local function defines them.
func (s *scan) judgeOps() {
	for _, k := range s.opOrder {
		if s.localFns[k] {
			continue
		}
		node := s.opUses[k]
		if k.domain == "com.microsoft" || strings.HasPrefix(k.domain, "com.microsoft.") {
			s.add(finding.Low, "#"+node, "operator %s from domain %q (ONNX Runtime contrib ops): needs ONNX Runtime's own kernels", k.op, k.domain)
			continue
		}
		s.add(finding.Medium, "#"+node, "operator %s from custom domain %q: loading it needs a native custom-op library, which runs arbitrary code", k.op, k.domain)
	}
}
