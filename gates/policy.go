package gates

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// gatePackagePrefix is where every gate lives: package gatehouse.gates.<gate>.
const gatePackagePrefix = "gatehouse.gates."

// defaultPolicyPrefix names the default bundle's sources (policies/x.rego).
const defaultPolicyPrefix = "policies"

// maxPolicyBytes bounds one policy source file or bundle (hostile bundles).
const maxPolicyBytes = 64 << 20

// policySource is one Rego file with the name it is known by.
type policySource struct {
	name string
	src  []byte
}

// bundleSet is the compiled policy: every module, its digest and what the
// gates declare about themselves.
type bundleSet struct {
	compiler *ast.Compiler
	digest   string
	// data is the merged data documents of OPA bundles (may be empty).
	data map[string]any
	// gates maps a gate name to its metadata.
	gates map[string]gateInfo
	// evidenceParams are the params blocks of collectors whose evidence
	// key is no gate (params.modelscan), by evidence key.
	evidenceParams map[string]evidenceParams
	// sources are the names of the compiled sources, sorted.
	sources []string
}

// evidenceParams is a collector's params block declared by a gate.
type evidenceParams struct {
	gate   string
	schema *paramSchema
}

type gateInfo struct {
	Title       string
	Description string
	// Evidence are the evidence keys the gate reads (METADATA custom.evidence);
	// without the annotation, the gate's own name.
	Evidence []string
	// File is the source that declares the gate (the first, sorted).
	File string
	// Params is the schema of the gate's params (METADATA custom.params);
	// nil when the gate declares none, and then it takes none.
	Params *paramSchema
}

// isTestFile reports Rego test files, which decisions never need.
func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// readFSPolicies reads every non-test .rego file of fsys.
func readFSPolicies(fsys fs.FS, prefix string) ([]policySource, error) {
	var out []policySource
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || isTestFile(p) {
			return nil
		}
		if !d.Type().IsRegular() {
			// A FIFO or device named *.rego would block the read or never end.
			return fmt.Errorf("%s: %w", path.Join(prefix, p), readlimit.ErrNotRegular)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, policySource{name: path.Join(prefix, p), src: b})
		return nil
	})
	return out, err
}

// readPolicySource reads a policy folder or an OPA bundle (.tar.gz).
func readPolicySource(p string) ([]policySource, map[string]any, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("policy source: %w", err)
	}
	if st.IsDir() {
		srcs, err := readFSPolicies(os.DirFS(p), p)
		if err != nil {
			return nil, nil, fmt.Errorf("policy folder %s: %w", p, err)
		}
		if len(srcs) == 0 {
			return nil, nil, fmt.Errorf("policy folder %s holds no .rego files", p)
		}
		return srcs, nil, nil
	}
	if !strings.HasSuffix(p, ".tar.gz") && !strings.HasSuffix(p, ".tgz") {
		if strings.HasSuffix(p, ".rego") {
			b, err := readlimit.File(p, maxPolicyBytes)
			if err != nil {
				return nil, nil, err
			}
			return []policySource{{name: p, src: b}}, nil, nil
		}
		return nil, nil, fmt.Errorf("policy source %s: want a folder, a .rego file or an OPA bundle .tar.gz", p)
	}
	return readBundle(p)
}

// readBundle reads an OPA bundle with OPA's own reader, bounded in size.
func readBundle(p string) ([]policySource, map[string]any, error) {
	f, err := readlimit.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("policy bundle: %w", err)
	}
	defer f.Close()
	if err := checkBundleSize(f); err != nil {
		return nil, nil, fmt.Errorf("policy bundle %s: %w", p, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	b, err := bundle.NewReader(f).WithSizeLimitBytes(maxPolicyBytes).WithRegoVersion(ast.RegoV1).Read()
	if err != nil {
		return nil, nil, fmt.Errorf("policy bundle %s: %w", p, err)
	}
	var srcs []policySource
	for _, m := range b.Modules {
		if isTestFile(m.Path) {
			continue
		}
		srcs = append(srcs, policySource{name: p + ":" + strings.TrimPrefix(m.Path, "/"), src: m.Raw})
	}
	return srcs, b.Data, nil
}

// checkBundleSize refuses gzip bombs before OPA's reader inflates them.
func checkBundleSize(r io.Reader) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(gz)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		total += h.Size
		if total > maxPolicyBytes {
			return fmt.Errorf("bundle inflates past %d MiB", maxPolicyBytes>>20)
		}
	}
}

// admissionPackage is the admission webhook's Rego (package admission).
const admissionPackage = "gatehouse.admission"

func isAdmissionModule(m *ast.Module) bool {
	pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
	return pkg == admissionPackage || strings.HasPrefix(pkg, admissionPackage+".") || strings.HasPrefix(pkg, admissionPackage+"_")
}

