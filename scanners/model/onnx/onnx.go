// Package onnx judges an ONNX model (a protobuf ModelProto) without loading
// its weights: operators from custom domains (they need a native custom-op
// library to load), external-data paths that escape the model's folder
// (absolute, "..", symlinks) and external data files that are missing.
// Graphs nested in node attributes (If/Loop/Scan bodies) and model-local
// functions are walked with a depth limit.
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"path"
	"path/filepath"
	"strconv"
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
	tensorDims        = 1
	tensorDataType    = 2
	tensorFloatData   = 4
	tensorInt32Data   = 5
	tensorStringData  = 6
	tensorInt64Data   = 7
	tensorName        = 8
	tensorRawData     = 9
	tensorDoubleData  = 10
	tensorUint64Data  = 11
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

// elemBits are the bits per element of TensorProto data types with a fixed
// size (onnx.proto TensorProto.DataType); STRING and UNDEFINED are absent.
var elemBits = map[uint64]uint64{1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64,
	12: 32, 13: 64, 14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4}

// maxElements bounds a tensor's declared element count (2^50: 1 PiB of
// bytes); a larger count cannot be real data.
const maxElements = 1 << 50

// tensorData is what a TensorProto declares about its data.
type tensorData struct {
	dims       []int64
	dataType   uint64
	rawLen     int64
	hasRaw     bool
	entries    uint64 // elements in the typed repeated fields (lower bound for varint fields)
	typedField bool
	external   bool
	offset     int64
	length     int64
	hasLength  bool
}

// wantType checks a known field's wire type: protobuf would not read the
// value where the loader expects it.
func wantType(g protowire.Field, typ protowire.Type, what string) error {
	if g.Type != typ {
		return fmt.Errorf("%w: %s (field %d at offset %d) has wire type %d, want %d", ErrMalformed, what, g.Num, g.Off, g.Type, typ)
	}
	return nil
}

// varints counts the varints packed in a bytes field (bounded by its size).
func (s *scan) varints(g protowire.Field) (uint64, error) {
	n := uint64(0)
	for off := int64(0); off < g.Len; {
		k := min(g.Len-off, 1<<16)
		b, err := s.src.Bytes(protowire.Field{Num: g.Num, Type: protowire.BytesType, Off: g.Off + off, Len: k}, 1<<16)
		if err != nil {
			return 0, err
		}
		for _, c := range b {
			if c < 0x80 {
				n++
			}
		}
		off += k
	}
	return n, nil
}

