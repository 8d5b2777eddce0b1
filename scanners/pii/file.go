package pii

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/scanners/pii/detect"
	"github.com/gatehouse-dev/gatehouse/scanners/pii/tabular"
)

type format int

const (
	fmtText format = iota
	fmtCSV
	fmtTSV
	fmtJSONL
	fmtJSON
	fmtParquet
	fmtBinary
)

// Extensions of formats that hold no text the scanner could read.
var binaryExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".webp": true, ".tif": true, ".tiff": true,
	".wav": true, ".mp3": true, ".flac": true, ".ogg": true, ".mp4": true, ".avi": true, ".mov": true, ".mkv": true,
	".zip": true, ".tar": true, ".7z": true, ".rar": true, ".bz2": true, ".xz": true, ".zst": true,
	".npy": true, ".npz": true, ".pt": true, ".pth": true, ".bin": true, ".safetensors": true, ".onnx": true,
	".h5": true, ".hdf5": true, ".pkl": true, ".pickle": true, ".arrow": true, ".feather": true, ".tfrecord": true,
	".avro": true, ".orc": true, ".pdf": true, ".db": true, ".sqlite": true, ".lance": true,
}

// formatOf picks the reader from the extension (after ".gz") and, when the
// extension says nothing, from the first bytes.
func formatOf(name string, head []byte) format {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".csv":
		return fmtCSV
	case ".tsv", ".tab":
		return fmtTSV
	case ".jsonl", ".ndjson", ".jsonlines":
		return fmtJSONL
	case ".json":
		return fmtJSON
	case ".parquet", ".pq":
		return fmtParquet
	}
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return fmtParquet
	}
	if binaryExt[ext] || !looksText(head) {
		return fmtBinary
	}
	return fmtText
}

// looksText: no NUL byte and mostly valid UTF-8 in the first bytes.
func looksText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	bad := 0
	for i := 0; i < len(head); {
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n == 1 && len(head)-i >= utf8.UTFMax {
			bad++
		}
		i += n
	}
	return bad*20 <= len(head) // at most 5% invalid: Latin-1 text passes
}

type fileResult struct {
	file     string
	rows     int64
	bytes    int64
	findings []Finding
	err      error
	skipped  string
}

// counter counts the bytes read through it and fails past max or once
// ctx ends (so a JSON document or gzip stream read whole stops too).
type counter struct {
	ctx context.Context
	r   io.Reader
	n   int64
	max int64
}

var errTooLarge = errors.New("file too large")

func (c *counter) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("more than %d bytes (after decompression): %w", c.max, errTooLarge)
	}
	return n, err
}

type agg struct {
	count   int64
	example string
	conf    float64
}

// fileScan is the state of one file's scan.
type fileScan struct {
	o       Options
	cols    tabular.Columns
	ctx     []detect.Column
	aggs    [][detect.NumEntities]*agg
	matches []detect.Match
	records int64
	cnt     *counter
}

func (s *fileScan) value(col int, v []byte) {
	for col >= len(s.ctx) {
		s.ctx = append(s.ctx, detect.ColumnContext(s.cols.Names()[len(s.ctx)]))
		s.aggs = append(s.aggs, [detect.NumEntities]*agg{})
	}
	s.matches = detect.Scan(s.matches[:0], v, s.ctx[col])
	for _, m := range s.matches {
		s.add(col, m.Entity, m.Confidence, v[m.Start:m.End])
	}
}

func (s *fileScan) add(col int, e detect.Entity, conf float64, v []byte) {
	for col >= len(s.aggs) {
		s.ctx = append(s.ctx, detect.ColumnContext(s.cols.Names()[len(s.ctx)]))
		s.aggs = append(s.aggs, [detect.NumEntities]*agg{})
	}
	a := s.aggs[col][e]
	if a == nil {
		a = &agg{example: detect.Redact(e, v)}
		s.aggs[col][e] = a
	}
	a.count++
	a.conf = max(a.conf, conf)
}

func (s *fileScan) row() bool {
	s.records++
	if s.o.SampleRows > 0 && s.records >= s.o.SampleRows {
		return false
	}
	if s.o.SampleBytes > 0 && s.cnt.n >= s.o.SampleBytes {
		return false
	}
	return true
}

func (s *fileScan) handler() tabular.Handler {
	return tabular.Handler{Value: s.value, Row: s.row}
}

// raw sees whole JSON lines and documents: a GCP service-account key file
// is one finding on the column "" (the key's fields are split over columns).
func (s *fileScan) raw(b []byte) {
	if detect.ServiceAccountJSON(b) {
		col, _ := s.textColumn()
		s.add(col, detect.GCPServiceAccountKey, 1, b)
	}
}

