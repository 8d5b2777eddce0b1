// Package pbtext reads the protobuf text format (what TensorFlow writes as
// saved_model.pbtxt and graph.pbtxt) as a stream of events, without a
// schema: a field with a scalar value, the start and the end of a nested
// message. It keeps no tree, so memory stays bounded whatever the file's
// size; string values longer than Limits.MaxString are reported cut (their
// bytes are still read to find the end of the value).
//
// Grammar read: fields `name: value` and `name { ... }` / `name: < ... >`,
// lists `name: [v, v]` (scalars or messages), extension and Any names in
// brackets, strings in single or double quotes with C escapes (adjacent
// strings concatenate), numbers, identifiers (enums, true/false), `#`
// comments, and `,` / `;` separators.
package pbtext

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrMalformed is wrapped by every error about text that is not protobuf
// text format; ErrLimit by a limit reached.
var (
	ErrMalformed = errors.New("malformed protobuf text format")
	ErrLimit     = errors.New("limit reached")
)

// Limits bound one parse.
type Limits struct {
	MaxBytes  int64 // total bytes read
	MaxDepth  int   // nested messages
	MaxString int   // bytes kept of one string value
}

// DefaultLimits: 1 GiB, depth 100, strings 64 KiB.
func DefaultLimits() Limits { return Limits{MaxBytes: 1 << 30, MaxDepth: 100, MaxString: 64 << 10} }

// Value is a scalar field value.
type Value struct {
	Text   string // decoded string, or the token of a number or identifier
	Quoted bool   // a string literal
	Cut    bool   // a string longer than MaxString: Text holds its start
}

// Handler receives the events. Returning an error stops the parse.
type Handler interface {
	Field(name string, v Value) error
	Begin(name string) error
	End() error
}

type parser struct {
	r     *bufio.Reader
	lim   Limits
	read  int64
	line  int
	h     Handler
	depth int
}

// Parse reads the text format from r and reports it to h.
func Parse(r io.Reader, lim Limits, h Handler) error {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 100
	}
	if lim.MaxString <= 0 {
		lim.MaxString = 64 << 10
	}
	size := 64 << 10
	if lim.MaxBytes > 0 && lim.MaxBytes < int64(size) {
		size = max(16, int(lim.MaxBytes)+1)
	}
	p := &parser{r: bufio.NewReaderSize(r, size), lim: lim, line: 1, h: h}
	return p.fields(0)
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrMalformed, p.line, fmt.Sprintf(format, args...))
}

func (p *parser) next() (byte, error) {
	c, err := p.r.ReadByte()
	if err != nil {
		return 0, err
	}
	p.read++
	if p.lim.MaxBytes > 0 && p.read > p.lim.MaxBytes {
		return 0, fmt.Errorf("%w: more than %d bytes of text", ErrLimit, p.lim.MaxBytes)
	}
	if c == '\n' {
		p.line++
	}
	return c, nil
}

func (p *parser) unread() {
	_ = p.r.UnreadByte()
	p.read--
	if c, _ := p.r.Peek(1); len(c) == 1 && c[0] == '\n' {
		p.line--
	}
}

// skipSpace skips blanks and comments; it returns the next byte unread,
// or io.EOF.
func (p *parser) peek() (byte, error) {
	for {
		c, err := p.next()
		if err != nil {
			return 0, err
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		case c == '#':
			for {
				c, err = p.next()
				if err != nil {
					return 0, err
				}
				if c == '\n' {
					break
				}
			}
		default:
			p.unread()
			return c, nil
		}
	}
}

