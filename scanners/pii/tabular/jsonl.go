package tabular

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// JSONL reads JSON Lines: one JSON value per line, blank lines skipped.
// Objects are flattened to key paths ("user.email"; array elements share
// the path "tags[]"); strings and numbers are values, booleans and nulls
// are not. A line that is not an object is column "$". Raw, if not nil,
// sees each line's bytes before it is decoded (the scanner looks for
// service-account key files there). It returns the number of records; it
// stops with ctx's error when ctx ends (checked per line).
func JSONL(ctx context.Context, r io.Reader, lim Limits, cols *Columns, h Handler, raw func([]byte)) (int64, error) {
	lim = lim.withDefaults()
	cols.max = lim.MaxColumns
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		rows    int64
		line    int64
		scratch []byte
		fl      flattener
	)
	fl.cols, fl.h = cols, h
	for {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		line++
		rec, err := readLine(br, &scratch, lim.MaxRecordBytes)
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("line %d: %w", line, err)
		}
		rec = bytes.TrimSpace(rec)
		if len(rec) == 0 {
			continue
		}
		if raw != nil {
			raw(rec)
		}
		if err := fl.record(rec, lim.MaxDepth); err != nil {
			return rows, fmt.Errorf("line %d: %w", line, err)
		}
		rows++
		if h.Row != nil && !h.Row() {
			return rows, nil
		}
	}
}

// JSONDocument reads one JSON document (a .json file): an array of objects
// counts as one record per element, anything else as one record. It stops
// with ctx's error when ctx ends (checked per record).
func JSONDocument(ctx context.Context, data []byte, lim Limits, cols *Columns, h Handler) (int64, error) {
	lim = lim.withDefaults()
	cols.max = lim.MaxColumns
	if err := checkDepth(data, lim.MaxDepth); err != nil {
		return 0, err
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return 0, fmt.Errorf("not valid JSON: %w", err)
	}
	if d.More() {
		return 0, ErrMoreValues
	}
	fl := flattener{cols: cols, h: h}
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	var rows int64
	for _, e := range arr {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		if err := fl.walk(e, "", 0, lim.MaxDepth); err != nil {
			return rows, err
		}
		rows++
		if h.Row != nil && !h.Row() {
			break
		}
	}
	return rows, nil
}

type flattener struct {
	cols *Columns
	h    Handler
	path map[string]int // cache: path -> column
}

func (f *flattener) record(rec []byte, maxDepth int) error {
	if err := checkDepth(rec, maxDepth); err != nil {
		return err
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(rec))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if d.More() {
		return fmt.Errorf("more than one JSON value on the line")
	}
	return f.walk(v, "", 0, maxDepth)
}

func (f *flattener) walk(v any, path string, depth, maxDepth int) error {
	if depth > maxDepth {
		return fmt.Errorf("JSON nested deeper than %d: %w", maxDepth, ErrLimit)
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // stable column order
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if err := f.walk(x[k], p, depth+1, maxDepth); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := f.walk(e, path+"[]", depth+1, maxDepth); err != nil {
				return err
			}
		}
	case string:
		return f.value(path, []byte(x))
	case json.Number:
		return f.value(path, []byte(x))
	}
	return nil
}

func (f *flattener) value(path string, v []byte) error {
	if len(v) == 0 || f.h.Value == nil {
		return nil
	}
	if path == "" {
		path = "$"
	}
	c, ok := f.path[path]
	if !ok {
		var err error
		if c, err = f.cols.Add(path); err != nil {
			return err
		}
		if f.path == nil {
			f.path = make(map[string]int)
		}
		f.path[path] = c
	}
	f.h.Value(c, v)
	return nil
}

// checkDepth rejects JSON nested deeper than max before it is decoded.
func checkDepth(b []byte, max int) error {
	depth := 0
	inStr, esc := false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("JSON nested deeper than %d: %w", max, ErrLimit)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
