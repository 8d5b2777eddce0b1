// Package jsonscan walks the structure of JSON text in one pass without
// decoding it, so that limits (nesting depth, member and element counts)
// are checked before a decoder spends anything on a hostile document.
package jsonscan

import (
	"encoding/json"
	"fmt"
)

// Structure calls fn for every structural byte outside strings — { } [ ]
// : , — with the nesting depth it stands at: an opening bracket is at the
// depth it opens (1 for the outermost), a closing one at the depth it
// closes, ':' and ',' at the depth of the object or array they belong to.
// fn returns false to stop early. The text need not be well-formed.
func Structure(data []byte, fn func(c byte, depth int) bool) {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if !fn(c, depth) {
				return
			}
		case '}', ']':
			if !fn(c, depth) {
				return
			}
			depth--
		case ':', ',':
			if !fn(c, depth) {
				return
			}
		}
	}
}

// Depth is the deepest bracket nesting of data, counted up to limit+1 (it
// stops there: a hostile document costs no more than that).
func Depth(data []byte, limit int) int {
	deepest := 0
	Structure(data, func(c byte, depth int) bool {
		if (c == '{' || c == '[') && depth > deepest {
			deepest = depth
		}
		return deepest <= limit
	})
	return deepest
}

// TopLevel counts the occurrences of c (':' for members of an object, ','
// for separators of an array) at the top level of one JSON value.
func TopLevel(data []byte, c byte) int {
	n := 0
	Structure(data, func(b byte, depth int) bool {
		if b == c && depth == 1 {
			n++
		}
		return true
	})
	return n
}

// TypeName names the JSON type of a decoded value for an error message:
// "an object", "a list", "a string", "a number", "a boolean", "null".
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
