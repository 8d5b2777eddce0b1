package gcp

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeServer is Artifact Registry's gRPC service over in-memory data, with
// at most two items per page so that every listing pages.
type fakeServer struct {
	artifactregistrypb.UnimplementedArtifactRegistryServer
	versions map[string][]*artifactregistrypb.Version
	tags     map[string][]*artifactregistrypb.Tag
	// deny answers PermissionDenied to everything.
	deny bool
	// views records the version views asked for.
	views []artifactregistrypb.VersionView
}

const serverPage = 2

func serverPageOf[T any](items []T, token string, size int32) ([]T, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", status.Errorf(codes.InvalidArgument, "bad page token %q", token)
		}
		start = n
	}
	if size <= 0 || size > serverPage {
		size = serverPage
	}
	end := min(start+int(size), len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func (s *fakeServer) ListVersions(_ context.Context, r *artifactregistrypb.ListVersionsRequest) (*artifactregistrypb.ListVersionsResponse, error) {
	if s.deny {
		return nil, status.Error(codes.PermissionDenied, "Permission 'artifactregistry.versions.list' denied")
	}
	s.views = append(s.views, r.GetView())
	vs, ok := s.versions[r.GetParent()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Requested entity was not found: %s", r.GetParent())
	}
	page, next, err := serverPageOf(vs, r.GetPageToken(), r.GetPageSize())
	if err != nil {
		return nil, err
	}
	return &artifactregistrypb.ListVersionsResponse{Versions: page, NextPageToken: next}, nil
}

func (s *fakeServer) ListTags(_ context.Context, r *artifactregistrypb.ListTagsRequest) (*artifactregistrypb.ListTagsResponse, error) {
	if s.deny {
		return nil, status.Error(codes.PermissionDenied, "denied")
	}
	ts, ok := s.tags[r.GetParent()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Requested entity was not found: %s", r.GetParent())
	}
	if v, ok := strings.CutPrefix(r.GetFilter(), "version="); ok {
		v, err := strconv.Unquote(v)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "bad filter %q", r.GetFilter())
		}
		var sel []*artifactregistrypb.Tag
		for _, t := range ts {
			if t.GetVersion() == v {
				sel = append(sel, t)
			}
		}
		ts = sel
	}
	page, next, err := serverPageOf(ts, r.GetPageToken(), r.GetPageSize())
	if err != nil {
		return nil, err
	}
	return &artifactregistrypb.ListTagsResponse{Tags: page, NextPageToken: next}, nil
}

func (s *fakeServer) GetTag(_ context.Context, r *artifactregistrypb.GetTagRequest) (*artifactregistrypb.Tag, error) {
	if s.deny {
		return nil, status.Error(codes.PermissionDenied, "denied")
	}
	for _, ts := range s.tags {
		for _, t := range ts {
			if t.GetName() == r.GetName() {
				return t, nil
			}
		}
	}
	return nil, status.Errorf(codes.NotFound, "Requested entity was not found: %s", r.GetName())
}

func (s *fakeServer) GetVersion(_ context.Context, r *artifactregistrypb.GetVersionRequest) (*artifactregistrypb.Version, error) {
	if s.deny {
		return nil, status.Error(codes.PermissionDenied, "denied")
	}
	s.views = append(s.views, r.GetView())
	for _, vs := range s.versions {
		for _, v := range vs {
			if v.GetName() == r.GetName() {
				return v, nil
			}
		}
	}
	return nil, status.Errorf(codes.NotFound, "Requested entity was not found: %s", r.GetName())
}

