// Package jinja judges a Jinja2 template (a chat template rendered by an
// inference server or by transformers' apply_chat_template) by what it can
// reach, not by how it is spelled. It parses the template into statements
// and expressions and runs a light abstract interpretation over them:
// strings built from constants are folded (concatenation, repetition,
// "%c"|format(95), |join, |replace, |reverse, slicing, str methods,
// dict(__x=1)|first, ...), variables keep every value they may hold, loops
// over constant lists are unrolled and macros are expanded at their call
// sites. Every attribute or item lookup (x.name, x['name'], |attr(name),
// map/selectattr/rejectattr/groupby/sort/sum/unique/min/max with
// attribute=name, "{0.name}".format) is then judged by the name it can
// use: a name starting with "_" (dunders such as __class__ or __globals__,
// the sandbox-escape path) or a known frame/code attribute reaches Python
// internals; a name computed from something that cannot be folded (an
// object's string form, an unknown filter) cannot be judged and counts as
// reaching them too. Names taken from the rendering context (messages,
// tools) are data and are not findings.
package jinja

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error about a template that does not parse
// (Jinja2 would refuse to render it too); ErrLimit by a limit reached.
var (
	ErrSyntax = errors.New("template does not parse")
	ErrLimit  = errors.New("template analysis limit reached")
)

// Limits of one analysis.
const (
	MaxTemplateBytes = 4 << 20
	maxDepth         = 64 // nested expressions and blocks
	maxTokens        = 1 << 20
)

// ---- lexer ----

type tokKind uint8

const (
	tEOF tokKind = iota
	tName
	tString
	tNumber
	tOp
	tBlockEnd // %} or }}
)

type token struct {
	kind tokKind
	s    string
	pos  int
}

type lexer struct {
	src  string
	pos  int
	toks int
}

func (l *lexer) errorf(pos int, format string, args ...any) error {
	line := 1 + strings.Count(l.src[:min(pos, len(l.src))], "\n")
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, line, fmt.Sprintf(format, args...))
}

