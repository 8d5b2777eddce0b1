package admission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// PolicyPackage is the Rego package of the admission policy.
const PolicyPackage = "gatehouse.admission"

// Limits on a policy source (a bundle may come from a registry).
const (
	maxPolicyFiles     = 1000
	maxPolicyFileBytes = 16 << 20
)

// Policy is a compiled admission policy: every non-test .rego module of
// its sources (package gatehouse.admission must define deny) and the data
// documents (data.json) they carry. It is immutable; Admitter.SwapPolicy
// puts a new one in force.
type Policy struct {
	compiler *ast.Compiler
	data     map[string]any
	digest   string
	revision string
}

// Digest is the sha256 of the policy's sources and data.
func (p *Policy) Digest() string { return p.digest }

// Revision is the revision the policy was given (a bundle's), else its digest.
func (p *Policy) Revision() string {
	if p.revision != "" {
		return p.revision
	}
	return p.digest
}

// WithRevision returns a copy of p that reports revision (an OPA bundle's
// manifest revision).
func (p *Policy) WithRevision(revision string) *Policy {
	c := *p
	c.revision = revision
	return &c
}

// LoadPolicy compiles the admission policy from file trees: every .rego
// file except *_test.rego, and every data.json (its folder is its place
// under data, as in an OPA bundle). The default is policies.FS.
func LoadPolicy(fsyss ...fs.FS) (*Policy, error) {
	type source struct {
		name string
		src  []byte
	}
	var srcs []source
	data := map[string]any{}
	for i, fsys := range fsyss {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			base := path.Base(p)
			isRego := strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego")
			if d.IsDir() || !isRego && base != "data.json" {
				return nil
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: not a regular file", p)
			}
			if len(srcs) >= maxPolicyFiles {
				return fmt.Errorf("more than %d policy files", maxPolicyFiles)
			}
			b, err := readBounded(fsys, p)
			if err != nil {
				return err
			}
			if isRego {
				srcs = append(srcs, source{fmt.Sprintf("%d/%s", i, p), b})
				return nil
			}
			return mergeData(data, path.Dir(p), b)
		})
		if err != nil {
			return nil, fmt.Errorf("admission policy: %w", err)
		}
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].name < srcs[j].name })
	h := sha256.New()
	modules := map[string]*ast.Module{}
	found := false
	for _, s := range srcs {
		m, err := ast.ParseModuleWithOpts(s.name, string(s.src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return nil, fmt.Errorf("admission policy: %w", err)
		}
		modules[s.name] = m
		found = found || m.Package.Path.String() == "data."+PolicyPackage
		fmt.Fprintf(h, "%d:%s%d:", len(s.name), s.name, len(s.src))
		h.Write(s.src)
	}
	if !found {
		return nil, fmt.Errorf("admission policy: no package %s in the policy sources", PolicyPackage)
	}
	db, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("admission policy data: %w", err)
	}
	fmt.Fprintf(h, "data:%d:", len(db))
	h.Write(db)
	c := ast.NewCompiler().WithEnablePrintStatements(false)
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("admission policy: compile: %w", c.Errors)
	}
	p := &Policy{compiler: c, data: data, digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}
	// Prepare once with empty configuration, so that a policy that loads
	// is one the Admitter can always put in force.
	if _, err := p.prepare(map[string]any{}); err != nil {
		return nil, err
	}
	return p, nil
}

func readBounded(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPolicyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(b) > maxPolicyFileBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", p, maxPolicyFileBytes)
	}
	return b, nil
}

// mergeData puts a data.json document at dir (a/b -> data.a.b).
func mergeData(data map[string]any, dir string, b []byte) error {
	var doc map[string]any
	if err := util.UnmarshalJSON(b, &doc); err != nil {
		return fmt.Errorf("%s/data.json: want a JSON object: %v", dir, err)
	}
	node := data
	if dir != "." {
		for _, seg := range strings.Split(dir, "/") {
			next, ok := node[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[seg] = next
			}
			node = next
		}
	}
	for k, v := range doc {
		if _, dup := node[k]; dup {
			return fmt.Errorf("%s/data.json: %s is defined twice", dir, k)
		}
		node[k] = v
	}
	return nil
}

// preparedPolicy is a Policy prepared with an Admitter's configuration.
type preparedPolicy struct {
	policy *Policy
	query  rego.PreparedEvalQuery
}

// policyQuery collects the deny and warn sets; a policy without warn
// rules simply has none.
const policyQuery = "deny := [x | some x in data." + PolicyPackage + ".deny]; warn := [x | some x in data." + PolicyPackage + ".warn]"

// prepare readies the policy for evaluation with config as
// data.gatehouse.admission_config.
func (p *Policy) prepare(config map[string]any) (*preparedPolicy, error) {
	root := map[string]any{}
	for k, v := range p.data {
		root[k] = v
	}
	gh := map[string]any{}
	if m, ok := root["gatehouse"].(map[string]any); ok {
		for k, v := range m {
			gh[k] = v
		}
	}
	gh["admission_config"] = config
	root["gatehouse"] = gh
	var doc any = root
	if err := util.RoundTrip(&doc); err != nil {
		return nil, fmt.Errorf("admission policy data: %w", err)
	}
	obj, _ := doc.(map[string]any)
	q, err := rego.New(
		rego.Compiler(p.compiler),
		rego.Store(inmem.NewFromObjectWithOpts(obj, inmem.OptReturnASTValuesOnRead(true))),
		rego.Query(policyQuery),
	).PrepareForEval(context.Background())
	if err != nil {
		return nil, fmt.Errorf("admission policy: prepare: %w", err)
	}
	return &preparedPolicy{policy: p, query: q}, nil
}

// Finding is one deny or warn of the admission policy.
type Finding struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Image is the image (or model URI) the finding is about, when it is
	// about one.
	Image string `json:"image,omitempty"`
}

// eval runs the policy over input.
func (pp *preparedPolicy) eval(ctx context.Context, input any) (deny, warn []Finding, err error) {
	rs, err := pp.query.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate admission policy: %w", err)
	}
	if len(rs) != 1 {
		return nil, nil, fmt.Errorf("evaluate admission policy: %d results, want 1", len(rs))
	}
	if deny, err = findingsOf(rs[0].Bindings["deny"], "deny"); err != nil {
		return nil, nil, err
	}
	if warn, err = findingsOf(rs[0].Bindings["warn"], "warn"); err != nil {
		return nil, nil, err
	}
	return deny, warn, nil
}

// findingsOf reads a deny or warn set: objects with a string message (and
// rule, image); a policy yielding anything else is broken.
func findingsOf(v any, set string) ([]Finding, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("admission policy: %s is %T, want a set of objects", set, v)
	}
	out := make([]Finding, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("admission policy: a %s entry is %T, want an object with rule and message", set, x)
		}
		var f Finding
		f.Rule, _ = m["rule"].(string)
		f.Message, _ = m["message"].(string)
		f.Image, _ = m["image"].(string)
		if f.Message == "" {
			if f.Rule == "" {
				return nil, fmt.Errorf("admission policy: a %s entry has neither rule nor message", set)
			}
			f.Message = f.Rule
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out, nil
}
