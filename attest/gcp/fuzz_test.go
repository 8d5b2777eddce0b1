package gcp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseImage: never panics; whatever parses names a package whose
// resource name parses back to the same package.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{
		"us-central1-docker.pkg.dev/acme-prod/images/team/api:v1.2",
		"image:europe-docker.pkg.dev/acme-prod/ml/model@" + dgA,
		"gcr.io/acme-prod/api:latest",
		"asia.gcr.io/acme-prod/a/b/c",
		"ghcr.io/acme/api",
		"us-docker.pkg.dev/acme-prod/r/a%2Fb",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		pkg, _, _, err := ParseImage(ref)
		if err != nil {
			return
		}
		back, err := ParsePackage(pkg.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v whose name %s does not parse: %v", ref, pkg, pkg, err)
		}
		if diff := cmp.Diff(pkg, back); diff != "" {
			t.Fatalf("%q: round trip (-want +got)\n%s", ref, diff)
		}
	})
}

// FuzzParsePackage: never panics; a parsed name renders back to itself
// when it was canonically escaped.
func FuzzParsePackage(f *testing.F) {
	for _, s := range []string{
		"projects/acme-prod/locations/us-central1/repositories/images/packages/team%2Fapi",
		"projects/p/locations/l/repositories/r/packages/x",
		"projects/p/locations/l/repositories/r/packages/%zz",
		"projects//locations/l/repositories/r/packages/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		pkg, err := ParsePackage(name)
		if err != nil {
			return
		}
		back, err := ParsePackage(pkg.String())
		if err != nil || back != pkg {
			t.Fatalf("%q -> %+v -> %s -> %+v, %v", name, pkg, pkg, back, err)
		}
	})
}
