package oci

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// realRegistry is host:port of a Distribution registry (GATEHOUSE_TEST_REGISTRY,
// or one TestMain started from the docker-registry binary); "" when none.
var realRegistry string

// realRegistryWhyNot says why there is no real registry.
var realRegistryWhyNot string

func TestMain(m *testing.M) {
	stop := setupRealRegistry()
	code := m.Run()
	stop()
	os.Exit(code)
}

func setupRealRegistry() (stop func()) {
	stop = func() {}
	if r := os.Getenv("GATEHOUSE_TEST_REGISTRY"); r != "" {
		realRegistry = r
		return
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		realRegistryWhyNot = "GATEHOUSE_TEST_REGISTRY is unset and docker-registry is not on PATH (run scripts/start-registry.sh or apt-get install docker-registry)"
		return
	}
	dir, err := os.MkdirTemp("", "gatehouse-registry-")
	if err != nil {
		realRegistryWhyNot = "temp dir: " + err.Error()
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		realRegistryWhyNot = "free port: " + err.Error()
		return
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp: {addr: %s}\nlog: {level: error}\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		realRegistryWhyNot = err.Error()
		return
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		realRegistryWhyNot = "start docker-registry: " + err.Error()
		return
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				realRegistry = addr
				return stop
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	realRegistryWhyNot = "docker-registry did not answer GET /v2/ within 10s"
	return stop
}

// inProcessRegistry serves go-containerregistry's registry (which has the
// referrers API) over loopback HTTP.
func inProcessRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(nilLogger())))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func needRealRegistry(t testing.TB) string {
	t.Helper()
	if realRegistry == "" {
		t.Skip("no real registry: " + realRegistryWhyNot)
	}
	return realRegistry
}

// pushRandomImage pushes a random image and returns its digest reference.
func pushRandomImage(t testing.TB, host, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}

func nilLogger() *log.Logger { return log.New(io.Discard, "", 0) }
