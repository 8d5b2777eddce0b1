package tabular

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// Text reads plain text line by line; every line is a value of column 0
// (named "" by the caller). Lines longer than MaxRecordBytes are handed
// over in pieces of that size (an entity across a cut may be missed).
// It returns the number of lines; it stops with ctx's error when ctx ends
// (checked per line).
func Text(ctx context.Context, r io.Reader, lim Limits, h Handler) (int64, error) {
	lim = lim.withDefaults()
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		lines int64
		buf   []byte
	)
	for {
		if err := ctx.Err(); err != nil {
			return lines, err
		}
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			buf = append(buf[:0], b...)
			for err == bufio.ErrBufferFull && len(buf) < lim.MaxRecordBytes {
				b, err = br.ReadSlice('\n')
				buf = append(buf, b...)
			}
			if err == bufio.ErrBufferFull {
				err = nil // a piece of a long line
			}
			b = buf
		}
		if err != nil && err != io.EOF {
			return lines, fmt.Errorf("line %d: %w", lines+1, err)
		}
		if len(b) > 0 {
			if n := len(b); b[n-1] == '\n' {
				b = b[:n-1]
				if n := len(b); n > 0 && b[n-1] == '\r' {
					b = b[:n-1]
				}
			}
			if len(b) > 0 && h.Value != nil {
				h.Value(0, b)
			}
			lines++
			if h.Row != nil && !h.Row() {
				return lines, nil
			}
		}
		if err == io.EOF {
			return lines, nil
		}
	}
}
