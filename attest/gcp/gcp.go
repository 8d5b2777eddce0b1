// Package gcp looks up Google Artifact Registry packages: a package's
// versions (for Docker images: its digests) and tags, and which version a
// tag points at. Registry is the small interface it needs from Artifact
// Registry's API (one page per call); APIRegistry implements it with
// cloud.google.com/go/artifactregistry/apiv1 and tests use a fake.
//
// Image references of Artifact Registry (LOCATION-docker.pkg.dev/PROJECT/
// REPOSITORY/IMAGE) and of gcr.io repositories hosted in Artifact Registry
// (gcr.io/PROJECT/IMAGE, also us., eu. and asia.gcr.io) map to package
// resource names with ParseImage; other packages (generic, Python, ...) are
// named by their resource name (ParsePackage).
package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Limits on what is read: a package can hold many versions, and a server
// that misbehaves must not keep the caller paging forever.
const (
	// DefaultMaxItems bounds the versions or tags one call collects.
	DefaultMaxItems = 10000
	// MaxRefLength bounds an image reference or resource name.
	MaxRefLength = 1024
)

// ErrNotFound is returned (wrapped) when a package, version or tag does not exist.
var ErrNotFound = errors.New("not found in Artifact Registry")

// ErrTooMany is returned (wrapped) when a listing exceeds the item limit.
var ErrTooMany = errors.New("too many items")

// Version is one version of a package; for a Docker image, one digest.
type Version struct {
	// Name is the resource name: projects/P/locations/L/repositories/R/packages/PKG/versions/ID.
	Name string `json:"name"`
	// ID is the last segment of Name: "sha256:<hex>" for images, e.g. "1.0.2" otherwise.
	ID string `json:"id"`
	// Digest is "sha256:<hex>" when the version is named by its digest.
	Digest string `json:"digest,omitempty"`
	// Tags are the IDs of the tags pointing at it.
	Tags        []string          `json:"tags,omitempty"`
	CreateTime  time.Time         `json:"create_time,omitzero"`
	UpdateTime  time.Time         `json:"update_time,omitzero"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Tag is one tag of a package.
type Tag struct {
	// Name is the resource name: .../packages/PKG/tags/ID.
	Name string `json:"name"`
	// ID is the tag as users write it, e.g. "v1.2".
	ID string `json:"id"`
	// Version is the resource name of the version it points at.
	Version string `json:"version"`
}

// Registry is what this package asks of Artifact Registry: one page per
// call (an empty next token ends a listing). pkg is a package resource name.
type Registry interface {
	ListVersions(ctx context.Context, pkg, pageToken string) (page []Version, next string, err error)
	// ListTags lists tags; filter is Artifact Registry's filter expression
	// (e.g. version="<version resource name>"), "" for all.
	ListTags(ctx context.Context, pkg, filter, pageToken string) (page []Tag, next string, err error)
	GetTag(ctx context.Context, name string) (Tag, error)
	// GetVersion returns one version (with its tags) by resource name.
	GetVersion(ctx context.Context, name string) (Version, error)
}

// Package names an Artifact Registry package.
type Package struct {
	Project    string
	Location   string
	Repository string
	// Name is the package as users write it, e.g. "team/api" (an image
	// path may hold slashes; the resource name escapes them).
	Name string
}

// String is the package's resource name,
// projects/P/locations/L/repositories/R/packages/NAME (NAME path-escaped).
func (p Package) String() string {
	return fmt.Sprintf("projects/%s/locations/%s/repositories/%s/packages/%s", p.Project, p.Location, p.Repository, url.PathEscape(p.Name))
}

// VersionName is the resource name of one version (e.g. a digest) of p.
func (p Package) VersionName(id string) string { return p.String() + "/versions/" + url.PathEscape(id) }

// TagName is the resource name of one tag of p.
func (p Package) TagName(tag string) string { return p.String() + "/tags/" + url.PathEscape(tag) }

var (
	segmentRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)
	projectRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	locationRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	tagRE      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRE   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	resourceRE = regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)/repositories/([^/]+)/packages/([^/]+)$`)
)

// gcrLocations maps gcr.io hosts to the location of their Artifact
// Registry repository (named like the host).
var gcrLocations = map[string]string{"gcr.io": "us", "us.gcr.io": "us", "eu.gcr.io": "europe", "asia.gcr.io": "asia"}

