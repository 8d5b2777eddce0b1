package gates

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// TestSummary counts the Rego tests of a run.
type TestSummary struct {
	Passed, Failed, Errored, Skipped int
}

// OK is true when something ran and nothing failed.
func (s TestSummary) OK() bool { return s.Failed == 0 && s.Errored == 0 && s.Passed > 0 }

// TestPolicyFS runs the Rego tests (test_* rules) of every .rego file in
// fsys with OPA's own tester, the same one `opa test` uses.
func TestPolicyFS(ctx context.Context, w io.Writer, verbose bool, fsys fs.FS) (TestSummary, error) {
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := parseModule(policySource{name: p, src: b})
		if err != nil {
			return err
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		return TestSummary{}, fmt.Errorf("load policies: %w", err)
	}
	return runPolicyTests(ctx, w, verbose, modules, inmem.New())
}

// embeddedLibPrefix names the embedded lib's modules: no folder a user
// names on the command line can be called that, so no name collides.
const embeddedLibPrefix = "embedded:policies"

// LibPackage is the package of the helpers gates import
// (`import data.gatehouse.lib`): params, evidence_denials, severity_rank.
const LibPackage = "gatehouse.lib"

// TestPolicyPaths runs the Rego tests under folders or files, loaded the
// way `opa test` loads them (data files included). When lib is not nil and
// no loaded module is package gatehouse.lib, lib's gatehouse.lib modules
// (the embedded policies/lib.rego) are added, so a custom gate written
// against data.gatehouse.lib is testable on its own. Every file is opened
// without blocking and read with a size bound: a FIFO is refused, not
// waited on.
func TestPolicyPaths(ctx context.Context, w io.Writer, verbose bool, lib fs.FS, paths ...string) (TestSummary, error) {
	files := &policyFiles{budget: maxPolicyBytes}
	loaded, err := loader.NewFileLoader().
		WithFS(files).
		WithRegoVersion(ast.RegoV1).
		WithProcessAnnotation(true).
		Filtered(paths, skipUnloadable)
	if err != nil {
		return TestSummary{}, fmt.Errorf("load policies %s: %w", strings.Join(paths, ", "), err)
	}
	modules := make(map[string]*ast.Module, len(loaded.Modules)+1)
	for _, m := range loaded.Modules {
		modules[m.Name] = m.Parsed
	}
	if lib != nil && !definesPackage(modules, LibPackage) {
		srcs, err := libSources(lib, embeddedLibPrefix)
		if err != nil {
			return TestSummary{}, fmt.Errorf("load the embedded %s: %w", LibPackage, err)
		}
		for _, s := range srcs {
			m, err := parseModule(s)
			if err != nil {
				return TestSummary{}, err
			}
			modules[s.name] = m
		}
	}
	return runPolicyTests(ctx, w, verbose, modules, inmem.NewFromObject(loaded.Documents))
}

// definesPackage reports whether a module of modules is package pkg.
func definesPackage(modules map[string]*ast.Module, pkg string) bool {
	for _, m := range modules {
		if packageOf(m) == pkg {
			return true
		}
	}
	return false
}

func packageOf(m *ast.Module) string {
	return strings.TrimPrefix(m.Package.Path.String(), "data.")
}

func parseModule(s policySource) (*ast.Module, error) {
	m, err := ast.ParseModuleWithOpts(s.name, string(s.src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	return m, nil
}

// libSources reads the non-test modules of fsys that are package
// gatehouse.lib (of policies.FS: lib.rego only, none of the gates), named
// prefix/<file>.
func libSources(fsys fs.FS, prefix string) ([]policySource, error) {
	all, err := readFSPolicies(fsys, prefix)
	if err != nil {
		return nil, err
	}
	var out []policySource
	for _, s := range all {
		m, err := parseModule(s)
		if err != nil {
			return nil, err
		}
		if packageOf(m) == LibPackage {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no module of package %s", LibPackage)
	}
	return out, nil
}

// withLib returns srcs plus the gatehouse.lib modules of lib when no
// source in srcs is package gatehouse.lib itself (a folder that brings its
// own lib.rego, such as the repository's policies/, keeps its own: adding
// a second copy would define every helper twice).
func withLib(srcs []policySource, lib fs.FS) ([]policySource, error) {
	for _, s := range srcs {
		m, err := parseModule(s)
		if err != nil {
			return nil, err
		}
		if packageOf(m) == LibPackage {
			return srcs, nil
		}
	}
	l, err := libSources(lib, embeddedLibPrefix)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", LibPackage, err)
	}
	return append(srcs, l...), nil
}

// policyFiles is the file system OPA's loader reads test sources through:
// names are operating-system paths, as the user gave them (the loader only
// calls Stat, ReadDir and ReadFile, which take them as they are). Files are
// opened without blocking, only regular files are read, and all of them
// together are bounded by budget bytes.
type policyFiles struct {
	budget int64
}

func (p *policyFiles) Open(name string) (fs.File, error) { return readlimit.Open(name) }

func (p *policyFiles) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (p *policyFiles) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

func (p *policyFiles) ReadFile(name string) ([]byte, error) {
	b, err := readlimit.File(name, p.budget)
	if err != nil {
		return nil, err
	}
	p.budget -= int64(len(b))
	if strings.HasSuffix(name, ".tar.gz") {
		// OPA's loader would inflate it unbounded.
		if err := checkBundleSize(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("policy bundle %s: %w", name, err)
		}
	}
	return b, nil
}

// skipUnloadable is the loader filter: inside a folder, files OPA's loader
// would ignore after reading them (not .rego, .json, .yaml, .yml or
// .tar.gz) are skipped unread, so a large unrelated file neither costs
// the read budget nor is opened at all. Files named on the command line
// are always read, as `opa test` reads them.
func skipUnloadable(name string, info fs.FileInfo, depth int) bool {
	if info.IsDir() || depth == 0 {
		return false
	}
	switch path.Ext(name) {
	case ".rego", ".json", ".yaml", ".yml":
		return false
	}
	return !strings.HasSuffix(name, ".tar.gz")
}

func runPolicyTests(ctx context.Context, w io.Writer, verbose bool, modules map[string]*ast.Module, store storage.Store) (TestSummary, error) {
	if len(modules) == 0 {
		return TestSummary{}, fmt.Errorf("no .rego files to test")
	}
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithEnablePrintStatements(true)).
		SetStore(store).
		SetDefaultRegoVersion(ast.RegoV1).
		CapturePrintOutput(true).
		Run(ctx, modules)
	if err != nil {
		return TestSummary{}, fmt.Errorf("run policy tests: %w", err)
	}
	var sum TestSummary
	results := make(chan *tester.Result)
	done := make(chan error, 1)
	go func() {
		done <- (tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}).Report(results)
	}()
	for r := range ch {
		switch {
		case r.Skip:
			sum.Skipped++
		case r.Error != nil:
			sum.Errored++
		case r.Fail:
			sum.Failed++
		default:
			sum.Passed++
		}
		results <- r
	}
	close(results)
	if err := <-done; err != nil {
		return sum, err
	}
	return sum, nil
}
