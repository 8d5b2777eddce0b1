package fairness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/scanners/pii/tabular"
)

// FormatOf names the format of a predictions file from its extension:
// csv, tsv, jsonl or parquet.
func FormatOf(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "csv", nil
	case ".tsv", ".tab":
		return "tsv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	case ".parquet":
		return "parquet", nil
	}
	return "", badInput("%s: unknown predictions format (want .csv, .tsv, .jsonl, .ndjson or .parquet)", path)
}

// Scan computes fairness/v1 evidence from the predictions file at path.
// The file is opened without blocking; a FIFO, device or socket is
// refused. The evidence's predictions name path and the sha256 of its bytes.
func Scan(ctx context.Context, path string, o Options) (*Evidence, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	// open first: a FIFO or device is named as such, whatever its name
	f, err := readlimit.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer f.Close()
	format := o.Format
	if format == "" {
		if format, err = FormatOf(path); err != nil {
			return nil, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > o.Limits.MaxBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d: %w", path, fi.Size(), o.Limits.MaxBytes, ErrLimit)
	}
	stop := readlimit.CloseOnDone(ctx, f)
	defer stop()
	var ev *Evidence
	h := sha256.New()
	var n int64
	if format == "parquet" {
		// hash first (the Parquet reader seeks), then read the rows
		if n, err = io.Copy(h, io.LimitReader(f, o.Limits.MaxBytes+1)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if n != fi.Size() {
			return nil, fmt.Errorf("%s: changed while it was read (%d bytes, %d expected)", path, n, fi.Size())
		}
		ev, err = scanParquet(ctx, f, n, o)
	} else {
		cr := &countingReader{r: f, h: h, max: o.Limits.MaxBytes}
		ev, err = ScanReader(ctx, cr, format, o)
		if err == nil {
			_, err = io.Copy(io.Discard, cr) // hash what a reader left unread
		}
		n = cr.n
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ev.Predictions = &Predictions{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n, Format: format}
	return ev, nil
}

// countingReader hashes and counts what passes and refuses more than max bytes.
type countingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("more than %d bytes: %w", c.max, ErrLimit)
	}
	return n, err
}

// ScanReader computes evidence from a CSV, TSV or JSON Lines stream
// (format "csv", "tsv" or "jsonl"). The evidence names no predictions file.
func ScanReader(ctx context.Context, r io.Reader, format string, o Options) (*Evidence, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	a := newAccum(o)
	var err error
	switch format {
	case "csv":
		err = readCSV(ctx, r, ',', a)
	case "tsv":
		err = readCSV(ctx, r, '\t', a)
	case "jsonl":
		err = readJSONL(ctx, r, a)
	default:
		return nil, badInput("format %q: want csv, tsv or jsonl (parquet needs a file)", format)
	}
	if err != nil {
		return nil, err
	}
	return a.finish()
}

// wanted lists the columns of the slots: label, prediction, score, groups.
func wanted(o Options) []string {
	return append([]string{o.Label, o.Prediction, o.Score}, o.Groups...)
}

func roleOf(slot int) string {
	switch slot {
	case slotLabel:
		return "label"
	case slotPred:
		return "prediction"
	case slotScore:
		return "score"
	}
	return "group"
}

// missingColumn is the error for a column the file does not have.
func missingColumn(slot int, col string, have []string) error {
	list := have
	if len(list) > 20 {
		list = append(list[:20:20], "...")
	}
	for i := range list {
		list[i] = strconv.Quote(list[i])
	}
	return badInput("no %s column %q (the file has %s)", roleOf(slot), col, strings.Join(list, ", "))
}

// readCSV adapts tabular.CSV (which hands values column by column) to rows.
func readCSV(ctx context.Context, r io.Reader, sep byte, a *accum) error {
	want := wanted(a.o)
	slotOf := []int{} // file column -> slot, or -1
	vals := make([][]byte, len(want))
	has := make([]bool, len(want))
	var cols tabular.Columns
	checked := false
	var rowErr error
	check := func() error {
		names := cols.Names()
		for s, w := range want {
			if w == "" {
				continue
			}
			found := false
			for _, n := range names {
				if n == w {
					found = true
					break
				}
			}
			if !found {
				return missingColumn(s, w, append([]string(nil), names...))
			}
		}
		return nil
	}
	var line int64
	h := tabular.Handler{
		Value: func(col int, v []byte) {
			for col >= len(slotOf) {
				name := cols.Names()[len(slotOf)]
				s := -1
				for i, w := range want {
					if w != "" && w == name {
						s = i
						break
					}
				}
				slotOf = append(slotOf, s)
			}
			if s := slotOf[col]; s >= 0 {
				vals[s] = append(vals[s][:0], bytes.TrimSpace(v)...)
				has[s] = true
			}
		},
		Row: func() bool {
			line++
			if !checked {
				checked = true
				if rowErr = check(); rowErr != nil {
					return false
				}
			}
			if rowErr = a.row(vals, has, rowRef{"data row", line}); rowErr != nil {
				return false
			}
			clear(has)
			return true
		},
	}
	lim := tabular.Limits{MaxRecordBytes: a.o.Limits.MaxRecordBytes, MaxColumns: a.o.Limits.MaxColumns}
	_, err := tabular.CSV(ctx, r, sep, lim, &cols, h)
	if rowErr != nil {
		return rowErr
	}
	if err != nil {
		return limitErr(err)
	}
	if cols.Len() == 0 {
		return badInput("empty file: no header row")
	}
	if !checked {
		return check()
	}
	return nil
}

// limitErr marks tabular's limit errors as ours too.
func limitErr(err error) error {
	if errors.Is(err, tabular.ErrLimit) && !errors.Is(err, ErrLimit) {
		return fmt.Errorf("%w (%w)", err, ErrLimit)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrLimit) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInput, err)
}

