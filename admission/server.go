package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// maxPEMBytes bounds a certificate or key file.
const maxPEMBytes = 1 << 20

// CertReloader serves a certificate and key from files and re-reads them
// when either file changes (checked at each TLS handshake: two stat calls),
// so a rotated Kubernetes secret or cert-manager renewal is picked up
// without a restart. A pair that fails to load (e.g. the certificate is
// written and the key not yet) leaves the last good one in place and is
// retried when the files change again.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  fileStamp // what cert was loaded from
	refused fileStamp // a pair that failed to load, not retried until it changes
}

// fileStamp identifies a version of the two files.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// NewCertReloader loads the pair once; a pair that does not load is an error.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	st, err := r.stamp()
	if err != nil {
		return nil, err
	}
	cert, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.cert, r.loaded = cert, st
	return r, nil
}

func (r *CertReloader) stamp() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS certificate: %w", err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("TLS key: %w", err)
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := readlimit.File(certFile, maxPEMBytes)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	keyPEM, err := readlimit.File(keyFile, maxPEMBytes)
	if err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS key pair %s, %s: %w", certFile, keyFile, err)
	}
	return &cert, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stamp()
	if err != nil || st == r.loaded || st == r.refused {
		// A file missing for a moment during a rotation: keep serving.
		return r.cert, nil
	}
	cert, err := loadKeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.refused = st
		r.log.Error("TLS certificate reload failed; serving the previous one", "err", err.Error())
		return r.cert, nil
	}
	r.cert, r.loaded = cert, st
	r.log.Info("TLS certificate reloaded", "cert", r.certFile, "not_after", cert.Leaf.NotAfter)
	return r.cert, nil
}

// SelfSigned is an in-memory CA and a serving certificate it signed, for
// local trials (`gatehouse serve --self-signed`): the API server or the load
// tool trusts CAPEM.
type SelfSigned struct {
	Cert  tls.Certificate
	CAPEM []byte
	// Fingerprint is the SHA-256 of the CA certificate (DER), hex.
	Fingerprint string
}

// NewSelfSigned makes a CA and a certificate for hosts (DNS names or IP
// addresses), valid for validFor, with ECDSA P-256 keys (fast handshakes).
func NewSelfSigned(hosts []string, validFor time.Duration) (*SelfSigned, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "gatehouse self-signed CA"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "gatehouse webhook"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(caDER)
	return &SelfSigned{
		Cert:        tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf},
		CAPEM:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Fingerprint: hex.EncodeToString(sum[:]),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// ServerOptions configure Serve.
type ServerOptions struct {
	Handler http.Handler
	// GetCertificate supplies the serving certificate (CertReloader's, or
	// one returning a SelfSigned certificate).
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	Logger         *slog.Logger
	// DrainDelay is how long the server keeps accepting new requests after
	// the context is cancelled, with /readyz failing, so that endpoints stop
	// routing to it before it stops listening. [0]
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may finish. [15s]
	ShutdownTimeout time.Duration
	// OnDrain is called when draining starts (the handler fails /readyz).
	OnDrain func()
}

// TLSConfig is the server's TLS configuration: TLS 1.2 or newer, modern
// AEAD ciphers only for 1.2, HTTP/2 and HTTP/1.1.
func TLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCert,
		NextProtos:     []string{"h2", "http/1.1"},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// Serve serves HTTPS on ln until ctx is cancelled, then drains: new
// connections are refused after DrainDelay and in-flight requests get
// ShutdownTimeout to finish, after which the remaining connections are
// closed and an error says how many requests were cut off.
func Serve(ctx context.Context, ln net.Listener, o ServerOptions) error {
	if o.GetCertificate == nil {
		return errors.New("serve: no TLS certificate (give a certificate and key, or self-signed)")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 15 * time.Second
	}
	var inFlight sync.WaitGroup
	var count struct {
		sync.Mutex
		n int
	}
	h := o.Handler
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inFlight.Add(1)
			count.Lock()
			count.n++
			count.Unlock()
			defer func() {
				count.Lock()
				count.n--
				count.Unlock()
				inFlight.Done()
			}()
			h.ServeHTTP(w, r)
		}),
		TLSConfig: TLSConfig(o.GetCertificate),
		// The API server sends small requests promptly; anything slow is
		// not the API server.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	log.Info("serving", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	if o.OnDrain != nil {
		o.OnDrain()
	}
	if o.DrainDelay > 0 {
		log.Info("draining: readiness failing, still serving", "for", o.DrainDelay.String())
		select {
		case <-time.After(o.DrainDelay):
		case err := <-errc:
			return fmt.Errorf("serve %s: %w", ln.Addr(), err)
		}
	}
	log.Info("shutting down", "timeout", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		count.Lock()
		n := count.n
		count.Unlock()
		srv.Close()
		return fmt.Errorf("shutdown: %d request(s) still in flight after %s were cut off: %w", n, o.ShutdownTimeout, err)
	}
	// Shutdown waits for idle connections, not for handlers of hijacked or
	// HTTP/2 streams: wait for those too, within the same bound.
	done := make(chan struct{})
	go func() { inFlight.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		return fmt.Errorf("shutdown: requests still in flight after %s", o.ShutdownTimeout)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("shut down cleanly")
	return nil
}