// exprToken reads one token inside {{ }} or {% %}; end is "}}" or "%}".
func (l *lexer) exprToken(end string) (token, error) {
	l.toks++
	if l.toks > maxTokens {
		return token{}, fmt.Errorf("%w: more than %d tokens", ErrLimit, maxTokens)
	}
	for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
	if l.pos >= len(l.src) {
		return token{}, l.errorf(l.pos, "unexpected end of template, want %q", end)
	}
	start := l.pos
	rest := l.src[l.pos:]
	for _, e := range []string{"-" + end, "+" + end, end} {
		if strings.HasPrefix(rest, e) {
			l.pos += len(e)
			return token{kind: tBlockEnd, s: end, pos: start}, nil
		}
	}
	c := rest[0]
	switch {
	case c == '"' || c == '\'':
		s, n, err := unquote(rest)
		if err != nil {
			return token{}, l.errorf(start, "%v", err)
		}
		l.pos += n
		return token{kind: tString, s: s, pos: start}, nil
	case c >= '0' && c <= '9':
		n := 0
		for n < len(rest) && (rest[n] >= '0' && rest[n] <= '9' || rest[n] == '.' || rest[n] == '_' || rest[n] == 'e' || rest[n] == 'E' ||
			n > 0 && (rest[n] == '-' || rest[n] == '+') && (rest[n-1] == 'e' || rest[n-1] == 'E') ||
			n == 1 && rest[0] == '0' && strings.IndexByte("xXoObB", rest[n]) >= 0 || n > 1 && isHex(rest[n]) && strings.IndexByte("xX", rest[1]) >= 0) {
			if rest[n] == '.' && (n+1 >= len(rest) || rest[n+1] < '0' || rest[n+1] > '9') {
				break // 1.attr is not a float
			}
			n++
		}
		l.pos += n
		return token{kind: tNumber, s: rest[:n], pos: start}, nil
	case isNameStart(c):
		n := 1
		for n < len(rest) && isNamePart(rest[n]) {
			n++
		}
		l.pos += n
		return token{kind: tName, s: rest[:n], pos: start}, nil
	}
	for _, op := range []string{"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", "<", ">", ";"} {
		if strings.HasPrefix(rest, op) {
			l.pos += len(op)
			return token{kind: tOp, s: op, pos: start}, nil
		}
	}
	return token{}, l.errorf(start, "unexpected character %q", c)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isNamePart(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// unquote reads a Python string literal at the start of s (Jinja's string
// rules), returning its value and length.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, n := 0, 0
			for n < 3 && i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '7' {
				v = v*8 + int(s[i+n]-'0')
				n++
			}
			b.WriteRune(rune(v))
			i += n - 1
		case 'x', 'u', 'U':
			w := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+w >= len(s)+0 && i+w > len(s)-1 {
				return "", 0, errors.New("truncated \\" + string(e) + " escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+1+w], 16, 32)
			if err != nil {
				return "", 0, fmt.Errorf("bad \\%c escape", e)
			}
			b.WriteRune(rune(v))
			i += w
		case '\n':
		case 'N':
			return "", 0, errors.New(`\N{...} escapes are not supported`)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", 0, errors.New("unterminated string")
}

// ---- template structure ----

type expr interface{}

type (
	eConst struct{ v val }
	eName  struct{ name string }
	eList  struct {
		items []expr
		tuple bool
	}
	eDict struct{ keys, vals []expr }
	eAttr struct {
		x    expr
		name string
	}
	eItem struct {
		x   expr
		key expr
	}
	eSlice struct{ x, lo, hi, step expr }
	eCall  struct {
		fn     expr
		args   []expr
		kwargs map[string]expr
		kwkeys []string
		star   []expr // *args, **kwargs
	}
	eFilter struct {
		x      expr
		name   string
		args   []expr
		kwargs map[string]expr
	}
	eTest struct {
		x    expr
		name string
		args []expr
	}
	eBin struct {
		op   string
		a, b expr
	}
	eUnary struct {
		op string
		x  expr
	}
	eCond struct{ cond, a, b expr }
)

type stmt interface{}

type (
	sText   struct{ s string }
	sOutput struct{ x expr }
	sSet    struct {
		targets []expr // eName or eAttr (namespace)
		x       expr
	}
	sSetBlock struct {
		target  expr
		filters []eFilter
		body    []stmt
	}
	sFor struct {
		targets  []string
		iter     expr
		cond     expr
		body     []stmt
		elseBody []stmt
	}
	sIf struct {
		conds  []expr
		bodies [][]stmt
		orelse []stmt
	}
	sMacro struct {
		name     string
		params   []string
		defaults map[string]expr
		body     []stmt
	}
	sCallBlock struct {
		call expr
		body []stmt
	}
	sFilterBlock struct {
		filters []eFilter
		body    []stmt
	}
	sWith struct {
		names []string
		vals  []expr
		body  []stmt
	}
	sLoad struct {
		kind string // include, import, from, extends
		x    expr
	}
	sDo    struct{ x expr }
	sBlock struct {
		name string
		body []stmt
	}
)

// ---- parser ----

type parser struct {
	lex   *lexer
	tok   token
	end   string
	depth int
}

// Parse reads a template into statements.
func parse(src string) ([]stmt, error) {
	if len(src) > MaxTemplateBytes {
		return nil, fmt.Errorf("%w: template of %d bytes is over the %d-byte bound", ErrLimit, len(src), MaxTemplateBytes)
	}
	p := &parser{lex: &lexer{src: src}}
	body, endTag, err := p.block(nil)
	if err != nil {
		return nil, err
	}
	if endTag != "" {
		return nil, p.lex.errorf(p.lex.pos, "unexpected {%% %s %%}", endTag)
	}
	return body, nil
}

// block reads statements until one of the end tags (returned) or the end
// of the template ("" returned).
func (p *parser) block(ends []string) ([]stmt, string, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, "", fmt.Errorf("%w: blocks nest deeper than %d", ErrLimit, maxDepth)
	}
	var out []stmt
	l := p.lex
	for l.pos < len(l.src) {
		i := indexTag(l.src[l.pos:])
		if i < 0 {
			out = append(out, sText{l.src[l.pos:]})
			l.pos = len(l.src)
			break
		}
		if i > 0 {
			out = append(out, sText{l.src[l.pos : l.pos+i]})
		}
		l.pos += i
		if j := rawBlock(l.src[l.pos:]); j > 0 {
			l.pos += j
			continue
		} else if j < 0 {
			return nil, "", l.errorf(l.pos, "{%% raw %%} without {%% endraw %%}")
		}
		open := l.src[l.pos : l.pos+2]
		l.pos += 2
		if l.pos < len(l.src) && (l.src[l.pos] == '-' || l.src[l.pos] == '+') {
			l.pos++
		}
		switch open {
		case "{#":
			j := strings.Index(l.src[l.pos:], "#}")
			if j < 0 {
				return nil, "", l.errorf(l.pos, "unterminated comment")
			}
			l.pos += j + 2
		case "{{":
			p.end = "}}"
			if err := p.advance(); err != nil {
				return nil, "", err
			}
			x, err := p.expression()
			if err != nil {
				return nil, "", err
			}
			if err := p.expectEnd(); err != nil {
				return nil, "", err
			}
			out = append(out, sOutput{x})
		case "{%":
			p.end = "%}"
			if err := p.advance(); err != nil {
				return nil, "", err
			}
			if p.tok.kind != tName {
				return nil, "", l.errorf(p.tok.pos, "statement name expected")
			}
			name := p.tok.s
			for _, e := range ends {
				if name == e {
					if err := p.advance(); err != nil {
						return nil, "", err
					}
					return out, name, nil
				}
			}
			s, err := p.statement(name)
			if err != nil {
				return nil, "", err
			}
			if s != nil {
				out = append(out, s)
			}
		}
	}
	return out, "", nil
}

var (
	rawOpen = regexp.MustCompile(`^\{%[-+]?\s*raw\s*[-+]?%\}`)
	rawEnd  = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)
)

// rawBlock returns the length of a {% raw %}...{% endraw %} block at the
// start of s (0 when there is none, -1 when it is not closed).
func rawBlock(s string) int {
	m := rawOpen.FindStringIndex(s)
	if m == nil {
		return 0
	}
	e := rawEnd.FindStringIndex(s[m[1]:])
	if e == nil {
		return -1
	}
	return m[1] + e[1]
}

func indexTag(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

func (p *parser) advance() error {
	t, err := p.lex.exprToken(p.end)
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) is(kind tokKind, s string) bool { return p.tok.kind == kind && p.tok.s == s }

func (p *parser) accept(kind tokKind, s string) (bool, error) {
	if p.is(kind, s) {
		return true, p.advance()
	}
	return false, nil
}

func (p *parser) expect(kind tokKind, s string) error {
	if !p.is(kind, s) {
		return p.lex.errorf(p.tok.pos, "%q expected, found %q", s, p.tok.s)
	}
	return p.advance()
}

// expectEnd checks the tag's closing "}}" / "%}" (the lexer moved past it).
func (p *parser) expectEnd() error {
	if p.tok.kind != tBlockEnd {
		return p.lex.errorf(p.tok.pos, "%q expected, found %q", p.end, p.tok.s)
	}
	return nil
}

func (p *parser) name() (string, error) {
	if p.tok.kind != tName {
		return "", p.lex.errorf(p.tok.pos, "name expected, found %q", p.tok.s)
	}
	n := p.tok.s
	return n, p.advance()
}

// statement parses the statement after its name (p.tok is the name).
func (p *parser) statement(name string) (stmt, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch name {
	case "set":
		var targets []expr
		for {
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			var t expr = eName{n}
			for p.is(tOp, ".") {
				if err := p.advance(); err != nil {
					return nil, err
				}
				a, err := p.name()
				if err != nil {
					return nil, err
				}
				t = eAttr{x: t, name: a}
			}
			targets = append(targets, t)
			if ok, err := p.accept(tOp, ","); err != nil {
				return nil, err
			} else if !ok {
				break
			}
		}
		if p.tok.kind == tBlockEnd || p.is(tOp, "|") {
			var fs []eFilter
			for p.is(tOp, "|") {
				if err := p.advance(); err != nil {
					return nil, err
				}
				f, err := p.filterCall(nil)
				if err != nil {
					return nil, err
				}
				fs = append(fs, *f)
			}
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			body, _, err := p.block([]string{"endset"})
			if err != nil {
				return nil, err
			}
			return sSetBlock{target: targets[0], filters: fs, body: body}, p.expectEnd()
		}
		if err := p.expect(tOp, "="); err != nil {
			return nil, err
		}
		x, err := p.tupleExpr()
		if err != nil {
			return nil, err
		}
		return sSet{targets: targets, x: x}, p.expectEnd()
	case "for":
		var targets []string
		for {
			paren, _ := p.accept(tOp, "(")
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			targets = append(targets, n)
			if paren {
				for p.is(tOp, ",") {
					if err := p.advance(); err != nil {
						return nil, err
					}
					n, err := p.name()
					if err != nil {
						return nil, err
					}
					targets = append(targets, n)
				}
				if err := p.expect(tOp, ")"); err != nil {
					return nil, err
				}
			}
			if ok, err := p.accept(tOp, ","); err != nil {
				return nil, err
			} else if !ok {
				break
			}
		}
		if err := p.expect(tName, "in"); err != nil {
			return nil, err
		}
		iter, err := p.orExpr(true)
		if err != nil {
			return nil, err
		}
		var cond expr
		if ok, err := p.accept(tName, "if"); err != nil {
			return nil, err
		} else if ok {
			if cond, err = p.expression(); err != nil {
				return nil, err
			}
		}
		if _, err := p.accept(tName, "recursive"); err != nil {
			return nil, err
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.block([]string{"endfor", "else"})
		if err != nil {
			return nil, err
		}
		if end == "" {
			return nil, p.lex.errorf(p.lex.pos, "{%% for %%} without {%% endfor %%}")
		}
		s := sFor{targets: targets, iter: iter, cond: cond, body: body}
		if end == "else" {
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			if s.elseBody, end, err = p.block([]string{"endfor"}); err != nil {
				return nil, err
			}
			if end == "" {
				return nil, p.lex.errorf(p.lex.pos, "{%% for %%} without {%% endfor %%}")
			}
		}
		return s, p.expectEnd()
	case "if":
		s := sIf{}
		for {
			c, err := p.expression()
			if err != nil {
				return nil, err
			}
			if err := p.expectEnd(); err != nil {
				return nil, err
			}
			body, end, err := p.block([]string{"elif", "else", "endif"})
			if err != nil {
				return nil, err
			}
			s.conds = append(s.conds, c)
			s.bodies = append(s.bodies, body)
			switch end {
			case "elif":
				continue
			case "else":
				if err := p.expectEnd(); err != nil {
					return nil, err
				}
				if s.orelse, end, err = p.block([]string{"endif"}); err != nil {
					return nil, err
				}
				if end == "" {
					return nil, p.lex.errorf(p.lex.pos, "{%% if %%} without {%% endif %%}")
				}
				return s, p.expectEnd()
			case "endif":
				return s, p.expectEnd()
			default:
				return nil, p.lex.errorf(p.lex.pos, "{%% if %%} without {%% endif %%}")
			}
		}
	case "macro":
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		m := sMacro{name: n, defaults: map[string]expr{}}
		if err := p.expect(tOp, "("); err != nil {
			return nil, err
		}
		for !p.is(tOp, ")") {
			pn, err := p.name()
			if err != nil {
				return nil, err
			}
			m.params = append(m.params, pn)
			if ok, err := p.accept(tOp, "="); err != nil {
				return nil, err
			} else if ok {
				d, err := p.expression()
				if err != nil {
					return nil, err
				}
				m.defaults[pn] = d
			}
			if ok, err := p.accept(tOp, ","); err != nil {
				return nil, err
			} else if !ok {
				break
			}
		}
		if err := p.expect(tOp, ")"); err != nil {
			return nil, err
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.block([]string{"endmacro"})
		if err != nil {
			return nil, err
		}
		if end == "" {
			return nil, p.lex.errorf(p.lex.pos, "{%% macro %%} without {%% endmacro %%}")
		}
		m.body = body
		return m, p.expectEnd()
	case "call":
		if p.is(tOp, "(") { // call(args) macro(...)
			if _, err := p.callArgs(&eCall{}); err != nil {
				return nil, err
			}
		}
		c, err := p.expression()
		if err != nil {
			return nil, err
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.block([]string{"endcall"})
		if err != nil {
			return nil, err
		}
		if end == "" {
			return nil, p.lex.errorf(p.lex.pos, "{%% call %%} without {%% endcall %%}")
		}
		return sCallBlock{call: c, body: body}, p.expectEnd()
	case "filter":
		var fs []eFilter
		for {
			f, err := p.filterCall(nil)
			if err != nil {
				return nil, err
			}
			fs = append(fs, *f)
			if ok, err := p.accept(tOp, "|"); err != nil {
				return nil, err
			} else if !ok {
				break
			}
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.block([]string{"endfilter"})
		if err != nil {
			return nil, err
		}
		if end == "" {
			return nil, p.lex.errorf(p.lex.pos, "{%% filter %%} without {%% endfilter %%}")
		}
		return sFilterBlock{filters: fs, body: body}, p.expectEnd()
	case "with":
		w := sWith{}
		for p.tok.kind != tBlockEnd {
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tOp, "="); err != nil {
				return nil, err
			}
			x, err := p.expression()
			if err != nil {
				return nil, err
			}
			w.names, w.vals = append(w.names, n), append(w.vals, x)
			if ok, err := p.accept(tOp, ","); err != nil {
				return nil, err
			} else if !ok {
				break
			}
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.block([]string{"endwith"})
		if err != nil {
			return nil, err
		}
		if end == "" {
			return nil, p.lex.errorf(p.lex.pos, "{%% with %%} without {%% endwith %%}")
		}
		w.body = body
		return w, p.expectEnd()
	case "block":
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		for p.tok.kind == tName { // scoped, required
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if err := p.expectEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.block([]string{"endblock"})
		if err != nil {
			return nil, err
		}
		if end == "" {
			return nil, p.lex.errorf(p.lex.pos, "{%% block %%} without {%% endblock %%}")
		}
		for p.tok.kind == tName {
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		return sBlock{name: n, body: body}, p.expectEnd()
	case "include", "import", "extends", "from":
		x, err := p.expression()
		if err != nil {
			return nil, err
		}
		for p.tok.kind != tBlockEnd { // as name, import a, b, ignore missing, with context
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		return sLoad{kind: name, x: x}, nil
	case "do":
		x, err := p.tupleExpr()
		if err != nil {
			return nil, err
		}
		return sDo{x}, p.expectEnd()
	case "break", "continue", "generation", "endgeneration", "debug":
		return nil, p.expectEnd()
	}
	return nil, p.lex.errorf(p.tok.pos, "unknown statement %q", name)
}

// ---- expressions ----

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth*4 {
		return fmt.Errorf("%w: expressions nest deeper than %d", ErrLimit, maxDepth*4)
	}
	return nil
}

// tupleExpr: an expression or an unparenthesised tuple (set x = a, b).
func (p *parser) tupleExpr() (expr, error) {
	x, err := p.expression()
	if err != nil {
		return nil, err
	}
	if !p.is(tOp, ",") {
		return x, nil
	}
	items := []expr{x}
	for p.is(tOp, ",") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tBlockEnd {
			break
		}
		y, err := p.expression()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
	}
	return eList{items: items, tuple: true}, nil
}

func (p *parser) expression() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	x, err := p.orExpr(false)
	if err != nil {
		return nil, err
	}
	if p.is(tName, "if") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		c, err := p.orExpr(false)
		if err != nil {
			return nil, err
		}
		var b expr = eConst{val{k: kNone}}
		if ok, err := p.accept(tName, "else"); err != nil {
			return nil, err
		} else if ok {
			if b, err = p.expression(); err != nil {
				return nil, err
			}
		}
		return eCond{cond: c, a: x, b: b}, nil
	}
	return x, nil
}

func (p *parser) orExpr(noIf bool) (expr, error) {
	x, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.is(tName, "or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		x = eBin{op: "or", a: x, b: y}
	}
	return x, nil
}

func (p *parser) andExpr() (expr, error) {
	x, err := p.notExpr()
	if err != nil {
		return nil, err
	}
	for p.is(tName, "and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		x = eBin{op: "and", a: x, b: y}
	}
	return x, nil
}

func (p *parser) notExpr() (expr, error) {
	if p.is(tName, "not") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.notExpr()
		return eUnary{op: "not", x: x}, err
	}
	return p.compare()
}

func (p *parser) compare() (expr, error) {
	x, err := p.concat()
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		switch {
		case p.tok.kind == tOp && (p.tok.s == "==" || p.tok.s == "!=" || p.tok.s == "<" || p.tok.s == ">" || p.tok.s == "<=" || p.tok.s == ">="):
			op = p.tok.s
		case p.is(tName, "in"):
			op = "in"
		case p.is(tName, "not"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			if !p.is(tName, "in") {
				return nil, p.lex.errorf(p.tok.pos, "'in' expected after 'not'")
			}
			op = "not in"
		}
		if op == "" {
			return x, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.concat()
		if err != nil {
			return nil, err
		}
		x = eBin{op: op, a: x, b: y}
	}
}

func (p *parser) concat() (expr, error) {
	x, err := p.arith()
	if err != nil {
		return nil, err
	}
	for p.is(tOp, "~") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.arith()
		if err != nil {
			return nil, err
		}
		x = eBin{op: "~", a: x, b: y}
	}
	return x, nil
}

func (p *parser) arith() (expr, error) {
	x, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.is(tOp, "+") || p.is(tOp, "-") {
		op := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.term()
		if err != nil {
			return nil, err
		}
		x = eBin{op: op, a: x, b: y}
	}
	return x, nil
}

func (p *parser) term() (expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.is(tOp, "*") || p.is(tOp, "/") || p.is(tOp, "//") || p.is(tOp, "%") {
		op := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		x = eBin{op: op, a: x, b: y}
	}
	return x, nil
}

func (p *parser) unary() (expr, error) {
	if p.is(tOp, "-") || p.is(tOp, "+") {
		op := p.tok.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.unary()
		return eUnary{op: op, x: x}, err
	}
	x, err := p.power()
	if err != nil {
		return nil, err
	}
	return p.filters(x)
}

func (p *parser) power() (expr, error) {
	x, err := p.postfix()
	if err != nil {
		return nil, err
	}
	if p.is(tOp, "**") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		return eBin{op: "**", a: x, b: y}, nil
	}
	return x, nil
}

// filters reads "| name(args)" and "is [not] test(args)" chains.
func (p *parser) filters(x expr) (expr, error) {
	for {
		switch {
		case p.is(tOp, "|"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			f, err := p.filterCall(x)
			if err != nil {
				return nil, err
			}
			x = *f
		case p.is(tName, "is"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			neg, err := p.accept(tName, "not")
			if err != nil {
				return nil, err
			}
			n, err := p.dottedName()
			if err != nil {
				return nil, err
			}
			t := eTest{x: x, name: n}
			if p.is(tOp, "(") {
				c := &eCall{}
				if _, err := p.callArgs(c); err != nil {
					return nil, err
				}
				t.args = c.args
			} else if p.tok.kind == tString || p.tok.kind == tNumber || p.tok.kind == tName && !isKeyword(p.tok.s) {
				a, err := p.postfix()
				if err != nil {
					return nil, err
				}
				t.args = []expr{a}
			}
			x = t
			if neg {
				x = eUnary{op: "not", x: x}
			}
		default:
			return x, nil
		}
	}
}

func isKeyword(s string) bool {
	switch s {
	case "and", "or", "not", "in", "is", "if", "else":
		return true
	}
	return false
}

func (p *parser) dottedName() (string, error) {
	n, err := p.name()
	if err != nil {
		return "", err
	}
	for p.is(tOp, ".") {
		if err := p.advance(); err != nil {
			return "", err
		}
		m, err := p.name()
		if err != nil {
			return "", err
		}
		n += "." + m
	}
	return n, nil
}

func (p *parser) filterCall(x expr) (*eFilter, error) {
	n, err := p.dottedName()
	if err != nil {
		return nil, err
	}
	f := &eFilter{x: x, name: n}
	if p.is(tOp, "(") {
		c := &eCall{}
		if _, err := p.callArgs(c); err != nil {
			return nil, err
		}
		f.args, f.kwargs = append(c.args, c.star...), c.kwargs
	}
	return f, nil
}

// callArgs reads "(a, b, k=v, *x, **y)" into c.
func (p *parser) callArgs(c *eCall) (*eCall, error) {
	if err := p.expect(tOp, "("); err != nil {
		return nil, err
	}
	for !p.is(tOp, ")") {
		switch {
		case p.is(tOp, "*") || p.is(tOp, "**"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			x, err := p.expression()
			if err != nil {
				return nil, err
			}
			c.star = append(c.star, x)
		case p.tok.kind == tName && p.peekIsAssign():
			k := p.tok.s
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.expect(tOp, "="); err != nil {
				return nil, err
			}
			x, err := p.expression()
			if err != nil {
				return nil, err
			}
			if c.kwargs == nil {
				c.kwargs = map[string]expr{}
			}
			c.kwargs[k] = x
			c.kwkeys = append(c.kwkeys, k)
		default:
			x, err := p.expression()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, x)
		}
		if ok, err := p.accept(tOp, ","); err != nil {
			return nil, err
		} else if !ok {
			break
		}
	}
	return c, p.expect(tOp, ")")
}

// peekIsAssign: the name token is followed by a single "=".
func (p *parser) peekIsAssign() bool {
	s := p.lex.src[p.lex.pos:]
	s = strings.TrimLeft(s, " \t\r\n")
	return strings.HasPrefix(s, "=") && !strings.HasPrefix(s, "==")
}

func (p *parser) postfix() (expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.is(tOp, "."):
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind == tNumber { // x.0
				x = eItem{x: x, key: eConst{numVal(p.tok.s)}}
				if err := p.advance(); err != nil {
					return nil, err
				}
				continue
			}
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			x = eAttr{x: x, name: n}
		case p.is(tOp, "["):
			if err := p.advance(); err != nil {
				return nil, err
			}
			var parts [3]expr
			colons := 0
			for !p.is(tOp, "]") {
				if p.is(tOp, ":") {
					colons++
					if colons > 2 {
						return nil, p.lex.errorf(p.tok.pos, "bad slice")
					}
					if err := p.advance(); err != nil {
						return nil, err
					}
					continue
				}
				y, err := p.tupleInBrackets()
				if err != nil {
					return nil, err
				}
				parts[colons] = y
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if colons == 0 {
				if parts[0] == nil {
					return nil, p.lex.errorf(p.tok.pos, "empty subscript")
				}
				x = eItem{x: x, key: parts[0]}
			} else {
				x = eSlice{x: x, lo: parts[0], hi: parts[1], step: parts[2]}
			}
		case p.is(tOp, "("):
			c := &eCall{fn: x}
			if _, err := p.callArgs(c); err != nil {
				return nil, err
			}
			x = *c
		default:
			return x, nil
		}
	}
}

func (p *parser) tupleInBrackets() (expr, error) {
	x, err := p.expression()
	if err != nil {
		return nil, err
	}
	if !p.is(tOp, ",") {
		return x, nil
	}
	items := []expr{x}
	for p.is(tOp, ",") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.is(tOp, "]") {
			break
		}
		y, err := p.expression()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
	}
	return eList{items: items, tuple: true}, nil
}

func (p *parser) primary() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.tok
	switch t.kind {
	case tString:
		s := t.s
		if err := p.advance(); err != nil {
			return nil, err
		}
		for p.tok.kind == tString { // adjacent literals concatenate
			s += p.tok.s
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		return eConst{strVal(s)}, nil
	case tNumber:
		if err := p.advance(); err != nil {
			return nil, err
		}
		return eConst{numVal(t.s)}, nil
	case tName:
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch t.s {
		case "true", "True":
			return eConst{val{k: kBool, b: true}}, nil
		case "false", "False":
			return eConst{val{k: kBool}}, nil
		case "none", "None":
			return eConst{val{k: kNone}}, nil
		}
		return eName{t.s}, nil
	case tOp:
		switch t.s {
		case "(":
			if err := p.advance(); err != nil {
				return nil, err
			}
			if ok, err := p.accept(tOp, ")"); err != nil {
				return nil, err
			} else if ok {
				return eList{tuple: true}, nil
			}
			x, err := p.expression()
			if err != nil {
				return nil, err
			}
			if p.is(tOp, ",") {
				items := []expr{x}
				for p.is(tOp, ",") {
					if err := p.advance(); err != nil {
						return nil, err
					}
					if p.is(tOp, ")") {
						break
					}
					y, err := p.expression()
					if err != nil {
						return nil, err
					}
					items = append(items, y)
				}
				x = eList{items: items, tuple: true}
			}
			return x, p.expect(tOp, ")")
		case "[":
			if err := p.advance(); err != nil {
				return nil, err
			}
			var items []expr
			for !p.is(tOp, "]") {
				y, err := p.expression()
				if err != nil {
					return nil, err
				}
				items = append(items, y)
				if ok, err := p.accept(tOp, ","); err != nil {
					return nil, err
				} else if !ok {
					break
				}
			}
			return eList{items: items}, p.expect(tOp, "]")
		case "{":
			if err := p.advance(); err != nil {
				return nil, err
			}
			d := eDict{}
			for !p.is(tOp, "}") {
				k, err := p.expression()
				if err != nil {
					return nil, err
				}
				if err := p.expect(tOp, ":"); err != nil {
					return nil, err
				}
				v, err := p.expression()
				if err != nil {
					return nil, err
				}
				d.keys, d.vals = append(d.keys, k), append(d.vals, v)
				if ok, err := p.accept(tOp, ","); err != nil {
					return nil, err
				} else if !ok {
					break
				}
			}
			return d, p.expect(tOp, "}")
		}
	}
	if t.kind == tBlockEnd {
		return nil, p.lex.errorf(t.pos, "expression expected before %q", t.s)
	}
	return nil, p.lex.errorf(t.pos, "unexpected %q", t.s)
}
