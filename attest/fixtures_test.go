package attest

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readStatement(t *testing.T, name string) *Statement {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseStatement(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return st
}

func TestProvenanceFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want *Provenance
	}{
		{"slsa-v1-github.json", &Provenance{
			PredicateType: PredicateSLSAProvenanceV1,
			BuilderID:     "https://github.com/actions/runner/github-hosted",
			BuildType:     GitHubActionsBuildType,
			Source: &Source{Repository: "https://github.com/acme/models", Ref: "refs/heads/main", EntryPoint: ".github/workflows/train.yml",
				Digest: map[string]string{"gitCommit": "7d3a2c5b1e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b"}},
			ExternalParameters: json.RawMessage(`{
        "workflow": {"ref": "refs/heads/main", "repository": "https://github.com/acme/models", "path": ".github/workflows/train.yml"},
        "inputs": {"epochs": "3"}
      }`),
			Materials: []Material{
				{URI: "git+https://github.com/acme/models@refs/heads/main", Digest: map[string]string{"gitCommit": "7d3a2c5b1e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b"}},
				{URI: "pkg:pypi/torch@2.3.0", Digest: map[string]string{"sha256": "0000000000000000000000000000000000000000000000000000000000000001"}},
			},
		}},
		{"slsa-v1-generic.json", &Provenance{
			PredicateType:      PredicateSLSAProvenanceV1,
			BuilderID:          "https://tekton.dev/chains/v2",
			BuildType:          "https://tekton.dev/chains/v2/slsa",
			Source:             &Source{Repository: "https://gitlab.com/acme/app.git", Ref: "refs/tags/v1.2.0", Digest: map[string]string{"sha1": "3333333333333333333333333333333333333333"}},
			ExternalParameters: json.RawMessage(`{"runSpec": {"pipelineRef": {"name": "build"}}}`),
			Materials: []Material{
				{URI: "oci://gcr.io/distroless/static", Digest: map[string]string{"sha256": "2222222222222222222222222222222222222222222222222222222222222222"}},
				{URI: "git+https://gitlab.com/acme/app.git@refs/tags/v1.2.0", Digest: map[string]string{"sha1": "3333333333333333333333333333333333333333"}},
			},
		}},
		{"slsa-v02.json", &Provenance{
			PredicateType: PredicateSLSAProvenanceV02,
			BuilderID:     "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0",
			BuildType:     "https://github.com/slsa-framework/slsa-github-generator/container@v1",
			Source: &Source{Repository: "https://github.com/acme/app", Ref: "refs/heads/main", EntryPoint: ".github/workflows/release.yml",
				Digest: map[string]string{"sha1": "4444444444444444444444444444444444444444"}},
			ExternalParameters: json.RawMessage(`{"event_inputs": {"tag": "v1"}}`),
			Materials:          []Material{{URI: "git+https://github.com/acme/app@refs/heads/main", Digest: map[string]string{"sha1": "4444444444444444444444444444444444444444"}}},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			st := readStatement(t, tc.file)
			if !IsProvenance(st.PredicateType) {
				t.Fatalf("%s is not provenance", st.PredicateType)
			}
			got, err := ParseProvenance(st.PredicateType, st.Predicate)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(jsonEqual)); diff != "" {
				t.Errorf("provenance (-want +got):\n%s", diff)
			}
		})
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return cmp.Equal(x, y)
}

func TestUnknownPredicateStaysRaw(t *testing.T) {
	st := readStatement(t, "unknown-predicate.json")
	if IsProvenance(st.PredicateType) {
		t.Fatal("CycloneDX taken for provenance")
	}
	var p map[string]any
	if err := json.Unmarshal(st.Predicate, &p); err != nil || p["bomFormat"] != "CycloneDX" {
		t.Errorf("raw predicate %s: %v", st.Predicate, err)
	}
}
