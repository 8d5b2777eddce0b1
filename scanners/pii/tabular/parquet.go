package tabular

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Parquet reads a Parquet file column by column: byte-array (string)
// columns and integer columns are values (integers as decimal text, since
// phone and card numbers are stored as integers too); floats, booleans and
// INT96 timestamps are not. Nested columns are named by their dotted path.
// maxRows > 0 reads at most that many values of each column (sampling).
// It returns the number of rows read (the file's, or maxRows); it stops
// with ctx's error when ctx ends (checked per chunk of 1024 values).
func Parquet(ctx context.Context, r io.ReaderAt, size int64, maxRows int64, lim Limits, cols *Columns, h Handler) (rows int64, err error) {
	lim = lim.withDefaults()
	cols.max = lim.MaxColumns
	defer func() {
		// the parquet library may panic on corrupt files: report, never crash
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt Parquet file: %v", p)
		}
	}()
	f, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return 0, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	paths := f.Schema().Columns()
	if len(paths) > lim.MaxColumns {
		return 0, fmt.Errorf("%d columns, more than %d: %w", len(paths), lim.MaxColumns, ErrLimit)
	}
	colIDs := make([]int, len(paths))
	for i, p := range paths {
		if colIDs[i], err = cols.Add(strings.Join(p, ".")); err != nil {
			return 0, err
		}
	}
	total := f.NumRows()
	if maxRows > 0 && maxRows < total {
		total = maxRows
	}
	buf := make([]parquet.Value, 1024)
	var num []byte
	read := make([]int64, len(paths)) // values read per column, over row groups
	for gi, rg := range f.RowGroups() {
		for ci, chunk := range rg.ColumnChunks() {
			if ci >= len(colIDs) {
				return 0, fmt.Errorf("row group %d has more column chunks than the schema has columns", gi)
			}
			if maxRows > 0 && read[ci] >= maxRows {
				continue
			}
			switch chunk.Type().Kind() {
			case parquet.ByteArray, parquet.FixedLenByteArray, parquet.Int32, parquet.Int64:
			default:
				continue
			}
			vr := parquet.NewColumnChunkValueReader(chunk)
			for {
				if err := ctx.Err(); err != nil {
					vr.Close()
					return 0, err
				}
				n, rerr := vr.ReadValues(buf)
				for _, v := range buf[:n] {
					if maxRows > 0 && read[ci] >= maxRows {
						break
					}
					read[ci]++
					if v.IsNull() || h.Value == nil {
						continue
					}
					switch v.Kind() {
					case parquet.ByteArray, parquet.FixedLenByteArray:
						if b := v.ByteArray(); len(b) > 0 {
							h.Value(colIDs[ci], b)
						}
					case parquet.Int32:
						num = strconv.AppendInt(num[:0], int64(v.Int32()), 10)
						h.Value(colIDs[ci], num)
					case parquet.Int64:
						num = strconv.AppendInt(num[:0], v.Int64(), 10)
						h.Value(colIDs[ci], num)
					}
				}
				if rerr != nil || n == 0 || (maxRows > 0 && read[ci] >= maxRows) {
					vr.Close()
					if rerr != nil && !errors.Is(rerr, io.EOF) {
						return 0, fmt.Errorf("row group %d, column %s: %w", gi, strings.Join(paths[ci], "."), rerr)
					}
					break
				}
			}
		}
	}
	if h.Row != nil {
		h.Row()
	}
	return total, nil
}
