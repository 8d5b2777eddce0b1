package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gatehouse-dev/gatehouse/attest/gcp"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

// arVersionsFake is Artifact Registry's gRPC service with one package's versions.
type arVersionsFake struct {
	artifactregistrypb.UnimplementedArtifactRegistryServer
	pkg      string
	versions []*artifactregistrypb.Version
	deny     bool
	calls    int
}

// GetVersion is the one call a lookup makes (no ListVersions: the fake
// does not serve it, so a lookup listing every version fails the test).
func (f *arVersionsFake) GetVersion(_ context.Context, r *artifactregistrypb.GetVersionRequest) (*artifactregistrypb.Version, error) {
	f.calls++
	if f.deny {
		return nil, status.Error(codes.PermissionDenied, "Permission 'artifactregistry.versions.get' denied")
	}
	for _, v := range f.versions {
		if v.GetName() == r.GetName() {
			return v, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "Requested entity was not found: %s", r.GetName())
}

func startARVersionsFake(t *testing.T, f *arVersionsFake) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	artifactregistrypb.RegisterArtifactRegistryServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// A model pushed to the loopback registry, which the test maps to an
// Artifact Registry package (in place of a *-docker.pkg.dev host): the
// model_scan evidence's source names the version of the pinned digest, or
// why it could not be looked up, and the verdict is the same either way.
func TestRemoteModelArtifactRegistry(t *testing.T) {
	addr := remoteRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	clean := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/ar-clean:v1")
	evil := pushModel(t, "testdata/models/evil", "oci://"+addr+"/models/ar-evil:v1")
	pkg := gcp.Package{Project: "acme-ml", Location: "europe-west4", Repository: "models", Name: "fraud"}
	orig := arPackageOf
	t.Cleanup(func() { arPackageOf = orig })
	arPackageOf = func(pinned string) (gcp.Package, string, bool, error) {
		ref := strings.TrimPrefix(pinned, "oci://")
		if !strings.HasPrefix(ref, addr+"/") {
			return gcp.Package{}, "", false, nil
		}
		_, digest, _ := strings.Cut(ref, "@")
		return pkg, digest, true, nil
	}
	digestOf := func(pinned string) string { _, d, _ := strings.Cut(pinned, "@"); return d }
	t0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	f := &arVersionsFake{pkg: pkg.String(), versions: []*artifactregistrypb.Version{
		{Name: pkg.VersionName("sha256:" + strings.Repeat("0", 64))},
		{Name: pkg.VersionName(digestOf(clean)), CreateTime: timestamppb.New(t0), UpdateTime: timestamppb.New(t0.Add(time.Hour)),
			RelatedTags: []*artifactregistrypb.Tag{{Name: pkg.TagName("v3")}, {Name: pkg.TagName("latest")}},
			Annotations: map[string]string{"org.opencontainers.image.source": "https://github.com/acme/fraud"}},
		{Name: pkg.VersionName(digestOf(evil)), CreateTime: timestamppb.New(t0)},
	}}
	t.Setenv(arEndpointEnv, startARVersionsFake(t, f))

	collect := func(pinned string) *scan.ModelReport {
		t.Helper()
		cache := newRemoteCache()
		defer cache.Close()
		c := newModelCollector(model.Options{}, cache)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ev, err := c.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: pinned})
		if err != nil {
			t.Fatalf("collect %s: %v", pinned, err)
		}
		rep, ok := ev.(*scan.ModelReport)
		if !ok {
			t.Fatalf("evidence is %T", ev)
		}
		return rep
	}

	rep := collect(clean)
	b, _ := json.Marshal(rep.Source)
	var src struct {
		AR *struct {
			Package     string            `json:"package"`
			Version     string            `json:"version"`
			Tags        []string          `json:"tags"`
			CreateTime  string            `json:"create_time"`
			UpdateTime  string            `json:"update_time"`
			Annotations map[string]string `json:"annotations"`
		} `json:"artifact_registry"`
		Err string `json:"artifact_registry_error"`
	}
	if err := json.Unmarshal(b, &src); err != nil {
		t.Fatal(err)
	}
	if a := src.AR; a == nil || src.Err != "" || a.Package != pkg.String() || a.Version != pkg.VersionName(digestOf(clean)) ||
		strings.Join(a.Tags, ",") != "latest,v3" || a.CreateTime != "2026-11-02T09:30:00Z" || a.UpdateTime != "2026-11-02T10:30:00Z" ||
		a.Annotations["org.opencontainers.image.source"] != "https://github.com/acme/fraud" {
		t.Errorf("source: %s", b)
	}
	verdictClean := rep.Verdict(0)
	evilRep := collect(evil)
	if evilRep.Source.ArtifactRegistry == nil || len(evilRep.Source.ArtifactRegistry.Tags) != 0 {
		t.Errorf("evil source: %+v", evilRep.Source)
	}
	verdictEvil := evilRep.Verdict(0)
	if verdictClean == verdictEvil {
		t.Fatalf("clean and evil models have the same verdict %d", verdictClean)
	}

	// The lookup fails: the reason is recorded, the verdict is unchanged.
	f.deny = true
	for _, tc := range []struct {
		pinned string
		want   int
	}{{clean, verdictClean}, {evil, verdictEvil}} {
		rep := collect(tc.pinned)
		if rep.Source.ArtifactRegistry != nil || !strings.Contains(rep.Source.ArtifactRegistryError, "permission denied") {
			t.Errorf("%s with the API denying: source %+v", tc.pinned, rep.Source)
		}
		if got := rep.Verdict(0); got != tc.want {
			t.Errorf("%s: verdict %d with the lookup failing, %d with it working", tc.pinned, got, tc.want)
		}
	}
	// No endpoint answers: recorded, not fatal, bounded.
	f.deny = false
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	t.Setenv(arEndpointEnv, dead)
	start := time.Now()
	rep = collect(clean)
	if rep.Source.ArtifactRegistryError == "" || rep.Verdict(0) != verdictClean || time.Since(start) > arTimeout+10*time.Second {
		t.Errorf("endpoint %s down: source %+v, verdict %d, took %v", dead, rep.Source, rep.Verdict(0), time.Since(start))
	}
	// A digest the package does not hold.
	t.Setenv(arEndpointEnv, startARVersionsFake(t, &arVersionsFake{pkg: pkg.String()}))
	rep = collect(clean)
	if !strings.Contains(rep.Source.ArtifactRegistryError, "has no version "+digestOf(clean)) {
		t.Errorf("unknown version: source %+v", rep.Source)
	}
	// Any other registry is not looked up.
	arPackageOf = orig
	rep = collect(clean)
	if rep.Source.ArtifactRegistry != nil || rep.Source.ArtifactRegistryError != "" {
		t.Errorf("a registry that is not Artifact Registry: %+v", rep.Source)
	}
}

func TestARPackageOf(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	pkg, digest, ok, err := arPackageOf("oci://europe-west4-docker.pkg.dev/acme-ml/models/team/fraud@" + d)
	if !ok || err != nil || digest != d || pkg.String() != "projects/acme-ml/locations/europe-west4/repositories/models/packages/team%2Ffraud" {
		t.Errorf("got %v %q %v %v", pkg, digest, ok, err)
	}
	if _, _, ok, _ := arPackageOf("oci://ghcr.io/acme/fraud@" + d); ok {
		t.Error("ghcr.io taken for Artifact Registry")
	}
	if _, _, ok, err := arPackageOf("oci://europe-west4-docker.pkg.dev/x@" + d); !ok || err == nil {
		t.Errorf("a *-docker.pkg.dev reference without project/repository: ok %v, err %v", ok, err)
	}
}