// startFake serves s on loopback and returns an APIRegistry connected to it.
func startFake(t *testing.T, s *fakeServer) *APIRegistry {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	artifactregistrypb.RegisterArtifactRegistryServer(srv, s)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	r, err := NewAPIRegistry(context.Background(),
		option.WithEndpoint(l.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func newFakeServer() *fakeServer {
	p := apiPkg.String()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tag := func(id, version string) *artifactregistrypb.Tag {
		return &artifactregistrypb.Tag{Name: apiPkg.TagName(id), Version: version}
	}
	return &fakeServer{
		versions: map[string][]*artifactregistrypb.Version{p: {
			{Name: apiPkg.VersionName(dgA), CreateTime: timestamppb.New(t0), UpdateTime: timestamppb.New(t0.Add(time.Minute)),
				RelatedTags: []*artifactregistrypb.Tag{tag("v1", apiPkg.VersionName(dgA)), tag("latest", apiPkg.VersionName(dgA))},
				Annotations: map[string]string{"org.opencontainers.image.source": "https://github.com/acme/api"}},
			{Name: apiPkg.VersionName(dgB), CreateTime: timestamppb.New(t0.Add(time.Hour))},
			{Name: p + "/versions/1.0.2"},
		}},
		tags: map[string][]*artifactregistrypb.Tag{p: {
			tag("v1", apiPkg.VersionName(dgA)), tag("latest", apiPkg.VersionName(dgA)), tag("old", apiPkg.VersionName(dgB)),
		}},
	}
}

// TestAPIRegistry runs the Client over the real apiv1 client against a
// fake Artifact Registry gRPC server on loopback (no internet).
func TestAPIRegistry(t *testing.T) {
	ctx := context.Background()
	s := newFakeServer()
	c := &Client{Registry: startFake(t, s)}

	vs, err := c.Versions(ctx, apiPkg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	want := []Version{
		{Name: apiPkg.VersionName(dgA), ID: dgA, Digest: dgA, Tags: []string{"v1", "latest"}, CreateTime: t0, UpdateTime: t0.Add(time.Minute),
			Annotations: map[string]string{"org.opencontainers.image.source": "https://github.com/acme/api"}},
		{Name: apiPkg.VersionName(dgB), ID: dgB, Digest: dgB, CreateTime: t0.Add(time.Hour)},
		{Name: apiPkg.String() + "/versions/1.0.2", ID: "1.0.2"},
	}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Errorf("versions (-want +got)\n%s", diff)
	}
	// Three versions at two per page: two pages, both in the FULL view.
	if diff := cmp.Diff([]artifactregistrypb.VersionView{artifactregistrypb.VersionView_FULL, artifactregistrypb.VersionView_FULL}, s.views); diff != "" {
		t.Errorf("views asked (-want +got)\n%s", diff)
	}

	tags, err := c.Tags(ctx, apiPkg)
	if err != nil {
		t.Fatal(err)
	}
	wantTags := []Tag{
		{Name: apiPkg.TagName("v1"), ID: "v1", Version: apiPkg.VersionName(dgA)},
		{Name: apiPkg.TagName("latest"), ID: "latest", Version: apiPkg.VersionName(dgA)},
		{Name: apiPkg.TagName("old"), ID: "old", Version: apiPkg.VersionName(dgB)},
	}
	if diff := cmp.Diff(wantTags, tags); diff != "" {
		t.Errorf("tags (-want +got)\n%s", diff)
	}

	of, err := c.TagsOf(ctx, apiPkg, dgA)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1", "latest"}, of); diff != "" {
		t.Errorf("TagsOf (-want +got)\n%s", diff)
	}

	dg, err := c.ResolveImage(ctx, "us-central1-docker.pkg.dev/acme-prod/images/team/api:old")
	if err != nil || dg != dgB {
		t.Errorf("ResolveImage: %s, %v; want %s", dg, err, dgB)
	}

	s.views = nil
	v, err := c.Version(ctx, apiPkg, dgA)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[0], v); diff != "" {
		t.Errorf("Version (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]artifactregistrypb.VersionView{artifactregistrypb.VersionView_FULL}, s.views); diff != "" {
		t.Errorf("Version: views asked (-want +got)\n%s", diff)
	}
	if _, err := c.Version(ctx, apiPkg, "sha256:"+strings.Repeat("9", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Version of a missing digest: %v", err)
	}
}

func TestAPIRegistryErrors(t *testing.T) {
	ctx := context.Background()
	c := &Client{Registry: startFake(t, newFakeServer())}
	_, err := c.ResolveImage(ctx, "us-central1-docker.pkg.dev/acme-prod/images/team/api:missing")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag: %v", err)
	}
	_, err = c.Versions(ctx, Package{Project: "acme-prod", Location: "us", Repository: "r", Name: "nope"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing package: %v", err)
	}
	denied := &Client{Registry: startFake(t, &fakeServer{deny: true})}
	if _, err := denied.Versions(ctx, apiPkg); err == nil || !strings.Contains(err.Error(), "roles/artifactregistry.reader") {
		t.Errorf("permission denied: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if _, err := c.Tags(short, apiPkg); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: %v", err)
	}
}
