package main

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Artifact Registry credentials through the built binary, with the real
// Google keychain (go-containerregistry's pkg/v1/google over
// golang.org/x/oauth2/google) and nothing but fakes on loopback:
//
//   - a fake europe-docker.pkg.dev: TLS with a certificate from a CA made
//     here (the binary trusts it through SSL_CERT_FILE), serving
//     go-containerregistry's registry handler behind the token flow that
//     Artifact Registry uses: 401 with `WWW-Authenticate: Bearer
//     realm="https://europe-docker.pkg.dev/v2/token"`, the token endpoint
//     taking HTTP Basic `_token` (or `oauth2accesstoken`) : ACCESS_TOKEN and
//     answering a registry bearer token; only one access token is accepted;
//   - a CONNECT proxy (HTTPS_PROXY) that tunnels europe-docker.pkg.dev:443
//     to that server and refuses every other destination. Go never proxies
//     loopback URLs, so the fake OAuth token endpoint and the fake metadata
//     server, both on 127.0.0.1, are reached directly;
//   - the credential sources in ggcr's order: ADC (GOOGLE_APPLICATION_CREDENTIALS,
//     then $HOME/.config/gcloud/application_default_credentials.json, then
//     the metadata server when GCE_METADATA_HOST is set or a probe finds
//     one), then `gcloud config config-helper`.
//
// GCE_METADATA_HOST is always set to a loopback server: with it unset the
// metadata library probes 169.254.169.254 and metadata.google.internal,
// which would leave loopback. A metadata server without a service account
// (404) stands for "not on GCE/GKE".

const (
	arHost  = "europe-docker.pkg.dev"
	arRealm = "https://" + arHost + "/v2/token"
	arRepo  = arHost + "/acme/models/fraud"
)

// testDeadline bounds every fake: the test's own deadline, or two minutes.
func testDeadline(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d
	}
	return time.Now().Add(2 * time.Minute)
}

// fakeAR is the fake Artifact Registry host.
type fakeAR struct {
	srv  *httptest.Server
	ca   string // path of the CA certificate (PEM)
	want string // the one access token the token endpoint accepts

	mu         sync.Mutex
	presented  []string // Basic "user:password" (or "anonymous") sent to the token endpoint
	issued     map[string]bool
	authorized int // registry requests carrying an issued bearer token
	refused    int // registry requests answered 401
}

func newFakeAR(t *testing.T, want string) *fakeAR {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: arHost}, DNSNames: []string{arHost},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ar := &fakeAR{ca: filepath.Join(dir, "ca.pem"), want: want, issued: map[string]bool{}}
	if err := os.WriteFile(ar.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	ar.srv = httptest.NewUnstartedServer(ar.handler(reg))
	ar.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}
	ar.srv.Config.ReadHeaderTimeout = 10 * time.Second
	ar.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	ar.srv.StartTLS()
	t.Cleanup(ar.srv.Close)
	return ar
}

func (ar *fakeAR) handler(reg http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != arHost && r.Host != arHost+":443" {
			http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		if r.URL.Path == "/v2/token" {
			ar.token(w, r)
			return
		}
		ar.mu.Lock()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		ok = ok && ar.issued[tok]
		if ok {
			ar.authorized++
		} else {
			ar.refused++
		}
		ar.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service=%q`, arRealm, arHost))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	})
}

// token is Artifact Registry's /v2/token: Basic credentials whose password
// is a Google access token, in exchange for a registry bearer token.
func (ar *fakeAR) token(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if !ok {
		ar.presented = append(ar.presented, "anonymous")
	} else {
		ar.presented = append(ar.presented, user+":"+pass)
	}
	if !ok || (user != "_token" && user != "oauth2accesstoken") || pass != ar.want {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q`, arRealm))
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials"}]}`, http.StatusUnauthorized)
		return
	}
	tok := fmt.Sprintf("registry-%d-%s", len(ar.issued), ar.want)
	ar.issued[tok] = true
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 3600, "issued_at": time.Now().UTC().Format(time.RFC3339)})
}

type arStats struct {
	presented           []string
	authorized, refused int
}

