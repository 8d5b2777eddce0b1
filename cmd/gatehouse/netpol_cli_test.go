package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNetpolCommand: stdout and --out carry the same policies; warnings
// go to stderr; bad flags, bad specs and unsafe --out targets exit 2 and
// write nothing.
func TestNetpolCommand(t *testing.T) {
	web := "netpol/testdata/web.score.yaml"
	worker := "netpol/testdata/worker.score.yaml"
	r := gatehouse(t, nil, "netpol", web, "--namespace", "shop")
	if r.code != 0 || !strings.Contains(r.stdout, "kind: CiliumNetworkPolicy") || !strings.Contains(r.stdout, "namespace: shop") || r.stderr != "" {
		t.Fatalf("netpol: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "policies.yaml")
	if r2 := gatehouse(t, nil, "netpol", web, "-n", "shop", "--out", out); r2.code != 0 || r2.stdout != "" {
		t.Fatalf("--out: exit %d\n%s%s", r2.code, r2.stdout, r2.stderr)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != r.stdout {
		t.Errorf("--out wrote something else than stdout: %v", err)
	}

	r = gatehouse(t, nil, "netpol", worker)
	if r.code != 0 || !strings.Contains(r.stderr, "gatehouse: warning:") || !strings.Contains(r.stderr, "resource archive") {
		t.Errorf("worker: exit %d, stderr %q", r.code, r.stderr)
	}
	if r = gatehouse(t, nil, "netpol", worker, "--fail-on-warning"); r.code != 2 || r.stdout != "" {
		t.Errorf("--fail-on-warning: exit %d, stdout %q", r.code, r.stdout)
	}
	r = gatehouse(t, nil, "netpol", web, "--allow-kube-apiserver")
	if r.code != 0 || !strings.Contains(r.stdout, "kube-apiserver") {
		t.Errorf("--allow-kube-apiserver: exit %d", r.code)
	}

	badSpec := filepath.Join(dir, "bad.score.yaml")
	os.WriteFile(badSpec, []byte("apiVersion: score.dev/v1b1\nmetadata: {name: bad}\n"), 0o644)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("types:\n  nats: {peer: cluster, port: [{port: 1}]}\n"), 0o644)
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "keep.yaml")
	os.WriteFile(keep, []byte("unchanged"), 0o644)
	link := filepath.Join(dir, "link.yaml")
	os.Symlink(keep, link)
	specCopy := filepath.Join(dir, "web.score.yaml")
	b, _ := os.ReadFile(filepath.Join(repo, web))
	os.WriteFile(specCopy, b, 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no specs", []string{"netpol"}, "requires at least 1 arg"},
		{"unknown flag", []string{"netpol", web, "--namespaces", "x"}, "unknown flag"},
		{"bad namespace", []string{"netpol", web, "-n", "Not_A_Namespace"}, "namespace"},
		{"missing spec", []string{"netpol", web, filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"bad spec among good", []string{"netpol", web, badSpec, "--out", keep}, "bad.score.yaml"},
		{"config typo", []string{"netpol", web, "--config", typo}, "typo.yaml: line 2: field port not found"},
		{"config missing", []string{"netpol", web, "--config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"config FIFO", []string{"netpol", web, "--config", fifo}, "fifo.yaml"},
		{"spec FIFO", []string{"netpol", fifo}, "fifo.yaml"},
		{"out FIFO", []string{"netpol", web, "--out", fifo}, "not a regular file"},
		{"out symlink", []string{"netpol", web, "--out", link}, "not a regular file"},
		{"out folder", []string{"netpol", web, "--out", dir}, "not a regular file"},
		{"out is the spec", []string{"netpol", specCopy, "--out", specCopy}, "is the Score spec"},
		{"out in missing folder", []string{"netpol", web, "--out", filepath.Join(dir, "no", "p.yaml")}, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := gatehouse(t, nil, tc.args...)
			if time.Since(start) > 30*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, nothing written, stderr with %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(keep); string(b) != "unchanged" {
		t.Errorf("a failed run changed --out: %q", b)
	}
	if b2, _ := os.ReadFile(specCopy); string(b2) != string(b) {
		t.Error("the spec was overwritten")
	}
}
