package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
)

// Helpers of the cosign interop suite (cosign_interop_test.go): the real
// cosign CLI, the two loopback registries, images and the tampering of
// their attachments, and the result matrix.

// cosignCLI is the real cosign binary (GATEHOUSE_COSIGN) with its keys and
// an environment of its own: HOME and TUF_ROOT in a temp dir (nothing read
// from or written to the user's ~/.sigstore), the key password set.
type cosignCLI struct {
	bin string
	env []string
	dir string
	// key/pub sign and verify; wrongKey/wrongPub are a second pair no
	// configuration trusts. trustedRoot is an empty Sigstore trusted root:
	// what cosign's bundle verification needs offline with --key.
	key, pub, wrongKey, wrongPub, trustedRoot string
}

// interopPassword protects the cosign keys (COSIGN_PASSWORD for cosign and gatehouse).
const interopPassword = "interop-test-password"

// needCosign finds the cosign CLI, or skips saying why; with it, it makes
// two key pairs and a trusted root with cosign itself.
func needCosign(tb testing.TB) *cosignCLI {
	tb.Helper()
	bin := os.Getenv("GATEHOUSE_COSIGN")
	if bin == "" {
		tb.Skip("GATEHOUSE_COSIGN is unset: the cosign interop suite needs the real cosign CLI (scripts/cosign.sh builds it, scripts/test-env.sh sets GATEHOUSE_COSIGN)")
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		tb.Fatalf("GATEHOUSE_COSIGN=%s is not a cosign binary (%v): rebuild it with scripts/cosign.sh", bin, err)
	}
	dir := tb.TempDir()
	c := &cosignCLI{bin: bin, dir: dir,
		env: []string{"HOME=" + dir, "TUF_ROOT=" + filepath.Join(dir, "tuf"), "COSIGN_PASSWORD=" + interopPassword}}
	for _, prefix := range []string{"cosign", "wrong"} {
		if r := c.run(tb, nil, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, prefix)); r.code != 0 {
			tb.Fatalf("cosign generate-key-pair: exit %d\n%s", r.code, r.stderr)
		}
	}
	c.key, c.pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	c.wrongKey, c.wrongPub = filepath.Join(dir, "wrong.key"), filepath.Join(dir, "wrong.pub")
	c.trustedRoot = filepath.Join(dir, "trusted_root.json")
	if r := c.run(tb, nil, "trusted-root", "create", "--out", c.trustedRoot); r.code != 0 {
		tb.Fatalf("cosign trusted-root create: exit %d\n%s", r.code, r.stderr)
	}
	return c
}

// run runs cosign with extra environment, bounded by a minute.
func (c *cosignCLI) run(tb testing.TB, env []string, args ...string) runResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), c.env...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		tb.Fatalf("cosign %s: still running after a minute, killed", strings.Join(args, " "))
	}
	r := runResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("cosign %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// testRegistry is a registry on loopback that a test may stop.
type testRegistry struct {
	name string // "distribution" (no referrers API) or "ggcr" (referrers API)
	host string // host:port
	stop func()
}

// needDistribution skips unless Debian's docker-registry is installed.
func needDistribution(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("docker-registry"); err != nil {
		tb.Skip(testregistry.ErrNoBinary.Error())
	}
}

// startDistribution starts Debian's docker-registry 2.8 on a free loopback
// port, stopped when the test ends.
func startDistribution(tb testing.TB) *testRegistry {
	tb.Helper()
	addr, stop, err := testregistry.Distribution()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return &testRegistry{name: "distribution", host: addr, stop: stop}
}

// startGGCR serves go-containerregistry's registry, referrers API on and
// unmodified (it lists a referrer's config media type as its artifactType),
// over loopback HTTP.
func startGGCR(tb testing.TB) *testRegistry {
	tb.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	var once sync.Once
	stop := func() { once.Do(srv.Close) }
	tb.Cleanup(stop)
	return &testRegistry{name: "ggcr", host: strings.TrimPrefix(srv.URL, "http://"), stop: stop}
}

// registryCtx bounds the test's own registry calls.
func registryCtx(tb testing.TB) remote.Option {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return remote.WithContext(ctx)
}

// pushImage pushes a small random image to host/repo:tag and returns its
// digest reference.
func pushImage(tb testing.TB, host, repository, tag string) name.Digest {
	tb.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := name.NewTag(host + "/" + repository + ":" + tag)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img, registryCtx(tb)); err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return ref.Context().Digest(h.String())
}