// readJSONL reads JSON Lines through tabular.JSONL (line length and
// nesting limits) and takes each object's top-level keys as columns:
// strings and numbers as their text, booleans as true/false, null as
// missing. Nested objects and arrays are refused in a wanted column.
func readJSONL(ctx context.Context, r io.Reader, a *accum) error {
	want := wanted(a.o)
	vals := make([][]byte, len(want))
	has := make([]bool, len(want))
	seen := make([]bool, len(want))
	var rec []byte
	var rowErr error
	var record int64
	obj := map[string]json.RawMessage{}
	var cols tabular.Columns
	h := tabular.Handler{Row: func() bool {
		record++
		where := rowRef{"record", record}
		clear(obj)
		clear(has)
		if len(rec) == 0 || rec[0] != '{' {
			rowErr = badInput("%s: not a JSON object", where)
			return false
		}
		if err := json.Unmarshal(rec, &obj); err != nil {
			rowErr = badInput("%s: %v", where, err)
			return false
		}
		for s, w := range want {
			if w == "" {
				continue
			}
			raw, ok := obj[w]
			if !ok {
				continue
			}
			seen[s] = true
			v, present, err := jsonScalar(raw, vals[s][:0])
			if err != nil {
				rowErr = badInput("%s: column %q: %v", where, w, err)
				return false
			}
			vals[s], has[s] = v, present
		}
		if rowErr = a.row(vals, has, where); rowErr != nil {
			return false
		}
		return true
	}}
	lim := tabular.Limits{MaxRecordBytes: a.o.Limits.MaxRecordBytes, MaxColumns: a.o.Limits.MaxColumns, MaxDepth: 64}
	_, err := tabular.JSONL(ctx, r, lim, &cols, h, func(b []byte) { rec = b })
	if rowErr != nil {
		return rowErr
	}
	if err != nil {
		return limitErr(err)
	}
	if record > 0 {
		for s, w := range want {
			if w != "" && !seen[s] {
				return badInput("no %s column %q: no record has the key", roleOf(s), w)
			}
		}
	}
	return nil
}

// jsonScalar returns a JSON value's text: a string unquoted, a number as
// written, a boolean as true/false; null is absent.
func jsonScalar(raw json.RawMessage, dst []byte) ([]byte, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return dst, false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return dst, false, err
		}
		return append(dst, strings.TrimSpace(s)...), true, nil
	case 'n':
		return dst, false, nil
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return append(dst, raw...), true, nil
	}
	return dst, false, errors.New("want a string, number, boolean or null, not an object or array")
}

// scanParquet reads a Parquet file row by row (tabular.Parquet reads
// column by column and skips floats and booleans, which labels and
// scores are: this is the row adapter). Columns are leaf paths joined by
// dots; a repeated column is refused.
func scanParquet(ctx context.Context, ra io.ReaderAt, size int64, o Options) (ev *Evidence, err error) {
	defer func() {
		// the parquet library may panic on corrupt files: report, never crash
		if p := recover(); p != nil {
			ev, err = nil, badInput("corrupt Parquet file: %v", p)
		}
	}()
	f, err := parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, badInput("not a readable Parquet file: %v", err)
	}
	paths := f.Schema().Columns()
	if len(paths) > o.Limits.MaxColumns {
		return nil, fmt.Errorf("%d columns, more than %d: %w", len(paths), o.Limits.MaxColumns, ErrLimit)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.Join(p, ".")
	}
	want := wanted(o)
	slotOf := make([]int, len(paths))
	for i := range slotOf {
		slotOf[i] = -1
	}
	for s, w := range want {
		if w == "" {
			continue
		}
		found := false
		for i, n := range names {
			if n == w {
				slotOf[i], found = s, true
			}
		}
		if !found {
			return nil, missingColumn(s, w, names)
		}
	}
	a := newAccum(o)
	vals := make([][]byte, len(want))
	has := make([]bool, len(want))
	buf := make([]parquet.Row, 256)
	var rowNo int64
	for gi, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return nil, err
			}
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				rowNo++
				clear(has)
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(slotOf) || slotOf[c] < 0 {
						continue
					}
					s := slotOf[c]
					if v.IsNull() {
						continue
					}
					if has[s] {
						rows.Close()
						return nil, badInput("row %d: column %q holds more than one value (a repeated column)", rowNo, names[c])
					}
					vals[s], has[s] = parquetText(vals[s][:0], v), true
				}
				if err := a.row(vals, has, rowRef{"row", rowNo}); err != nil {
					rows.Close()
					return nil, err
				}
			}
			if rerr != nil || n == 0 {
				rows.Close()
				if rerr != nil && !errors.Is(rerr, io.EOF) {
					return nil, badInput("row group %d: %v", gi, rerr)
				}
				break
			}
		}
	}
	return a.finish()
}

func parquetText(dst []byte, v parquet.Value) []byte {
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.AppendBool(dst, v.Boolean())
	case parquet.Int32:
		return strconv.AppendInt(dst, int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case parquet.Float:
		return strconv.AppendFloat(dst, float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.AppendFloat(dst, v.Double(), 'g', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return append(dst, bytes.TrimSpace(v.ByteArray())...)
	}
	return append(dst, v.String()...)
}
