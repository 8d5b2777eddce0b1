package license

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"
)

// Expression limits: SPDX expressions come from outside (cards, SBOMs).
const (
	maxExprLen   = 4096 // bytes of one expression
	maxExprDepth = 32   // nesting of parentheses
	maxDNFTerms  = 64   // alternatives after expanding AND over OR
)

// ErrTooComplex is returned for expressions whose disjunctive normal form
// has more than maxDNFTerms alternatives.
var ErrTooComplex = errors.New("expression too complex")

// DNF parses an SPDX licence expression and returns it in disjunctive
// normal form: a list of alternatives, each a sorted list of licences that
// are all required. "MIT OR (Apache-2.0 AND BSD-3-Clause)" gives
// [[MIT] [Apache-2.0 BSD-3-Clause]]. Licence ids are returned in their
// canonical SPDX spelling; "X WITH Y" stays one term; LicenseRef- ids are
// kept as written. Operators are upper case, as SPDX (and go-spdx, which
// must also accept the expression) requires.
func DNF(expr string) ([][]string, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("empty expression")
	}
	if len(expr) > maxExprLen {
		return nil, fmt.Errorf("expression is %d bytes, more than the limit of %d", len(expr), maxExprLen)
	}
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks}
	d, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if isOperator(strings.ToUpper(t)) {
			return nil, fmt.Errorf("unexpected %q after a complete expression: SPDX operators are upper case (AND, OR, WITH)", t)
		}
		return nil, fmt.Errorf("unexpected %q after a complete expression", t)
	}
	// go-spdx must agree that the expression is valid (it knows the
	// licence and exception lists and the grammar's corner cases).
	if ok, bad := spdxexp.ValidateLicenses([]string{expr}); !ok {
		return nil, fmt.Errorf("not a valid SPDX expression (go-spdx rejects %q)", strings.Join(bad, ", "))
	}
	return d, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case isIDChar(c):
			j := i
			for j < len(s) && isIDChar(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '+' || c == ':'
}

type exprParser struct {
	toks []string
	i    int
}

func (p *exprParser) peekOp(op string) bool {
	return p.i < len(p.toks) && p.toks[p.i] == op
}

func (p *exprParser) or(depth int) ([][]string, error) {
	d, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peekOp("OR") {
		p.i++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		d = appendTerms(d, r)
		if len(d) > maxDNFTerms {
			return nil, fmt.Errorf("%w: more than %d alternatives", ErrTooComplex, maxDNFTerms)
		}
	}
	return d, nil
}

func (p *exprParser) and(depth int) ([][]string, error) {
	d, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for p.peekOp("AND") {
		p.i++
		r, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		if len(d)*len(r) > maxDNFTerms {
			return nil, fmt.Errorf("%w: more than %d alternatives", ErrTooComplex, maxDNFTerms)
		}
		var out [][]string
		for _, a := range d {
			for _, b := range r {
				out = appendTerms(out, [][]string{merge(a, b)})
			}
		}
		d = out
	}
	return d, nil
}

func (p *exprParser) term(depth int) ([][]string, error) {
	if p.i >= len(p.toks) {
		return nil, errors.New("expression ends where a licence was expected")
	}
	t := p.toks[p.i]
	switch {
	case t == "(":
		if depth >= maxExprDepth {
			return nil, fmt.Errorf("parentheses nested deeper than %d", maxExprDepth)
		}
		p.i++
		d, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.toks) || p.toks[p.i] != ")" {
			return nil, errors.New("missing closing parenthesis")
		}
		p.i++
		return d, nil
	case t == ")" || isOperator(t):
		return nil, fmt.Errorf("unexpected %q where a licence was expected", t)
	}
	p.i++
	id, err := canonicalID(t)
	if err != nil {
		return nil, err
	}
	id = Normalize(id) // GPL-2.0 → GPL-2.0-only, GPL-2.0+ → GPL-2.0-or-later
	if p.peekOp("WITH") {
		p.i++
		if p.i >= len(p.toks) {
			return nil, fmt.Errorf("%s WITH: missing exception id", id)
		}
		exc := p.toks[p.i]
		p.i++
		ok, canon := spdxlicenses.IsException(exc)
		if !ok {
			return nil, fmt.Errorf("%s WITH %s: %q is not an SPDX licence exception", id, exc, exc)
		}
		id = id + " WITH " + canon
	}
	return [][]string{{id}}, nil
}

func isOperator(t string) bool {
	return t == "AND" || t == "OR" || t == "WITH"
}

// canonicalID returns the SPDX spelling of a licence id ("apache-2.0" →
// "Apache-2.0"), keeps LicenseRef-/DocumentRef- ids, and rejects anything
// else.
func canonicalID(t string) (string, error) {
	if hasPrefixFold(t, "LicenseRef-") || hasPrefixFold(t, "DocumentRef-") {
		return t, nil
	}
	if ok, id := spdxlicenses.IsDeprecatedLicense(t); ok { // e.g. "GPL-2.0+"
		return id, nil
	}
	base, plus := strings.CutSuffix(t, "+")
	if ok, id := spdxexp.ActiveLicense(base); ok {
		if plus {
			id += "+"
		}
		return id, nil
	}
	if ok, id := spdxlicenses.IsDeprecatedLicense(base); ok {
		if plus {
			id += "+"
		}
		return id, nil
	}
	return "", fmt.Errorf("%q is not an SPDX licence id (use LicenseRef-<name> for other licences)", t)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func merge(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// appendTerms adds the alternatives of r to d, skipping duplicates.
func appendTerms(d, r [][]string) [][]string {
	for _, t := range r {
		if !slices.ContainsFunc(d, func(u []string) bool { return slices.Equal(t, u) }) {
			d = append(d, t)
		}
	}
	return d
}
