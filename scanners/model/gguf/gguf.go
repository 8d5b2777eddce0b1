// Package gguf reads the header of a GGUF file (llama.cpp models): the
// metadata key/value pairs and the tensor table. Chat templates are Jinja2
// that inference servers render, so each is reported for review and a
// template that reaches Python internals (server-side template injection
// gadgets) is critical. The tensor table must fit the file: offsets
// aligned, inside the data section, not overlapping, with no unexplained
// bytes between or after tensors.
//
// Layout (little-endian): "GGUF", u32 version (2 or 3), u64 tensor_count,
// u64 metadata_kv_count, the key/value pairs (string key, u32 value type,
// value), the tensor infos (string name, u32 n_dims, u64 dims[n_dims],
// u32 ggml type, u64 offset), padding to general.alignment (default 32),
// then the tensor data. Strings are a u64 length and that many bytes.
package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/jinja"
)

// Format is the name reported in Result.Format.
const Format = "GGUF"

// Limits beyond finding.Limits.
const (
	maxDims       = 8 // ggml uses 4; real files never exceed it
	maxArrayDepth = 8 // nested arrays
	maxFindings   = 200
	maxKeyLen     = 1 << 16
)

// ErrMalformed is wrapped by every error about a file that is not a
// readable GGUF file.
var ErrMalformed = errors.New("malformed GGUF file")

// ErrLimit is wrapped when the header is larger than Limits.MaxHeaderBytes.
var ErrLimit = errors.New("GGUF header exceeds the scan limit")

// Detect reports whether head starts with the GGUF magic.
func Detect(head []byte) bool {
	return len(head) >= 4 && string(head[:4]) == "GGUF"
}

// Value types of metadata.
const (
	tUint8 = iota
	tInt8
	tUint16
	tInt16
	tUint32
	tInt32
	tFloat32
	tBool
	tString
	tArray
	tUint64
	tInt64
	tFloat64
)

var fixedSize = map[uint32]int64{tUint8: 1, tInt8: 1, tUint16: 2, tInt16: 2, tUint32: 4, tInt32: 4, tFloat32: 4, tBool: 1, tUint64: 8, tInt64: 8, tFloat64: 8}

// ggmlType is a tensor type's block: blck elements stored in size bytes.
type ggmlType struct{ size, blck uint64 }

var ggmlTypes = map[uint32]ggmlType{
	0: {4, 1}, 1: {2, 1}, 2: {18, 32}, 3: {20, 32}, 6: {22, 32}, 7: {24, 32}, 8: {34, 32}, 9: {36, 32},
	10: {84, 256}, 11: {110, 256}, 12: {144, 256}, 13: {176, 256}, 14: {210, 256}, 15: {292, 256},
	16: {66, 256}, 17: {74, 256}, 18: {98, 256}, 19: {50, 256}, 20: {18, 32}, 21: {110, 256},
	22: {82, 256}, 23: {136, 256}, 24: {1, 1}, 25: {2, 1}, 26: {4, 1}, 27: {8, 1}, 28: {8, 1},
	29: {56, 256}, 30: {2, 1}, 34: {54, 256}, 35: {66, 256}, 39: {17, 32},
}

type reader struct {
	r   *bufio.Reader
	pos int64 // bytes consumed
	end int64 // bytes that may be consumed (min of file size and limit)
	// size and limit, for the error when end is reached.
	size, limit int64
	scratch     [8]byte
}

func (r *reader) need(n int64, what string) error {
	if n < 0 || n > r.end-r.pos {
		if r.end < r.size && n <= r.size-r.pos {
			return fmt.Errorf("%w: %s at offset %d needs %d bytes past the %d-byte header limit (raise MaxHeaderBytes)", ErrLimit, what, r.pos, n, r.limit)
		}
		return fmt.Errorf("%w: %s at offset %d: %d bytes needed, %d left in the file", ErrMalformed, what, r.pos, n, r.size-r.pos)
	}
	return nil
}

func (r *reader) read(b []byte, what string) error {
	if err := r.need(int64(len(b)), what); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.r, b); err != nil {
		return fmt.Errorf("read %s at offset %d: %w", what, r.pos, err)
	}
	r.pos += int64(len(b))
	return nil
}

