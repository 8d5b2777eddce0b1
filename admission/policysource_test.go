package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// admissionRego is the shipped admission policy, the content of the test bundles.
func admissionRego(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../policies/admission.rego")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bundleKey makes an ECDSA P-256 key pair: the private key PEM (for
// signing) and the public key file (for verifying) in dir as <id>.pem.
func bundleKey(t *testing.T, dir, id string) (priv string, pubFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pubFile = filepath.Join(dir, id+".pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), pubFile
}

// makeBundle writes an OPA bundle (tar.gz) of rego at revision, signed
// with priv under key id (unsigned when priv is ""); tamper changes the
// policy after signing.
func makeBundle(t testing.TB, rego []byte, revision, priv, id string, tamper bool) []byte {
	t.Helper()
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: revision, Roots: &[]string{""}},
		Modules:  []bundle.ModuleFile{{URL: "/admission.rego", Path: "/admission.rego", Raw: rego}},
		Data:     map[string]any{"gatehouse": map[string]any{"extra": map[string]any{"rev": revision}}},
	}
	if priv != "" {
		if err := b.GenerateSignature(bundle.NewSigningConfig(priv, "ES256", ""), id, false); err != nil {
			t.Fatal(err)
		}
	}
	if tamper {
		b.Modules[0].Raw = append(append([]byte{}, rego...), []byte("\n# changed after signing\n")...)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bundleServer serves whatever body holds, with an ETag of its own.
type bundleServer struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	gets     int
	notModed int
}

func (s *bundleServer) set(body []byte, etag string) {
	s.mu.Lock()
	s.body, s.etag = body, etag
	s.mu.Unlock()
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if r.Header.Get("If-None-Match") == s.etag {
		s.notModed++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", s.etag)
	w.Write(s.body)
}

func TestBundleSourceHTTPS(t *testing.T) {
	dir := t.TempDir()
	rego := admissionRego(t)
	priv, pub := bundleKey(t, dir, "policy")
	otherPriv, _ := bundleKey(t, dir, "other")
	bs := &bundleServer{}
	srv := httptest.NewTLSServer(bs)
	defer srv.Close()

	src, err := NewBundleSource(BundleOptions{URL: srv.URL + "/b.tar.gz", KeyFiles: []string{pub}, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bs.set(makeBundle(t, rego, "rev-1", priv, "policy", false), `"1"`)
	p1, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Revision() != "rev-1" {
		t.Fatalf("revision %q, want rev-1", p1.Revision())
	}
	if p, err := src.Load(ctx); err != nil || p != p1 || bs.notModed != 1 {
		t.Fatalf("unchanged bundle: %v, same policy %v, 304s %d; want the same policy from a 304", err, p == p1, bs.notModed)
	}

	bs.set(makeBundle(t, rego, "rev-2", priv, "policy", false), `"2"`)
	p2, err := src.Load(ctx)
	if err != nil || p2 == p1 || p2.Revision() != "rev-2" {
		t.Fatalf("new bundle: %v, revision %q", err, p2.Revision())
	}

	// Every bad bundle is an error; the caller keeps p2.
	bad := []struct {
		name, want string
		body       []byte
	}{
		{"unsigned", "signature", makeBundle(t, rego, "rev-3", "", "", false)},
		{"signed by another key", "verify", makeBundle(t, rego, "rev-4", otherPriv, "policy", false)},
		{"tampered after signing", "digest", makeBundle(t, rego, "rev-5", priv, "policy", true)},
		{"not a bundle", "", []byte("<html>not found</html>")},
		{"no admission package", "gatehouse.admission", makeBundle(t, []byte("package other\nallow := true\n"), "rev-6", priv, "policy", false)},
	}
	for i, b := range bad {
		bs.set(b.body, `"bad`+string(rune('a'+i))+`"`)
		p, err := src.Load(ctx)
		if err == nil {
			t.Errorf("%s: loaded (revision %q)", b.name, p.Revision())
			continue
		}
		if !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %q does not say %q", b.name, err, b.want)
		}
	}
	// A server error is an error too, not "unchanged".
	bs.set(nil, "")
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) })
	if _, err := src.Load(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503: %v", err)
	}
}

