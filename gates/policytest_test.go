package gates

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoLib is the repository's policies folder: the lib the binary embeds.
var repoLib = os.DirFS("../policies")

func TestPolicyTestCustomGateUsesEmbeddedLib(t *testing.T) {
	var out bytes.Buffer
	sum, err := TestPolicyPaths(context.Background(), &out, true, repoLib, "testdata/customgate")
	if err != nil {
		t.Fatalf("custom gate: %v\n%s", err, out.String())
	}
	if !sum.OK() || sum.Passed != 4 {
		t.Fatalf("custom gate: %+v, want 4 passed\n%s", sum, out.String())
	}
	// Only the lib joins the custom folder: none of the default gates'
	// tests ran.
	if strings.Contains(out.String(), "gatehouse.gates.model_scan") {
		t.Errorf("a default gate was loaded:\n%s", out.String())
	}

	// Without a lib, the same folder cannot compile: the lib is what made
	// it pass, not something else.
	out.Reset()
	if _, err := TestPolicyPaths(context.Background(), &out, false, nil, "testdata/customgate"); err == nil || !strings.Contains(err.Error(), "gatehouse.lib") {
		t.Fatalf("without the lib: err = %v, want an undefined data.gatehouse.lib error", err)
	}
}

func TestPolicyTestOwnLibIsNotDoubled(t *testing.T) {
	// The repository's own folder defines package gatehouse.lib: the
	// embedded copy must not be added beside it.
	var out bytes.Buffer
	sum, err := TestPolicyPaths(context.Background(), &out, false, repoLib, "../policies")
	if err != nil {
		t.Fatalf("policies folder: %v\n%s", err, out.String())
	}
	if !sum.OK() {
		t.Fatalf("policies folder: %+v\n%s", sum, out.String())
	}
	// Both: the custom gate and a folder bringing its own lib.
	out.Reset()
	sum, err = TestPolicyPaths(context.Background(), &out, false, repoLib, "testdata/customgate", "../policies/lib.rego")
	if err != nil || !sum.OK() {
		t.Fatalf("custom gate with its own lib: %+v, %v\n%s", sum, err, out.String())
	}
}

func TestPolicyTestDataFiles(t *testing.T) {
	// Data files load as `opa test` loads them: data.json in a folder is
	// data at that folder's place.
	dir := t.TempDir()
	writePolicyFile(t, filepath.Join(dir, "data.json"), `{"limits": {"max": 3}}`)
	writePolicyFile(t, filepath.Join(dir, "x_test.rego"), "package x_test\n\ntest_data if { data.limits.max == 3 }\n")
	var out bytes.Buffer
	sum, err := TestPolicyPaths(context.Background(), &out, false, repoLib, dir)
	if err != nil || !sum.OK() || sum.Passed != 1 {
		t.Fatalf("data file: %+v, %v\n%s", sum, err, out.String())
	}
}

func TestPolicyTestRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	writePolicyFile(t, filepath.Join(dir, "ok_test.rego"), "package ok_test\n\ntest_ok if { true }\n")
	for _, name := range []string{"evil.rego", "data.json"} {
		t.Run(name, func(t *testing.T) {
			sub := filepath.Join(dir, strings.TrimSuffix(name, filepath.Ext(name)))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			fifo := filepath.Join(sub, name)
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, arg := range []string{sub, fifo} {
				done := make(chan error, 1)
				go func() {
					_, err := TestPolicyPaths(context.Background(), &bytes.Buffer{}, false, repoLib, arg)
					done <- err
				}()
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "FIFO") {
						t.Fatalf("%s: err = %v, want a FIFO refused", arg, err)
					}
				case <-time.After(2 * time.Second):
					t.Fatalf("%s: policy test blocked on a FIFO", arg)
				}
			}
		})
	}
}

func TestPolicyTestTooLarge(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk used, but larger than the bound.
	if err := f.Truncate(maxPolicyBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = TestPolicyPaths(context.Background(), &bytes.Buffer{}, false, repoLib, dir)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("err = %v, want too large", err)
	}
}

func TestPolicyTestSkipsUnrelatedFiles(t *testing.T) {
	// A folder's files that OPA would ignore are not read: a FIFO or a
	// file past the read bound among them changes nothing.
	dir := t.TempDir()
	writePolicyFile(t, filepath.Join(dir, "ok_test.rego"), "package ok_test\n\ntest_ok if { true }\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "notes.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxPolicyBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum, err := TestPolicyPaths(context.Background(), &bytes.Buffer{}, false, repoLib, dir)
	if err != nil || !sum.OK() || sum.Passed != 1 {
		t.Fatalf("%+v, %v", sum, err)
	}
}

func TestPolicyTestRefusesBundleBomb(t *testing.T) {
	bomb := filepath.Join(t.TempDir(), "bomb.tar.gz")
	f, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	size := int64(maxPolicyBytes + 1)
	if err := tw.WriteHeader(&tar.Header{Name: "data.json", Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeros{}, size); err != nil {
		t.Fatal(err)
	}
	for _, c := range []io.Closer{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = TestPolicyPaths(context.Background(), &bytes.Buffer{}, false, repoLib, bomb)
	if err == nil || !strings.Contains(err.Error(), "inflates past") {
		t.Fatalf("err = %v, want the bundle refused before it inflates", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestWithLib(t *testing.T) {
	gate, err := os.ReadFile("testdata/customgate/max_size.rego")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := os.ReadFile("../policies/lib.rego")
	if err != nil {
		t.Fatal(err)
	}
	custom := policySource{name: "custom/max_size.rego", src: gate}
	got, err := withLib([]policySource{custom}, repoLib)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].name != "embedded:policies/lib.rego" {
		t.Fatalf("custom gate alone: got %d sources %v, want it plus embedded:policies/lib.rego only", len(got), sourceNames(got))
	}
	if _, err := compilePolicies(got, nil); err != nil {
		t.Fatalf("custom gate with the lib does not compile: %v", err)
	}
	// A user file called policies/lib.rego that is some other package does
	// not clash with the embedded lib's name.
	other := policySource{name: "policies/lib.rego", src: []byte("package acme.helpers\n\nx := 1\n")}
	got, err = withLib([]policySource{custom, other}, repoLib)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compilePolicies(got, nil); err != nil {
		t.Fatalf("a user policies/lib.rego of another package: %v", err)
	}
	own := []policySource{custom, {name: "custom/lib.rego", src: lib}}
	if got, err := withLib(own, repoLib); err != nil || len(got) != 2 {
		t.Fatalf("own lib: got %v, %v; want the sources unchanged", sourceNames(got), err)
	}
}

func sourceNames(srcs []policySource) []string {
	var out []string
	for _, s := range srcs {
		out = append(out, s.name)
	}
	return out
}

func writePolicyFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