func (r *reader) skip(n int64, what string) error {
	if err := r.need(n, what); err != nil {
		return err
	}
	if _, err := r.r.Discard(int(n)); err != nil {
		return fmt.Errorf("read %s at offset %d: %w", what, r.pos, err)
	}
	r.pos += n
	return nil
}

func (r *reader) u32(what string) (uint32, error) {
	err := r.read(r.scratch[:4], what)
	return binary.LittleEndian.Uint32(r.scratch[:4]), err
}

func (r *reader) u64(what string) (uint64, error) {
	err := r.read(r.scratch[:8], what)
	return binary.LittleEndian.Uint64(r.scratch[:8]), err
}

// str reads a string; with keep false its bytes are skipped.
func (r *reader) str(what string, keep bool, max int64) (string, error) {
	n, err := r.u64(what)
	if err != nil {
		return "", err
	}
	if n > uint64(r.size) {
		return "", fmt.Errorf("%w: %s at offset %d claims %d bytes, more than the file", ErrMalformed, what, r.pos-8, n)
	}
	if !keep {
		return "", r.skip(int64(n), what)
	}
	if err := r.need(int64(n), what); err != nil {
		return "", err
	}
	if int64(n) > max {
		return "", fmt.Errorf("%w: %s at offset %d is %d bytes, over the %d-byte bound", ErrMalformed, what, r.pos-8, n, max)
	}
	b := make([]byte, n)
	err = r.read(b, what)
	return string(b), err
}

type scan struct {
	loc     string
	res     finding.Result
	dropped int
}

func (s *scan) add(sev finding.Severity, where, format string, args ...any) {
	if len(s.res.Findings) >= maxFindings {
		s.dropped++
		return
	}
	s.res.Findings = append(s.res.Findings, finding.Finding{Severity: sev, Location: s.loc + where, Reason: fmt.Sprintf(format, args...)})
}

type tensorInfo struct {
	name        string
	begin, size uint64
	sized       bool
}

// Scan reads the GGUF header of one file; tensor data is not read. An
// error means the header cannot be read (findings gathered so far are
// still returned).
func Scan(in finding.Input) (finding.Result, error) {
	s := &scan{loc: in.Location, res: finding.Result{Format: Format}}
	err := s.scan(in)
	if s.dropped > 0 {
		s.res.Findings = append(s.res.Findings, finding.Finding{Severity: finding.High, Location: s.loc,
			Reason: fmt.Sprintf("%d more header findings not listed (first %d shown)", s.dropped, maxFindings)})
	}
	return s.res, err
}