// ParseImage reads an image reference in Artifact Registry
// (LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG][@sha256:...]) or
// in a gcr.io repository (gcr.io/PROJECT/IMAGE...), returning the package
// and the tag and digest it names (each may be empty).
func ParseImage(ref string) (pkg Package, tag, digest string, err error) {
	bad := func(format string, a ...any) (Package, string, string, error) {
		return Package{}, "", "", fmt.Errorf("image reference %q: %s", truncate(ref), fmt.Sprintf(format, a...))
	}
	ref = strings.TrimPrefix(ref, "image:")
	if len(ref) > MaxRefLength {
		return bad("longer than %d bytes", MaxRefLength)
	}
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
		if !digestRE.MatchString(digest) {
			return bad("digest %q is not sha256:<64 hex digits>", digest)
		}
	}
	host, path, ok := strings.Cut(ref, "/")
	if !ok {
		return bad("want HOST/PROJECT/.../IMAGE")
	}
	if i := strings.LastIndex(path, ":"); i >= 0 {
		path, tag = path[:i], path[i+1:]
		if !tagRE.MatchString(tag) {
			return bad("tag %q is not a valid tag", tag)
		}
	}
	parts := strings.Split(path, "/")
	for _, s := range parts {
		if !segmentRE.MatchString(s) {
			return bad("path component %q is not valid (lowercase letters, digits, . _ -)", s)
		}
	}
	if loc, ok := gcrLocations[host]; ok {
		if len(parts) < 2 {
			return bad("want %s/PROJECT/IMAGE", host)
		}
		pkg = Package{Project: parts[0], Location: loc, Repository: host, Name: strings.Join(parts[1:], "/")}
	} else {
		loc, ok := strings.CutSuffix(host, "-docker.pkg.dev")
		if !ok || !locationRE.MatchString(loc) {
			return bad("host %s is not Artifact Registry (want LOCATION-docker.pkg.dev or gcr.io)", host)
		}
		if len(parts) < 3 {
			return bad("want %s/PROJECT/REPOSITORY/IMAGE", host)
		}
		pkg = Package{Project: parts[0], Location: loc, Repository: parts[1], Name: strings.Join(parts[2:], "/")}
	}
	if !projectRE.MatchString(pkg.Project) {
		return bad("project %q is not a project ID (6-30 lowercase letters, digits, hyphens)", pkg.Project)
	}
	return pkg, tag, digest, nil
}

