package gcp

import (
	"context"
	"errors"
	"fmt"

	artifactregistry "cloud.google.com/go/artifactregistry/apiv1"
	"cloud.google.com/go/artifactregistry/apiv1/artifactregistrypb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PageSize is how many versions or tags APIRegistry asks for per page.
const PageSize = 1000

// APIRegistry is Registry over Artifact Registry's API
// (cloud.google.com/go/artifactregistry/apiv1, gRPC). Credentials are
// Application Default Credentials unless options say otherwise; the caller
// needs roles/artifactregistry.reader on the repository.
type APIRegistry struct {
	c *artifactregistry.Client
}

// NewAPIRegistry connects to Artifact Registry. opts are passed to
// artifactregistry.NewClient (endpoint, credentials, ...).
func NewAPIRegistry(ctx context.Context, opts ...option.ClientOption) (*APIRegistry, error) {
	c, err := artifactregistry.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("artifact registry client: %w", err)
	}
	return &APIRegistry{c: c}, nil
}

// Close releases the connection.
func (r *APIRegistry) Close() error { return r.c.Close() }

// ListVersions implements Registry (the FULL view, which carries each
// version's tags).
func (r *APIRegistry) ListVersions(ctx context.Context, pkg, pageToken string) ([]Version, string, error) {
	it := r.c.ListVersions(ctx, &artifactregistrypb.ListVersionsRequest{Parent: pkg, View: artifactregistrypb.VersionView_FULL})
	var page []*artifactregistrypb.Version
	next, err := iterator.NewPager(it, PageSize, pageToken).NextPage(&page)
	if err != nil {
		return nil, "", apiError(err)
	}
	out := make([]Version, 0, len(page))
	for _, v := range page {
		out = append(out, versionOf(v))
	}
	return out, next, nil
}

// GetVersion implements Registry (the FULL view, with the version's tags).
func (r *APIRegistry) GetVersion(ctx context.Context, name string) (Version, error) {
	v, err := r.c.GetVersion(ctx, &artifactregistrypb.GetVersionRequest{Name: name, View: artifactregistrypb.VersionView_FULL})
	if err != nil {
		return Version{}, apiError(err)
	}
	return versionOf(v), nil
}

func versionOf(v *artifactregistrypb.Version) Version {
	ver := Version{Name: v.GetName(), Annotations: v.GetAnnotations()}
	if t := v.GetCreateTime(); t != nil {
		ver.CreateTime = t.AsTime()
	}
	if t := v.GetUpdateTime(); t != nil {
		ver.UpdateTime = t.AsTime()
	}
	for _, t := range v.GetRelatedTags() {
		ver.Tags = append(ver.Tags, lastSegment(t.GetName(), "/tags/"))
	}
	return ver
}

// ListTags implements Registry.
func (r *APIRegistry) ListTags(ctx context.Context, pkg, filter, pageToken string) ([]Tag, string, error) {
	it := r.c.ListTags(ctx, &artifactregistrypb.ListTagsRequest{Parent: pkg, Filter: filter})
	var page []*artifactregistrypb.Tag
	next, err := iterator.NewPager(it, PageSize, pageToken).NextPage(&page)
	if err != nil {
		return nil, "", apiError(err)
	}
	out := make([]Tag, 0, len(page))
	for _, t := range page {
		out = append(out, Tag{Name: t.GetName(), Version: t.GetVersion()})
	}
	return out, next, nil
}

// GetTag implements Registry.
func (r *APIRegistry) GetTag(ctx context.Context, name string) (Tag, error) {
	t, err := r.c.GetTag(ctx, &artifactregistrypb.GetTagRequest{Name: name})
	if err != nil {
		return Tag{}, apiError(err)
	}
	return Tag{Name: t.GetName(), ID: lastSegment(t.GetName(), "/tags/"), Version: t.GetVersion()}, nil
}

// apiError says what to do about the API's errors.
func apiError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch s.Code() {
	case codes.NotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, s.Message())
	case codes.PermissionDenied:
		return fmt.Errorf("permission denied (grant roles/artifactregistry.reader on the repository to these credentials): %s", s.Message())
	case codes.Unauthenticated:
		return fmt.Errorf("not authenticated (set up Application Default Credentials: gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS): %s", s.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("Artifact Registry did not answer in time: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("artifact registry: %s: %s", s.Code(), s.Message())
}