func (s *scan) scan(in finding.Input) error {
	limit := in.Limits.MaxHeaderBytes
	if limit <= 0 {
		limit = finding.DefaultLimits().MaxHeaderBytes
	}
	r := &reader{r: bufio.NewReaderSize(io.NewSectionReader(in.R, 0, in.Size), 64<<10), end: min(in.Size, limit), size: in.Size, limit: limit}
	var magic [4]byte
	if err := r.read(magic[:], "magic"); err != nil {
		return err
	}
	if string(magic[:]) != "GGUF" {
		return fmt.Errorf("%w: magic is %q, want \"GGUF\"", ErrMalformed, magic[:])
	}
	version, err := r.u32("version")
	if err != nil {
		return err
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.loc,
			Reason: "GGUF version 1 (32-bit counts, pre-2023 files) is not read: convert the model with a current llama.cpp and scan again"})
		return nil
	case bits.ReverseBytes32(version) <= 3:
		s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.loc,
			Reason: fmt.Sprintf("big-endian GGUF (version %d) is not read", bits.ReverseBytes32(version))})
		return nil
	default:
		s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.loc,
			Reason: fmt.Sprintf("unknown GGUF version %d: only versions 2 and 3 are read", version)})
		return nil
	}
	nTensors, err := r.u64("tensor_count")
	if err != nil {
		return err
	}
	nKV, err := r.u64("metadata_kv_count")
	if err != nil {
		return err
	}
	// Each pair needs at least a key length, a type and one value byte;
	// each tensor info a name length, n_dims, type and offset.
	if left := uint64(in.Size - r.pos); nKV > left/13 || nTensors > left/24 {
		return fmt.Errorf("%w: %d metadata pairs and %d tensors cannot fit in the %d bytes left", ErrMalformed, nKV, nTensors, left)
	}

	alignment := uint64(32)
	keys := make(map[string]bool, min(nKV, 1<<16))
	for i := uint64(0); i < nKV; i++ {
		keyOff := r.pos
		key, err := r.str(fmt.Sprintf("metadata key %d", i), true, maxKeyLen)
		if err != nil {
			return err
		}
		if keys[key] {
			s.add(finding.High, "#"+key, "duplicate metadata key %q: loaders disagree on which value wins", key)
		}
		keys[key] = true
		typ, err := r.u32("value type of " + key)
		if err != nil {
			return err
		}
		isTemplate := key == "tokenizer.chat_template" || strings.HasPrefix(key, "tokenizer.chat_template.")
		switch {
		case isTemplate && typ == tString:
			tmpl, err := r.str(key, true, limit)
			if err != nil {
				return err
			}
			s.judgeTemplate(key, tmpl)
		case key == "general.alignment" && typ == tUint32:
			a, err := r.u32(key)
			if err != nil {
				return err
			}
			if a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("%w: general.alignment at offset %d is %d, want a power of two", ErrMalformed, keyOff, a)
			}
			alignment = uint64(a)
		default:
			if isTemplate {
				s.add(finding.Medium, "#"+key, "chat template %q has value type %d, not a string: cannot be reviewed", key, typ)
			}
			if err := r.skipValue(typ, key, 0); err != nil {
				return err
			}
		}
	}

	tensors := make([]tensorInfo, 0, min(nTensors, 1<<16))
	names := make(map[string]bool, min(nTensors, 1<<16))
	for i := uint64(0); i < nTensors; i++ {
		name, err := r.str(fmt.Sprintf("tensor %d name", i), true, maxKeyLen)
		if err != nil {
			return err
		}
		if names[name] {
			s.add(finding.High, "#"+name, "duplicate tensor name %q", name)
		}
		names[name] = true
		nd, err := r.u32("n_dims of " + name)
		if err != nil {
			return err
		}
		if nd > maxDims {
			return fmt.Errorf("%w: tensor %q has %d dimensions, at most %d are allowed", ErrMalformed, name, nd, maxDims)
		}
		count, overflow := uint64(1), false
		var ne0 uint64
		for d := uint32(0); d < nd; d++ {
			v, err := r.u64(fmt.Sprintf("dimension %d of %s", d, name))
			if err != nil {
				return err
			}
			if d == 0 {
				ne0 = v
			}
			hi, lo := bits.Mul64(count, v)
			overflow = overflow || hi != 0
			count = lo
		}
		typ, err := r.u32("type of " + name)
		if err != nil {
			return err
		}
		off, err := r.u64("offset of " + name)
		if err != nil {
			return err
		}
		t := tensorInfo{name: name, begin: off}
		if off%alignment != 0 {
			s.add(finding.Medium, "#"+name, "tensor %q offset %d is not a multiple of the alignment %d", name, off, alignment)
		}
		gt, known := ggmlTypes[typ]
		switch {
		case !known:
			s.add(finding.Medium, "#"+name, "tensor %q has unknown ggml type %d: its size cannot be checked", name, typ)
		case overflow:
			s.add(finding.Medium, "#"+name, "tensor %q dimensions overflow 64 bits", name)
		case nd > 0 && ne0%gt.blck != 0:
			s.add(finding.Medium, "#"+name, "tensor %q first dimension %d is not a multiple of its type's block of %d", name, ne0, gt.blck)
		default:
			hi, lo := bits.Mul64(count/gt.blck, gt.size)
			if hi != 0 {
				s.add(finding.Medium, "#"+name, "tensor %q size overflows 64 bits", name)
			} else {
				t.size, t.sized = lo, true
			}
		}
		tensors = append(tensors, t)
	}
	dataStart := (uint64(r.pos) + alignment - 1) / alignment * alignment
	if nTensors > 0 && dataStart > uint64(in.Size) {
		return fmt.Errorf("%w: the tensor data would start at %d, past the end of the %d-byte file", ErrMalformed, dataStart, in.Size)
	}
	s.judgeTensors(tensors, dataStart, uint64(in.Size), alignment)
	return nil
}

