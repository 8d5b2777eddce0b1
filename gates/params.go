package gates

import (
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Gate parameters are typed: each gate declares them in its METADATA
// (custom.params, a small JSON-Schema subset, docs/policies.md) and the
// configuration's params are checked against that declaration before any
// decision. A typo that would otherwise fall back to a default, or a string
// "false" that Rego reads as true, is an error naming file, line and key.

// paramSchema is one parameter's declared shape.
type paramSchema struct {
	types            []string // empty only when enum is set
	enum             []any
	items            *paramSchema
	properties       map[string]*paramSchema
	additional       *paramSchema // schema of keys not in properties
	openObject       bool         // additionalProperties: true
	propertyNames    *paramSchema
	required         []string
	minimum, maximum *float64
	exclusiveMinimum *float64
	format           string
	description      string
}

var (
	schemaKeywords = []string{"type", "enum", "items", "properties", "additionalProperties", "propertyNames",
		"required", "minimum", "maximum", "exclusiveMinimum", "format", "description"}
	schemaTypes   = []string{"string", "boolean", "integer", "number", "array", "object"}
	schemaFormats = []string{"duration", "regexp"}
)

// parseGateParams reads METADATA custom.params: a mapping of parameter
// name to schema. The gate's params object is closed: only declared keys.
func parseGateParams(v any, at string) (*paramSchema, error) {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return &paramSchema{types: []string{"object"}, properties: map[string]*paramSchema{}}, nil
		}
		return nil, fmt.Errorf("%s must be a mapping of parameter name to schema, not %s", at, kindName(v))
	}
	s := &paramSchema{types: []string{"object"}, properties: make(map[string]*paramSchema, len(m))}
	for k, sv := range m {
		ps, err := parseSchema(sv, at+"."+k)
		if err != nil {
			return nil, err
		}
		s.properties[k] = ps
	}
	return s, nil
}

