package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// writePair writes a fresh self-signed pair for 127.0.0.1 into dir and
// returns the CA pool that trusts it and the leaf's serial.
func writePair(t *testing.T, certFile, keyFile string) (*x509.CertPool, string) {
	t.Helper()
	ss, err := NewSelfSigned([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, der := range ss.Cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ss.Cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed in, as a secret volume or cert-manager do.
	for f, b := range map[string][]byte{certFile: chain, keyFile: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})} {
		tmp := f + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ss.CAPEM)
	return pool, ss.Cert.Leaf.SerialNumber.String()
}

// startServer serves h over TLS on loopback until the returned cancel.
func startServer(t *testing.T, o ServerOptions) (addr string, cancel func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, o) }()
	var once atomic.Bool
	cancel = func() error {
		if !once.CompareAndSwap(false, true) {
			return nil
		}
		stop()
		select {
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("server did not stop within 30s")
		}
	}
	t.Cleanup(func() { cancel() })
	return ln.Addr().String(), cancel
}

// handshakeSerial connects with a new TLS connection and returns the
// serial of the certificate the server presented.
func handshakeSerial(t *testing.T, addr string, pool *x509.CertPool) (string, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func TestCertReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	pool1, serial1 := writePair(t, certFile, keyFile)
	r, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := startServer(t, ServerOptions{Handler: http.NotFoundHandler(), GetCertificate: r.GetCertificate})

	got, err := handshakeSerial(t, addr, pool1)
	if err != nil || got != serial1 {
		t.Fatalf("first handshake: serial %s, %v; want %s", got, err, serial1)
	}

	pool2, serial2 := writePair(t, certFile, keyFile)
	// Make sure the mtime moves even on a coarse-timestamp filesystem.
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(certFile, future, future)
	got, err = handshakeSerial(t, addr, pool2)
	if err != nil || got != serial2 {
		t.Fatalf("after rotation: serial %s, %v; want the new %s", got, err, serial2)
	}

	// A broken pair (key of another certificate) keeps the last good one.
	_, _ = writePair(t, filepath.Join(dir, "other.crt"), keyFile)
	later := future.Add(2 * time.Second)
	os.Chtimes(keyFile, later, later)
	got, err = handshakeSerial(t, addr, pool2)
	if err != nil || got != serial2 {
		t.Fatalf("after a mismatched key: serial %s, %v; want the last good %s", got, err, serial2)
	}
}

func TestNewCertReloaderErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := NewCertReloader(certFile, keyFile, nil); err == nil || !strings.Contains(err.Error(), "TLS certificate") {
		t.Fatalf("missing files: err %v, want one naming the certificate", err)
	}
	os.WriteFile(certFile, []byte("not PEM"), 0o600)
	os.WriteFile(keyFile, []byte("not PEM"), 0o600)
	if _, err := NewCertReloader(certFile, keyFile, nil); err == nil || !strings.Contains(err.Error(), "tls.crt") {
		t.Fatalf("garbage files: err %v, want one naming the file", err)
	}
}

func TestServeRefusesOldTLS(t *testing.T) {
	ss, err := NewSelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := startServer(t, ServerOptions{Handler: http.NotFoundHandler(),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &ss.Cert, nil }})
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	// Plain HTTP on the TLS port is not served either.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served")
		}
	}
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	ss, err := NewSelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	var drained atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	addr, cancel := startServer(t, ServerOptions{Handler: h, ShutdownTimeout: 10 * time.Second,
		OnDrain:        func() { drained.Store(true) },
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &ss.Cert, nil }})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ss.CAPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := client.Get("https://" + addr + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- cancel() }()
	// The server must wait for the request in flight.
	select {
	case err := <-stopped:
		t.Fatalf("server stopped with a request in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if !drained.Load() {
		t.Error("OnDrain was not called")
	}
	// New connections are refused while it drains.
	if _, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool}); err == nil {
		t.Error("a new connection was accepted after shutdown began")
	}
	close(release)
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: %q, %v; want it completed", r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestGracefulShutdownBounded(t *testing.T) {
	ss, err := NewSelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(5 * time.Second) // ignores its context: a stuck handler
	})
	addr, cancel := startServer(t, ServerOptions{Handler: h, ShutdownTimeout: 200 * time.Millisecond,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &ss.Cert, nil }})
	go (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get("https://" + addr + "/")
	<-started
	t0 := time.Now()
	err = cancel()
	if err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Fatalf("shutdown with a stuck request: %v; want an error saying a request was cut off", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("shutdown took %s with a 200ms bound", d)
	}
}

func TestSelfSigned(t *testing.T) {
	ss, err := NewSelfSigned([]string{"127.0.0.1", "gatehouse.gatehouse-system.svc"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ss.CAPEM) {
		t.Fatal("CA PEM does not parse")
	}
	for _, name := range []string{"127.0.0.1", "gatehouse.gatehouse-system.svc"} {
		if _, err := ss.Cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("leaf does not verify for %s: %v", name, err)
		}
	}
	if _, err := ss.Cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "evil.example"}); err == nil {
		t.Error("leaf verifies for a host it was not made for")
	}
	if len(ss.Fingerprint) != 64 {
		t.Errorf("fingerprint %q is not a hex SHA-256", ss.Fingerprint)
	}
}
