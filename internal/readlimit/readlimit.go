// Package readlimit reads files of outside input with a size bound, so a
// huge or endless file (a FIFO, /dev/zero) is refused instead of read.
package readlimit

import (
	"fmt"
	"io"
	"os"
)

// File reads path whole, refusing a file larger than limit bytes.
func File(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the limit of %d bytes", path, limit)
	}
	return data, nil
}