// skipValue skips one metadata value of type typ; errors name the key.
func (r *reader) skipValue(typ uint32, key string, depth int) error {
	if err := r.skipAny(typ, depth); err != nil {
		return fmt.Errorf("metadata %q: %w", key, err)
	}
	return nil
}

func (r *reader) skipAny(typ uint32, depth int) error {
	if n, ok := fixedSize[typ]; ok {
		return r.skip(n, "value")
	}
	switch typ {
	case tString:
		_, err := r.str("string value", false, 0)
		return err
	case tArray:
		if depth >= maxArrayDepth {
			return fmt.Errorf("%w: arrays nest deeper than %d", ErrMalformed, maxArrayDepth)
		}
		et, err := r.u32("array type")
		if err != nil {
			return err
		}
		n, err := r.u64("array length")
		if err != nil {
			return err
		}
		if sz, ok := fixedSize[et]; ok {
			hi, lo := bits.Mul64(n, uint64(sz))
			if hi != 0 || lo > uint64(r.size) {
				return fmt.Errorf("%w: array of %d elements at offset %d is larger than the file", ErrMalformed, n, r.pos-12)
			}
			return r.skip(int64(lo), "array")
		}
		// Strings need 8 bytes each at least, arrays 12.
		if n > uint64(r.size-r.pos)/8 {
			return fmt.Errorf("%w: array of %d elements at offset %d cannot fit in the %d bytes left", ErrMalformed, n, r.pos-12, r.size-r.pos)
		}
		for i := uint64(0); i < n; i++ {
			if err := r.skipAny(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unknown value type %d at offset %d", ErrMalformed, typ, r.pos-4)
}

func (s *scan) judgeTemplate(key, tmpl string) {
	v := jinja.Judge(fmt.Sprintf("chat template %q", key), tmpl)
	if v.NotVerified != "" {
		s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.loc + "#" + key, Reason: v.NotVerified})
	}
	if v.Severity != 0 {
		s.add(v.Severity, "#"+key, "%s", v.Reason)
		return
	}
	s.add(finding.Low, "#"+key, "chat template %q (%d bytes) is Jinja2 rendered by the inference server: review it", key, len(tmpl))
}

// judgeTensors checks that the tensors lie inside the data section, do not
// overlap and leave no more than alignment padding unexplained.
func (s *scan) judgeTensors(ts []tensorInfo, dataStart, fileSize, alignment uint64) {
	dataSize := fileSize - min(dataStart, fileSize)
	var sized []tensorInfo
	for _, t := range ts {
		if t.begin > dataSize || t.sized && t.size > dataSize-t.begin {
			s.add(finding.Medium, "#"+t.name, "tensor %q (offset %d, %d bytes) lies past the end of the data section (%d bytes): the file is truncated or forged", t.name, t.begin, t.size, dataSize)
			continue
		}
		if t.sized {
			sized = append(sized, t)
		}
	}
	if len(sized) < len(ts) || len(ts) == 0 {
		return // gaps cannot be judged without every tensor's extent
	}
	slices.SortFunc(sized, func(a, b tensorInfo) int {
		switch {
		case a.begin < b.begin:
			return -1
		case a.begin > b.begin:
			return 1
		}
		return 0
	})
	var pos uint64
	prev := ""
	for _, t := range sized {
		switch {
		case t.begin < pos:
			if t.size > 0 {
				s.add(finding.High, "#"+t.name, "tensor %q overlaps tensor %q: the same bytes are read as two tensors", t.name, prev)
			}
		case t.begin-pos >= alignment:
			s.add(finding.High, fmt.Sprintf("@%d", dataStart+pos), "%d bytes of the data section before tensor %q belong to no tensor: a hidden payload", t.begin-pos, t.name)
		}
		if e := t.begin + t.size; e > pos {
			pos, prev = e, t.name
		}
	}
	if dataSize-pos >= alignment {
		s.add(finding.High, fmt.Sprintf("@%d", dataStart+pos), "%d bytes after the last tensor belong to no tensor: a hidden payload appended to the file", dataSize-pos)
	}
}