func (ar *fakeAR) stats() arStats {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return arStats{append([]string(nil), ar.presented...), ar.authorized, ar.refused}
}

// connectProxy tunnels CONNECT europe-docker.pkg.dev:443 to the fake and
// refuses anything else, recording it.
type connectProxy struct {
	addr string
	mu   sync.Mutex
	ok   int
	bad  []string
}

func startConnectProxy(t *testing.T, target string) *connectProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadline := testDeadline(t)
	p := &connectProxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c, target, deadline, done)
			}()
		}
	}()
	return p
}

func (p *connectProxy) serve(c net.Conn, target string, deadline time.Time, done <-chan struct{}) {
	defer c.Close()
	c.SetDeadline(deadline)
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect || req.Host != arHost+":443" {
		p.mu.Lock()
		p.bad = append(p.bad, req.Method+" "+req.Host+req.URL.Path)
		p.mu.Unlock()
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	defer up.Close()
	up.SetDeadline(deadline)
	p.mu.Lock()
	p.ok++
	p.mu.Unlock()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	ended := make(chan struct{}, 2)
	go func() { io.Copy(up, br); ended <- struct{}{} }()
	go func() { io.Copy(c, up); ended <- struct{}{} }()
	select {
	case <-ended:
	case <-done:
	}
}

func (p *connectProxy) stats() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok, append([]string(nil), p.bad...)
}

// fakeMetadata is a GCE/GKE metadata server; token "" means no service
// account (every lookup 404, as off GCE).
type fakeMetadata struct {
	addr  string
	token string

	mu        sync.Mutex
	tokenHits int
	noFlavor  int
}