// compilePolicies parses and compiles every source once.
func compilePolicies(srcs []policySource, data map[string]any) (*bundleSet, error) {
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].name < srcs[j].name })
	h := sha256.New()
	modules := make(map[string]*ast.Module, len(srcs))
	for _, s := range srcs {
		if _, dup := modules[s.name]; dup {
			return nil, fmt.Errorf("policy %s is given twice", s.name)
		}
		m, err := ast.ParseModuleWithOpts(s.name, string(s.src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return nil, fmt.Errorf("parse policy: %w", err)
		}
		// The admission webhook's policy ships in the same bundle but is
		// not a gate: it stays out of the gates' compiler and digest, so
		// editing it does not invalidate every VSA.
		if isAdmissionModule(m) {
			continue
		}
		modules[s.name] = m
		// The digest covers names and contents, length-prefixed so no two
		// different bundles hash alike.
		fmt.Fprintf(h, "%d:%s%d:", len(s.name), s.name, len(s.src))
		h.Write(s.src)
	}
	c := ast.NewCompiler().WithEnablePrintStatements(false)
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("compile policies: %w", c.Errors)
	}
	bs := &bundleSet{
		compiler: c,
		digest:   "sha256:" + hex.EncodeToString(h.Sum(nil)),
		data:     data,
		gates:    map[string]gateInfo{},

		evidenceParams: map[string]evidenceParams{},
	}
	for _, s := range srcs {
		if modules[s.name] != nil {
			bs.sources = append(bs.sources, s.name)
		}
	}
	for _, s := range srcs {
		m := modules[s.name]
		if m == nil {
			continue // the admission policy: not a gate
		}
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		gate, ok := strings.CutPrefix(pkg, gatePackagePrefix)
		if !ok || strings.Contains(gate, ".") {
			continue
		}
		info := bs.gates[gate]
		if info.File == "" {
			info.File = s.name
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" && a.Scope != "subpackages" {
				continue
			}
			if a.Title != "" {
				info.Title = a.Title
			}
			if a.Description != "" {
				info.Description = a.Description
			}
			if ev, ok := a.Custom["evidence"].([]any); ok {
				for _, e := range ev {
					if s, ok := e.(string); ok {
						info.Evidence = append(info.Evidence, s)
					}
				}
			}
			if err := bs.readParamsMetadata(gate, &info, a, s.name); err != nil {
				return nil, err
			}
		}
		bs.gates[gate] = info
	}
	for name, ep := range bs.evidenceParams {
		if _, clash := bs.gates[name]; clash {
			return nil, fmt.Errorf("policy %s: gate %s declares evidence_params.%s, but %s is a gate: declare them in gate %s's custom.params", bs.gates[ep.gate].File, ep.gate, name, name, name)
		}
	}
	for g, info := range bs.gates {
		if len(info.Evidence) == 0 {
			info.Evidence = []string{g}
		}
		sort.Strings(info.Evidence)
		info.Evidence = dedupe(info.Evidence)
		bs.gates[g] = info
	}
	return bs, nil
}

// readParamsMetadata reads a gate's METADATA custom.params and
// custom.evidence_params (params blocks of collectors that are no gate,
// keyed by evidence name). A malformed schema is a policy error.
func (bs *bundleSet) readParamsMetadata(gate string, info *gateInfo, a *ast.Annotations, file string) error {
	where := file
	if a.Location != nil {
		where = fmt.Sprintf("%s:%d", file, a.Location.Row)
	}
	if raw, ok := a.Custom["params"]; ok {
		if info.Params != nil {
			return fmt.Errorf("policy %s: gate %s declares custom.params twice (also in %s)", where, gate, info.File)
		}
		s, err := parseGateParams(raw, "custom.params")
		if err != nil {
			return fmt.Errorf("policy %s: gate %s: METADATA %w", where, gate, err)
		}
		info.Params = s
	}
	raw, ok := a.Custom["evidence_params"]
	if !ok {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("policy %s: gate %s: METADATA custom.evidence_params must be a mapping of evidence name to params", where, gate)
	}
	for _, name := range sortedKeys(m) {
		if prev, dup := bs.evidenceParams[name]; dup {
			return fmt.Errorf("policy %s: gate %s declares evidence_params.%s, already declared by gate %s", where, gate, name, prev.gate)
		}
		if !slices.Contains(info.Evidence, name) {
			return fmt.Errorf("policy %s: gate %s declares evidence_params.%s but does not read that evidence: add it to custom.evidence", where, gate, name)
		}
		s, err := parseGateParams(m[name], "custom.evidence_params."+name)
		if err != nil {
			return fmt.Errorf("policy %s: gate %s: METADATA %w", where, gate, err)
		}
		bs.evidenceParams[name] = evidenceParams{gate: gate, schema: s}
	}
	return nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// hashBytes is the sha256 digest of b in "sha256:<hex>" form.
func hashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