// parseSchema reads one schema; at names it in errors.
func parseSchema(v any, at string) (*paramSchema, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a schema must be a mapping such as {type: string}, not %s", at, kindName(v))
	}
	s := &paramSchema{}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(schemaKeywords, k) {
			return nil, fmt.Errorf("%s: unknown schema keyword %q (want %s%s)", at, k, strings.Join(schemaKeywords, ", "), didYouMean(k, schemaKeywords))
		}
	}
	switch t := m["type"].(type) {
	case nil:
	case string:
		s.types = []string{t}
	case []any:
		for _, x := range t {
			str, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s.type: want type names, found %s", at, kindName(x))
			}
			s.types = append(s.types, str)
		}
	default:
		return nil, fmt.Errorf("%s.type: want a type name or a list of them, found %s", at, kindName(t))
	}
	for _, t := range s.types {
		if !slices.Contains(schemaTypes, t) {
			return nil, fmt.Errorf("%s.type: unknown type %q (want %s%s)", at, t, strings.Join(schemaTypes, ", "), didYouMean(t, schemaTypes))
		}
	}
	if e, ok := m["enum"]; ok {
		list, ok := e.([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%s.enum: want a non-empty list of values", at)
		}
		for _, x := range list {
			k := kindOf(x)
			if k != "string" && k != "boolean" && k != "integer" && k != "number" {
				return nil, fmt.Errorf("%s.enum: values must be strings, numbers or booleans, found %s", at, kindName(x))
			}
			if len(s.types) > 0 && !s.allows(k) {
				return nil, fmt.Errorf("%s.enum: %s is not of type %s", at, literal(x), strings.Join(s.types, " or "))
			}
		}
		s.enum = list
	}
	if len(s.types) == 0 && s.enum == nil {
		return nil, fmt.Errorf("%s: needs a type or an enum", at)
	}
	need := func(kw, typ string) error {
		if _, ok := m[kw]; ok && !slices.Contains(s.types, typ) {
			return fmt.Errorf("%s.%s: only applies to type %s", at, kw, typ)
		}
		return nil
	}
	for _, kw := range [][2]string{{"items", "array"}, {"properties", "object"}, {"additionalProperties", "object"},
		{"propertyNames", "object"}, {"required", "object"}, {"format", "string"}} {
		if err := need(kw[0], kw[1]); err != nil {
			return nil, err
		}
	}
	var err error
	if iv, ok := m["items"]; ok {
		if s.items, err = parseSchema(iv, at+".items"); err != nil {
			return nil, err
		}
	}
	if pv, ok := m["properties"]; ok {
		pm, ok := pv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s.properties: want a mapping of key to schema", at)
		}
		s.properties = make(map[string]*paramSchema, len(pm))
		for k, sv := range pm {
			if s.properties[k], err = parseSchema(sv, at+".properties."+k); err != nil {
				return nil, err
			}
		}
	}
	switch av := m["additionalProperties"].(type) {
	case nil:
	case bool:
		s.openObject = av
	default:
		if s.additional, err = parseSchema(av, at+".additionalProperties"); err != nil {
			return nil, err
		}
	}
	if pv, ok := m["propertyNames"]; ok {
		if s.propertyNames, err = parseSchema(pv, at+".propertyNames"); err != nil {
			return nil, err
		}
		if len(s.propertyNames.types) > 0 && !slices.Equal(s.propertyNames.types, []string{"string"}) {
			return nil, fmt.Errorf("%s.propertyNames: keys are strings: want type string", at)
		}
	}
	if rv, ok := m["required"]; ok {
		list, ok := rv.([]any)
		if !ok {
			return nil, fmt.Errorf("%s.required: want a list of property names", at)
		}
		for _, x := range list {
			name, ok := x.(string)
			if !ok || s.properties[name] == nil {
				return nil, fmt.Errorf("%s.required: %s is not one of its properties", at, literal(x))
			}
			s.required = append(s.required, name)
		}
	}
	for kw, dst := range map[string]**float64{"minimum": &s.minimum, "maximum": &s.maximum, "exclusiveMinimum": &s.exclusiveMinimum} {
		x, ok := m[kw]
		if !ok {
			continue
		}
		f, ok := toFloat(x)
		if !ok {
			return nil, fmt.Errorf("%s.%s: want a number, found %s", at, kw, kindName(x))
		}
		numeric := slices.Contains(s.types, "integer") || slices.Contains(s.types, "number")
		if !numeric && !(slices.Contains(s.types, "string") && m["format"] == "duration") {
			return nil, fmt.Errorf("%s.%s: only applies to numbers and durations", at, kw)
		}
		*dst = &f
	}
	if fv, ok := m["format"]; ok {
		f, ok := fv.(string)
		if !ok || !slices.Contains(schemaFormats, f) {
			return nil, fmt.Errorf("%s.format: want one of %s", at, strings.Join(schemaFormats, ", "))
		}
		s.format = f
	}
	if dv, ok := m["description"]; ok {
		if s.description, ok = dv.(string); !ok {
			return nil, fmt.Errorf("%s.description: want a string", at)
		}
	}
	return s, nil
}

// allows reports whether a value of kind k has a declared type.
func (s *paramSchema) allows(k string) bool {
	for _, t := range s.types {
		if t == k || t == "number" && k == "integer" {
			return true
		}
	}
	return false
}

// paramError is one bad parameter: the path below params and what is wrong.
type paramError struct {
	path []any // string keys and int indexes
	msg  string
}

// check validates v, appending what is wrong.
func (s *paramSchema) check(v any, at []any, out *[]paramError) {
	fail := func(format string, args ...any) {
		*out = append(*out, paramError{path: at, msg: fmt.Sprintf(format, args...)})
	}
	k := kindOf(v)
	switch {
	case k == "null":
		fail("is empty: give %s, or remove the key", s.want())
		return
	case k == "number" && s.allows("integer") && !s.allows("number"):
		fail("%s is not a whole number", literal(v))
		return
	case len(s.types) > 0 && !s.allows(k):
		fail("want %s, got %s%s", s.want(), describe(v), unquoteHint(v, s))
		return
	case len(s.types) == 0 && k != "string" && k != "boolean" && k != "integer" && k != "number":
		fail("want %s, got %s", s.want(), describe(v))
		return
	}
	if s.enum != nil && !inEnum(v, s.enum) {
		names := make([]string, len(s.enum))
		for i, e := range s.enum {
			names[i] = fmt.Sprint(e)
		}
		str, _ := v.(string)
		fail("%s is not one of %s%s", literal(v), strings.Join(names, ", "), didYouMean(str, names))
		return
	}
	switch k {
	case "integer", "number":
		f, _ := toFloat(v)
		s.checkRange(f, literal(v), fail)
	case "string":
		str := v.(string)
		switch s.format {
		case "duration":
			d, err := time.ParseDuration(str)
			if err != nil {
				fail("%q is not a duration: write it like \"90s\", \"5m\" or \"1h30m\"", str)
				return
			}
			s.checkRange(d.Seconds(), fmt.Sprintf("%q", str), fail)
		case "regexp":
			if _, err := regexp.Compile(str); err != nil {
				fail("%q is not a regular expression (RE2): %v", str, err)
			}
		}
	case "array":
		if s.items != nil {
			for i, x := range v.([]any) {
				s.items.check(x, appendPath(at, i), out)
			}
		}
	case "object":
		s.checkObject(v.(map[string]any), at, out)
	}
}