// fields reads fields until '}' / '>' (depth > 0) or the end of input.
func (p *parser) fields(depth int) error {
	for {
		c, err := p.peek()
		if err == io.EOF {
			if depth > 0 {
				return p.errorf("input ends inside a message (%d unclosed)", depth)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if c == '}' || c == '>' {
			if depth == 0 {
				return p.errorf("unexpected %q", c)
			}
			_, _ = p.next()
			return nil
		}
		if c == ',' || c == ';' {
			_, _ = p.next()
			continue
		}
		name, err := p.name()
		if err != nil {
			return err
		}
		if err := p.value(name, depth, true); err != nil {
			return err
		}
	}
}

// name reads a field name: an identifier or a bracketed extension/Any name.
func (p *parser) name() (string, error) {
	c, err := p.next()
	if err != nil {
		return "", p.errorf("field name expected: %v", err)
	}
	var b strings.Builder
	if c == '[' {
		for {
			c, err = p.next()
			if err != nil {
				return "", p.errorf("unterminated [extension] name")
			}
			if c == ']' {
				return "[" + b.String() + "]", nil
			}
			if b.Len() > 1024 {
				return "", p.errorf("extension name longer than 1024 bytes")
			}
			b.WriteByte(c)
		}
	}
	if !identStart(c) {
		return "", p.errorf("field name expected, found %q", c)
	}
	b.WriteByte(c)
	for {
		c, err = p.next()
		if err != nil {
			break
		}
		if !identPart(c) {
			p.unread()
			break
		}
		if b.Len() > 1024 {
			return "", p.errorf("field name longer than 1024 bytes")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func identStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func identPart(c byte) bool {
	return identStart(c) || c >= '0' && c <= '9' || c == '.' || c == '/'
}

// value reads what follows a field name: ":" scalar, "{...}", ":{...}" or a list.
func (p *parser) value(name string, depth int, allowList bool) error {
	c, err := p.peek()
	if err != nil {
		return p.errorf("value of %s expected: %v", name, err)
	}
	colon := false
	if c == ':' {
		colon = true
		_, _ = p.next()
		if c, err = p.peek(); err != nil {
			return p.errorf("value of %s expected: %v", name, err)
		}
	}
	switch {
	case c == '{' || c == '<':
		_, _ = p.next()
		return p.message(name, depth)
	case c == '[' && allowList:
		if !colon {
			return p.errorf("list of %s without ':'", name)
		}
		_, _ = p.next()
		return p.list(name, depth)
	case !colon:
		return p.errorf("':' expected after field %s", name)
	}
	v, err := p.scalar()
	if err != nil {
		return err
	}
	return p.h.Field(name, v)
}

func (p *parser) message(name string, depth int) error {
	if depth+1 > p.lim.MaxDepth {
		return fmt.Errorf("%w: messages nest deeper than %d levels (line %d)", ErrLimit, p.lim.MaxDepth, p.line)
	}
	if err := p.h.Begin(name); err != nil {
		return err
	}
	if err := p.fields(depth + 1); err != nil {
		return err
	}
	return p.h.End()
}

func (p *parser) list(name string, depth int) error {
	first := true
	for {
		c, err := p.peek()
		if err != nil {
			return p.errorf("unterminated list of %s", name)
		}
		if c == ']' {
			_, _ = p.next()
			return nil
		}
		if !first {
			if c != ',' {
				return p.errorf("',' expected in the list of %s", name)
			}
			_, _ = p.next()
			if c, err = p.peek(); err != nil {
				return p.errorf("unterminated list of %s", name)
			}
		}
		first = false
		if c == '{' || c == '<' {
			_, _ = p.next()
			if err := p.message(name, depth); err != nil {
				return err
			}
			continue
		}
		v, err := p.scalar()
		if err != nil {
			return err
		}
		if err := p.h.Field(name, v); err != nil {
			return err
		}
	}
}

// scalar reads a string (adjacent literals concatenated), a number or an identifier.
func (p *parser) scalar() (Value, error) {
	c, err := p.peek()
	if err != nil {
		return Value{}, p.errorf("value expected: %v", err)
	}
	if c == '"' || c == '\'' {
		var b []byte
		v := Value{Quoted: true}
		for {
			c, err := p.peek()
			if err != nil || c != '"' && c != '\'' {
				break
			}
			_, _ = p.next()
			if b, err = p.str(c, b, &v.Cut); err != nil {
				return Value{}, err
			}
		}
		v.Text = string(b)
		return v, nil
	}
	var b strings.Builder
	for {
		c, err := p.next()
		if err != nil {
			break
		}
		if !(identPart(c) || c == '-' || c == '+') {
			p.unread()
			break
		}
		if b.Len() > 1024 {
			return Value{}, p.errorf("token longer than 1024 bytes")
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return Value{}, p.errorf("value expected, found %q", c)
	}
	return Value{Text: b.String()}, nil
}

// str reads a quoted string's body after the opening quote q.
func (p *parser) str(q byte, b []byte, cut *bool) ([]byte, error) {
	keep := func(c byte) {
		if len(b) < p.lim.MaxString {
			b = append(b, c)
		} else {
			*cut = true
		}
	}
	for {
		c, err := p.next()
		if err != nil {
			return nil, p.errorf("unterminated string")
		}
		switch c {
		case q:
			return b, nil
		case '\n':
			return nil, p.errorf("newline inside a string")
		case '\\':
			e, err := p.next()
			if err != nil {
				return nil, p.errorf("unterminated string")
			}
			switch e {
			case 'n':
				keep('\n')
			case 't':
				keep('\t')
			case 'r':
				keep('\r')
			case 'a':
				keep('\a')
			case 'b':
				keep('\b')
			case 'f':
				keep('\f')
			case 'v':
				keep('\v')
			case '\\', '\'', '"', '?':
				keep(e)
			case 'x', 'X':
				v, n := 0, 0
				for n < 2 {
					h, err := p.next()
					if err != nil {
						return nil, p.errorf("unterminated string")
					}
					d := hexVal(h)
					if d < 0 {
						p.unread()
						break
					}
					v = v*16 + d
					n++
				}
				if n == 0 {
					return nil, p.errorf(`\x without hex digits`)
				}
				keep(byte(v))
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(e - '0')
				for n := 1; n < 3; n++ {
					o, err := p.next()
					if err != nil {
						return nil, p.errorf("unterminated string")
					}
					if o < '0' || o > '7' {
						p.unread()
						break
					}
					v = v*8 + int(o-'0')
				}
				if v > 255 {
					return nil, p.errorf("octal escape above \\377")
				}
				keep(byte(v))
			default:
				return nil, p.errorf("unknown escape \\%c", e)
			}
		default:
			keep(c)
		}
	}
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
