// Package tabular reads the records of dataset files for the PII scanner:
// CSV/TSV, JSON Lines (and single JSON documents), Parquet and plain text.
// Readers stream: they hand each value to a Handler and keep no more than
// one record in memory. Every reader has limits (field and record size,
// columns, JSON nesting) and fails with an error that names the line.
package tabular

import (
	"errors"
	"fmt"
	"strconv"
)

// Limits bound what one file may make a reader do.
type Limits struct {
	// MaxRecordBytes is the longest record (a CSV row, a JSON line, a text
	// line is split at this length instead). Default 16 MiB.
	MaxRecordBytes int
	// MaxColumns is the most distinct columns (CSV fields, JSON key paths)
	// one file may have. Default 4096.
	MaxColumns int
	// MaxDepth is the deepest JSON nesting. Default 64.
	MaxDepth int
}

// DefaultLimits are the limits used when a field is zero.
func DefaultLimits() Limits {
	return Limits{MaxRecordBytes: 16 << 20, MaxColumns: 4096, MaxDepth: 64}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = d.MaxRecordBytes
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// ErrLimit is wrapped by every error caused by a limit.
var ErrLimit = errors.New("limit exceeded")

// ErrMoreValues is returned by JSONDocument when the data holds more than
// one JSON value (JSON Lines under a .json name).
var ErrMoreValues = errors.New("more than one JSON value")

// Handler receives a file's values. Value's v is only valid during the
// call. Row is called after each record; returning false stops the reader
// (sampling). Either may be nil.
type Handler struct {
	Value func(col int, v []byte)
	Row   func() bool
}

// Columns maps column names (CSV header fields, JSON key paths such as
// "user.email" or "tags[]") to small integers, in order of appearance.
type Columns struct {
	names []string
	index map[string]int
	max   int
}

// Names returns the column names; Names()[i] is column i.
func (c *Columns) Names() []string { return c.names }

// Len is the number of columns seen.
func (c *Columns) Len() int { return len(c.names) }

// Add returns the column named name, adding it if it is new.
func (c *Columns) Add(name string) (int, error) {
	if i, ok := c.index[name]; ok {
		return i, nil
	}
	if c.max > 0 && len(c.names) >= c.max {
		return 0, fmt.Errorf("more than %d columns: %w", c.max, ErrLimit)
	}
	if c.index == nil {
		c.index = make(map[string]int)
	}
	c.index[name] = len(c.names)
	c.names = append(c.names, name)
	return len(c.names) - 1, nil
}

func unnamed(i int) string { return "column_" + strconv.Itoa(i+1) }