func (s *paramSchema) checkRange(f float64, lit string, fail func(string, ...any)) {
	unit := ""
	if s.format == "duration" {
		unit = " seconds"
	}
	switch {
	case s.minimum != nil && f < *s.minimum:
		fail("%s is less than the minimum, %v%s", lit, *s.minimum, unit)
	case s.exclusiveMinimum != nil && f <= *s.exclusiveMinimum:
		fail("%s must be more than %v%s", lit, *s.exclusiveMinimum, unit)
	case s.maximum != nil && f > *s.maximum:
		fail("%s is more than the maximum, %v%s", lit, *s.maximum, unit)
	}
}

func (s *paramSchema) checkObject(m map[string]any, at []any, out *[]paramError) {
	known := sortedKeys(s.properties)
	for _, key := range sortedKeys(m) {
		sub := appendPath(at, key)
		if ps := s.properties[key]; ps != nil {
			ps.check(m[key], sub, out)
			continue
		}
		if s.propertyNames != nil {
			var errs []paramError
			s.propertyNames.check(key, sub, &errs)
			if len(errs) > 0 {
				*out = append(*out, paramError{path: sub, msg: "key " + errs[0].msg})
				continue
			}
		}
		switch {
		case s.additional != nil:
			s.additional.check(m[key], sub, out)
		case s.openObject:
		case len(at) == 1:
			*out = append(*out, paramError{path: sub, msg: fmt.Sprintf("unknown parameter: %s takes %s%s", at[0], orNone(known), didYouMean(key, known))})
		default:
			*out = append(*out, paramError{path: sub, msg: fmt.Sprintf("unknown key: want %s%s", orNone(known), didYouMean(key, known))})
		}
	}
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			*out = append(*out, paramError{path: at, msg: fmt.Sprintf("%s is required", r)})
		}
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "no parameters"
	}
	return strings.Join(names, ", ")
}

// want describes the accepted values, for messages.
func (s *paramSchema) want() string {
	if s.enum != nil && len(s.types) <= 1 {
		names := make([]string, len(s.enum))
		for i, e := range s.enum {
			names[i] = fmt.Sprint(e)
		}
		return "one of " + strings.Join(names, ", ")
	}
	var parts []string
	for _, t := range s.types {
		parts = append(parts, map[string]string{
			"string": "a string", "boolean": "true or false", "integer": "a whole number",
			"number": "a number", "array": "a list", "object": "a mapping",
		}[t])
	}
	return strings.Join(parts, " or ")
}

// unquoteHint helps with the commonest mistake: a quoted boolean or number.
func unquoteHint(v any, s *paramSchema) string {
	str, ok := v.(string)
	if !ok {
		return ""
	}
	if s.allows("boolean") && (str == "true" || str == "false") {
		return fmt.Sprintf(" (write %s without quotes)", str)
	}
	if s.allows("integer") {
		if _, err := strconv.ParseFloat(str, 64); err == nil {
			return fmt.Sprintf(" (write %s without quotes)", str)
		}
	}
	return ""
}

// kindOf classifies a decoded YAML/JSON value by schema type; whole
// floats (3.0) count as integers, as in JSON Schema.
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "integer"
	case float32:
		return kindOf(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "non-finite number"
		}
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case time.Time:
		return "timestamp"
	case map[any]any:
		return "mapping with keys that are not strings"
	}
	return fmt.Sprintf("%T", v)
}