// tensor judges a TensorProto: its external data reference, and that it
// holds the data its dims and data type declare (a loader refuses a tensor
// that claims 2^40 elements and carries none).
func (s *scan) tensor(f protowire.Field) error {
	var name string
	var d tensorData
	var entries []protowire.Field
	err := s.src.Message(f, func(g protowire.Field) error {
		var err error
		switch g.Num {
		case tensorName:
			name, err = s.src.String(g, maxString)
		case tensorDims:
			switch g.Type {
			case protowire.VarintType:
				d.dims = append(d.dims, int64(g.Varint))
			case protowire.BytesType:
				err = s.packedDims(g, &d)
			default:
				err = wantType(g, protowire.VarintType, "TensorProto.dims")
			}
		case tensorDataType:
			err = wantType(g, protowire.VarintType, "TensorProto.data_type")
			d.dataType = g.Varint
		case tensorRawData:
			err = wantType(g, protowire.BytesType, "TensorProto.raw_data")
			d.hasRaw, d.rawLen = true, g.Len
		case tensorFloatData, tensorDoubleData:
			d.typedField = true
			width := int64(4)
			if g.Num == tensorDoubleData {
				width = 8
			}
			switch {
			case g.Type == protowire.BytesType:
				d.entries += uint64(g.Len / width)
			case g.Num == tensorFloatData && g.Type == protowire.Fixed32Type, g.Num == tensorDoubleData && g.Type == protowire.Fixed64Type:
				d.entries++
			default:
				err = fmt.Errorf("%w: TensorProto field %d at offset %d has wire type %d", ErrMalformed, g.Num, g.Off, g.Type)
			}
		case tensorInt32Data, tensorInt64Data, tensorUint64Data:
			d.typedField = true
			switch g.Type {
			case protowire.VarintType:
				d.entries++
			case protowire.BytesType:
				var n uint64
				n, err = s.varints(g)
				d.entries += n
			default:
				err = wantType(g, protowire.VarintType, "TensorProto typed data")
			}
		case tensorStringData:
			err = wantType(g, protowire.BytesType, "TensorProto.string_data")
			d.typedField = true
			d.entries++
		case tensorLocation:
			err = wantType(g, protowire.VarintType, "TensorProto.data_location")
			d.external = g.Varint == 1
		case tensorExternal:
			err = wantType(g, protowire.BytesType, "TensorProto.external_data")
			entries = append(entries, g)
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		if d.external {
			s.add(finding.Medium, "#"+name, "tensor %q is stored externally but names no location", name)
			return nil
		}
		return s.checkData(name, d)
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
		switch k {
		case "location":
			location, found = v, true
		case "offset", "length":
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || n < 0 {
				return fmt.Errorf("%w: tensor %q external_data %s %q is not a non-negative integer", ErrMalformed, name, k, v)
			}
			if k == "offset" {
				d.offset = n
			} else {
				d.length, d.hasLength = n, true
			}
		}
	}
	if !found || location == "" {
		s.add(finding.Medium, "#"+name, "tensor %q has external_data without a location", name)
		return nil
	}
	need, err := s.byteSize(name, d)
	if err != nil {
		return err
	}
	if d.hasLength {
		need = d.length
	}
	if need >= 0 {
		if d.offset > 1<<62-need {
			return fmt.Errorf("%w: tensor %q external data offset %d + length %d overflows", ErrMalformed, name, d.offset, need)
		}
		s.res.External = append(s.res.External, finding.ExternalData{Path: strings.ReplaceAll(location, `\`, "/"), MinSize: d.offset + need})
	}
	if s.extSeen[location] {
		return nil
	}
	s.extSeen[location] = true
	s.judgeExternal(name, location)
	return nil
}

func (s *scan) packedDims(g protowire.Field, d *tensorData) error {
	b, err := s.src.Bytes(g, maxString)
	if err != nil {
		return err
	}
	for len(b) > 0 {
		v, k := binaryUvarint(b)
		if k <= 0 {
			return fmt.Errorf("%w: bad packed dims at offset %d", ErrMalformed, g.Off)
		}
		d.dims = append(d.dims, int64(v))
		b = b[k:]
	}
	return nil
}

// elements is the product of dims, or an error for a negative or absurd count.
func elements(name string, dims []int64) (uint64, error) {
	n := uint64(1)
	for _, x := range dims {
		if x < 0 {
			return 0, fmt.Errorf("%w: tensor %q has a negative dimension %d", ErrMalformed, name, x)
		}
		hi, lo := bits.Mul64(n, uint64(x))
		if hi != 0 || lo > maxElements {
			return 0, fmt.Errorf("%w: tensor %q declares dims %v: more than 2^50 elements", ErrMalformed, name, dims)
		}
		n = lo
	}
	return n, nil
}

// byteSize is the data size dims × data type imply, -1 when the type has
// no fixed size.
func (s *scan) byteSize(name string, d tensorData) (int64, error) {
	n, err := elements(name, d.dims)
	if err != nil {
		return 0, err
	}
	b, ok := elemBits[d.dataType]
	if !ok {
		return -1, nil
	}
	return int64((n*b + 7) / 8), nil
}

// checkData: a tensor stored in the model must carry the data it declares.
func (s *scan) checkData(name string, d tensorData) error {
	n, err := elements(name, d.dims)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	switch {
	case d.hasRaw:
		want, err := s.byteSize(name, d)
		if err != nil {
			return err
		}
		if want >= 0 && want != d.rawLen {
			return fmt.Errorf("%w: tensor %q declares dims %v of data type %d (%d bytes) but raw_data holds %d bytes: loaders refuse it", ErrMalformed, name, d.dims, d.dataType, want, d.rawLen)
		}
	case d.typedField:
		per := uint64(1)
		if d.dataType == 14 || d.dataType == 15 {
			per = 2 // complex: real and imaginary parts
		}
		if d.dataType == 21 || d.dataType == 22 || d.dataType == 23 {
			n = (n + 1) / 2 // 4-bit types: two per int32 entry
			per = 1
		}
		if d.entries < n*per {
			return fmt.Errorf("%w: tensor %q declares %d elements but carries %d values: loaders refuse it", ErrMalformed, name, n, d.entries/per)
		}
	default:
		return fmt.Errorf("%w: tensor %q declares dims %v (%d elements) and carries no data (no raw_data, typed values or external data): loaders refuse it", ErrMalformed, name, d.dims, n)
	}
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

func binaryUvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }
