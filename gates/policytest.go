package gates

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
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
		m, err := ast.ParseModuleWithOpts(p, string(b), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return err
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		return TestSummary{}, fmt.Errorf("load policies: %w", err)
	}
	return runPolicyTests(ctx, w, verbose, modules)
}

// TestPolicyPaths runs the Rego tests under folders or files, loaded the
// way `opa test` loads them (data files included).
func TestPolicyPaths(ctx context.Context, w io.Writer, verbose bool, paths ...string) (TestSummary, error) {
	modules, _, err := tester.LoadWithRegoVersion(paths, nil, ast.RegoV1)
	if err != nil {
		return TestSummary{}, fmt.Errorf("load policies %s: %w", strings.Join(paths, ", "), err)
	}
	return runPolicyTests(ctx, w, verbose, modules)
}

func runPolicyTests(ctx context.Context, w io.Writer, verbose bool, modules map[string]*ast.Module) (TestSummary, error) {
	if len(modules) == 0 {
		return TestSummary{}, fmt.Errorf("no .rego files to test")
	}
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithEnablePrintStatements(true)).
		SetStore(inmem.New()).
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
