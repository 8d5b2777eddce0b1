package gates

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBundle writes an OPA bundle (.tar.gz) with the given files.
func writeBundle(t *testing.T, files map[string]string, pad int64) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if pad > 0 {
		// A large, highly compressible member: a gzip bomb in miniature.
		if err := tw.WriteHeader(&tar.Header{Name: "pad.json", Mode: 0o644, Size: pad}); err != nil {
			t.Fatal(err)
		}
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for n := pad; n > 0; n -= int64(len(chunk)) {
			if n < int64(len(chunk)) {
				chunk = chunk[:n]
			}
			tw.Write(chunk)
		}
	}
	tw.Close()
	gz.Close()
	p := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOPABundle(t *testing.T) {
	p := writeBundle(t, map[string]string{
		"/.manifest":           `{"roots": ["gatehouse/gates", "team"]}`,
		"/team/gate.rego":      "package gatehouse.gates.team\n\ndeny contains {\"rule\": \"blocked\", \"severity\": \"high\", \"message\": sprintf(\"%s is blocked\", [input.subject.ref])} if input.subject.ref in data.team.blocked\n",
		"/team/gate_test.rego": "package gatehouse.gates.team_test\n\ntest_nothing if true\n",
		"/team/data.json":      `{"blocked": ["m-bad"]}`,
	}, 0)
	e := newTestEngine(t, WithPolicies(p))
	for ref, wantAllowed := range map[string]bool{"m-bad": false, "m-good": true} {
		d, err := e.Decide(context.Background(), Request{Subject: model(ref), Gates: []string{"team"}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != wantAllowed {
			t.Errorf("%s: allowed=%v, want %v (%+v)", ref, d.Allowed, wantAllowed, d.Violations)
		}
	}
}

func TestOPABundleBomb(t *testing.T) {
	p := writeBundle(t, map[string]string{"/x.rego": "package x\n"}, maxPolicyBytes+1)
	cfg, _ := ParseConfig("t", []byte(testConfig), "")
	_, err := New(WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies(p))
	if err == nil || !strings.Contains(err.Error(), "inflates past") {
		t.Fatalf("err = %v, want the bundle refused for its size", err)
	}
}

func TestPolicySourceErrors(t *testing.T) {
	cfg, _ := ParseConfig("t", []byte(testConfig), "")
	dir := t.TempDir()
	notBundle := filepath.Join(dir, "x.tar.gz")
	os.WriteFile(notBundle, []byte("not gzip"), 0o644)
	other := filepath.Join(dir, "policy.txt")
	os.WriteFile(other, []byte("x"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file"},
		{notBundle, "not a gzip file"},
		{other, "want a folder, a .rego file or an OPA bundle"},
		{empty, "holds no .rego files"},
	} {
		_, err := New(WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies(tt.path))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.path, err, tt.want)
		}
	}
}
