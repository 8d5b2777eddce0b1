package gcp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	dgA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dgB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var apiPkg = Package{Project: "acme-prod", Location: "us-central1", Repository: "images", Name: "team/api"}

func TestParseImage(t *testing.T) {
	tests := []struct {
		ref         string
		pkg         Package
		tag, digest string
		wantErr     string
	}{
		{ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:v1.2", pkg: apiPkg, tag: "v1.2"},
		{ref: "image:us-central1-docker.pkg.dev/acme-prod/images/team/api@" + dgA, pkg: apiPkg, digest: dgA},
		{ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:v1@" + dgA, pkg: apiPkg, tag: "v1", digest: dgA},
		{ref: "europe-docker.pkg.dev/acme-prod/ml/model", pkg: Package{Project: "acme-prod", Location: "europe", Repository: "ml", Name: "model"}},
		{ref: "gcr.io/acme-prod/api:latest", pkg: Package{Project: "acme-prod", Location: "us", Repository: "gcr.io", Name: "api"}, tag: "latest"},
		{ref: "eu.gcr.io/acme-prod/x/y", pkg: Package{Project: "acme-prod", Location: "europe", Repository: "eu.gcr.io", Name: "x/y"}},
		{ref: "ghcr.io/acme/api:v1", wantErr: "not Artifact Registry"},
		{ref: "us-central1-docker.pkg.dev/acme-prod/images", wantErr: "PROJECT/REPOSITORY/IMAGE"},
		{ref: "gcr.io/acme-prod", wantErr: "PROJECT/IMAGE"},
		{ref: "us-central1-docker.pkg.dev/acme-prod/images/api@sha256:abc", wantErr: "digest"},
		{ref: "us-central1-docker.pkg.dev/acme-prod/images/API", wantErr: "path component"},
		{ref: "us-central1-docker.pkg.dev/acme-prod/images/api:-bad", wantErr: "tag"},
		{ref: "us-central1-docker.pkg.dev/ab/images/api", wantErr: "project"},
		{ref: "us-central1-docker.pkg.dev/acme-prod/images//api", wantErr: "path component"},
		{ref: "nohost", wantErr: "HOST/PROJECT"},
		{ref: "gcr.io/" + strings.Repeat("a", MaxRefLength), wantErr: "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.ref[:min(len(tc.ref), 60)], func(t *testing.T) {
			pkg, tag, digest, err := ParseImage(tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error with %q, got %v (%+v)", tc.wantErr, err, pkg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{tc.pkg, tc.tag, tc.digest}, []any{pkg, tag, digest}); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestPackageNames(t *testing.T) {
	want := "projects/acme-prod/locations/us-central1/repositories/images/packages/team%2Fapi"
	if got := apiPkg.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if got := apiPkg.VersionName(dgA); got != want+"/versions/"+dgA {
		t.Errorf("VersionName = %s", got)
	}
	if got := apiPkg.TagName("v1"); got != want+"/tags/v1" {
		t.Errorf("TagName = %s", got)
	}
	back, err := ParsePackage(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(apiPkg, back); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
	for _, bad := range []string{"", "projects/p", want + "/versions/x", "projects/p/locations/l/repositories/r/packages/%zz"} {
		if _, err := ParsePackage(bad); err == nil {
			t.Errorf("ParsePackage(%q) accepted", bad)
		}
	}
}

// fakeRegistry is an in-memory Registry serving pageSize items per page.
type fakeRegistry struct {
	versions map[string][]Version
	tags     map[string][]Tag
	pageSize int
	// repeatToken makes every page hand back the same next token.
	repeatToken bool
	err         error
	calls       int
}

func page[T any](items []T, token string, size int, repeat bool) ([]T, string, error) {
	start := 0
	if repeat && token == "same" {
		token = ""
	}
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", fmt.Errorf("bad page token %q", token)
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	if repeat {
		next = "same"
	}
	return items[start:end], next, nil
}

func (f *fakeRegistry) ListVersions(_ context.Context, pkg, token string) ([]Version, string, error) {
	f.calls++
	if f.err != nil {
		return nil, "", f.err
	}
	vs, ok := f.versions[pkg]
	if !ok {
		return nil, "", fmt.Errorf("%w: package %s", ErrNotFound, pkg)
	}
	return page(vs, token, f.pageSize, f.repeatToken)
}

func (f *fakeRegistry) ListTags(_ context.Context, pkg, filter, token string) ([]Tag, string, error) {
	f.calls++
	if f.err != nil {
		return nil, "", f.err
	}
	ts, ok := f.tags[pkg]
	if !ok {
		return nil, "", fmt.Errorf("%w: package %s", ErrNotFound, pkg)
	}
	if v, ok := strings.CutPrefix(filter, "version="); ok {
		v, _ = strconv.Unquote(v)
		var sel []Tag
		for _, t := range ts {
			if t.Version == v {
				sel = append(sel, t)
			}
		}
		ts = sel
	}
	return page(ts, token, f.pageSize, f.repeatToken)
}

func (f *fakeRegistry) GetVersion(_ context.Context, name string) (Version, error) {
	f.calls++
	if f.err != nil {
		return Version{}, f.err
	}
	for _, vs := range f.versions {
		for _, v := range vs {
			if v.Name == name {
				return v, nil
			}
		}
	}
	return Version{}, fmt.Errorf("%w: version %s", ErrNotFound, name)
}

func (f *fakeRegistry) GetTag(_ context.Context, name string) (Tag, error) {
	f.calls++
	if f.err != nil {
		return Tag{}, f.err
	}
	for _, ts := range f.tags {
		for _, t := range ts {
			if t.Name == name {
				return t, nil
			}
		}
	}
	return Tag{}, fmt.Errorf("%w: tag %s", ErrNotFound, name)
}

func newFake() *fakeRegistry {
	p := apiPkg.String()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return &fakeRegistry{
		pageSize: 2,
		versions: map[string][]Version{p: {
			{Name: apiPkg.VersionName(dgA), Tags: []string{"v1", "latest"}, CreateTime: t0},
			{Name: apiPkg.VersionName(dgB), CreateTime: t0.Add(time.Hour)},
			{Name: p + "/versions/1.0.2"},
		}},
		tags: map[string][]Tag{p: {
			{Name: apiPkg.TagName("v1"), Version: apiPkg.VersionName(dgA)},
			{Name: apiPkg.TagName("latest"), Version: apiPkg.VersionName(dgA)},
			{Name: apiPkg.TagName("old"), Version: apiPkg.VersionName(dgB)},
			{Name: apiPkg.TagName("stray"), Version: "projects/other/locations/x/repositories/y/packages/z/versions/" + dgB},
			{Name: apiPkg.TagName("release"), Version: p + "/versions/1.0.2"},
		}},
	}
}

func TestVersions(t *testing.T) {
	c := &Client{Registry: newFake()}
	got, err := c.Versions(context.Background(), apiPkg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	want := []Version{
		{Name: apiPkg.VersionName(dgA), ID: dgA, Digest: dgA, Tags: []string{"v1", "latest"}, CreateTime: t0},
		{Name: apiPkg.VersionName(dgB), ID: dgB, Digest: dgB, CreateTime: t0.Add(time.Hour)},
		{Name: apiPkg.String() + "/versions/1.0.2", ID: "1.0.2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestVersion: one version by id in one call; a missing one is
// ErrNotFound; a server answering with another version is refused.
func TestVersion(t *testing.T) {
	f := newFake()
	c := &Client{Registry: f}
	got, err := c.Version(context.Background(), apiPkg, dgA)
	if err != nil {
		t.Fatal(err)
	}
	want := Version{Name: apiPkg.VersionName(dgA), ID: dgA, Digest: dgA, Tags: []string{"v1", "latest"}, CreateTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, got); diff != "" || f.calls != 1 {
		t.Errorf("%d calls, (-want +got)\n%s", f.calls, diff)
	}
	if _, err := c.Version(context.Background(), apiPkg, "sha256:"+strings.Repeat("9", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}
	liar := otherVersion{newFake()}
	if _, err := (&Client{Registry: liar}).Version(context.Background(), apiPkg, dgA); err == nil || !strings.Contains(err.Error(), "answered") {
		t.Errorf("a server answering with another version: %v", err)
	}
}

// otherVersion answers every GetVersion with another version.
type otherVersion struct{ *fakeRegistry }

func (o otherVersion) GetVersion(ctx context.Context, name string) (Version, error) {
	return o.fakeRegistry.GetVersion(ctx, apiPkg.VersionName(dgB))
}

func TestTags(t *testing.T) {
	ctx := context.Background()
	c := &Client{Registry: newFake()}
	all, err := c.Tags(ctx, apiPkg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tg := range all {
		ids = append(ids, tg.ID)
	}
	if diff := cmp.Diff([]string{"v1", "latest", "old", "stray", "release"}, ids); diff != "" {
		t.Errorf("tags (-want +got)\n%s", diff)
	}
	of, err := c.TagsOf(ctx, apiPkg, dgA)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1", "latest"}, of); diff != "" {
		t.Errorf("TagsOf (-want +got)\n%s", diff)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, ref, want, wantErr string
		wantCalls                int
	}{
		{name: "tag", ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:v1", want: dgA, wantCalls: 1},
		{name: "default tag latest", ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api", want: dgA, wantCalls: 1},
		{name: "digest needs no call", ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:v1@" + dgB, want: dgB},
		{name: "missing tag", ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:nope", wantErr: "not found", wantCalls: 1},
		{name: "tag points elsewhere", ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:stray", wantErr: "not a version of that package", wantCalls: 1},
		{name: "tag points at a non-digest", ref: "us-central1-docker.pkg.dev/acme-prod/images/team/api:release", wantErr: "not an image digest", wantCalls: 1},
		{name: "not artifact registry", ref: "docker.io/library/alpine:3", wantErr: "not Artifact Registry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			got, err := (&Client{Registry: f}).ResolveImage(ctx, tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error with %q, got %v (%s)", tc.wantErr, err, got)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("%d calls to the registry, want %d", f.calls, tc.wantCalls)
			}
		})
	}
}

func TestListingFailures(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("unavailable")
	tests := []struct {
		name    string
		mod     func(*fakeRegistry, *Client)
		pkg     Package
		wantErr string
		is      error
	}{
		{name: "unknown package", pkg: Package{Project: "acme-prod", Location: "us", Repository: "r", Name: "nope"}, wantErr: "not found", is: ErrNotFound},
		{name: "server error", mod: func(f *fakeRegistry, _ *Client) { f.err = boom }, pkg: apiPkg, wantErr: "unavailable", is: boom},
		{name: "repeated page token", mod: func(f *fakeRegistry, _ *Client) { f.repeatToken = true }, pkg: apiPkg, wantErr: "page forever"},
		{name: "over the item limit", mod: func(_ *fakeRegistry, c *Client) { c.MaxItems = 2 }, pkg: apiPkg, wantErr: "more than 2", is: ErrTooMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			c := &Client{Registry: f}
			if tc.mod != nil {
				tc.mod(f, c)
			}
			for what, call := range map[string]func() error{
				"versions": func() error { _, err := c.Versions(ctx, tc.pkg); return err },
				"tags":     func() error { _, err := c.Tags(ctx, tc.pkg); return err },
			} {
				err := call()
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("%s: want error with %q (is %v), got %v", what, tc.wantErr, tc.is, err)
				}
			}
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&Client{Registry: newFake()}).Versions(cancelled, apiPkg); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
