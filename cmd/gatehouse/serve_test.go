package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestServeFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "HTTPS only"},
		{[]string{"serve", "--self-signed", "--tls-cert", "a", "--tls-key", "b"}, "exclude each other"},
		{[]string{"serve", "--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"}, "nonexistent.crt"},
		{[]string{"serve", "--self-signed", "--audit", "jsonl:x.jsonl", "--audit-key", "k.pem"}, "--audit-key signs"},
		{[]string{"serve", "--self-signed", "--audit", "mysql://x/y", "--config", "admission/testdata/e2e/gatehouse.yaml", "--self-signed-ca", os.DevNull, "--addr", "127.0.0.1:0"}, "unknown scheme"},
		{[]string{"serve", "--self-signed", "--bundle", "https://example/b.tar.gz"}, "--bundle-key"},
		{[]string{"serve", "--self-signed", "--kubeconfig", "k", "--in-cluster"}, "exclude each other"},
		{[]string{"serve", "--self-signed", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--self-signed", "--addr", "256.0.0.1:99999", "--config", "admission/testdata/e2e/gatehouse.yaml", "--self-signed-ca", os.DevNull}, "--addr"},
		{[]string{"serve", "--self-signed", "stray"}, "unknown command"},
	} {
		r := gatehouse(t, nil, tt.args...)
		if r.code != exitUndecided || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// serveConfig writes a gatehouse.yaml with an admission section and the
// key it names into a temporary folder.
func serveConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile("../../admission/testdata/e2e/gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "keys"), 0o755)
	for _, name := range []string{"cosign.pub", "gate.pub"} {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		os.WriteFile(filepath.Join(dir, "keys", name), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	}
	cfg := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(cfg, b, 0o644)
	return cfg
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// servedProcess is a running `gatehouse serve --self-signed`.
type servedProcess struct {
	cmd    *exec.Cmd
	done   chan error // the process's exit
	logs   lockedBuffer
	client *http.Client // trusts the self-signed CA
	addr   string
	ready  string // the /readyz body once it answered 200
}

// startServe starts `gatehouse serve --self-signed` on a free loopback
// address with args and waits (20 s at most) until /readyz answers 200
// over TLS with the CA it wrote; the process is killed at the test's end.
func startServe(t *testing.T, args ...string) *servedProcess {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	p := &servedProcess{addr: freeAddr(t), done: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"serve", "--self-signed", "--addr", p.addr, "--self-signed-ca", ca}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 20s; logs:\n%s", p.logs.String())
		}
		pemBytes, err := os.ReadFile(ca)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pemBytes) {
			continue
		}
		p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		if resp, err := p.client.Get("https://" + p.addr + "/readyz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				p.ready = string(body)
				return p
			}
		}
	}
}

// TestServeSelfSignedLifecycle runs the real binary: it serves HTTPS with
// a self-signed CA it writes out, is ready with the policy revision,
// answers reviews (an exempt namespace is allowed, garbage is a 400), and
// exits 0 shortly after SIGTERM.
func TestServeSelfSignedLifecycle(t *testing.T) {
	cfg := serveConfig(t)
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	srv := startServe(t, "--config", cfg, "--audit", "jsonl:"+audit, "--reload-interval", "100ms")
	if !strings.Contains(srv.ready, `"policy_revision":"sha256:`) {
		t.Fatalf("readyz: %s", srv.ready)
	}
	cmd, done, logs, client, addr := srv.cmd, srv.done, &srv.logs, srv.client, srv.addr

	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"kube-system","operation":"CREATE","userInfo":{"username":"t"},` +
		`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`
	resp, err := client.Post("https://"+addr+"/validate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	var rv struct {
		Response struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
		} `json:"response"`
	}
	json.NewDecoder(resp.Body).Decode(&rv)
	resp.Body.Close()
	if resp.StatusCode != 200 || rv.Response.UID != "u-1" || !rv.Response.Allowed {
		t.Fatalf("exempt namespace: %d %+v", resp.StatusCode, rv)
	}
	resp, err = client.Post("https://"+addr+"/validate", "application/json", strings.NewReader("{nope"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("garbage: %d, want 400", resp.StatusCode)
	}
	// A configuration that no longer loads is logged and the last good one stays.
	os.WriteFile(cfg, []byte("admission: {default_mode: sometimes}\nenvironments: {prod: {gates: {image: [signature]}}}\n"), 0o644)
	time.Sleep(500 * time.Millisecond)
	if resp, err := client.Get("https://" + addr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz after a bad configuration: %v %v", resp, err)
	}
	if !strings.Contains(logs.String(), "configuration reload failed") {
		t.Errorf("a bad configuration was not logged:\n%s", logs.String())
	}

	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("still running 20s after SIGTERM")
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("took %s to stop with nothing in flight", d)
	}
	for _, want := range []string{`"msg":"shut down cleanly"`, `"msg":"review"`, `"uid":"u-1"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}
