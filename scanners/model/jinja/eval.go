package jinja

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// ---- abstract values ----

type kind uint8

const (
	kData     kind = iota // from the rendering context: unknown, not built by the template
	kStr                  // a known string
	kNum                  // a known number
	kBool                 // a known boolean
	kNone                 // none
	kList                 // a list or tuple of known length
	kDict                 // a dict with known keys
	kObj                  // a Python object of interest (lipsum, cycler, namespace, ...)
	kComputed             // built by the template from something that cannot be folded
	kMethod               // a bound str method (recv.s, name)
	kMacro                // a macro defined in the template
)

type val struct {
	k      kind
	s      string // kStr; kObj name; kMethod name; kMacro name
	n      float64
	isInt  bool
	b      bool
	items  []val // kList; kDict values
	keys   []val // kDict keys
	recv   *val  // kMethod receiver
	prefix string
}

func strVal(s string) val { return val{k: kStr, s: s} }

func numVal(s string) val {
	s = strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return val{k: kNum, n: float64(i), isInt: true}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return val{k: kComputed}
	}
	return val{k: kNum, n: f}
}

func intVal(i int) val { return val{k: kNum, n: float64(i), isInt: true} }

var (
	data     = val{k: kData}
	computed = val{k: kComputed}
)

// vs is the set of values an expression may have (bounded; past the bound
// it collapses to one computed value).
type vs []val

const maxAlternatives = 16

func one(v val) vs { return vs{v} }

func (a vs) union(b vs) vs {
	out := append(vs(nil), a...)
	for _, v := range b {
		dup := false
		for _, w := range out {
			if same(v, w) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	if len(out) > maxAlternatives {
		return collapse(out)
	}
	return out
}

// collapse keeps the fact that something was computed (or only data).
func collapse(a vs) vs {
	for _, v := range a {
		if v.k != kData {
			return one(computed)
		}
	}
	return one(data)
}

func same(a, b val) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kStr, kObj, kMacro:
		return a.s == b.s
	case kNum:
		return a.n == b.n
	case kBool:
		return a.b == b.b
	case kData, kNone:
		return a.prefix == b.prefix
	case kComputed:
		return a.prefix == b.prefix
	}
	return false
}

