package tabular

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// CSV reads delimiter-separated values (comma for CSV, '\t' for TSV) as
// RFC 4180 describes them, leniently: quoted fields may hold separators,
// doubled quotes and newlines; a quote inside an unquoted field is a
// literal; text after a closing quote is kept; rows may have any number of
// fields. The first record is the header; empty header names become
// "column_N". CRLF line ends are accepted. It returns the number of data
// rows read. It stops with ctx's error when ctx ends (checked per record).
func CSV(ctx context.Context, r io.Reader, sep byte, lim Limits, cols *Columns, h Handler) (int64, error) {
	lim = lim.withDefaults()
	cols.max = lim.MaxColumns
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		rows     int64
		line     int64 // physical line of the record's start, for errors
		fields   [][]byte
		scratch  []byte
		colIndex []int // field position -> column
		header   = true
		q        quoteBufs
	)
	for {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		line++
		rec, err := readLine(br, &scratch, lim.MaxRecordBytes)
		if err != nil {
			if err == io.EOF {
				return rows, nil
			}
			return rows, fmt.Errorf("line %d: %w", line, err)
		}
		start := line
		fields = fields[:0]
		if bytes.IndexByte(rec, '"') < 0 {
			fields = splitPlain(fields, rec, sep)
		} else {
			var extra int64
			fields, extra, err = q.split(fields, rec, sep, br, &scratch, lim.MaxRecordBytes)
			line += extra
			if err != nil {
				return rows, fmt.Errorf("record at line %d: %w", start, err)
			}
		}
		if header {
			header = false
			for i, f := range fields {
				name := string(bytes.TrimSpace(f))
				if i == 0 {
					name = string(bytes.TrimPrefix([]byte(name), []byte("\xef\xbb\xbf"))) // UTF-8 BOM
				}
				if name == "" {
					name = unnamed(i)
				}
				c, err := cols.Add(name)
				if err != nil {
					return 0, fmt.Errorf("header: %w", err)
				}
				colIndex = append(colIndex, c)
			}
			continue
		}
		if len(fields) == 1 && len(fields[0]) == 0 {
			continue // blank line
		}
		for i, f := range fields {
			if len(f) == 0 {
				continue
			}
			for i >= len(colIndex) {
				c, err := cols.Add(unnamed(len(colIndex)))
				if err != nil {
					return rows, fmt.Errorf("record at line %d: %w", start, err)
				}
				colIndex = append(colIndex, c)
			}
			if h.Value != nil {
				h.Value(colIndex[i], f)
			}
		}
		rows++
		if h.Row != nil && !h.Row() {
			return rows, nil
		}
	}
}

// readLine returns the next line without its line end. The slice is valid
// until the next call. Lines longer than max are an error.
func readLine(br *bufio.Reader, scratch *[]byte, max int) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*scratch = append((*scratch)[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(*scratch) > max {
				return nil, fmt.Errorf("line longer than %d bytes: %w", max, ErrLimit)
			}
			b, err = br.ReadSlice('\n')
			*scratch = append(*scratch, b...)
		}
		b = *scratch
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	if len(b) > max {
		return nil, fmt.Errorf("line longer than %d bytes: %w", max, ErrLimit)
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, nil
}

func splitPlain(dst [][]byte, rec []byte, sep byte) [][]byte {
	for {
		i := bytes.IndexByte(rec, sep)
		if i < 0 {
			return append(dst, rec)
		}
		dst = append(dst, rec[:i])
		rec = rec[i+1:]
	}
}

var errUnterminated = errors.New("quoted field not closed before the end of the file")

// quoteBufs are the buffers of split, reused from record to record.
type quoteBufs struct {
	line, out []byte
	bounds    []int
}

// split splits a record holding quotes; a quoted field may continue on the
// following lines, read from br. Fields are copied into one buffer (quotes
// undone), so they stay valid until the next record.
func (q *quoteBufs) split(dst [][]byte, rec []byte, sep byte, br *bufio.Reader, scratch *[]byte, max int) ([][]byte, int64, error) {
	// rec may alias *scratch: copy the line first
	line := append(q.line[:0], rec...)
	out := q.out[:0]
	bounds := q.bounds[:0] // end offset of each field in out
	defer func() { q.line, q.out, q.bounds = line, out, bounds }()
	var extra int64
	i := 0
	for {
		// one field from line[i:]
		if i < len(line) && line[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					// field continues on the next line
					out = append(out, line[i:]...)
					out = append(out, '\n')
					if len(out) > max {
						return nil, extra, fmt.Errorf("record longer than %d bytes: %w", max, ErrLimit)
					}
					next, err := readLine(br, scratch, max)
					if err == io.EOF {
						return nil, extra, errUnterminated
					}
					if err != nil {
						return nil, extra, err
					}
					extra++
					line = append(line[:0], next...)
					i = 0
					continue
				}
				out = append(out, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					out = append(out, '"')
					i++
					continue
				}
				break
			}
		}
		// unquoted text (or text after a closing quote) up to the separator
		j := bytes.IndexByte(line[i:], sep)
		if j < 0 {
			out = append(out, line[i:]...)
			bounds = append(bounds, len(out))
			break
		}
		out = append(out, line[i:i+j]...)
		bounds = append(bounds, len(out))
		i += j + 1
	}
	prev := 0
	for _, b := range bounds {
		dst = append(dst, out[prev:b:b])
		prev = b
	}
	return dst, extra, nil
}