func startFakeMetadata(t *testing.T, token string) *fakeMetadata {
	t.Helper()
	m := &fakeMetadata{token: token}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if r.Header.Get("Metadata-Flavor") != "Google" {
			m.noFlavor++
			http.Error(w, "Missing Metadata-Flavor:Google header", http.StatusForbidden)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		switch {
		case m.token == "":
			http.NotFound(w, r)
		case r.URL.Path == "/computeMetadata/v1/instance/service-accounts/default/token":
			m.tokenHits++
			if !strings.Contains(r.URL.Query().Get("scopes"), "https://www.googleapis.com/auth/cloud-platform") {
				http.Error(w, "scopes lack cloud-platform: "+r.URL.RawQuery, http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": m.token, "expires_in": 3599, "token_type": "Bearer"})
		case r.URL.Path == "/computeMetadata/v1/project/project-id":
			io.WriteString(w, "acme")
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	m.addr = srv.Listener.Addr().String()
	return m
}

func (m *fakeMetadata) stats() (tokenHits, noFlavor int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokenHits, m.noFlavor
}

// fakeOAuth is Google's OAuth token endpoint for a service-account key:
// it checks the JWT-bearer grant (RS256 signature by the key, issuer,
// audience, cloud-platform scope, times) and answers an access token.
type fakeOAuth struct {
	url   string
	email string
	key   *rsa.PrivateKey
	token string

	mu      sync.Mutex
	grants  int
	refused []string
}

func startFakeOAuth(t *testing.T, token string) *fakeOAuth {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &fakeOAuth{email: "gate@acme.iam.gserviceaccount.com", key: key, token: token}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := o.check(r); err != nil {
			o.mu.Lock()
			o.refused = append(o.refused, err.Error())
			o.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": err.Error()})
			return
		}
		o.mu.Lock()
		o.grants++
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": o.token, "expires_in": 3599, "token_type": "Bearer"})
	}))
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	o.url = srv.URL + "/token"
	return o
}

func (o *fakeOAuth) check(r *http.Request) error {
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		return fmt.Errorf("%s %s", r.Method, r.URL.Path)
	}
	if err := r.ParseForm(); err != nil {
		return err
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return fmt.Errorf("grant_type %q", g)
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		return fmt.Errorf("assertion has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&o.key.PublicKey, crypto.SHA256, h[:], sig); err != nil {
		return fmt.Errorf("signature: %v", err)
	}
	var hdr struct{ Alg string }
	var cl struct {
		Iss, Aud, Scope string
		Iat, Exp        int64
	}
	for i, v := range []any{&hdr, &cl} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	now := time.Now().Unix()
	switch {
	case hdr.Alg != "RS256":
		return fmt.Errorf("alg %q", hdr.Alg)
	case cl.Iss != o.email:
		return fmt.Errorf("iss %q", cl.Iss)
	case cl.Aud != o.url:
		return fmt.Errorf("aud %q, want %q", cl.Aud, o.url)
	case !strings.Contains(" "+cl.Scope+" ", " https://www.googleapis.com/auth/cloud-platform "):
		return fmt.Errorf("scope %q", cl.Scope)
	case cl.Iat > now+60 || cl.Exp < now || cl.Exp-cl.Iat > 3600:
		return fmt.Errorf("iat %d exp %d now %d", cl.Iat, cl.Exp, now)
	}
	return nil
}

// serviceAccountJSON writes a service-account key file whose token_uri is
// the fake OAuth endpoint.
func (o *fakeOAuth) serviceAccountJSON(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(o.key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "acme",
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   o.email,
		"client_id":      "1234567890",
		"auth_uri":       "https://accounts.google.com/o/oauth2/auth",
		"token_uri":      o.url,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeGcloud writes a `gcloud` that answers `config config-helper
// --format=json(credential)` with token, valid for an hour, and logs its
// arguments; it returns its folder (for PATH) and the log's path.
func fakeGcloud(t *testing.T, token string) (dir, logPath string) {
	return fakeGcloudExpiring(t, token, time.Hour)
}

// fakeGcloudExpiring is fakeGcloud with the token's lifetime.
func fakeGcloudExpiring(t *testing.T, token string, life time.Duration) (dir, logPath string) {
	t.Helper()
	dir = t.TempDir()
	logPath = filepath.Join(dir, "calls.log")
	out, err := json.Marshal(map[string]any{"credential": map[string]string{
		"access_token": token, "token_expiry": time.Now().Add(life).UTC().Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	// Builtins only: PATH holds nothing but this folder.
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> '%s'
case "$*" in
"config config-helper "*) printf '%%s\n' '%s' ;;
*) echo "fake gcloud: unexpected $*" >&2; exit 1 ;;
esac
`, logPath, out)
	if err := os.WriteFile(filepath.Join(dir, "gcloud"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, logPath
}

func gcloudCalls(t *testing.T, logPath string) []string {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
}

// googleEnv is the binary's whole view of credentials: the proxy, the CA,
// an empty Docker config and home, no ADC file, PATH only pathDir (gcloud
// or nothing) and the given metadata server; extra comes last.
func googleEnv(t *testing.T, ar *fakeAR, proxy *connectProxy, pathDir, metadataHost string, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home, "DOCKER_CONFIG=" + t.TempDir(), "CLOUDSDK_CONFIG=" + filepath.Join(home, "gcloud"),
		"HTTPS_PROXY=http://" + proxy.addr, "https_proxy=http://" + proxy.addr,
		"HTTP_PROXY=", "http_proxy=", "NO_PROXY=", "no_proxy=", "ALL_PROXY=", "all_proxy=",
		"SSL_CERT_FILE=" + ar.ca, "SSL_CERT_DIR=" + t.TempDir(),
		"GOOGLE_APPLICATION_CREDENTIALS=", "GCE_METADATA_HOST=" + metadataHost, "GCE_METADATA_IP=",
		"PATH=" + pathDir,
	}
	return append(env, extra...)
}

var pinnedAR = regexp.MustCompile(`^oci://` + regexp.QuoteMeta(arRepo) + `@sha256:[0-9a-f]{64}$`)

// pushAndCheck pushes the clean model to the fake Artifact Registry and
// checks it by digest; both must succeed.
func pushAndCheck(t *testing.T, env []string) string {
	t.Helper()
	_, wait := startGatehouse(t, nil, env, "push", "model", "testdata/models/clean", "oci://"+arRepo+":v1")
	r := wait()
	if r.code != 0 {
		t.Fatalf("push: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	pinned := strings.TrimSpace(r.stdout)
	if !pinnedAR.MatchString(pinned) {
		t.Fatalf("push printed %q, want oci://%s@sha256:…", pinned, arRepo)
	}
	_, wait = startGatehouse(t, nil, env, "check", "--env", "dev", "model:"+pinned)
	r = wait()
	if r.code != 0 || !strings.Contains(r.stdout, "1 subject(s): 1 allowed, 0 denied, 0 not decided") {
		t.Fatalf("check model:%s: exit %d, want 0 allowed\nstdout: %s\nstderr: %s", pinned, r.code, r.stdout, r.stderr)
	}
	return pinned
}

// assertOnly says the registry was used, only through the proxy, and only
// ever saw the access token want.
func assertOnly(t *testing.T, ar *fakeAR, proxy *connectProxy, want string) {
	t.Helper()
	s := ar.stats()
	if s.authorized == 0 {
		t.Errorf("registry served no authorized request")
	}
	if len(s.presented) == 0 {
		t.Errorf("token endpoint never called")
	}
	for _, p := range s.presented {
		if p != "_token:"+want && p != "oauth2accesstoken:"+want {
			t.Errorf("token endpoint got %q, want _token:%s", p, want)
		}
	}
	ok, bad := proxy.stats()
	if ok == 0 || len(bad) > 0 {
		t.Errorf("proxy: %d tunnels to %s, refused %q", ok, arHost, bad)
	}
}

func TestRemoteGoogleCredentials(t *testing.T) {
	// Each case gets its own registry, accepting only that case's token;
	// the other sources offer other tokens, so a source used out of
	// order fails the push.
	t.Run("ADC service account key", func(t *testing.T) {
		const token = "ya29.adc-service-account"
		ar := newFakeAR(t, token)
		proxy := startConnectProxy(t, ar.srv.Listener.Addr().String())
		oauth := startFakeOAuth(t, token)
		md := startFakeMetadata(t, "ya29.metadata-not-this-one")
		gdir, glog := fakeGcloud(t, "ya29.gcloud-not-this-one")
		env := googleEnv(t, ar, proxy, gdir, md.addr, "GOOGLE_APPLICATION_CREDENTIALS="+oauth.serviceAccountJSON(t))
		pushAndCheck(t, env)
		assertOnly(t, ar, proxy, token)
		oauth.mu.Lock()
		grants, refused := oauth.grants, oauth.refused
		oauth.mu.Unlock()
		if grants == 0 || len(refused) > 0 {
			t.Errorf("OAuth endpoint: %d grants, refused %q", grants, refused)
		}
		if hits, _ := md.stats(); hits > 0 {
			t.Errorf("metadata server asked for a token %d times; ADC's key file comes first", hits)
		}
		if calls := gcloudCalls(t, glog); len(calls) > 0 {
			t.Errorf("gcloud ran %q; ADC comes first", calls)
		}
	})

	t.Run("ADC well-known file", func(t *testing.T) {
		// `gcloud auth application-default login` writes
		// $HOME/.config/gcloud/application_default_credentials.json; a
		// service-account key there is read the same way.
		const token = "ya29.adc-well-known-file"
		ar := newFakeAR(t, token)
		proxy := startConnectProxy(t, ar.srv.Listener.Addr().String())
		oauth := startFakeOAuth(t, token)
		md := startFakeMetadata(t, "")
		env := googleEnv(t, ar, proxy, t.TempDir(), md.addr)
		home := strings.TrimPrefix(env[0], "HOME=")
		if err := os.MkdirAll(filepath.Join(home, ".config", "gcloud"), 0o700); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(oauth.serviceAccountJSON(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		pushAndCheck(t, env)
		assertOnly(t, ar, proxy, token)
	})

	t.Run("gcloud", func(t *testing.T) {
		const token = "ya29.gcloud-config-helper"
		ar := newFakeAR(t, token)
		proxy := startConnectProxy(t, ar.srv.Listener.Addr().String())
		md := startFakeMetadata(t, "") // not on GCE: ADC finds nothing
		gdir, glog := fakeGcloud(t, token)
		pushAndCheck(t, googleEnv(t, ar, proxy, gdir, md.addr))
		assertOnly(t, ar, proxy, token)
		calls := gcloudCalls(t, glog)
		if len(calls) == 0 {
			t.Fatalf("gcloud never ran")
		}
		for _, c := range calls {
			if !strings.HasPrefix(c, "config_config-helper_") {
				t.Errorf("gcloud ran with %q", c)
			}
		}
	})

	t.Run("gcloud token refreshed after the first lookup's context ended", func(t *testing.T) {
		// A token that expires within oauth2's 10 s margin is refreshed on
		// every use, as an hour-old one is in a long run or in `serve`.
		// google.Keychain resolves once per process and keeps the first
		// caller's context for every refresh; check's first lookup is
		// under pinRemote's context, cancelled when the pin is done.
		// internal/keychain detaches it, so the walk's refresh works.
		const token = "ya29.gcloud-short-lived"
		ar := newFakeAR(t, token)
		proxy := startConnectProxy(t, ar.srv.Listener.Addr().String())
		md := startFakeMetadata(t, "")
		gdir, glog := fakeGcloudExpiring(t, token, 5*time.Second)
		pushAndCheck(t, googleEnv(t, ar, proxy, gdir, md.addr))
		assertOnly(t, ar, proxy, token)
		if calls := gcloudCalls(t, glog); len(calls) < 2 {
			t.Errorf("gcloud ran %d times; a token about to expire must be refreshed", len(calls))
		}
	})

	t.Run("metadata server (GKE workload identity)", func(t *testing.T) {
		const token = "ya29.metadata-workload-identity"
		ar := newFakeAR(t, token)
		proxy := startConnectProxy(t, ar.srv.Listener.Addr().String())
		md := startFakeMetadata(t, token)
		gdir, glog := fakeGcloud(t, "ya29.gcloud-not-this-one")
		pushAndCheck(t, googleEnv(t, ar, proxy, gdir, md.addr))
		assertOnly(t, ar, proxy, token)
		hits, noFlavor := md.stats()
		if hits == 0 || noFlavor > 0 {
			t.Errorf("metadata server: %d token requests, %d without Metadata-Flavor: Google", hits, noFlavor)
		}
		if calls := gcloudCalls(t, glog); len(calls) > 0 {
			t.Errorf("gcloud ran %q; the metadata server (ADC) comes first", calls)
		}
	})

	t.Run("none", func(t *testing.T) {
		const seed = "ya29.seed"
		ar := newFakeAR(t, seed)
		proxy := startConnectProxy(t, ar.srv.Listener.Addr().String())
		md := startFakeMetadata(t, "")
		gdir, _ := fakeGcloud(t, seed)
		pinned := pushAndCheck(t, googleEnv(t, ar, proxy, gdir, md.addr))
		before := len(ar.stats().presented)

		env := googleEnv(t, ar, proxy, t.TempDir(), md.addr) // no ADC, not on GCE, no gcloud
		for _, args := range [][]string{
			{"push", "model", "testdata/models/clean", "oci://" + arRepo + ":v2"},
			{"check", "--env", "dev", "model:" + pinned},
			{"check", "--env", "dev", "model:oci://" + arRepo + ":v1"},
		} {
			_, wait := startGatehouse(t, nil, env, args...)
			r := wait()
			if r.code != 2 {
				t.Errorf("%s: exit %d, want 2 (not decided)\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
			if args[0] == "check" && !strings.Contains(r.stdout, "1 subject(s): 0 allowed, 0 denied, 1 not decided") {
				t.Errorf("%s: not one subject not decided:\n%s", strings.Join(args, " "), r.stdout)
			}
			if args[0] == "push" && r.stdout != "" {
				t.Errorf("%s: printed %q without credentials", strings.Join(args, " "), r.stdout)
			}
			for _, w := range []string{"credentials", "docker login", "gcloud auth configure-docker"} {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("%s: output lacks %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), w, r.stdout, r.stderr)
				}
			}
		}
		for _, p := range ar.stats().presented[before:] {
			if p != "anonymous" {
				t.Errorf("token endpoint got %q without any credential source", p)
			}
		}
		if _, bad := proxy.stats(); len(bad) > 0 {
			t.Errorf("proxy refused %q", bad)
		}
	})
}
