package netpol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	yamlv2 "go.yaml.in/yaml/v2"
)

// MarshalPolicy renders one policy as YAML the way Kubernetes clients
// write objects (JSON field names, keys sorted), without the fields the
// Go struct carries but a new object must not: status and
// metadata.creationTimestamp.
func MarshalPolicy(cnp *ciliumv2.CiliumNetworkPolicy) ([]byte, error) {
	j, err := json.Marshal(cnp)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	// What sigs.k8s.io/yaml.JSONToYAML writes (yaml.v2, keys sorted,
	// integers as integers), without parsing the JSON a second time with
	// the far slower YAML parser.
	return yamlv2.Marshal(integers(m))
}

// integers turns the float64s encoding/json decodes into int64 where they
// are whole, as yaml.v2 would have decoded them.
func integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = integers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = integers(e)
		}
	case float64:
		if i := int64(t); float64(i) == t {
			return i
		}
	}
	return v
}

// Write writes every policy as one YAML document, "---" between them, in
// the Result's (workload name) order. Above each document, comment lines
// name the spec and say what each rule is for and what got none; every
// outside string in them is quoted, so none can end the comment.
func (r *Result) Write(w io.Writer) error {
	var buf bytes.Buffer
	for i, p := range r.Policies {
		if i > 0 {
			buf.WriteString("---\n")
		}
		y, err := MarshalPolicy(p.CNP)
		if err != nil {
			return fmt.Errorf("%s: workload %s: %w", p.Source, p.Workload, err)
		}
		fmt.Fprintf(&buf, "# gatehouse netpol: workload %s from %s\n", p.Workload, comment(p.Source))
		for _, n := range p.Notes {
			buf.WriteString("# - " + comment(n) + "\n")
		}
		buf.Write(y)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// comment keeps s on one comment line: control characters (a newline
// would start a YAML line of its own) are written Go-escaped.
func comment(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 }) {
		return s
	}
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}