// tagSchemeTag is cosign's tag for an image's signatures (".sig") or
// attestations (".att").
func tagSchemeTag(d name.Digest, suffix string) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
}

// copyTagScheme puts the tag-scheme manifest of from (its .sig or .att)
// under to's tag: a signature whose payload names another digest.
func copyTagScheme(tb testing.TB, from, to name.Digest, suffix string) {
	tb.Helper()
	desc, err := remote.Get(tagSchemeTag(from, suffix), registryCtx(tb))
	if err != nil {
		tb.Fatalf("get %s: %v", tagSchemeTag(from, suffix), err)
	}
	if err := remote.Put(tagSchemeTag(to, suffix), desc, registryCtx(tb)); err != nil {
		tb.Fatalf("put %s: %v", tagSchemeTag(to, suffix), err)
	}
}

// rawManifest is a manifest pushed as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// retargetReferrers re-pushes every referrer of from with its subject set
// to to (go-containerregistry also updates the sha256-<hex> fallback index
// on registries without the referrers API): bundles and OCI 1.1 signatures
// whose content is about another digest. It returns how many it moved.
func retargetReferrers(tb testing.TB, from, to name.Digest) int {
	tb.Helper()
	idx, err := remote.Referrers(from, registryCtx(tb))
	if err != nil {
		tb.Fatalf("referrers of %s: %v", from, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		tb.Fatal(err)
	}
	toDesc, err := remote.Head(to, registryCtx(tb))
	if err != nil {
		tb.Fatalf("head %s: %v", to, err)
	}
	for _, d := range im.Manifests {
		desc, err := remote.Get(from.Context().Digest(d.Digest.String()), registryCtx(tb))
		if err != nil {
			tb.Fatalf("get referrer %s: %v", d.Digest, err)
		}
		var m map[string]any
		if err := json.Unmarshal(desc.Manifest, &m); err != nil {
			tb.Fatalf("referrer %s: %v", d.Digest, err)
		}
		m["subject"] = v1.Descriptor{MediaType: toDesc.MediaType, Digest: toDesc.Digest, Size: toDesc.Size}
		raw, err := json.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		h, _, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			tb.Fatal(err)
		}
		if err := remote.Put(to.Context().Digest(h.String()), rawManifest{raw, desc.MediaType}, registryCtx(tb)); err != nil {
			tb.Fatalf("put retargeted referrer: %v", err)
		}
	}
	return len(im.Manifests)
}

// matrix records every cell of the suite (a subtest named
// format/registry/direction/case) with its outcome.
type matrix struct {
	mu    sync.Mutex
	cells []matrixCell
	notes map[string]string // by full test name: why it failed or skipped
}

type matrixCell struct{ name, result string }

// run runs one cell as a subtest and records PASS, FAIL or SKIP with the
// reason given to fatalf or skipf.
func (m *matrix) run(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		defer func() {
			res := "PASS"
			switch {
			case t.Failed():
				res = "FAIL"
			case t.Skipped():
				res = "SKIP"
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if n := m.notes[t.Name()]; n != "" && res != "PASS" {
				res += ": " + n
			}
			m.cells = append(m.cells, matrixCell{name, res})
		}()
		f(t)
	})
}

// fatalf fails the cell with a reason the matrix shows (first line).
func (m *matrix) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	m.mu.Lock()
	if m.notes == nil {
		m.notes = map[string]string{}
	}
	first, _, _ := strings.Cut(msg, "\n")
	m.notes[t.Name()] = first
	m.mu.Unlock()
	t.Fatal(msg)
}

// String is the matrix as a table.
func (m *matrix) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "format/registry/direction/case\tresult")
	pass := 0
	for _, c := range m.cells {
		if c.result == "PASS" {
			pass++
		}
		r := c.result
		if len(r) > 300 {
			r = r[:300] + "…"
		}
		fmt.Fprintf(w, "%s\t%s\n", c.name, r)
	}
	w.Flush()
	fmt.Fprintf(&b, "%d of %d cells pass\n", pass, len(m.cells))
	return b.String()
}