func (s *fileScan) textColumn() (int, error) {
	return s.cols.Add("")
}

// errEmpty marks a file with no records: nothing in it was verified.
var errEmpty = errors.New("empty: no records to scan, so nothing was verified")

func scanFile(ctx context.Context, path string, o Options) (res fileResult) {
	res.file = path
	f, err := readlimit.Open(path)
	if err != nil {
		res.err = err
		return res
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		res.err = err
		return res
	}
	s := &fileScan{o: o}
	name := path
	var r io.Reader = f
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(8 << 10)
	gz := strings.EqualFold(filepath.Ext(path), ".gz") || bytes.HasPrefix(head, []byte{0x1f, 0x8b})
	r = br
	if gz {
		name = strings.TrimSuffix(strings.TrimSuffix(path, filepath.Ext(path)), ".gz")
		if !bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
			res.err = errors.New("named .gz but not gzip data")
			return res
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			res.err = fmt.Errorf("gzip: %w", err)
			return res
		}
		defer zr.Close()
		gbr := bufio.NewReaderSize(zr, 64<<10)
		head, _ = gbr.Peek(8 << 10)
		r = gbr
	} else if st.Size() > o.MaxFileSize {
		res.err = fmt.Errorf("%d bytes, more than the %d-byte limit: raise it or scan with --sample", st.Size(), o.MaxFileSize)
		return res
	}
	s.cnt = &counter{ctx: ctx, r: r, max: o.MaxFileSize}
	h := s.handler()
	lim := o.Limits
	switch formatOf(name, head) {
	case fmtBinary:
		res.skipped = "binary content: no text to scan"
		return res
	case fmtCSV:
		res.rows, res.err = tabular.CSV(ctx, s.cnt, ',', lim, &s.cols, h)
	case fmtTSV:
		res.rows, res.err = tabular.CSV(ctx, s.cnt, '\t', lim, &s.cols, h)
	case fmtJSONL:
		res.rows, res.err = tabular.JSONL(ctx, s.cnt, lim, &s.cols, h, s.raw)
	case fmtJSON:
		res.rows, res.err = s.jsonFile(ctx, lim, h)
	case fmtParquet:
		if gz {
			res.err = errors.New("gzip-compressed Parquet is not read: Parquet compresses its pages itself; decompress the file")
			return res
		}
		res.rows, res.err = tabular.Parquet(ctx, f, st.Size(), o.SampleRows, lim, &s.cols, h)
		s.cnt.n = st.Size()
	default:
		var col int
		if col, res.err = s.textColumn(); res.err == nil {
			res.rows, res.err = tabular.Text(ctx, s.cnt, lim, tabular.Handler{
				Value: func(_ int, v []byte) { s.value(col, v) }, Row: s.row})
		}
	}
	res.bytes = s.cnt.n
	if res.err == nil && res.rows == 0 {
		res.err = errEmpty
	}
	if res.err != nil {
		res.err = fmt.Errorf("%s: %w", filepath.Base(path), res.err)
	}
	names := s.cols.Names()
	for c, byEnt := range s.aggs {
		for e, a := range byEnt {
			if a == nil {
				continue
			}
			rate := 0.0
			if res.rows > 0 {
				rate = float64(a.count) / float64(res.rows)
			}
			ent := detect.Entity(e)
			res.findings = append(res.findings, Finding{
				File: path, Column: names[c], Entity: ent.String(), Count: a.count,
				Rate: round4(rate), Example: a.example, Confidence: a.conf, Secret: ent.Secret(),
			})
		}
	}
	return res
}

// jsonFile reads a .json file: one document (an array of records or one
// object), or JSON Lines under a .json name.
func (s *fileScan) jsonFile(ctx context.Context, lim tabular.Limits, h tabular.Handler) (int64, error) {
	data, err := io.ReadAll(io.LimitReader(s.cnt, s.o.MaxJSONDocument+1))
	if err != nil {
		return 0, err
	}
	if int64(len(data)) > s.o.MaxJSONDocument {
		return 0, fmt.Errorf("JSON document larger than %d bytes: use JSON Lines (.jsonl) for large datasets", s.o.MaxJSONDocument)
	}
	s.raw(data)
	rows, err := tabular.JSONDocument(ctx, data, lim, &s.cols, h)
	if errors.Is(err, tabular.ErrMoreValues) {
		return tabular.JSONL(ctx, bytes.NewReader(data), lim, &s.cols, h, nil)
	}
	return rows, err
}

func round4(x float64) float64 {
	return float64(int64(x*10000+0.5)) / 10000
}