// ParsePackage reads a package resource name,
// projects/P/locations/L/repositories/R/packages/NAME.
func ParsePackage(name string) (Package, error) {
	if len(name) > MaxRefLength {
		return Package{}, fmt.Errorf("package name %q: longer than %d bytes", truncate(name), MaxRefLength)
	}
	m := resourceRE.FindStringSubmatch(name)
	if m == nil {
		return Package{}, fmt.Errorf("package name %q: want projects/P/locations/L/repositories/R/packages/NAME", truncate(name))
	}
	pkgName, err := url.PathUnescape(m[4])
	if err != nil || pkgName == "" {
		return Package{}, fmt.Errorf("package name %q: package %q is not validly escaped", truncate(name), m[4])
	}
	return Package{Project: m[1], Location: m[2], Repository: m[3], Name: pkgName}, nil
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// Client looks packages up through a Registry.
type Client struct {
	Registry Registry
	// MaxItems bounds the versions or tags one call collects
	// (DefaultMaxItems when zero).
	MaxItems int
}

func (c *Client) maxItems() int {
	if c.MaxItems > 0 {
		return c.MaxItems
	}
	return DefaultMaxItems
}

// Versions lists every version of pkg, with the tags pointing at each.
func (c *Client) Versions(ctx context.Context, pkg Package) ([]Version, error) {
	out, err := collect(ctx, c.maxItems(), pkg.String()+" versions", func(token string) ([]Version, string, error) {
		return c.Registry.ListVersions(ctx, pkg.String(), token)
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		v := &out[i]
		if v.ID == "" {
			v.ID = lastSegment(v.Name, "/versions/")
		}
		if v.Digest == "" && digestRE.MatchString(v.ID) {
			v.Digest = v.ID
		}
	}
	return out, nil
}

// Version returns the version id (a digest for images) of pkg with the
// tags pointing at it: one call, however many versions pkg holds.
func (c *Client) Version(ctx context.Context, pkg Package, id string) (Version, error) {
	name := pkg.VersionName(id)
	v, err := c.Registry.GetVersion(ctx, name)
	if err != nil {
		return Version{}, err
	}
	// The answer is the server's; check it is the version asked for.
	if v.Name != name {
		return Version{}, fmt.Errorf("asked for %s, Artifact Registry answered %s", name, truncate(v.Name))
	}
	v.ID = id
	if digestRE.MatchString(id) {
		v.Digest = id
	}
	return v, nil
}

// Tags lists every tag of pkg.
func (c *Client) Tags(ctx context.Context, pkg Package) ([]Tag, error) {
	return c.tags(ctx, pkg, "")
}

// TagsOf lists the tags of pkg that point at the version id (a digest for images).
func (c *Client) TagsOf(ctx context.Context, pkg Package, id string) ([]string, error) {
	tags, err := c.tags(ctx, pkg, fmt.Sprintf("version=%q", pkg.VersionName(id)))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		// The filter is the server's; check what came back.
		if t.Version != pkg.VersionName(id) {
			return nil, fmt.Errorf("tags of %s: tag %s points at %s, not the version asked for", pkg.VersionName(id), t.Name, t.Version)
		}
		out = append(out, t.ID)
	}
	return out, nil
}

func (c *Client) tags(ctx context.Context, pkg Package, filter string) ([]Tag, error) {
	out, err := collect(ctx, c.maxItems(), pkg.String()+" tags", func(token string) ([]Tag, string, error) {
		return c.Registry.ListTags(ctx, pkg.String(), filter, token)
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].ID == "" {
			out[i].ID = lastSegment(out[i].Name, "/tags/")
		}
	}
	return out, nil
}

// ResolveTag returns the version a tag of pkg points at: for an image,
// the digest ("sha256:<hex>").
func (c *Client) ResolveTag(ctx context.Context, pkg Package, tag string) (string, error) {
	if !tagRE.MatchString(tag) {
		return "", fmt.Errorf("tag %q of %s is not a valid tag", tag, pkg)
	}
	t, err := c.Registry.GetTag(ctx, pkg.TagName(tag))
	if err != nil {
		return "", fmt.Errorf("tag %s of %s: %w", tag, pkg, err)
	}
	prefix := pkg.String() + "/versions/"
	if !strings.HasPrefix(t.Version, prefix) {
		return "", fmt.Errorf("tag %s of %s points at %q, which is not a version of that package", tag, pkg, t.Version)
	}
	id := lastSegment(t.Version, "/versions/")
	if id == "" {
		return "", fmt.Errorf("tag %s of %s points at %q, which names no version", tag, pkg, t.Version)
	}
	return id, nil
}

// ResolveImage returns the digest an Artifact Registry image reference
// names: the digest it carries (no call), else its tag's (one call).
func (c *Client) ResolveImage(ctx context.Context, ref string) (string, error) {
	pkg, tag, digest, err := ParseImage(ref)
	if err != nil {
		return "", err
	}
	if digest != "" {
		return digest, nil
	}
	if tag == "" {
		tag = "latest"
	}
	id, err := c.ResolveTag(ctx, pkg, tag)
	if err != nil {
		return "", err
	}
	if !digestRE.MatchString(id) {
		return "", fmt.Errorf("tag %s of %s points at version %q, not an image digest", tag, pkg, id)
	}
	return id, nil
}

// collect pages through a listing up to max items, refusing a server that
// hands back a page token it gave before.
func collect[T any](ctx context.Context, max int, what string, page func(token string) ([]T, string, error)) ([]T, error) {
	var out []T
	seen := map[string]bool{}
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		items, next, err := page(token)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if len(out)+len(items) > max {
			return nil, fmt.Errorf("list %s: %w: more than %d", what, ErrTooMany, max)
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("list %s: the server repeated page token %q (it would page forever)", what, truncate(next))
		}
		seen[next] = true
		token = next
	}
}

// lastSegment returns the unescaped part of name after sep.
func lastSegment(name, sep string) string {
	i := strings.LastIndex(name, sep)
	if i < 0 {
		return ""
	}
	s, err := url.PathUnescape(name[i+len(sep):])
	if err != nil {
		return name[i+len(sep):]
	}
	return s
}
