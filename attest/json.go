package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Limits bound the parsers of this package. The zero value of a field
// means its DefaultLimits value.
type Limits struct {
	// MaxBytes bounds a DSSE envelope or statement document.
	MaxBytes int
	// MaxDepth bounds JSON nesting (objects and arrays).
	MaxDepth int
	// MaxSubjects bounds a statement's subjects (a folder manifest has one
	// per file).
	MaxSubjects int
	// MaxSignatures bounds a DSSE envelope's signatures.
	MaxSignatures int
}

// DefaultLimits suit folder manifests of a few hundred thousand files.
// VerifyVSA uses VSALimits, much smaller.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxSubjects: 250_000, MaxSignatures: 16}

// VSALimits bound a VSA: one subject, a small predicate.
var VSALimits = Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxSubjects: 16, MaxSignatures: 16}

func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxSubjects <= 0 {
		l.MaxSubjects = DefaultLimits.MaxSubjects
	}
	if l.MaxSignatures <= 0 {
		l.MaxSignatures = DefaultLimits.MaxSignatures
	}
	return l
}

// ErrMalformed is wrapped by every parse error: the input is not a valid
// document of the kind expected. The message names the field at fault.
var ErrMalformed = errors.New("malformed")

func malformed(what, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrMalformed, what, fmt.Sprintf(format, args...))
}

// checkJSON enforces the size and depth limits before any decoding, so a
// hostile document costs one linear scan.
func checkJSON(what string, data []byte, l Limits) error {
	if len(data) > l.MaxBytes {
		return malformed(what, "%d bytes is more than the %d byte limit", len(data), l.MaxBytes)
	}
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
			if depth > l.MaxDepth {
				return malformed(what, "JSON nesting deeper than %d", l.MaxDepth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(what string, data []byte, v any, allowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return malformed(what, "%v", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed(what, "trailing data after the JSON document")
	}
	return nil
}

// jsonError makes encoding/json's messages name the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(document)"
		}
		return fmt.Errorf("field %s: JSON %s where %s was expected", field, te.Value, te.Type)
	}
	return err
}
