// Package safetensors checks a safetensors file's header: the JSON table of
// tensors must describe the data section exactly. Bytes no tensor covers
// (room for a hidden payload or a second file format) and duplicate keys
// (two parsers may pick different values) are findings. A header a loader
// rejects as malformed (overlapping tensors, offsets past the data, unknown
// dtypes, impossible shapes, sizes that disagree with shapes) is not
// verified: it is not a payload, but nothing about the file is known.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON (an object,
// optionally padded with spaces), then the data section; tensor
// data_offsets are relative to the start of the data section.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// Format is the name reported in Result.Format.
const Format = "safetensors"

// maxFindings bounds the findings of one file; past it one summary finding
// says how many more there were.
const maxFindings = 200

// dtypeBits is the size of one element of each dtype known to the
// safetensors specification (bits, since F4/F6 pack below a byte).
var dtypeBits = map[string]uint64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
}

// Detect reports whether head (the first bytes of a file) looks like a
// safetensors file: a plausible header length followed by '{'.
func Detect(head []byte) bool {
	if len(head) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	return n >= 2 && n < 1<<40 && head[8] == '{'
}

// ErrMalformed is wrapped by every error about a file that is not a
// readable safetensors file.
var ErrMalformed = errors.New("malformed safetensors file")

type tensor struct {
	name       string
	begin, end uint64
}

type scan struct {
	loc       string
	dataStart uint64 // file offset of the data section
	res       finding.Result
	dropped   int
	// rejected counts tensor entries a loader would refuse; with any, the
	// coverage of the data section cannot be judged.
	rejected int
}

func (s *scan) add(sev finding.Severity, where, format string, args ...any) {
	if len(s.res.Findings) >= maxFindings {
		s.dropped++
		return
	}
	s.res.Findings = append(s.res.Findings, finding.Finding{Severity: sev, Location: s.loc + where, Reason: fmt.Sprintf(format, args...)})
}

// reject records a header entry a loader refuses: not verified, not a finding.
func (s *scan) reject(where, format string, args ...any) {
	s.rejected++
	if len(s.res.NotVerified) >= maxFindings {
		s.dropped++
		return
	}
	s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.loc + where,
		Reason: "malformed safetensors header: " + fmt.Sprintf(format, args...) + "; loaders reject the file"})
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Scan reads and judges the header of one safetensors file. Tensor data is
// not read. An error means the header cannot be read as safetensors (the
// findings gathered so far are still returned).
func Scan(in finding.Input) (finding.Result, error) {
	s := &scan{loc: in.Location, res: finding.Result{Format: Format}}
	maxHeader := in.Limits.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = finding.DefaultLimits().MaxHeaderBytes
	}
	if in.Size < 8 {
		return s.res, malformed("file is %d bytes, shorter than the 8-byte header length", in.Size)
	}
	var lenBuf [8]byte
	if _, err := in.R.ReadAt(lenBuf[:], 0); err != nil {
		return s.res, fmt.Errorf("read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > uint64(in.Size-8) {
		return s.res, malformed("header length %d exceeds the %d bytes after the length field", n, in.Size-8)
	}
	if n > uint64(maxHeader) {
		return s.res, fmt.Errorf("header length %d exceeds the limit of %d bytes (raise MaxHeaderBytes to scan it)", n, maxHeader)
	}
	hdr := make([]byte, n)
	if _, err := in.R.ReadAt(hdr, 8); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return s.res, fmt.Errorf("read %d-byte header: %w", n, err)
	}
	dataSize := uint64(in.Size) - 8 - n
	s.dataStart = 8 + n
	err := s.judgeHeader(hdr, dataSize)
	if s.dropped > 0 {
		s.res.NotVerified = append(s.res.NotVerified, finding.NotVerified{Location: s.loc,
			Reason: fmt.Sprintf("%d more header violations not listed (first %d of each kind shown)", s.dropped, maxFindings)})
	}
	return s.res, err
}

// HeaderResult judges a header already in memory (hdr is the JSON, dataSize
// the length of the data section after it). It is Scan without the I/O, for
// benchmarks and callers that hold the bytes.
func HeaderResult(hdr []byte, dataSize uint64, loc string) (finding.Result, error) {
	s := &scan{loc: loc, res: finding.Result{Format: Format}, dataStart: 8 + uint64(len(hdr))}
	err := s.judgeHeader(hdr, dataSize)
	return s.res, err
}

func (s *scan) judgeHeader(hdr []byte, dataSize uint64) error {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return malformed("header is not JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return malformed("header is not a JSON object")
	}
	seen := make(map[string]bool)
	var tensors []tensor
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed("header JSON: %v", err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed("header JSON at key %q: %v", key, err)
		}
		if seen[key] {
			s.add(finding.High, "#"+key, "duplicate header key %q: parsers disagree on which entry wins, so the file may load differently from how it was checked", key)
			continue
		}
		seen[key] = true
		if key == "__metadata__" {
			s.judgeMetadata(raw)
			continue
		}
		t, ok, err := s.judgeTensor(key, raw, dataSize)
		if err != nil {
			return err
		}
		if ok {
			tensors = append(tensors, t)
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed("header JSON: %v", err)
	}
	// After the object only padding (spaces) may follow.
	rest := hdr[dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		s.add(finding.High, fmt.Sprintf("@%d", 8+int64(len(hdr)-len(trimmed))),
			"%d bytes of non-whitespace data after the header's JSON object: a hidden payload inside the header", len(trimmed))
	}
	if s.rejected == 0 {
		// With a rejected tensor the table does not say where its bytes
		// are, so uncovered bytes are not evidence of a hidden payload.
		s.judgeCoverage(tensors, dataSize)
	}
	return nil
}