// str is Python's str() of a known scalar.
func (v val) str() (string, bool) {
	switch v.k {
	case kStr:
		return v.s, true
	case kNum:
		if v.isInt {
			return strconv.FormatInt(int64(v.n), 10), true
		}
		s := strconv.FormatFloat(v.n, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s, true
	case kBool:
		if v.b {
			return "True", true
		}
		return "False", true
	case kNone:
		return "None", true
	}
	return "", false
}

// unknownStr is the result of a string operation that cannot be folded:
// data when data from the rendering context went in and nothing opaque
// (an object, a computed value) did; computed otherwise (a value the
// template built from constants it could not be folded from, or from an
// object's string form). prefix is what is known of its start.
func unknownStr(prefix string, in ...val) val {
	hasData := false
	for _, v := range in {
		switch v.k {
		case kData:
			hasData = true
		case kObj, kComputed, kMethod, kMacro:
			return val{k: kComputed, prefix: prefix}
		}
	}
	if hasData {
		return val{k: kData, prefix: prefix}
	}
	return val{k: kComputed, prefix: prefix}
}

// ---- findings ----

// Finding is one thing the template can reach.
type Finding struct {
	Critical bool // false: high
	What     string
}

// dangerousAttrs are attributes without a leading "_" that reach frames,
// code or globals (Python 2 spellings included).
var dangerousAttrs = map[string]bool{
	"mro": true, "func_globals": true, "func_code": true, "func_closure": true, "im_func": true, "im_class": true,
	"gi_frame": true, "gi_code": true, "cr_frame": true, "cr_code": true, "ag_frame": true, "ag_code": true,
	"f_globals": true, "f_locals": true, "f_builtins": true, "f_back": true, "f_code": true, "tb_frame": true,
	"tb_next": true, "co_code": true, "co_consts": true, "environment": true, "_TemplateReference__context": true,
}

// dangerousNames are free names that are never a chat template's input
// and reach the interpreter where a server puts them in the context.
var dangerousNames = map[string]bool{
	"os": true, "sys": true, "subprocess": true, "builtins": true, "__builtins__": true, "importlib": true,
	"eval": true, "exec": true, "__import__": true, "open": true, "getattr": true, "setattr": true,
	"compile": true, "globals": true, "locals": true, "vars": true, "posix": true, "nt": true, "shutil": true,
	"socket": true, "self": true, "__loader__": true, "__spec__": true,
}

// objGlobals are Jinja's default globals (and transformers' helpers):
// Python functions and classes whose attributes lead to their module.
var objGlobals = map[string]bool{"lipsum": true, "cycler": true, "joiner": true, "namespace": true, "range": true,
	"dict": true, "raise_exception": true, "strftime_now": true}

// ---- interpreter ----

type interp struct {
	env      map[string]vs
	macros   map[string]*sMacro
	findings []Finding
	seen     map[string]bool
	steps    int
	depth    int
	err      error
}

const maxSteps = 200_000

func (in *interp) report(critical bool, format string, args ...any) {
	what := fmt.Sprintf(format, args...)
	if in.seen[what] {
		return
	}
	in.seen[what] = true
	in.findings = append(in.findings, Finding{Critical: critical, What: what})
}

func (in *interp) step() bool {
	in.steps++
	if in.steps > maxSteps && in.err == nil {
		in.err = fmt.Errorf("%w: more than %d evaluation steps", ErrLimit, maxSteps)
	}
	return in.err == nil
}

// Analyze parses a template and returns what it can reach. An error means
// the template does not parse (ErrSyntax: Jinja2 refuses it too) or a
// limit stopped the analysis (ErrLimit); findings made before a limit are
// returned.
func Analyze(src string) ([]Finding, error) {
	body, err := parse(src)
	if err != nil {
		return nil, err
	}
	in := &interp{env: map[string]vs{}, macros: map[string]*sMacro{}, seen: map[string]bool{}}
	in.block(body)
	return in.findings, in.err
}

func (in *interp) snapshot() map[string]vs {
	m := make(map[string]vs, len(in.env))
	for k, v := range in.env {
		m[k] = v
	}
	return m
}

// merge unions another run's variables into the current ones.
func (in *interp) merge(other map[string]vs) {
	for k, v := range other {
		if cur, ok := in.env[k]; ok {
			in.env[k] = cur.union(v)
		} else {
			in.env[k] = v
		}
	}
}

func (in *interp) block(body []stmt) {
	in.depth++
	defer func() { in.depth-- }()
	if in.depth > maxDepth*2 {
		if in.err == nil {
			in.err = fmt.Errorf("%w: blocks or macro calls nest deeper than %d", ErrLimit, maxDepth*2)
		}
		return
	}
	for _, s := range body {
		if !in.step() {
			return
		}
		in.stmt(s)
	}
}

func (in *interp) assign(target expr, v vs) {
	switch t := target.(type) {
	case eName:
		in.env[t.name] = v
	case eAttr: // namespace attribute: ns.x
		if n, ok := t.x.(eName); ok {
			in.env[n.name+"."+t.name] = v
			return
		}
		in.eval(t.x)
	case eList:
		for i, x := range t.items {
			in.assign(x, in.index(v, i))
		}
	default:
		in.eval(target)
	}
}

// index is element i of each list alternative (data otherwise).
func (in *interp) index(v vs, i int) vs {
	var out vs
	for _, x := range v {
		if x.k == kList && i < len(x.items) {
			out = out.union(one(x.items[i]))
		} else {
			out = out.union(one(elemOf(x)))
		}
	}
	return out
}

func elemOf(x val) val {
	if x.k == kData {
		return data
	}
	return computed
}

func (in *interp) stmt(s stmt) {
	switch s := s.(type) {
	case sOutput:
		in.eval(s.x)
	case sSet:
		// set ns = namespace(k=v): the attributes are variables ns.k
		if c, ok := s.x.(eCall); ok && len(s.targets) == 1 {
			if fn, ok := c.fn.(eName); ok && fn.name == "namespace" && in.env["namespace"] == nil {
				if t, ok := s.targets[0].(eName); ok {
					for _, k := range c.kwkeys {
						in.env[t.name+"."+k] = in.eval(c.kwargs[k])
					}
				}
			}
		}
		v := in.eval(s.x)
		if len(s.targets) == 1 {
			in.assign(s.targets[0], v)
		} else {
			in.assign(eList{items: s.targets}, v)
		}
	case sSetBlock:
		out := in.render(s.body)
		for _, f := range s.filters {
			out = in.filter(out, f)
		}
		in.assign(s.target, out)
	case sFor:
		in.forLoop(s)
	case sIf:
		before := in.snapshot()
		var after []map[string]vs
		for i, c := range s.conds {
			in.eval(c)
			in.env = copyEnv(before)
			in.block(s.bodies[i])
			after = append(after, in.env)
		}
		in.env = copyEnv(before)
		in.block(s.orelse)
		for _, a := range after {
			in.merge(a)
		}
	case sMacro:
		m := s
		in.macros[s.name] = &m
		in.env[s.name] = one(val{k: kMacro, s: s.name})
		// Judge the body once with its parameters as data (a macro never
		// called is still rendered code).
		saved := in.snapshot()
		for _, p := range s.params {
			in.env[p] = one(data)
			if d, ok := s.defaults[p]; ok {
				in.env[p] = in.eval(d).union(one(data))
			}
		}
		in.env["caller"], in.env["varargs"], in.env["kwargs"] = one(data), one(data), one(data)
		in.block(s.body)
		in.env = saved
	case sCallBlock:
		saved := in.snapshot()
		in.block(s.body)
		in.env = saved
		in.eval(s.call)
	case sFilterBlock:
		out := in.render(s.body)
		for _, f := range s.filters {
			out = in.filter(out, f)
		}
	case sWith:
		saved := in.snapshot()
		for i, n := range s.names {
			in.env[n] = in.eval(s.vals[i])
		}
		in.block(s.body)
		in.env = saved
	case sBlock:
		in.block(s.body)
	case sLoad:
		in.eval(s.x)
		in.report(false, "{%% %s %%} loads another template from the server's template loader (not part of this model)", s.kind)
	case sDo:
		in.eval(s.x)
	}
}

func copyEnv(m map[string]vs) map[string]vs {
	c := make(map[string]vs, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// render runs a block and returns what it may output: its text is known
// only when the block is plain text and constant expressions.
func (in *interp) render(body []stmt) vs {
	var b strings.Builder
	known := true
	for _, s := range body {
		switch s := s.(type) {
		case sText:
			b.WriteString(s.s)
		case sOutput:
			v := in.eval(s.x)
			if str, ok := single(v); ok {
				b.WriteString(str)
			} else {
				known = false
			}
		default:
			known = false
			in.stmt(s)
		}
	}
	if known && b.Len() <= maxString {
		// whitespace control and trim_blocks may strip the ends
		return one(strVal(b.String())).union(one(strVal(strings.TrimSpace(b.String()))))
	}
	return one(computed)
}

func single(v vs) (string, bool) {
	if len(v) != 1 {
		return "", false
	}
	return v[0].str()
}

// forLoop unrolls loops over known lists (bounded) and runs other bodies
// once with the loop variables as data; either way the result merges with
// the state before the loop (it may run zero times).
func (in *interp) forLoop(s sFor) {
	iter := in.eval(s.iter)
	before := in.snapshot()
	var items []val
	unroll := len(iter) == 1 && (iter[0].k == kList || iter[0].k == kStr || iter[0].k == kDict)
	if unroll {
		switch x := iter[0]; x.k {
		case kList:
			items = x.items
		case kDict:
			items = x.keys
		case kStr:
			for _, r := range x.s {
				items = append(items, strVal(string(r)))
			}
		}
		if len(items) > 256 {
			unroll = false
		}
	}
	in.env["loop"] = one(data)
	if unroll {
		for _, it := range items {
			if !in.step() {
				return
			}
			in.bindLoop(s.targets, one(it))
			if s.cond != nil {
				in.eval(s.cond)
			}
			in.block(s.body)
		}
	} else {
		var elem vs
		for _, x := range iter {
			switch x.k {
			case kList:
				for _, it := range x.items {
					elem = elem.union(one(it))
				}
			default:
				elem = elem.union(one(elemOf(x)))
			}
		}
		if len(elem) == 0 {
			elem = one(data)
		}
		for pass := 0; pass < 2; pass++ { // twice: values carried between iterations
			in.bindLoop(s.targets, elem)
			if s.cond != nil {
				in.eval(s.cond)
			}
			in.block(s.body)
		}
	}
	in.block(s.elseBody)
	in.merge(before)
}

func (in *interp) bindLoop(targets []string, v vs) {
	if len(targets) == 1 {
		in.env[targets[0]] = v
		return
	}
	for i, t := range targets {
		in.env[t] = in.index(v, i)
	}
}

// ---- expressions ----

func (in *interp) eval(e expr) vs {
	if !in.step() {
		return one(computed)
	}
	switch x := e.(type) {
	case eConst:
		return one(x.v)
	case eName:
		if v, ok := in.env[x.name]; ok {
			return v
		}
		if dangerousNames[x.name] {
			in.report(true, "uses %q, a name that reaches the Python interpreter where a server provides it", x.name)
			return one(val{k: kObj, s: x.name})
		}
		if objGlobals[x.name] {
			return one(val{k: kObj, s: x.name})
		}
		return one(data)
	case eList:
		return in.product(x.items, func(items []val) val { return val{k: kList, items: items} })
	case eDict:
		keys := in.product(x.keys, func(items []val) val { return val{k: kList, items: items} })
		vals := in.product(x.vals, func(items []val) val { return val{k: kList, items: items} })
		if len(keys) == 1 && len(vals) == 1 {
			return one(val{k: kDict, keys: keys[0].items, items: vals[0].items})
		}
		return one(computed)
	case eAttr:
		base := in.eval(x.x)
		// namespace attributes are variables
		if n, ok := x.x.(eName); ok {
			if v, ok := in.env[n.name+"."+x.name]; ok {
				return v
			}
		}
		in.judgeName(one(strVal(x.name)), "attribute ."+x.name)
		return in.getAttr(base, x.name)
	case eItem:
		base := in.eval(x.x)
		key := in.eval(x.key)
		in.judgeName(key, "subscript")
		return in.getItem(base, key)
	case eSlice:
		base := in.eval(x.x)
		var parts [3]vs
		for i, p := range []expr{x.lo, x.hi, x.step} {
			if p != nil {
				parts[i] = in.eval(p)
			}
		}
		var out vs
		for _, b := range base {
			out = out.union(one(slice(b, parts)))
		}
		return out
	case eCall:
		return in.call(x)
	case eFilter:
		var base vs
		if x.x != nil {
			base = in.eval(x.x)
		}
		return in.filter(base, x)
	case eTest:
		in.eval(x.x)
		for _, a := range x.args {
			in.eval(a)
		}
		return one(data)
	case eUnary:
		v := in.eval(x.x)
		if x.op == "-" {
			var out vs
			for _, a := range v {
				if a.k == kNum {
					a.n = -a.n
					out = out.union(one(a))
				} else {
					out = out.union(one(elemOf(a)))
				}
			}
			return out
		}
		if x.op == "+" {
			return v
		}
		return one(data)
	case eCond:
		in.eval(x.cond)
		return in.eval(x.a).union(in.eval(x.b))
	case eBin:
		a := in.eval(x.a)
		b := in.eval(x.b)
		switch x.op {
		case "and", "or":
			return a.union(b)
		case "==", "!=", "<", ">", "<=", ">=", "in", "not in":
			return one(data)
		}
		var out vs
		for _, p := range a {
			for _, q := range b {
				out = out.union(one(binop(x.op, p, q)))
				if len(out) >= maxAlternatives {
					return collapse(out)
				}
			}
		}
		return out
	}
	return one(computed)
}

// product evaluates each expression and builds every combination (bounded).
func (in *interp) product(xs []expr, mk func([]val) val) vs {
	combos := [][]val{{}}
	for _, e := range xs {
		v := in.eval(e)
		var next [][]val
		for _, c := range combos {
			for _, a := range v {
				n := append(append([]val(nil), c...), a)
				next = append(next, n)
			}
		}
		if len(next) > maxAlternatives {
			return one(computed)
		}
		combos = next
	}
	var out vs
	for _, c := range combos {
		out = append(out, mk(c))
	}
	return out
}

// judgeName reports an attribute or item name that reaches Python internals.
func (in *interp) judgeName(names vs, how string) {
	for _, n := range names {
		switch n.k {
		case kStr:
			if strings.HasPrefix(n.s, "_") || dangerousAttrs[n.s] {
				in.report(true, "%s reaches Python internals through %q (server-side template injection)", how, n.s)
			}
		case kComputed:
			if strings.HasPrefix(n.prefix, "_") {
				in.report(true, "%s reaches Python internals through a name starting %q built at run time", how, n.prefix)
			} else {
				in.report(true, "%s uses a name computed at run time from something other than the chat data: it cannot be judged and can reach Python internals", how)
			}
		case kData:
			if strings.HasPrefix(n.prefix, "_") {
				in.report(true, "%s uses a name starting %q: reaches Python internals", how, n.prefix)
			}
		case kObj, kMethod, kMacro:
			in.report(true, "%s uses an object as a name: cannot be judged", how)
		}
	}
}

// judgeAttrArg judges a name an attribute-taking filter uses (|attr,
// map(attribute=...), selectattr, ...): only constants that are safe pass.
func (in *interp) judgeAttrArg(names vs, how string) {
	for _, n := range names {
		if n.k == kData {
			if strings.HasPrefix(n.prefix, "_") {
				in.report(true, "%s uses a name starting %q: reaches Python internals", how, n.prefix)
			} else if how == "|attr" {
				in.report(true, "|attr with a name taken from the rendering context: an attribute lookup the template does not fix")
			}
			continue
		}
		if n.k == kStr {
			// dotted attribute paths (map(attribute='a.b'))
			for _, part := range strings.Split(n.s, ".") {
				in.judgeName(one(strVal(part)), how)
			}
			continue
		}
		in.judgeName(one(n), how)
	}
}

func (in *interp) getAttr(base vs, name string) vs {
	var out vs
	for _, b := range base {
		switch b.k {
		case kStr:
			if strMethods[name] {
				bb := b
				out = out.union(one(val{k: kMethod, s: name, recv: &bb}))
			} else {
				out = out.union(one(computed))
			}
		case kDict:
			v := computed
			for i, k := range b.keys {
				if k.k == kStr && k.s == name {
					v = b.items[i]
				}
			}
			if name == "items" || name == "keys" || name == "values" || name == "get" {
				bb := b
				v = val{k: kMethod, s: name, recv: &bb}
			}
			out = out.union(one(v))
		case kData:
			out = out.union(one(data))
		case kObj:
			if strings.HasSuffix(b.s, "()") {
				// an instance (namespace(), cycler(), joiner()): its
				// attributes are the template's own values
				out = out.union(one(data))
			} else {
				out = out.union(one(val{k: kObj, s: b.s + "." + name}))
			}
		default:
			out = out.union(one(computed))
		}
	}
	return out
}

func (in *interp) getItem(base, key vs) vs {
	var out vs
	for _, b := range base {
		for _, k := range key {
			var v val
			switch {
			case b.k == kData:
				v = data
			case b.k == kList && k.k == kNum && k.isInt:
				i := int(k.n)
				if i < 0 {
					i += len(b.items)
				}
				v = computed
				if i >= 0 && i < len(b.items) {
					v = b.items[i]
				}
			case b.k == kStr && k.k == kNum && k.isInt:
				r := []rune(b.s)
				i := int(k.n)
				if i < 0 {
					i += len(r)
				}
				v = computed
				if i >= 0 && i < len(r) {
					v = strVal(string(r[i]))
				}
			case b.k == kDict && k.k == kStr:
				v = computed
				for i, kk := range b.keys {
					if kk.k == kStr && kk.s == k.s {
						v = b.items[i]
					}
				}
			case b.k == kObj && k.k == kStr:
				v = val{k: kObj, s: b.s + "." + k.s}
			default:
				v = computed
			}
			out = out.union(one(v))
		}
	}
	return out
}

func slice(b val, parts [3]vs) val {
	idx := func(p vs, def int, n int) (int, bool) {
		if p == nil {
			return def, true
		}
		if len(p) != 1 || p[0].k != kNum || !p[0].isInt {
			if len(p) == 1 && p[0].k == kNone {
				return def, true
			}
			return 0, false
		}
		i := int(p[0].n)
		if i < 0 {
			i += n
		}
		return max(-1, min(i, n)), true
	}
	var items []val
	switch b.k {
	case kStr:
		for _, r := range b.s {
			items = append(items, strVal(string(r)))
		}
	case kList:
		items = b.items
	default:
		return elemOf(b)
	}
	n := len(items)
	step, ok := idx(parts[2], 1, math.MaxInt32)
	if !ok || step == 0 {
		return computed
	}
	var lo, hi int
	var ok1, ok2 bool
	if step > 0 {
		lo, ok1 = idx(parts[0], 0, n)
		hi, ok2 = idx(parts[1], n, n)
		lo = max(lo, 0)
	} else {
		lo, ok1 = idx(parts[0], n-1, n)
		hi, ok2 = idx(parts[1], -1, n)
		if parts[1] == nil {
			hi = -1
		}
		lo = min(lo, n-1)
	}
	if !ok1 || !ok2 {
		return computed
	}
	var out []val
	for i := lo; step > 0 && i < hi || step < 0 && i > hi; i += step {
		if i >= 0 && i < n {
			out = append(out, items[i])
		}
		if len(out) > 1<<16 {
			return computed
		}
	}
	if b.k == kStr {
		var s strings.Builder
		for _, v := range out {
			s.WriteString(v.s)
		}
		return strVal(s.String())
	}
	return val{k: kList, items: out}
}

const maxString = 1 << 16

func binop(op string, a, b val) val {
	switch op {
	case "~":
		sa, oka := a.str()
		sb, okb := b.str()
		if oka && okb {
			return capStr(sa + sb)
		}
		if oka {
			return unknownStr(sa+b.prefix, b)
		}
		return unknownStr(a.prefix, a, b)
	case "+":
		switch {
		case a.k == kStr && b.k == kStr:
			return capStr(a.s + b.s)
		case a.k == kNum && b.k == kNum:
			return val{k: kNum, n: a.n + b.n, isInt: a.isInt && b.isInt}
		case a.k == kList && b.k == kList:
			return val{k: kList, items: append(append([]val(nil), a.items...), b.items...)}
		case a.k == kStr:
			return unknownStr(a.s+b.prefix, b)
		}
		return unknownStr(a.prefix, a, b)
	case "*":
		if a.k == kNum && b.k == kStr {
			a, b = b, a
		}
		switch {
		case a.k == kStr && b.k == kNum && b.isInt:
			if b.n <= 0 {
				return strVal("")
			}
			if float64(len(a.s))*b.n > maxString {
				return unknownStr(a.s, a, b)
			}
			return strVal(strings.Repeat(a.s, int(b.n)))
		case a.k == kList && b.k == kNum && b.isInt:
			if b.n <= 0 {
				return val{k: kList}
			}
			if float64(len(a.items))*b.n > 256 {
				return computed
			}
			var items []val
			for i := 0; i < int(b.n); i++ {
				items = append(items, a.items...)
			}
			return val{k: kList, items: items}
		case a.k == kNum && b.k == kNum:
			return val{k: kNum, n: a.n * b.n, isInt: a.isInt && b.isInt}
		case a.k == kStr:
			return unknownStr(a.s, b)
		case a.k == kNum || b.k == kNum && a.k != kList:
			// number × number (or a number times data): a string only
			// when the other side is a string, which data may be
			return unknownStr("", a, b)
		}
		return unknownStr("", a, b)
	case "%":
		if a.k == kStr {
			var args []val
			if b.k == kList {
				args = b.items
			} else {
				args = []val{b}
			}
			return percentFormat(a.s, args)
		}
		if a.k == kNum && b.k == kNum && b.n != 0 {
			return val{k: kNum, n: math.Mod(a.n, b.n), isInt: a.isInt && b.isInt}
		}
		if a.k == kNum || a.k == kBool {
			return data // numeric modulo
		}
		return unknownStr("", a, b)
	case "-", "/", "//", "**":
		if a.k != kNum || b.k != kNum {
			return data // arithmetic yields a number (or fails): never an attribute name
		}
		switch op {
		case "-":
			return val{k: kNum, n: a.n - b.n, isInt: a.isInt && b.isInt}
		case "/":
			if b.n != 0 {
				return val{k: kNum, n: a.n / b.n}
			}
		case "//":
			if b.n != 0 {
				return val{k: kNum, n: math.Floor(a.n / b.n), isInt: a.isInt && b.isInt}
			}
		case "**":
			if math.Abs(b.n) < 64 {
				return val{k: kNum, n: math.Pow(a.n, b.n), isInt: a.isInt && b.isInt && b.n >= 0}
			}
		}
		return data
	}
	return computed
}

func capStr(s string) val {
	if len(s) > maxString {
		return val{k: kComputed, prefix: s[:64]}
	}
	return strVal(s)
}

// percentFormat folds Python's "%" formatting for %s %r %d %i %c %x %o %%.
func percentFormat(f string, args []val) val {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		for i < len(f) && strings.IndexByte("-+ #0123456789.", f[i]) >= 0 {
			i++
		}
		if i >= len(f) {
			return unknownStr(b.String(), args...)
		}
		c := f[i]
		if c == '%' {
			b.WriteByte('%')
			continue
		}
		if ai >= len(args) {
			return unknownStr(b.String(), args...)
		}
		a := args[ai]
		ai++
		switch c {
		case 's', 'r':
			s, ok := a.str()
			if !ok {
				return unknownStr(b.String(), args...)
			}
			if c == 'r' && a.k == kStr {
				s = "'" + s + "'"
			}
			b.WriteString(s)
		case 'd', 'i':
			if a.k != kNum {
				return unknownStr(b.String(), args...)
			}
			b.WriteString(strconv.FormatInt(int64(a.n), 10))
		case 'c':
			switch {
			case a.k == kNum && a.n >= 0 && a.n <= unicode.MaxRune:
				b.WriteRune(rune(a.n))
			case a.k == kStr && len([]rune(a.s)) == 1:
				b.WriteString(a.s)
			default:
				// a character from a number known only at run time
				// (0*len(messages)+95 is "_"): not data the chat supplies
				return val{k: kComputed, prefix: b.String()}
			}
		case 'x', 'X', 'o':
			if a.k != kNum {
				return unknownStr(b.String(), args...)
			}
			base := 16
			if c == 'o' {
				base = 8
			}
			s := strconv.FormatInt(int64(a.n), base)
			if c == 'X' {
				s = strings.ToUpper(s)
			}
			b.WriteString(s)
		default:
			return unknownStr(b.String(), args...)
		}
		if b.Len() > maxString {
			return computed
		}
	}
	return strVal(b.String())
}

var strMethods = map[string]bool{"join": true, "replace": true, "upper": true, "lower": true, "title": true,
	"capitalize": true, "strip": true, "lstrip": true, "rstrip": true, "swapcase": true, "format": true,
	"split": true, "startswith": true, "endswith": true, "casefold": true, "center": true, "ljust": true,
	"rjust": true, "zfill": true, "removeprefix": true, "removesuffix": true, "format_map": true}

func (in *interp) call(c eCall) vs {
	fn := in.eval(c.fn)
	var args []vs
	for _, a := range c.args {
		args = append(args, in.eval(a))
	}
	kw := map[string]vs{}
	for _, k := range c.kwkeys {
		kw[k] = in.eval(c.kwargs[k])
	}
	for _, s := range c.star {
		in.eval(s)
	}
	var out vs
	for _, f := range fn {
		switch f.k {
		case kMethod:
			out = out.union(in.method(f, args, kw))
		case kMacro:
			out = out.union(in.expand(f.s, args, kw))
		case kObj:
			switch f.s {
			case "dict":
				d := val{k: kDict}
				for _, k := range c.kwkeys {
					d.keys = append(d.keys, strVal(k))
					v := kw[k]
					if len(v) == 1 {
						d.items = append(d.items, v[0])
					} else {
						d.items = append(d.items, computed)
					}
				}
				if len(args) == 0 {
					out = out.union(one(d))
				} else {
					out = out.union(one(computed))
				}
			case "range":
				out = out.union(rangeVal(args))
			case "namespace", "cycler", "joiner", "lipsum":
				out = out.union(one(val{k: kObj, s: f.s + "()"}))
			case "raise_exception", "strftime_now", "caller":
				out = out.union(one(data))
			default:
				out = out.union(one(val{k: kObj, s: f.s + "()"}))
			}
		case kData:
			out = out.union(one(data))
		default:
			out = out.union(one(computed))
		}
	}
	return out
}

func rangeVal(args []vs) vs {
	var n []int
	for _, a := range args {
		if len(a) != 1 || a[0].k != kNum || !a[0].isInt {
			return one(data)
		}
		n = append(n, int(a[0].n))
	}
	lo, hi, step := 0, 0, 1
	switch len(n) {
	case 1:
		hi = n[0]
	case 2:
		lo, hi = n[0], n[1]
	case 3:
		lo, hi, step = n[0], n[1], n[2]
	default:
		return one(data)
	}
	if step == 0 {
		return one(data)
	}
	var items []val
	for i := lo; step > 0 && i < hi || step < 0 && i > hi; i += step {
		items = append(items, intVal(i))
		if len(items) > 256 {
			return one(data)
		}
	}
	return one(val{k: kList, items: items})
}

// expand runs a macro's body with its arguments bound (bounded by depth).
func (in *interp) expand(name string, args []vs, kw map[string]vs) vs {
	m := in.macros[name]
	if m == nil || in.depth > 16 {
		return one(data)
	}
	// The body was judged with data parameters where it was defined: run
	// it again only when an argument is something else (a name the caller
	// built, an object).
	plain := true
	for _, a := range args {
		for _, v := range a {
			plain = plain && v.k == kData
		}
	}
	for _, a := range kw {
		for _, v := range a {
			plain = plain && v.k == kData
		}
	}
	if plain {
		return one(data)
	}
	saved := in.snapshot()
	for i, p := range m.params {
		switch {
		case i < len(args):
			in.env[p] = args[i]
		case kw[p] != nil:
			in.env[p] = kw[p]
		case m.defaults[p] != nil:
			in.env[p] = in.eval(m.defaults[p])
		default:
			in.env[p] = one(data)
		}
	}
	out := in.render(m.body)
	in.env = saved
	return out
}

func (in *interp) method(f val, args []vs, kw map[string]vs) vs {
	r := *f.recv
	arg := func(i int) (val, bool) {
		if i >= len(args) || len(args[i]) != 1 {
			return val{}, false
		}
		return args[i][0], true
	}
	all := []val{r}
	for _, a := range args {
		all = append(all, a...)
	}
	if r.k == kDict {
		switch f.s {
		case "items", "keys", "values":
			var items []val
			for i, k := range r.keys {
				switch f.s {
				case "items":
					items = append(items, val{k: kList, items: []val{k, r.items[i]}})
				case "keys":
					items = append(items, k)
				default:
					items = append(items, r.items[i])
				}
			}
			return one(val{k: kList, items: items})
		}
		return one(computed)
	}
	s := r.s
	switch f.s {
	case "upper":
		return one(strVal(strings.ToUpper(s)))
	case "lower", "casefold":
		return one(strVal(strings.ToLower(s)))
	case "swapcase":
		var b strings.Builder
		for _, c := range s {
			if unicode.IsUpper(c) {
				b.WriteRune(unicode.ToLower(c))
			} else {
				b.WriteRune(unicode.ToUpper(c))
			}
		}
		return one(strVal(b.String()))
	case "title":
		return one(strVal(pyTitle(s)))
	case "capitalize":
		return one(strVal(pyCapitalize(s)))
	case "strip", "lstrip", "rstrip":
		cut := " \t\n\r\v\f"
		if a, ok := arg(0); ok && a.k == kStr {
			cut = a.s
		} else if len(args) > 0 {
			return one(unknownStr("", all...))
		}
		switch f.s {
		case "strip":
			return one(strVal(strings.Trim(s, cut)))
		case "lstrip":
			return one(strVal(strings.TrimLeft(s, cut)))
		}
		return one(strVal(strings.TrimRight(s, cut)))
	case "removeprefix", "removesuffix":
		if a, ok := arg(0); ok && a.k == kStr {
			if f.s == "removeprefix" {
				return one(strVal(strings.TrimPrefix(s, a.s)))
			}
			return one(strVal(strings.TrimSuffix(s, a.s)))
		}
	case "replace":
		a, ok1 := arg(0)
		b, ok2 := arg(1)
		if ok1 && ok2 && a.k == kStr && b.k == kStr {
			return one(capStr(strings.ReplaceAll(s, a.s, b.s)))
		}
	case "join":
		if a, ok := arg(0); ok {
			return one(joinVal(a, s))
		}
	case "split":
		sep := ""
		if a, ok := arg(0); ok && a.k == kStr {
			sep = a.s
		}
		var parts []string
		if sep == "" {
			parts = strings.Fields(s)
		} else {
			parts = strings.Split(s, sep)
		}
		if len(parts) > 256 {
			return one(computed)
		}
		l := val{k: kList}
		for _, p := range parts {
			l.items = append(l.items, strVal(p))
		}
		return one(l)
	case "center", "ljust", "rjust", "zfill":
		return one(unknownStr("", all...))
	case "format", "format_map":
		return in.strFormat(s, args, kw)
	case "startswith", "endswith":
		return one(data)
	}
	return one(unknownStr("", all...))
}

func pyTitle(s string) string {
	var b strings.Builder
	prev := false
	for _, c := range s {
		if unicode.IsLetter(c) {
			if prev {
				b.WriteRune(unicode.ToLower(c))
			} else {
				b.WriteRune(unicode.ToUpper(c))
			}
			prev = true
		} else {
			b.WriteRune(c)
			prev = false
		}
	}
	return b.String()
}

func pyCapitalize(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// joinVal joins a known list of known strings.
func joinVal(l val, sep string) val {
	var items []val
	switch l.k {
	case kList:
		items = l.items
	case kStr:
		for _, r := range l.s {
			items = append(items, strVal(string(r)))
		}
	case kDict:
		items = l.keys
	default:
		return unknownStr("", l)
	}
	var b strings.Builder
	for i, it := range items {
		s, ok := it.str()
		if !ok {
			return unknownStr(b.String(), items...)
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
		if b.Len() > maxString {
			return computed
		}
	}
	return strVal(b.String())
}

// strFormat folds str.format and judges attribute and item lookups in its
// replacement fields ("{0.__class__}", "{x[__globals__]}").
func (in *interp) strFormat(f string, args []vs, kw map[string]vs) vs {
	var b strings.Builder
	auto := 0
	known := true
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '}' && i+1 < len(f) && f[i+1] == '}' {
			b.WriteByte('}')
			i++
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		j := strings.IndexByte(f[i:], '}')
		if j < 0 {
			return one(computed)
		}
		field := f[i+1 : i+j]
		i += j
		spec := ""
		if k := strings.IndexByte(field, ':'); k >= 0 {
			field, spec = field[:k], field[k+1:]
		}
		if k := strings.IndexByte(field, '!'); k >= 0 {
			field = field[:k]
		}
		name := field
		if k := strings.IndexAny(field, ".["); k >= 0 {
			name = field[:k]
			for _, part := range strings.FieldsFunc(field[k:], func(r rune) bool { return r == '.' || r == '[' || r == ']' }) {
				in.judgeName(one(strVal(part)), "str.format field {"+field+"}")
			}
			known = false
		}
		var v vs
		if name == "" {
			if auto < len(args) {
				v = args[auto]
			}
			auto++
		} else if n, err := strconv.Atoi(name); err == nil {
			if n < len(args) {
				v = args[n]
			}
		} else {
			v = kw[name]
		}
		if !known || len(v) != 1 {
			known = false
			continue
		}
		if spec == "c" && v[0].k == kNum && v[0].n >= 0 && v[0].n <= unicode.MaxRune {
			b.WriteRune(rune(v[0].n))
			continue
		}
		if spec == "c" {
			return one(val{k: kComputed, prefix: b.String()})
		}
		s, ok := v[0].str()
		if !ok || spec != "" && spec != "s" {
			known = false
			continue
		}
		b.WriteString(s)
	}
	if known {
		return one(capStr(b.String()))
	}
	var all []val
	for _, a := range args {
		all = append(all, a...)
	}
	return one(unknownStr("", append(all, strVal(""))...))
}

// attrFilters take an attribute name (argument index, keyword).
var attrFilters = map[string]struct {
	pos int
	kw  string
}{
	"attr": {0, ""}, "map": {-1, "attribute"}, "selectattr": {0, ""}, "rejectattr": {0, ""},
	"groupby": {0, "attribute"}, "sort": {-1, "attribute"}, "sum": {-1, "attribute"}, "unique": {-1, "attribute"},
	"min": {-1, "attribute"}, "max": {-1, "attribute"}, "dictsort": {-1, ""},
}

func (in *interp) filter(base vs, f eFilter) vs {
	var args []vs
	for _, a := range f.args {
		args = append(args, in.eval(a))
	}
	kw := map[string]vs{}
	keys := make([]string, 0, len(f.kwargs))
	for k := range f.kwargs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kw[k] = in.eval(f.kwargs[k])
	}
	if a, ok := attrFilters[f.name]; ok {
		if a.pos >= 0 && a.pos < len(args) {
			in.judgeAttrArg(args[a.pos], "|"+f.name)
		}
		if a.kw != "" && kw[a.kw] != nil {
			in.judgeAttrArg(kw[a.kw], "|"+f.name+"("+a.kw+"=...)")
		}
		if f.name == "attr" {
			var out vs
			for _, b := range base {
				if b.k == kData {
					out = out.union(one(data))
				} else {
					out = out.union(one(val{k: kObj, s: "attr"}))
				}
			}
			return out
		}
		if f.name == "map" && len(args) > 0 { // map('filter', ...)
			return in.mapFilter(base, args)
		}
	}
	arg := func(i int) (val, bool) {
		if i >= len(args) || len(args[i]) != 1 {
			return val{}, false
		}
		return args[i][0], true
	}
	var out vs
	for _, b := range base {
		out = out.union(one(in.filter1(b, f.name, args, kw, arg)))
		if len(out) >= maxAlternatives {
			return collapse(out)
		}
	}
	if len(base) == 0 {
		out = one(data)
	}
	return out
}

func (in *interp) mapFilter(base vs, args []vs) vs {
	if len(args[0]) != 1 || args[0][0].k != kStr {
		in.report(true, "|map with a filter name computed at run time: cannot be judged")
		return one(computed)
	}
	name := args[0][0].s
	var out vs
	for _, b := range base {
		if b.k != kList {
			out = out.union(one(elemOf(b)))
			continue
		}
		l := val{k: kList}
		for _, it := range b.items {
			v := in.filter(one(it), eFilter{name: name, args: nil})
			if len(v) != 1 {
				l = computed
				break
			}
			l.items = append(l.items, v[0])
		}
		out = out.union(one(l))
	}
	return out
}

func (in *interp) filter1(b val, name string, args []vs, kw map[string]vs, arg func(int) (val, bool)) val {
	all := []val{b}
	for _, a := range args {
		all = append(all, a...)
	}
	switch name {
	case "safe", "e", "escape", "forceescape", "trim", "striptags":
		if b.k == kStr {
			if name == "trim" {
				return strVal(strings.TrimSpace(b.s))
			}
			if strings.ContainsAny(b.s, "<>&'\"") && name != "safe" {
				return unknownStr("", b)
			}
			return b
		}
		return unknownStr("", b)
	case "string":
		if s, ok := b.str(); ok {
			return strVal(s)
		}
		return unknownStr("", b)
	case "upper", "lower", "capitalize", "title":
		if b.k == kStr {
			switch name {
			case "upper":
				return strVal(strings.ToUpper(b.s))
			case "lower":
				return strVal(strings.ToLower(b.s))
			case "capitalize":
				return strVal(pyCapitalize(b.s))
			}
			return strVal(pyTitle(b.s))
		}
		return unknownStr("", b)
	case "replace":
		x, ok1 := arg(0)
		y, ok2 := arg(1)
		if b.k == kStr && ok1 && ok2 && x.k == kStr && y.k == kStr && len(args) == 2 {
			return capStr(strings.ReplaceAll(b.s, x.s, y.s))
		}
		return unknownStr("", all...)
	case "reverse":
		switch b.k {
		case kStr:
			r := []rune(b.s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return strVal(string(r))
		case kList:
			l := val{k: kList}
			for i := len(b.items) - 1; i >= 0; i-- {
				l.items = append(l.items, b.items[i])
			}
			return l
		}
		return elemOf(b)
	case "list":
		switch b.k {
		case kStr:
			l := val{k: kList}
			for _, r := range b.s {
				l.items = append(l.items, strVal(string(r)))
			}
			return l
		case kList:
			return b
		case kDict:
			return val{k: kList, items: b.keys}
		}
		return elemOf(b)
	case "first", "last":
		var items []val
		switch b.k {
		case kStr:
			for _, r := range b.s {
				items = append(items, strVal(string(r)))
			}
		case kList:
			items = b.items
		case kDict:
			items = b.keys
		default:
			return elemOf(b)
		}
		if len(items) == 0 {
			return val{k: kNone}
		}
		if name == "first" {
			return items[0]
		}
		return items[len(items)-1]
	case "join":
		sep := ""
		if a, ok := arg(0); ok {
			s, ok := a.str()
			if !ok {
				return unknownStr("", all...)
			}
			sep = s
		}
		if a, ok := kw["attribute"]; ok {
			in.judgeAttrArg(a, "|join(attribute=...)")
			return unknownStr("", b)
		}
		return joinVal(b, sep)
	case "format":
		if b.k == kStr {
			var fa []val
			for i := range args {
				a, ok := arg(i)
				if !ok {
					return unknownStr("", all...)
				}
				fa = append(fa, a)
			}
			return percentFormat(b.s, fa)
		}
		return unknownStr("", all...)
	case "default", "d":
		if b.k == kData || b.k == kNone {
			if a, ok := arg(0); ok {
				if b.k == kNone {
					return a
				}
				return unknownStr("", b, a)
			}
		}
		return b
	case "int":
		if b.k == kNum {
			return val{k: kNum, n: math.Trunc(b.n), isInt: true}
		}
		if b.k == kStr {
			if i, err := strconv.ParseInt(strings.TrimSpace(b.s), 10, 64); err == nil {
				return intVal(int(i))
			}
		}
		return elemOf(b)
	case "length", "count":
		switch b.k {
		case kStr:
			return intVal(len([]rune(b.s)))
		case kList:
			return intVal(len(b.items))
		case kDict:
			return intVal(len(b.keys))
		}
		return data // a number: never an attribute name
	case "wordcount", "abs", "round", "float":
		return data // numbers
	case "filesizeformat", "tojson", "pprint",
		"indent", "center", "wordwrap", "truncate", "urlencode", "urlize", "xmlattr", "random", "batch", "slice", "items":
		return unknownStr("", b)
	case "select", "reject", "selectattr", "rejectattr", "unique", "sort", "dictsort", "map", "groupby", "sum", "min", "max":
		if b.k == kList && (name == "unique" || name == "sort") && len(args) == 0 && len(kw) == 0 {
			return b
		}
		return elemOf(b)
	}
	// An unknown filter (a server's own) or one not modelled.
	return unknownStr("", all...)
}