func kindName(v any) string {
	switch k := kindOf(v); k {
	case "null":
		return "nothing (null)"
	case "boolean":
		return "a boolean"
	case "string":
		return "a string"
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "array":
		return "a list"
	case "object":
		return "a mapping"
	case "timestamp":
		return "a date (quote it to make it a string)"
	default:
		return "a " + k
	}
}

// describe is a value as a message shows it: scalars by value and kind.
func describe(v any) string {
	switch kindOf(v) {
	case "string", "boolean", "integer", "number":
		return fmt.Sprintf("%s (%s)", literal(v), kindName(v))
	}
	return kindName(v)
}

func literal(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func inEnum(v any, enum []any) bool {
	for _, e := range enum {
		if kindOf(e) == "string" || kindOf(e) == "boolean" {
			if e == v {
				return true
			}
			continue
		}
		a, ok1 := toFloat(e)
		b, ok2 := toFloat(v)
		if ok1 && ok2 && a == b {
			return true
		}
	}
	return false
}

// didYouMean suggests the closest of names to s, or says nothing when none
// is close: " (did you mean critical?)".
func didYouMean(s string, names []string) string {
	if s == "" {
		return ""
	}
	best, bestD := "", math.MaxInt
	ls := strings.ToLower(s)
	for _, n := range names {
		ln := strings.ToLower(n)
		d := levenshtein(ls, ln)
		if strings.HasPrefix(ln, ls) || strings.HasPrefix(ls, ln) {
			d = min(d, 1) // "crit" for "critical"
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" || best == s || bestD > max(2, len(best)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// --- the configuration against the policy -----------------------------------

// maxParamErrors bounds how many bad parameters one error lists.
const maxParamErrors = 20

// checkParams checks every params block of cfg against the schemas the
// compiled gates declare. Parameters for a gate the policy does not define
// are an error where the policy is the one that block is used with: an
// environment's own params when this policy holds every source that
// environment loads, the top-level params when it holds every
// environment's. (An environment with extra `policies:` is checked in full
// when a run loads them.)
func checkParams(cfg *Config, bs *bundleSet) error {
	if cfg == nil || bs == nil {
		return nil
	}
	var errs []string
	var lines []int
	dropped := 0
	allServed := true
	for _, envName := range cfg.EnvironmentNames() {
		if !bs.serves(cfg, cfg.Environments[envName]) {
			allServed = false
		}
	}
	checkBlock := func(node *yaml.Node, prefix string, block map[string]map[string]any, strict bool) {
		var perrs []paramError
		for _, gate := range sortedKeys(block) {
			at := []any{gate}
			schema, declared, known := bs.paramSchema(gate)
			switch {
			case !known:
				if strict {
					perrs = append(perrs, paramError{path: at, msg: fmt.Sprintf("no gate %s in the policy (gates: %s)%s", gate, strings.Join(bs.gateNames(), ", "), didYouMean(gate, bs.paramNames()))})
				}
			case !declared:
				if len(block[gate]) > 0 {
					perrs = append(perrs, paramError{path: at, msg: fmt.Sprintf("gate %s (%s) declares no parameters: declare them in its METADATA under custom.params (docs/policies.md)", gate, bs.gates[gate].File)})
				}
			default:
				m := make(map[string]any, len(block[gate]))
				for k, v := range block[gate] {
					m[k] = v
				}
				schema.check(m, at, &perrs)
			}
		}
		// Lines cost a walk each: find them for the first few errors only.
		if len(perrs) > 2*maxParamErrors {
			dropped += len(perrs) - 2*maxParamErrors
			perrs = perrs[:2*maxParamErrors]
		}
		for _, pe := range perrs {
			line := nodeLine(node, pe.path)
			loc := cfg.name
			if line > 0 {
				loc = fmt.Sprintf("%s:%d", cfg.name, line)
			}
			errs = append(errs, fmt.Sprintf("%s: %s%s: %s", loc, prefix, formatPath(pe.path), pe.msg))
			lines = append(lines, line)
		}
	}
	checkBlock(cfg.paramNodes[""], "params", cfg.Params, allServed)
	for _, envName := range cfg.EnvironmentNames() {
		env := cfg.Environments[envName]
		checkBlock(cfg.paramNodes[envName], "environments."+envName+".params", env.Params, bs.serves(cfg, env))
	}
	if len(errs) == 0 {
		return nil
	}
	idx := make([]int, len(errs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lines[idx[a]] < lines[idx[b]] })
	out := make([]string, 0, min(len(errs), maxParamErrors)+1)
	for _, i := range idx[:min(len(idx), maxParamErrors)] {
		out = append(out, errs[i])
	}
	if more := len(errs) - len(out) + dropped; more > 0 {
		out = append(out, fmt.Sprintf("... and %d more", more))
	}
	return errors.New(strings.Join(out, "\n"))
}

// formatPath writes a path below a params block: .gate.key[0].sub, with
// keys that are not plain names quoted.
func formatPath(p []any) string {
	var b strings.Builder
	for _, seg := range p {
		switch s := seg.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		case string:
			if validGateName(s) {
				b.WriteString("." + s)
			} else {
				fmt.Fprintf(&b, "[%q]", s)
			}
		}
	}
	return b.String()
}

func appendPath(p []any, seg any) []any {
	out := make([]any, len(p), len(p)+1)
	copy(out, p)
	return append(out, seg)
}

// paramSchema finds what a params block name refers to: a gate (declared
// or not) or evidence whose collector a gate declares params for.
func (bs *bundleSet) paramSchema(name string) (schema *paramSchema, declared, known bool) {
	if info, ok := bs.gates[name]; ok {
		return info.Params, info.Params != nil, true
	}
	if ep, ok := bs.evidenceParams[name]; ok {
		return ep.schema, true, true
	}
	return nil, false, false
}

func (bs *bundleSet) gateNames() []string { return sortedKeys(bs.gates) }

// paramNames are the names a params block may have, for suggestions.
func (bs *bundleSet) paramNames() []string {
	return append(bs.gateNames(), sortedKeys(bs.evidenceParams)...)
}

// serves reports whether this policy holds every source env loads: the
// default bundle unless the environment drops it, and its `policies:`.
func (bs *bundleSet) serves(cfg *Config, env *Environment) bool {
	if (env.DefaultPolicies == nil || *env.DefaultPolicies) && !bs.loaded(defaultPolicyPrefix+"/lib.rego") {
		return false
	}
	for _, p := range env.Policies {
		if !bs.loaded(cfg.Path(p)) {
			return false
		}
	}
	return true
}

// loaded reports whether source p (a file, folder or bundle) was compiled.
func (bs *bundleSet) loaded(p string) bool {
	p = path.Clean(filepath.ToSlash(p))
	for _, name := range bs.sources {
		if name == p || strings.HasPrefix(name, p+"/") || strings.HasPrefix(name, p+":") {
			return true
		}
	}
	return false
}

// --- YAML positions ---------------------------------------------------------

// nodeLine is the line of path below a params mapping node: the key's line
// for a mapping entry, the item's for a list item; as deep as it can find.
func nodeLine(n *yaml.Node, p []any) int {
	line := 0
	n = resolveAlias(n)
	if n != nil {
		line = n.Line
	}
	for _, seg := range p {
		if n == nil {
			break
		}
		switch s := seg.(type) {
		case string:
			var next *yaml.Node
			for _, kv := range mappingEntries(n) {
				if kv[0].Value == s {
					line, next = kv[0].Line, kv[1]
				}
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return line
			}
			n = resolveAlias(n.Content[s])
			line = n.Line
		}
	}
	return line
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 32; i++ {
		n = n.Alias
	}
	return n
}

// mappingEntries lists a mapping's key/value pairs, merge keys (<<)
// expanded first so later explicit keys win, as the decoder does.
func mappingEntries(n *yaml.Node) [][2]*yaml.Node {
	return mappingEntriesDepth(n, 0)
}

func mappingEntriesDepth(n *yaml.Node, depth int) [][2]*yaml.Node {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if k.ShortTag() == "!!merge" {
			if v != nil && v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					out = append(out, mappingEntriesDepth(c, depth+1)...)
				}
			} else {
				out = append(out, mappingEntriesDepth(v, depth+1)...)
			}
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// mappingValue is the value of key in mapping n (the last one wins).
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	var out *yaml.Node
	for _, kv := range mappingEntries(n) {
		if kv[0].Value == key {
			out = kv[1]
		}
	}
	return out
}

// --- small helpers -------------------------------------------------------------

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
