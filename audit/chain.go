package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Canonical limits: an entry is a few kilobytes; these only stop hostile
// input (a bundle) from costing unbounded time or memory.
const (
	MaxEntryBytes  = 4 << 20
	maxCanonDepth  = 64
	hashFieldName  = "hash"
	checkpointType = "gatehouse-audit-checkpoint/v1"
)

// Canonical returns the canonical JSON form of a JSON document: objects
// with their keys sorted (byte order) and no insignificant space, strings
// with the shortest escapes (only '"', '\\' and control characters are
// escaped; no HTML escaping), integers in plain decimal. Duplicate keys,
// invalid UTF-8, numbers that are not integers and documents deeper than 64
// levels or larger than MaxEntryBytes are errors. Canonical(Canonical(x))
// equals Canonical(x), so an entry hashes the same wherever it is re-encoded.
func Canonical(doc []byte) ([]byte, error) {
	if len(doc) > MaxEntryBytes {
		return nil, fmt.Errorf("canonical json: %d bytes, more than %d", len(doc), MaxEntryBytes)
	}
	if !utf8.Valid(doc) {
		return nil, errors.New("canonical json: invalid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var out bytes.Buffer
	out.Grow(len(doc))
	if err := canonValue(d, &out, 0); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("canonical json: data after the document")
	}
	return out.Bytes(), nil
}

func canonValue(d *json.Decoder, out *bytes.Buffer, depth int) error {
	if depth > maxCanonDepth {
		return fmt.Errorf("nested more than %d levels", maxCanonDepth)
	}
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			type member struct {
				key string
				val []byte
			}
			var ms []member
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return err
				}
				k := kt.(string) // the decoder only yields string keys
				var vb bytes.Buffer
				if err := canonValue(d, &vb, depth+1); err != nil {
					return err
				}
				ms = append(ms, member{k, vb.Bytes()})
			}
			if _, err := d.Token(); err != nil {
				return err
			}
			slices.SortFunc(ms, func(a, b member) int { return cmpString(a.key, b.key) })
			out.WriteByte('{')
			for i, m := range ms {
				if i > 0 {
					if ms[i-1].key == m.key {
						return fmt.Errorf("duplicate key %q", m.key)
					}
					out.WriteByte(',')
				}
				canonString(out, m.key)
				out.WriteByte(':')
				out.Write(m.val)
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; d.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := canonValue(d, out, depth+1); err != nil {
					return err
				}
			}
			if _, err := d.Token(); err != nil {
				return err
			}
			out.WriteByte(']')
		}
	case string:
		canonString(out, v)
	case json.Number:
		n, ok := new(big.Int).SetString(string(v), 10)
		if !ok {
			return fmt.Errorf("number %s is not an integer", v)
		}
		out.WriteString(n.String())
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case nil:
		out.WriteString("null")
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func canonString(out *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	out.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out.WriteByte('\\')
			out.WriteByte(c)
		case c == '\n':
			out.WriteString(`\n`)
		case c == '\r':
			out.WriteString(`\r`)
		case c == '\t':
			out.WriteString(`\t`)
		case c < 0x20:
			out.WriteString(`\u00`)
			out.WriteByte(hexDigits[c>>4])
			out.WriteByte(hexDigits[c&0xf])
		default:
			out.WriteByte(c)
		}
	}
	out.WriteByte('"')
}

// entryBody is the canonical JSON of e without its hash: the bytes the
// hash is computed over, and what the stores keep.
func entryBody(e *Entry) ([]byte, error) {
	m, err := entryMembers(e)
	if err != nil {
		return nil, err
	}
	return bodyWith(m, e.Seq, e.PrevHash), nil
}

// entryMembers decodes e's JSON into a generic object without seq,
// prev_hash and hash: an append prepares this once, outside the
// transaction, and bodyWith places it in the chain.
func entryMembers(e *Entry) (map[string]any, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("audit entry %d: %w", e.Seq, err)
	}
	if len(raw) > MaxEntryBytes {
		return nil, fmt.Errorf("audit entry %d: %d bytes of JSON, more than %d", e.Seq, len(raw), MaxEntryBytes)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("audit entry %d: %w", e.Seq, err)
	}
	delete(m, "seq")
	delete(m, "prev_hash")
	delete(m, hashFieldName)
	return m, nil
}

// bodyWith is the canonical JSON of members with seq and prev_hash added.
// Its output equals Canonical of the same document (FuzzCanonical checks
// the encoder against it).
func bodyWith(members map[string]any, seq int64, prev string) []byte {
	m := make(map[string]any, len(members)+2)
	for k, v := range members {
		m[k] = v
	}
	m["seq"] = json.Number(strconv.FormatInt(seq, 10))
	m["prev_hash"] = prev
	var out bytes.Buffer
	out.Grow(2048)
	canonAny(&out, m)
	return out.Bytes()
}

// canonAny writes a decoded (UseNumber) JSON value canonically.
func canonAny(out *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			canonString(out, k)
			out.WriteByte(':')
			canonAny(out, v[k])
		}
		out.WriteByte('}')
	case []any:
		out.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			canonAny(out, x)
		}
		out.WriteByte(']')
	case string:
		canonString(out, v)
	case json.Number:
		if n, ok := new(big.Int).SetString(string(v), 10); ok {
			out.WriteString(n.String())
		} else {
			out.WriteString(string(v)) // entries hold only integers
		}
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case nil:
		out.WriteString("null")
	}
}

// hashBody is the hex sha256 of an entry body.
func hashBody(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// HashEntry returns the hash e must carry: the hex sha256 of the canonical
// JSON of e without its Hash.
func HashEntry(e *Entry) (string, error) {
	body, err := entryBody(e)
	if err != nil {
		return "", err
	}
	return hashBody(body), nil
}

// splitHash takes a canonical JSON entry line (with "hash") apart into its
// body (canonical, without "hash") and the hash it states.
func splitHash(line []byte) (body []byte, hash string, err error) {
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, "", err
	}
	raw, ok := m[hashFieldName]
	if !ok {
		return nil, "", errors.New(`no "hash"`)
	}
	if err := json.Unmarshal(raw, &hash); err != nil {
		return nil, "", fmt.Errorf(`"hash" is not a string`)
	}
	delete(m, hashFieldName)
	re, err := json.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	body, err = Canonical(re)
	return body, hash, err
}

// entryLine is the canonical JSON of e with its hash: one line of an
// export.
func entryLine(body []byte, hash string) []byte {
	// Re-canonicalising puts "hash" in its sorted place.
	var m map[string]json.RawMessage
	_ = json.Unmarshal(body, &m)
	h, _ := json.Marshal(hash)
	m[hashFieldName] = h
	raw, _ := json.Marshal(m)
	line, _ := Canonical(raw)
	return line
}