func TestBundleSourceOCI(t *testing.T) {
	dir := t.TempDir()
	priv, pub := bundleKey(t, dir, "policy")
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	push := func(rev string) {
		layer := static.NewLayer(makeBundle(t, admissionRego(t), rev, priv, "policy", false), types.MediaType("application/vnd.oci.image.layer.v1.tar+gzip"))
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(host+"/policy:v1", name.Insecure)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	push("oci-1")
	src, err := NewBundleSource(BundleOptions{URL: "oci://" + host + "/policy:v1", KeyFiles: []string{pub}, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := src.Load(context.Background())
	if err != nil || p1.Revision() != "oci-1" {
		t.Fatalf("load: %v", err)
	}
	if p, err := src.Load(context.Background()); err != nil || p != p1 {
		t.Fatalf("unchanged manifest: %v, same %v", err, p == p1)
	}
	push("oci-2")
	if p, err := src.Load(context.Background()); err != nil || p.Revision() != "oci-2" {
		t.Fatalf("after a new push: %v", err)
	}
}

func TestNewBundleSourceErrors(t *testing.T) {
	dir := t.TempDir()
	priv, pub := bundleKey(t, dir, "k")
	privFile := filepath.Join(dir, "priv.pem")
	os.WriteFile(privFile, []byte(priv), 0o600)
	for _, tt := range []struct {
		o    BundleOptions
		want string
	}{
		{BundleOptions{URL: "http://example/b.tar.gz", KeyFiles: []string{pub}}, "https://"},
		{BundleOptions{URL: "https://example/b.tar.gz"}, "unsigned"},
		{BundleOptions{URL: "https://example/b.tar.gz", KeyFiles: []string{privFile}}, "public key"},
		{BundleOptions{URL: "https://example/b.tar.gz", KeyFiles: []string{filepath.Join(dir, "nope.pem")}}, "nope.pem"},
	} {
		if _, err := NewBundleSource(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error saying %q", tt.o, err, tt.want)
		}
	}
}

func TestFilePolicyReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "admission.rego")
	rego := admissionRego(t)
	os.WriteFile(file, rego, 0o600)
	src := &FilePolicy{Dirs: []string{dir}}
	p1, err := src.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := src.Load(context.Background()); p != p1 {
		t.Fatal("unchanged files gave a new policy")
	}
	os.WriteFile(file, append(append([]byte{}, rego...), "\n# v2\n"...), 0o600)
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(file, later, later)
	p2, err := src.Load(context.Background())
	if err != nil || p2 == p1 || p2.Digest() == p1.Digest() {
		t.Fatalf("changed file: %v, new %v", err, p2 != p1)
	}
	os.WriteFile(file, []byte("package gatehouse.admission\ndeny contains x if {"), 0o600)
	os.Chtimes(file, later.Add(time.Second), later.Add(time.Second))
	if _, err := src.Load(context.Background()); err == nil {
		t.Fatal("a policy that does not parse loaded")
	}
}

func TestFilesStamp(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a")
	s0, err := FilesStamp(f, dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, []byte("x"), 0o600)
	s1, _ := FilesStamp(f, dir)
	os.WriteFile(f, []byte("xy"), 0o600)
	s2, _ := FilesStamp(f, dir)
	if s0 == s1 || s1 == s2 {
		t.Fatalf("stamps did not change: %s %s %s", s0, s1, s2)
	}
	if s3, _ := FilesStamp(f, dir); s3 != s2 {
		t.Fatal("stamp changed without a change")
	}
}

// FuzzBundleCompile: whatever a bundle server sends, compile errors or
// returns a policy from a bundle signed with the key; it never panics.
func FuzzBundleCompile(f *testing.F) {
	dir := f.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pubFile := filepath.Join(dir, "policy.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	rego, err := os.ReadFile("../policies/admission.rego")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(makeBundle(f, rego, "r", priv, "policy", false))
	f.Add(makeBundle(f, rego, "r", "", "", false))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	src, err := NewBundleSource(BundleOptions{URL: "https://example/b.tar.gz", KeyFiles: []string{pubFile}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := src.compile(b)
		if err == nil && p == nil {
			t.Fatal("no error and no policy")
		}
	})
}
