// Package kubetest runs a real kube-apiserver and etcd on loopback for
// end-to-end tests (the admission webhook's; netpol's CRD round trip):
// certificates made in Go, both processes on free 127.0.0.1 ports, an
// admin token, a client-go clientset, and webhook registrations that point
// the API server at a webhook on 127.0.0.1. The binaries come from scripts/kube.sh (folder in
// GATEHOUSE_KUBE_ASSETS, set by scripts/test-env.sh).
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// AssetsEnv names the folder holding kube-apiserver and etcd.
const AssetsEnv = "GATEHOUSE_KUBE_ASSETS"

// ErrNoAssets is returned (wrapped, with how to get them) when the
// binaries are not there: tests skip and print it.
var ErrNoAssets = errors.New("kube-apiserver and etcd are not available")

// Assets returns the folder named by GATEHOUSE_KUBE_ASSETS after checking
// that both binaries are in it and executable.
func Assets() (string, error) {
	dir := os.Getenv(AssetsEnv)
	if dir == "" {
		return "", fmt.Errorf("%w: %s is not set (build them once with scripts/kube.sh, about 6 minutes, then `. scripts/test-env.sh`)", ErrNoAssets, AssetsEnv)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		st, err := os.Stat(filepath.Join(dir, b))
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%w: %s/%s is missing or not executable (scripts/kube.sh builds it)", ErrNoAssets, dir, b)
		}
	}
	return dir, nil
}

// Options configure Start.
type Options struct {
	// Assets is the folder holding kube-apiserver and etcd (see Assets).
	Assets string
	// ReadyTimeout bounds the wait for /readyz; 60s when zero (the first
	// start on a busy 2-core machine takes far longer than the usual 4s).
	ReadyTimeout time.Duration
}

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	// CA signed the API server's certificate; use it for webhooks too.
	CA *CA
	// URL is the API server, https://127.0.0.1:PORT.
	URL string
	// Startup is how long Start took, certificates to /readyz.
	Startup time.Duration

	dir       string
	token     string
	etcd      *Process
	apiserver *Process
}

// Start runs etcd and kube-apiserver in a fresh temporary folder and waits
// until the API server answers /readyz with ok. Stop it with Stop.
func Start(ctx context.Context, o Options) (cp *ControlPlane, err error) {
	begin := time.Now()
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp("", "gatehouse-kubetest-")
	if err != nil {
		return nil, err
	}
	cp = &ControlPlane{dir: dir}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	if cp.CA, err = NewCA(); err != nil {
		return nil, err
	}
	files, err := cp.writeFiles()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	cp.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])

	// Both start at once: the API server retries etcd until it answers,
	// which saves etcd's start-up from the total.
	cp.etcd, err = StartProcess("etcd", filepath.Join(o.Assets, "etcd"), filepath.Join(dir, "etcd.log"), os.Environ(),
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdClient, "--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer, "--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=kubetest="+etcdPeer,
		// A test cluster's data is thrown away: no fsync.
		"--unsafe-no-fsync",
		"--log-level=warn")
	if err != nil {
		return nil, err
	}
	cp.apiserver, err = StartProcess("kube-apiserver", filepath.Join(o.Assets, "kube-apiserver"), filepath.Join(dir, "kube-apiserver.log"), os.Environ(),
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--cert-dir="+dir,
		"--tls-cert-file="+files.cert,
		"--tls-private-key-file="+files.key,
		"--client-ca-file="+files.ca,
		"--token-auth-file="+files.tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+files.saPub,
		"--service-account-signing-key-file="+files.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		// 127.0.0.1 is refused by the endpoint reconciler.
		"--endpoint-reconciler-type=none",
		// No controller-manager creates the default service accounts.
		"--disable-admission-plugins=ServiceAccount",
		"--profiling=false")
	if err != nil {
		return nil, err
	}
	if err := cp.waitReady(ctx, o.ReadyTimeout); err != nil {
		return nil, err
	}
	cp.Startup = time.Since(begin)
	return cp, nil
}