func (s *scan) judgeMetadata(raw json.RawMessage) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		s.reject("#__metadata__", "__metadata__ is not a JSON object of strings")
		return
	}
	for k, v := range m {
		if _, ok := v.(string); !ok {
			s.reject("#__metadata__", "__metadata__ value %q is not a string", k)
		}
	}
}

type tensorJSON struct {
	Dtype       *string       `json:"dtype"`
	Shape       []json.Number `json:"shape"`
	DataOffsets []json.Number `json:"data_offsets"`
}

// judgeTensor checks one tensor entry; ok is false when its offsets are
// unusable for the coverage check.
func (s *scan) judgeTensor(name string, raw json.RawMessage, dataSize uint64) (tensor, bool, error) {
	where := "#" + name
	var tj tensorJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return tensor{}, false, malformed("tensor %q: want an object with dtype, shape and data_offsets: %v", name, err)
	}
	if tj.Dtype == nil || tj.Shape == nil || tj.DataOffsets == nil {
		s.reject(where, "tensor entry lacks dtype, shape or data_offsets")
		return tensor{}, false, nil
	}
	if len(tj.DataOffsets) != 2 {
		s.reject(where, "data_offsets has %d values, want [begin, end]", len(tj.DataOffsets))
		return tensor{}, false, nil
	}
	begin, err1 := strconv.ParseUint(tj.DataOffsets[0].String(), 10, 64)
	end, err2 := strconv.ParseUint(tj.DataOffsets[1].String(), 10, 64)
	if err1 != nil || err2 != nil {
		s.reject(where, "data_offsets %v are not non-negative integers", tj.DataOffsets)
		return tensor{}, false, nil
	}
	t := tensor{name: name, begin: begin, end: end}
	usable := true
	if begin > end {
		s.reject(where, "data_offsets begin %d is after end %d", begin, end)
		usable = false
	} else if end > dataSize {
		s.reject(where, "data_offsets end %d is past the %d-byte data section", end, dataSize)
		usable = false
	}
	elemBits, known := dtypeBits[*tj.Dtype]
	if !known {
		s.reject(where, "unknown dtype %q", *tj.Dtype)
	}
	// Element count, overflow-safe.
	count, overflow, shapeOK := uint64(1), false, true
	for _, d := range tj.Shape {
		v, err := strconv.ParseInt(d.String(), 10, 64)
		if err != nil || v < 0 {
			s.reject(where, "shape %v has a dimension that is not a non-negative integer", tj.Shape)
			shapeOK = false
			break
		}
		hi, lo := bits.Mul64(count, uint64(v))
		if hi != 0 {
			overflow = true
		}
		count = lo
	}
	if known && shapeOK && usable {
		hi, totalBits := bits.Mul64(count, elemBits)
		switch {
		case overflow || hi != 0:
			s.reject(where, "shape %v overflows 64 bits", tj.Shape)
		case totalBits%8 != 0:
			s.reject(where, "shape %v of %s is not a whole number of bytes", tj.Shape, *tj.Dtype)
		case totalBits/8 != end-begin:
			s.reject(where, "shape %v of %s needs %d bytes but data_offsets span %d", tj.Shape, *tj.Dtype, totalBits/8, end-begin)
		}
	}
	return t, usable, nil
}

// judgeCoverage: the tensors, sorted by offset, must tile the data section
// with no gap, no overlap and nothing after the last one.
func (s *scan) judgeCoverage(ts []tensor, dataSize uint64) {
	slices.SortFunc(ts, func(a, b tensor) int {
		if a.begin != b.begin {
			if a.begin < b.begin {
				return -1
			}
			return 1
		}
		if a.end != b.end {
			if a.end < b.end {
				return -1
			}
			return 1
		}
		return 0
	})
	var pos uint64
	prev := ""
	for _, t := range ts {
		switch {
		case t.begin > pos:
			s.add(finding.High, fmt.Sprintf("#%s", t.name), "%d bytes of the data section before tensor %q belong to no tensor: a hidden payload", t.begin-pos, t.name)
		case t.begin < pos && t.end > t.begin:
			s.reject("#"+t.name, "tensor %q overlaps tensor %q (the same bytes read as two tensors)", t.name, prev)
		}
		if t.end > pos {
			pos = t.end
			prev = t.name
		}
	}
	if pos < dataSize {
		s.add(finding.High, fmt.Sprintf("@%d", s.dataStart+pos), "%d bytes after the last tensor belong to no tensor: a hidden payload appended to the file", dataSize-pos)
	}
}
