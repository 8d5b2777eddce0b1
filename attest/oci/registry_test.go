package oci

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
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
	if r := os.Getenv("GATEHOUSE_TEST_REGISTRY"); r != "" {
		realRegistry = r
		return func() {}
	}
	addr, stop, err := testregistry.Distribution()
	if err != nil {
		realRegistryWhyNot = "GATEHOUSE_TEST_REGISTRY is unset and " + err.Error()
		return func() {}
	}
	realRegistry = addr
	return stop
}

// inProcessRegistry serves go-containerregistry's registry with its
// referrers API over loopback HTTP.
func inProcessRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(referrersRegistry())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// referrersRegistry is go-containerregistry's registry with the referrers
// API on, and fixed to report a referrer's artifactType from its manifest's
// artifactType field as the OCI 1.1 spec says (v0.22.1 reports only the
// config media type, application/vnd.oci.empty.v1+json for cosign's bundles).
func referrersRegistry() http.Handler {
	reg := registry.New(registry.Logger(nilLogger()), registry.WithReferrersSupport(true))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/referrers/")
		if !ok || r.Method != http.MethodGet {
			reg.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		var im v1.IndexManifest
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &im) != nil {
			copyResponse(w, rec)
			return
		}
		for i, d := range im.Manifests {
			mr := httptest.NewRecorder()
			reg.ServeHTTP(mr, httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/manifests/"+d.Digest.String(), nil))
			var m struct {
				ArtifactType string `json:"artifactType"`
			}
			if json.Unmarshal(mr.Body.Bytes(), &m) == nil && m.ArtifactType != "" {
				im.Manifests[i].ArtifactType = m.ArtifactType
			}
		}
		body, _ := json.Marshal(im)
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
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
