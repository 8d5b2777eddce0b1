package gates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

var testDigest = "sha256:" + strings.Repeat("ab", 32)

func TestIsDigestReference(t *testing.T) {
	yes := []string{
		"europe-west4-docker.pkg.dev/acme/models/fraud@" + testDigest,
		"127.0.0.1:5000/models/m@" + testDigest,
		"localhost/m@" + testDigest,
		"localhost:5000/a/b/c@" + testDigest,
		"registry:5000/m@" + testDigest,
		"ghcr.io/acme/my_model__v2.x-y--z@" + testDigest,
		"Registry.Example.com/m@" + testDigest,
	}
	no := []string{
		"models/fraud",                        // a relative path
		"models/fraud@" + testDigest,          // no dot, no port: a folder models
		"acme/m@" + testDigest,                // Docker Hub short form
		"ghcr.io/acme/m:v1",                   // a tag, not pinned
		"ghcr.io/acme/m:v1@" + testDigest,     // tag and digest
		"ghcr.io/acme/m@sha256:abc",           // short digest
		"ghcr.io/acme/m@sha512:" + testDigest, // other algorithm
		"ghcr.io/acme/m@sha256:" + strings.Repeat("AB", 32),
		"ghcr.io/Acme/m@" + testDigest, // upper case repository
		"ghcr.io/@" + testDigest,
		"ghcr.io@" + testDigest,
		"/abs/ghcr.io/m@" + testDigest,
		"./ghcr.io/m@" + testDigest,
		"ghcr.io/a//b@" + testDigest,
		"ghcr.io/a/-b@" + testDigest,
		"ghcr.io/a/b_@" + testDigest,
		"ghcr.io/a/b___c@" + testDigest,
		"-ghcr.io/a@" + testDigest,
		"ghcr..io/a@" + testDigest,
		"ghcr.io:/a@" + testDigest,
		"ghcr.io:123456/a@" + testDigest,
		"ghcr.io:50x0/a@" + testDigest,
		"oci://ghcr.io/a@" + testDigest,
		"gs://bucket/a@" + testDigest,
		"ghcr.io/a b@" + testDigest,
	}
	for _, r := range yes {
		if !IsDigestReference(r) {
			t.Errorf("IsDigestReference(%q) = false, want true", r)
		}
	}
	for _, r := range no {
		if IsDigestReference(r) {
			t.Errorf("IsDigestReference(%q) = true, want false", r)
		}
	}
}

func TestParseSubjectImplicitOCI(t *testing.T) {
	ref := "127.0.0.1:5000/models/m@" + testDigest
	for _, kind := range []string{"model", "dataset"} {
		s, err := ParseSubject(kind + ":" + ref)
		if err != nil {
			t.Fatal(err)
		}
		if s.Ref != "oci://"+ref || s.Name != ref || s.Labels[ImplicitOCILabel] != ref {
			t.Errorf("%s:%s parsed as %+v, want Ref oci://…, Name as written, the label", kind, ref, s)
		}
	}
	// Not for other kinds, nor for what already has a scheme or is no
	// digest reference.
	for _, arg := range []string{"image:" + ref, "score:" + ref, "pipeline:" + ref, "model:oci://" + ref, "model:models/fraud", "model:ghcr.io/acme/m:v1"} {
		s, err := ParseSubject(arg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Labels[ImplicitOCILabel]; ok || strings.HasPrefix(s.Ref, "oci://oci://") {
			t.Errorf("%s parsed as %+v", arg, s)
		}
		if _, want, _ := strings.Cut(arg, ":"); s.Ref != want {
			t.Errorf("%s: Ref %q, want it as written", arg, s.Ref)
		}
	}
	// An existing local path always wins.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "127.0.0.1:5000", "models", "m@"+testDigest), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	s, err := ParseSubject("model:" + ref)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ref != ref || s.Labels != nil {
		t.Errorf("with a folder %s present: %+v, want the local path", ref, s)
	}
}

// What IsDigestReference accepts, go-containerregistry reads as the same
// registry, repository and digest.
func FuzzIsDigestReference(f *testing.F) {
	for _, s := range []string{"127.0.0.1:5000/models/m@" + testDigest, "localhost/m@" + testDigest, "a.b/c__d@" + testDigest, "ghcr.io/a:1@" + testDigest} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if !IsDigestReference(ref) {
			return
		}
		d, err := name.NewDigest(ref, name.StrictValidation)
		if err != nil {
			t.Fatalf("IsDigestReference(%q) but go-containerregistry: %v", ref, err)
		}
		host, _, _ := strings.Cut(ref, "/")
		if !strings.EqualFold(d.RegistryStr(), host) || d.Name() != ref {
			t.Fatalf("IsDigestReference(%q): go-containerregistry reads registry %q, name %q", ref, d.RegistryStr(), d.Name())
		}
	})
}
