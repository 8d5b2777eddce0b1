// Package testregistry starts Debian's docker-registry (Distribution 2.8,
// no referrers API) on a free loopback port for tests that need a real
// registry. It has no test dependencies so that every package's tests can
// share one way of starting it.
package testregistry

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrNoBinary is returned when docker-registry is not on PATH: tests skip
// and say how to install it.
var ErrNoBinary = errors.New("docker-registry (Distribution 2.8) is not on PATH: apt-get install docker-registry, or run scripts/test-setup.sh")

// Distribution starts docker-registry with its data in a fresh temporary
// folder and waits until it answers GET /v2/. It returns host:port and a
// stop function (idempotent) that kills it and removes its data.
func Distribution() (addr string, stop func(), err error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return "", nil, ErrNoBinary
	}
	dir, err := os.MkdirTemp("", "gatehouse-registry-")
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("free port: %w", err)
	}
	addr = l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp: {addr: %s}\nlog: {level: error}\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	// If the test binary dies without stopping it (a panic, a timeout
	// kill), the kernel ends the registry too rather than leaving it up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("start docker-registry: %w", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			os.RemoveAll(dir)
		})
	}
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, stop, nil
			}
		}
	}
	stop()
	return "", nil, errors.New("docker-registry did not answer GET /v2/ within 10s")
}

var (
	sharedOnce sync.Once
	sharedAddr string
	sharedStop func()
	sharedErr  error
)

// Shared returns one registry for the whole test binary, started on first
// use. The package's TestMain must call StopShared after m.Run, or the
// registry and its data outlive the tests.
func Shared() (string, error) {
	sharedOnce.Do(func() { sharedAddr, sharedStop, sharedErr = Distribution() })
	return sharedAddr, sharedErr
}

// StopShared stops the registry Shared started, if any, and removes its data.
func StopShared() {
	if sharedStop != nil {
		sharedStop()
	}
}
