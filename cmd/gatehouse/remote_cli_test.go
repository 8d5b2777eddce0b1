package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
)

// Remote models through the built binary, against a real Distribution
// registry on loopback: push → resolve → check, and a registry that serves
// a tampered layer.

func remoteRegistry(t *testing.T) string {
	t.Helper()
	remoteRegAddr, remoteRegErr := testregistry.Shared()
	if errors.Is(remoteRegErr, testregistry.ErrNoBinary) {
		t.Skip(remoteRegErr.Error())
	}
	if remoteRegErr != nil {
		t.Fatalf("start registry: %v", remoteRegErr)
	}
	return remoteRegAddr
}

// remoteEnv keeps the binary away from the machine's Docker credentials.
func remoteEnv(t *testing.T) []string {
	return []string{"DOCKER_CONFIG=" + t.TempDir()}
}

func pushModel(t *testing.T, dir, ref string) string {
	t.Helper()
	r := gatehouse(t, remoteEnv(t), "push", "model", dir, ref)
	if r.code != 0 {
		t.Fatalf("push model %s %s: exit %d\nstdout: %s\nstderr: %s", dir, ref, r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// layerOf returns the digest of the layer annotated with file path.
func layerOf(t *testing.T, pinned, path string) string {
	t.Helper()
	ref, err := name.ParseReference(strings.TrimPrefix(pinned, "oci://"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref, remote.WithAuthFromKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Layers []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if l.Annotations["org.cncf.model.filepath"] == path {
			return l.Digest
		}
	}
	t.Fatalf("%s: no layer for %s in %s", pinned, path, desc.Manifest)
	return ""
}

func TestRemoteModelPushResolveCheck(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	clean := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/clean:v1")
	evil := pushModel(t, "testdata/models/evil", "oci://"+addr+"/models/evil:v1")
	for _, p := range []string{clean, evil} {
		if !strings.HasPrefix(p, "oci://"+addr+"/models/") || !strings.Contains(p, "@sha256:") {
			t.Fatalf("push printed %q, want oci://%s/models/…@sha256:…", p, addr)
		}
	}
	// Deterministic: the same folder under another tag is the same digest.
	again := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/clean:again")
	if again != clean {
		t.Errorf("pushing the same folder twice: %s then %s", clean, again)
	}

	r := gatehouse(t, env, "resolve", "model:oci://"+addr+"/models/clean:v1", "model:oci://"+addr+"/models/evil:v1")
	if r.code != 0 {
		t.Fatalf("resolve: exit %d: %s", r.code, r.stderr)
	}
	if want := "model:" + clean + "\nmodel:" + evil + "\n"; r.stdout != want {
		t.Errorf("resolve printed\n%s\nwant\n%s", r.stdout, want)
	}

	tests := []struct {
		name     string
		subject  string
		wantCode int
		want     []string
	}{
		{"clean by tag", "model:oci://" + addr + "/models/clean:v1", 0, []string{"allowed"}},
		{"clean by digest", "model:" + clean, 0, []string{"allowed"}},
		{"evil by tag", "model:oci://" + addr + "/models/evil:v1", 1,
			[]string{"DENIED", "layer " + layerOf(t, evil, "model.pkl") + ", entry model.pkl", "posix.system"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gatehouse(t, env, "check", "--env", "dev", tc.subject)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}

	// The JSON result carries the manifest digest and the pinned reference;
	// the evidence names the tree and each finding's layer.
	r = gatehouse(t, env, "check", "--env", "dev", "--format", "json", "model:oci://"+addr+"/models/evil:v1")
	var out struct {
		Results []struct {
			Subject struct {
				Digest string            `json:"digest"`
				Labels map[string]string `json:"labels"`
			} `json:"subject"`
			Violations []struct {
				Rule, Location string
			} `json:"violations"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Results) != 1 {
		t.Fatalf("check --format json: %v\n%s", err, r.stdout)
	}
	res := out.Results[0]
	if got := "oci://" + addr + "/models/evil@" + res.Subject.Digest; got != evil || res.Subject.Labels["gatehouse.pinned"] != evil {
		t.Errorf("subject digest %s, pinned %q; push said %s", res.Subject.Digest, res.Subject.Labels["gatehouse.pinned"], evil)
	}
	if len(res.Violations) != 1 || res.Violations[0].Rule != "finding" || res.Violations[0].Location != "model.pkl" {
		t.Errorf("violations %+v, want one finding at model.pkl", res.Violations)
	}
}

// tamperProxy forwards to the registry and flips the byte at offset of
// every blob whose digest is in bad.
func tamperProxy(t *testing.T, addr string, bad map[string]bool, offset int) string {
	t.Helper()
	u, _ := url.Parse("http://" + addr)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorLog = log.New(io.Discard, "", 0) // the binary hangs up after a failed layer
	p.ModifyResponse = func(resp *http.Response) error {
		parts := strings.Split(resp.Request.URL.Path, "/")
		if len(parts) < 2 || parts[len(parts)-2] != "blobs" || !bad[parts[len(parts)-1]] || resp.Request.Method != http.MethodGet {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if offset < len(b) {
			b[offset] ^= 0x20
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	return serveLoopback(t, p)
}

func TestRemoteModelTamperedLayer(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	// Each layer is one tar: a 512-byte header, the file, zero blocks.
	tests := []struct {
		model  string
		offset int
		codes  []int // acceptable exit codes: never 0
		want   []string
	}{
		// A byte of the file's content: the tar still parses, the digest
		// check at the layer's end fails: denied.
		{"clean", 520, []int{1}, []string{"integrity check failed", "tampered"}},
		{"evil", 520, []int{1}, []string{"integrity check failed", "tampered"}},
		// A byte of the tar header: the tar reader fails before the digest
		// is known; the rest of the layer is hashed, and the mismatch
		// denies, naming the layer.
		{"clean", 100, []int{1}, []string{"integrity check failed", "invalid tar header", "tampered"}},
		{"evil", 100, []int{1}, []string{"integrity check failed", "tampered"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s@%d", tc.model, tc.offset), func(t *testing.T) {
			pinned := pushModel(t, "testdata/models/"+tc.model, "oci://"+addr+"/models/tamper-"+tc.model+":v1")
			layer := layerOf(t, pinned, "model.pkl")
			proxy := tamperProxy(t, addr, map[string]bool{layer: true}, tc.offset)
			via := strings.Replace(pinned, addr, proxy, 1)
			r := gatehouse(t, env, "check", "--env", "dev", "model:"+via)
			if r.code == 0 {
				t.Fatalf("a tampered layer was allowed:\n%s", r.stdout)
			}
			if !slices.Contains(tc.codes, r.code) {
				t.Errorf("exit %d, want one of %v\n%s%s", r.code, tc.codes, r.stdout, r.stderr)
			}
			for _, w := range append(tc.want, layer) {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	// The same artifact read straight from the registry passes.
	pinned := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/tamper-clean:v1")
	if r := gatehouse(t, env, "check", "--env", "dev", "model:"+pinned); r.code != 0 {
		t.Errorf("untampered %s: exit %d\n%s%s", pinned, r.code, r.stdout, r.stderr)
	}
}

// A layer whose tar is broken as published (its digest matches the bytes)
// is denied as a hostile tree: another extractor may read it differently.
func TestRemoteModelMalformedAsPublished(t *testing.T) {
	addr := remoteRegistry(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range []string{"a.safetensors", "b.safetensors"} {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: 16})
		tw.Write([]byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "))
	}
	tw.Close()
	b := buf.Bytes()
	b[1024+100] ^= 0x20 // the second header's mode: its checksum fails
	tag, err := name.NewTag(addr + "/models/malformed:v1")
	if err != nil {
		t.Fatal(err)
	}
	desc := func(mt string, b []byte) map[string]any { return writeBlob(t, tag.Context(), mt, b) }
	layer := desc("application/vnd.cncf.model.weight.v1.tar", b)
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"artifactType": "application/vnd.cncf.model.manifest.v1+json",
		"config":       desc("application/vnd.cncf.model.config.v1+json", []byte(`{"descriptor":{},"modelfs":{"type":"layers","diffIds":[]},"config":{}}`)),
		"layers":       []any{layer},
	})
	if err := remote.Put(tag, testManifest{raw}, registryCtx(t)); err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("oci://%s/models/malformed@sha256:%x", addr, sha256.Sum256(raw))
	r := gatehouse(t, remoteEnv(t), "check", "--env", "dev", "model:"+ref)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{layer["digest"].(string), "malformed as published", `after entry "a.safetensors"`} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestRemoteNotDecided(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/nd:v1")
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	tests := []struct {
		name, subject, want string
	}{
		{"unknown tag", "model:oci://" + addr + "/models/nd:nope", "manifest unknown"},
		{"registry down", "model:oci://" + closed + "/models/nd:v1", "connection refused"},
		{"unsupported scheme", "model:s3://bucket/model", "unsupported"},
		{"pinned digest that is not there", "model:oci://" + addr + "/models/nd@sha256:" + strings.Repeat("0", 64), "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gatehouse(t, env, "check", "--env", "dev", tc.subject)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2 (not decided)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(strings.ToLower(r.stdout+r.stderr), strings.ToLower(tc.want)) {
				t.Errorf("output lacks %q:\n%s%s", tc.want, r.stdout, r.stderr)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	good := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/res:v1")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"local path", []string{"model:testdata/models/clean"}, "have a digest-pinned form"},
		{"one bad among good", []string{"model:" + good, "model:oci://" + addr + "/models/res:missing"}, "manifest unknown"},
		{"not a subject", []string{"fraud"}, "KIND:REF"},
		{"bad format", []string{"--format", "yaml", "model:" + good}, "--format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gatehouse(t, env, append([]string{"resolve"}, tc.args...)...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("printed %q on failure: a partial list must not reach a deploy", r.stdout)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q: %s", tc.want, r.stderr)
			}
		})
	}
	r := gatehouse(t, env, "resolve", "--format", "json", "model:"+good)
	var got []resolved
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("resolve --format json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if len(got) != 1 || got[0].Pinned != "model:"+good || !strings.HasSuffix(good, "@"+got[0].Digest) {
		t.Errorf("resolve --format json = %+v, want %s", got, good)
	}
}

func TestPushModelErrors(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("x"), 0o644)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no scheme", []string{"testdata/models/clean", addr + "/models/p:v1"}, "want oci://"},
		{"missing folder", []string{"testdata/models/nope", "oci://" + addr + "/models/p:v1"}, "nope"},
		{"symlink refused", []string{dir, "oci://" + addr + "/models/p:v1"}, "link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gatehouse(t, env, append([]string{"push", "model"}, tc.args...)...)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing printed\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q: %s", tc.want, r.stderr)
			}
		})
	}
}

// fakeGCSBinary is where scripts/fake-gcs.sh puts fake-gcs-server.
func fakeGCSBinary() string {
	if bin := os.Getenv("GATEHOUSE_FAKE_GCS"); bin != "" {
		return bin
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "gatehouse", "fake-gcs-server-v1.56.1", "fake-gcs-server")
}

// fakeGCS starts fake-gcs-server (built by scripts/fake-gcs.sh) on loopback
// serving the folder data (a folder per bucket) and returns host:port for
// STORAGE_EMULATOR_HOST.
func fakeGCS(t *testing.T, data string) string {
	t.Helper()
	bin := fakeGCSBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("fake-gcs-server not found (GATEHOUSE_FAKE_GCS unset and %s missing): run scripts/fake-gcs.sh", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(port),
		"-backend", "memory", "-data", data, "-public-host", host, "-log-level", "error")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start fake-gcs-server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + host + "/storage/v1/b")
		if err == nil {
			resp.Body.Close()
			return host
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake-gcs-server did not answer on %s: %v", host, err)
		}
	}
}

func TestRemoteModelGCS(t *testing.T) {
	data := t.TempDir()
	for _, m := range []string{"clean", "evil"} {
		src := filepath.Join(repo, "testdata/models", m)
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(data, "models", m), 0o755)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(data, "models", m, e.Name()), b, 0o644)
		}
	}
	env := append(remoteEnv(t), "STORAGE_EMULATOR_HOST="+fakeGCS(t, data))

	r := gatehouse(t, env, "resolve", "model:gs://models/clean/", "model:gs://models/evil/model.pkl")
	if r.code != 0 {
		t.Fatalf("resolve: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "model:gs://models/clean/#sha256:") ||
		!regexp.MustCompile(`^model:gs://models/evil/model\.pkl#[0-9]+$`).MatchString(lines[1]) {
		t.Fatalf("resolve printed %q, want a listing digest and a generation", r.stdout)
	}
	gen := lines[1][strings.LastIndex(lines[1], "#")+1:]

	tests := []struct {
		subject string
		code    int
		want    []string
	}{
		{"model:gs://models/clean/", 0, []string{"allowed"}},
		{lines[0], 0, []string{"allowed"}}, // by listing digest
		{"model:gs://models/evil/", 1, []string{"DENIED", "[gs://models/evil/model.pkl#" + gen + "]", "posix.system"}},
		{"model:gs://models/nothing-here/", 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.subject, func(t *testing.T) {
			r := gatehouse(t, env, "check", "--env", "dev", tc.subject)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestResolveImageAndModelTogether(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	img := pushImage(t, addr, "apps/api", "1.4")
	model := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/together:v1")
	r := gatehouse(t, env, "resolve", "image:"+addr+"/apps/api:1.4", "model:oci://"+addr+"/models/together:v1", "image:"+img.String())
	if r.code != 0 {
		t.Fatalf("resolve: exit %d\n%s", r.code, r.stderr)
	}
	want := "image:" + img.String() + "\nmodel:" + model + "\nimage:" + img.String() + "\n"
	if r.stdout != want {
		t.Errorf("resolve printed\n%s\nwant\n%s", r.stdout, want)
	}
}

type testManifest struct{ raw []byte }

func (m testManifest) RawManifest() ([]byte, error) { return m.raw, nil }
func (m testManifest) MediaType() (types.MediaType, error) {
	return types.MediaType("application/vnd.oci.image.manifest.v1+json"), nil
}

// pushHostileModelPack pushes a ModelPack artifact with one tar layer
// holding entries and returns its pinned reference.
func pushHostileModelPack(t *testing.T, addr, repo string, entries []*tar.Header, body []byte) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	tag, err := name.NewTag(addr + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	desc := func(mt string, b []byte) map[string]any { return writeBlob(t, tag.Context(), mt, b) }
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"artifactType": "application/vnd.cncf.model.manifest.v1+json",
		"config":       desc("application/vnd.cncf.model.config.v1+json", []byte(`{"descriptor":{},"modelfs":{"type":"layers","diffIds":[]},"config":{}}`)),
		"layers":       []any{desc("application/vnd.cncf.model.weight.v1.tar", buf.Bytes())},
	})
	if err := remote.Put(tag, testManifest{raw}, registryCtx(t)); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("oci://%s/%s@sha256:%x", addr, repo, sha256.Sum256(raw))
}

func TestRemoteModelHostileLayers(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	safetensors := []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
	tests := []struct {
		name    string
		entries []*tar.Header
		code    int
		want    string
	}{
		{"entry escaping the tree", []*tar.Header{{Name: "../../etc/cron.d/x", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(safetensors))}}, 1, "unsafe path"},
		{"symlink to a host file", []*tar.Header{
			{Name: "model.safetensors", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(safetensors))},
			{Name: "weights.bin", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}, 2, "not followed"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := pushHostileModelPack(t, addr, fmt.Sprintf("models/hostile%d", i), tc.entries, safetensors)
			r := gatehouse(t, env, "check", "--env", "dev", "model:"+ref)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, r.stdout)
			}
		})
	}
}

// A registry that accepts the connection and never answers: resolve ends
// at its --timeout, not decided. (check bounds pinning at one minute, too
// long for this test; its --timeout bounds the scan.)
func TestResolveStalledRegistry(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	addr := strings.TrimPrefix(srv.URL, "http://")
	r := runTimed(t, "resolve", "--timeout", "2s", "model:oci://"+addr+"/models/m:v1")
	if r.code != 2 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 2 and nothing\n%s", r.code, r.stdout, r.stderr)
	}
	if r.took > 8*time.Second || !strings.Contains(r.stderr, "no answer in time") {
		t.Errorf("took %v with --timeout 2s; stderr %s", r.took, r.stderr)
	}
}

// A dataset judged from a registry or a bucket gets the verdict the same
// files get locally, and the findings name the file in the tree.
func TestRemoteDatasetMatchesLocal(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "datasets"), 0o755)
	files := []string{"customers.csv", "orders.csv"}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repo, "testdata/datasets", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(data, "datasets", strings.TrimSuffix(f, ".csv")), 0o755)
		os.WriteFile(filepath.Join(data, "datasets", strings.TrimSuffix(f, ".csv"), f), b, 0o644)
	}
	gcsEnv := env
	if host, ok := tryFakeGCS(t, data); ok {
		gcsEnv = append(append([]string{}, env...), "STORAGE_EMULATOR_HOST="+host)
	}
	for _, f := range files {
		stem := strings.TrimSuffix(f, ".csv")
		local := gatehouse(t, env, "check", "--env", "dev", "dataset:testdata/datasets/"+f)
		if local.code == 2 {
			t.Fatalf("local %s not decided: %s", f, local.stdout)
		}
		pinned := pushModel(t, filepath.Join(data, "datasets", stem), "oci://"+addr+"/datasets/"+stem+":v1")
		subjects := []string{"dataset:" + pinned}
		if len(gcsEnv) > len(env) {
			subjects = append(subjects, "dataset:gs://datasets/"+stem+"/")
		}
		for _, subj := range subjects {
			t.Run(subj, func(t *testing.T) {
				r := gatehouse(t, gcsEnv, "check", "--env", "dev", subj)
				if r.code != local.code {
					t.Fatalf("exit %d, the local file exits %d\nremote: %s%s\nlocal: %s", r.code, local.code, r.stdout, r.stderr, local.stdout)
				}
				if local.code == 1 && !strings.Contains(r.stdout, "EMAIL_ADDRESS found") {
					t.Errorf("the denial does not name the entity:\n%s", r.stdout)
				}
				if local.code == 1 && !strings.Contains(r.stdout, f+" column") {
					t.Errorf("the denial does not name the file %s:\n%s", f, r.stdout)
				}
			})
		}
	}
}

// tryFakeGCS is fakeGCS that reports absence instead of skipping.
func tryFakeGCS(t *testing.T, data string) (host string, ok bool) {
	t.Helper()
	if _, err := os.Stat(fakeGCSBinary()); err != nil {
		t.Logf("gs:// part skipped: fake-gcs-server not found (%v): run scripts/fake-gcs.sh", err)
		return "", false
	}
	return fakeGCS(t, data), true
}

// writeBlob uploads b to repo and returns its descriptor (for hand-made
// manifests).
func writeBlob(t *testing.T, repo name.Repository, mt string, b []byte) map[string]any {
	t.Helper()
	l := static.NewLayer(b, types.MediaType(mt))
	if err := remote.WriteLayer(repo, l, registryCtx(t)); err != nil {
		t.Fatal(err)
	}
	d, _ := l.Digest()
	return map[string]any{"mediaType": mt, "digest": d.String(), "size": len(b)}
}

// serveLoopback serves h on a free loopback port until the test ends and
// returns host:port.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}