type controlPlaneFiles struct{ ca, cert, key, tokens, saPub, saKey string }

// writeFiles writes the certificates, keys and the token file the API
// server reads.
func (cp *ControlPlane) writeFiles() (controlPlaneFiles, error) {
	f := controlPlaneFiles{}
	certPEM, keyPEM, err := cp.CA.Issue("kube-apiserver", "127.0.0.1", "localhost")
	if err != nil {
		return f, err
	}
	saPub, saKey, err := serviceAccountKey()
	if err != nil {
		return f, err
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return f, err
	}
	cp.token = hex.EncodeToString(tok)
	write := map[*string]struct {
		name string
		data []byte
	}{
		&f.ca:     {"ca.crt", cp.CA.PEM},
		&f.cert:   {"apiserver.crt", certPEM},
		&f.key:    {"apiserver.key", keyPEM},
		&f.tokens: {"tokens.csv", []byte(cp.token + ",admin,admin-uid,system:masters\n")},
		&f.saPub:  {"sa.pub", saPub},
		&f.saKey:  {"sa.key", saKey},
	}
	for dst, w := range write {
		*dst = filepath.Join(cp.dir, w.name)
		if err := os.WriteFile(*dst, w.data, 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}

// waitReady polls /readyz until it says ok, a process exits, or timeout.
func (cp *ControlPlane) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cp.CA.Pool(), MinVersion: tls.VersionTLS12}},
	}
	defer client.CloseIdleConnections()
	last := "no answer yet"
	for {
		for _, p := range []*Process{cp.etcd, cp.apiserver} {
			if done, err := p.Exited(); done {
				return fmt.Errorf("%s exited before the API server was ready (%v); its log ends:\n%s", p.name, err, p.LogTail(4000))
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cp.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+cp.token)
		resp, err := client.Do(req)
		if err == nil {
			var buf [512]byte
			n, _ := resp.Body.Read(buf[:])
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(buf[:n])) == "ok" {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(buf[:n])))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready within %s (last /readyz: %s); its log ends:\n%s\netcd's log ends:\n%s",
				timeout, last, cp.apiserver.LogTail(4000), cp.etcd.LogTail(2000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Config is a client configuration for the admin user (system:masters),
// generous with client-side rate limits so tests are not throttled.
func (cp *ControlPlane) Config() *rest.Config {
	return &rest.Config{
		Host:            cp.URL,
		BearerToken:     cp.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.CA.PEM},
		QPS:             200,
		Burst:           400,
		Timeout:         30 * time.Second,
	}
}

// Clientset is a clientset for the admin user; warnings, when not nil,
// receives every warning the API server sends (admission warnings among
// them).
func (cp *ControlPlane) Clientset(warnings *Warnings) (*kubernetes.Clientset, error) {
	c := cp.Config()
	if warnings != nil {
		c.WarningHandler = warnings
	}
	return kubernetes.NewForConfig(c)
}

// WriteKubeconfig writes a kubeconfig for the admin user to path, for a
// webhook run as its own process (gatehouse serve --kubeconfig).
func (cp *ControlPlane) WriteKubeconfig(path string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetest
  context: {cluster: kubetest, user: admin}
current-context: kubetest
`, cp.URL, base64.StdEncoding.EncodeToString(cp.CA.PEM), cp.token)
	return os.WriteFile(path, []byte(kc), 0o600)
}

// Logs is the end of both processes' output, for a failing test to print.
func (cp *ControlPlane) Logs() string {
	var b strings.Builder
	for _, p := range []*Process{cp.apiserver, cp.etcd} {
		if p != nil {
			fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, p.LogTail(8000))
		}
	}
	return b.String()
}

// Stop ends the API server, then etcd (their whole process groups), and
// removes the temporary folder. It is idempotent.
func (cp *ControlPlane) Stop() {
	for _, p := range []*Process{cp.apiserver, cp.etcd} {
		if p != nil {
			_ = p.Stop(5 * time.Second)
		}
	}
	if cp.dir != "" {
		os.RemoveAll(cp.dir)
	}
}
