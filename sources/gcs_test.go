package sources

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
)

// fakeGCSBinary finds fake-gcs-server built by scripts/fake-gcs.sh.
func fakeGCSBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_FAKE_GCS"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "gatehouse", "fake-gcs-server-v1.56.1", "fake-gcs-server")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fake-gcs-server not found (GATEHOUSE_FAKE_GCS unset and %s missing): run scripts/fake-gcs.sh", p)
	}
	return p
}

// startFakeGCS starts fake-gcs-server (backend memory or filesystem) on loopback with the buckets of
// seed (folder per bucket, files as objects), points STORAGE_EMULATOR_HOST
// at it and returns a client.
func startFakeGCS(t testing.TB, backend string, seed map[string]map[string][]byte) *storage.Client {
	t.Helper()
	fakeGCSBinary(t)
	data := t.TempDir()
	for bucket, objects := range seed {
		os.MkdirAll(filepath.Join(data, bucket), 0o755)
		for name, body := range objects {
			p := filepath.Join(data, bucket, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, body, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return startFakeGCSData(t, backend, data)
}

// startFakeGCSData starts fake-gcs-server with the objects of folder data
// (a folder per bucket).
func startFakeGCSData(t testing.TB, backend, data string) *storage.Client {
	t.Helper()
	bin := fakeGCSBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	host := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(port),
		"-backend", backend, "-filesystem-root", t.TempDir(), "-data", data, "-public-host", host, "-log-level", "error")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test binary
	if err := cmd.Start(); err != nil {
		t.Fatalf("start fake-gcs-server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(5 * time.Minute) // seeding a large object takes a while
	for {
		resp, err := http.Get("http://" + host + "/storage/v1/b")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fake-gcs-server did not answer on %s: %v", host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	c, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGCS(t *testing.T) {
	seed := map[string]map[string][]byte{
		"models": {
			"fraud/model.pkl":      []byte("\x80\x04pickle"),
			"fraud/data/train.csv": []byte("name,email\nann,ann@example.com\n"),
			"fraud-v2/other.bin":   []byte("not under fraud/"),
			"single/weights.bin":   []byte("0123456789"),
		},
	}
	c := startFakeGCS(t, "memory", seed)
	ctx := context.Background()
	opts := testOptions()
	opts.Storage.Client = c

	tree, err := Open(ctx, "gs://models/fraud", opts)
	if err != nil {
		t.Fatal(err)
	}
	got, files, err := walkAll(t, tree)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model.pkl": "\x80\x04pickle", "data/train.csv": "name,email\nann,ann@example.com\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prefix (-want +got):\n%s", diff)
	}
	for _, f := range files {
		body := []byte(want[f.Path])
		if f.Generation == 0 || !f.HasCRC32C || f.CRC32C != crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) || f.Object != "fraud/"+f.Path {
			t.Errorf("%s: generation %d crc32c %08x object %q", f.Path, f.Generation, f.CRC32C, f.Object)
		}
	}
	id := tree.Identity()
	if !strings.HasPrefix(id.Pinned, "gs://models/fraud/#sha256:") || id.Digest == "" {
		t.Errorf("prefix identity %+v", id)
	}

	// The pinned prefix opens while unchanged and is refused once an object changes.
	if _, err := Open(ctx, id.Pinned, opts); err != nil {
		t.Fatalf("open pinned prefix: %v", err)
	}
	w := c.Bucket("models").Object("fraud/new.bin").NewWriter(ctx)
	w.Write([]byte("added later"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, id.Pinned, opts); !errors.Is(err, ErrIntegrity) {
		t.Errorf("pinned prefix after a change: %v", err)
	}

	// One object: pinned by generation.
	one, err := Open(ctx, "gs://models/single/weights.bin", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err = walkAll(t, one)
	if err != nil || len(files) != 1 || files[0].Path != "weights.bin" {
		t.Fatalf("single object: %v %+v", err, files)
	}
	wantPin := fmt.Sprintf("gs://models/single/weights.bin#%d", files[0].Generation)
	if pin, err := Pin(ctx, "gs://models/single/weights.bin", opts); err != nil || pin != wantPin {
		t.Errorf("Pin = %q, %v; want %q", pin, err, wantPin)
	}
	if _, err := Open(ctx, wantPin, opts); err != nil {
		t.Errorf("open by generation: %v", err)
	}
	if _, err := Open(ctx, "gs://models/single/weights.bin#1", opts); err == nil {
		t.Error("a generation that does not exist opened")
	}

	// Ambiguous and empty references are errors.
	for name, body := range map[string]string{"both": "object", "both/inside": "folder"} {
		w := c.Bucket("models").Object(name).NewWriter(ctx)
		w.Write([]byte(body))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(ctx, "gs://models/both", opts); err == nil || !strings.Contains(err.Error(), "both an object and a folder") {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := Open(ctx, "gs://models/nothing-here/", opts); err == nil {
		t.Error("empty prefix opened")
	}
	if _, err := Open(ctx, "gs://models/fraud#notanumber", opts); err == nil {
		t.Error("bad fragment accepted")
	}
}

func TestGCSSample(t *testing.T) {
	seed := map[string]map[string][]byte{"data": {
		"set/a.csv": []byte(strings.Repeat("a", 100)),
		"set/b.csv": []byte(strings.Repeat("b", 100)),
		"set/c.csv": []byte(strings.Repeat("c", 5)),
	}}
	c := startFakeGCS(t, "memory", seed)
	tests := []struct {
		name       string
		per, total int64
		want       map[string]string
		except     string // read whole, not charged to the budget
	}{
		{"per object", 10, 0, map[string]string{"a.csv": strings.Repeat("a", 10), "b.csv": strings.Repeat("b", 10), "c.csv": "ccccc"}, ""},
		{"total budget in name order", 0, 150, map[string]string{"a.csv": strings.Repeat("a", 100), "b.csv": strings.Repeat("b", 50), "c.csv": ""}, ""},
		{"both", 60, 100, map[string]string{"a.csv": strings.Repeat("a", 60), "b.csv": strings.Repeat("b", 40), "c.csv": ""}, ""},
		{"except", 10, 15, map[string]string{"a.csv": strings.Repeat("a", 10), "b.csv": strings.Repeat("b", 100), "c.csv": "ccccc"}, "b.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Storage.Client = c
			opts.SamplePerObject, opts.SampleTotal = tc.per, tc.total
			if tc.except != "" {
				opts.SampleExcept = func(p string, _ int64) bool { return p == tc.except }
			}
			tree, err := Open(context.Background(), "gs://data/set/", opts)
			if err != nil {
				t.Fatal(err)
			}
			got, files, err := walkAll(t, tree)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, f := range files {
				if f.Size != int64(len(seed["data"]["set/"+f.Path])) {
					t.Errorf("%s: size %d is not the object's size", f.Path, f.Size)
				}
				if f.Sampled != (int64(len(tc.want[f.Path])) < f.Size) {
					t.Errorf("%s: sampled %v", f.Path, f.Sampled)
				}
			}
		})
	}
}

func TestGCSTooManyObjects(t *testing.T) {
	objects := map[string][]byte{}
	for i := 0; i < 120; i++ {
		objects[fmt.Sprintf("big/part-%04d.csv", i)] = []byte("x")
	}
	c := startFakeGCS(t, "memory", map[string]map[string][]byte{"lake": objects})
	opts := testOptions()
	opts.Storage.Client = c
	opts.MaxObjects = 50
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Open(ctx, "gs://lake/big/", opts)
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "more than 50 objects") {
		t.Fatalf("too many objects: %v", err)
	}
	opts.MaxObjects = 120
	if _, err := Open(ctx, "gs://lake/big/", opts); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

func TestGCSCredentialsMissing(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	os.Unsetenv("STORAGE_EMULATOR_HOST")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Open(ctx, "gs://private-bucket/models/", testOptions())
	if !errors.Is(err, ErrCredentials) {
		t.Fatalf("no credentials: %v", err)
	}
}

func TestParseGS(t *testing.T) {
	tests := []struct {
		ref, bucket, object, frag string
		bad                       bool
	}{
		{ref: "gs://b", bucket: "b"},
		{ref: "gs://b/p/q/", bucket: "b", object: "p/q/"},
		{ref: "gs://b/o#12", bucket: "b", object: "o", frag: "12"},
		{ref: "gs:///o", bad: true},
		{ref: "gs://b/o\nx", bad: true},
	}
	for _, tc := range tests {
		b, o, f, err := parseGS(tc.ref)
		if (err != nil) != tc.bad || b != tc.bucket || o != tc.object || f != tc.frag {
			t.Errorf("parseGS(%q) = %q %q %q %v", tc.ref, b, o, f, err)
		}
	}
}
