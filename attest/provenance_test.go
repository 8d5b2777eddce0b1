package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A GitHub Actions provenance as slsa-github-generator and GitHub's
// artifact attestations write it (SLSA v1).
const provV1GitHub = `{
  "buildDefinition": {
    "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
    "externalParameters": {
      "workflow": {"ref": "refs/heads/main", "repository": "https://github.com/acme/fraud-model", "path": ".github/workflows/train.yml"}
    },
    "internalParameters": {"github": {"event_name": "push", "repository_id": "1", "repository_owner_id": "2"}},
    "resolvedDependencies": [
      {"uri": "git+https://github.com/acme/fraud-model@refs/heads/main", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}
    ]
  },
  "runDetails": {
    "builder": {"id": "https://github.com/actions/runner/github-hosted"},
    "metadata": {"invocationID": "https://github.com/acme/fraud-model/actions/runs/1/attempts/1"}
  }
}`

const provV1Generic = `{
  "buildDefinition": {
    "buildType": "https://example.com/build/v1",
    "externalParameters": {"target": "//model:fraud"},
    "resolvedDependencies": [
      {"name": "base", "uri": "pkg:docker/python@3.12", "digest": {"sha256": "` + hexA + `"}},
      {"uri": "git+https://gitlab.com/acme/app.git@v1.2.0", "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}
    ]
  },
  "runDetails": {"builder": {"id": "https://example.com/builder", "version": {"b": "1"}}}
}`

const provV02Doc = `{
  "builder": {"id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0"},
  "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
  "invocation": {
    "configSource": {"uri": "git+https://github.com/acme/fraud-model@refs/tags/v3", "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}, "entryPoint": ".github/workflows/release.yml"},
    "parameters": {"inputs": {"x": 1}},
    "environment": {"github_run_id": "1"}
  },
  "metadata": {"buildInvocationID": "1", "completeness": {"parameters": true}, "reproducible": false},
  "materials": [{"uri": "git+https://github.com/acme/fraud-model@refs/tags/v3", "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}]
}`

func TestParseProvenance(t *testing.T) {
	commit := map[string]string{"gitCommit": "0123456789abcdef0123456789abcdef01234567"}
	sha1 := map[string]string{"sha1": "0123456789abcdef0123456789abcdef01234567"}
	tests := []struct {
		name, typ, doc string
		want           *Provenance
	}{
		{"v1 GitHub Actions", PredicateSLSAProvenanceV1, provV1GitHub, &Provenance{
			PredicateType: PredicateSLSAProvenanceV1, BuilderID: "https://github.com/actions/runner/github-hosted", BuildType: GitHubActionsBuildType,
			Source:             &Source{Repository: "https://github.com/acme/fraud-model", Ref: "refs/heads/main", Digest: commit, EntryPoint: ".github/workflows/train.yml"},
			ExternalParameters: json.RawMessage(`{"workflow": {"ref": "refs/heads/main", "repository": "https://github.com/acme/fraud-model", "path": ".github/workflows/train.yml"}}`),
			Materials:          []Material{{URI: "git+https://github.com/acme/fraud-model@refs/heads/main", Digest: commit}},
		}},
		{"v1 generic", PredicateSLSAProvenanceV1, provV1Generic, &Provenance{
			PredicateType: PredicateSLSAProvenanceV1, BuilderID: "https://example.com/builder", BuildType: "https://example.com/build/v1",
			Source:             &Source{Repository: "https://gitlab.com/acme/app.git", Ref: "v1.2.0", Digest: sha1},
			ExternalParameters: json.RawMessage(`{"target": "//model:fraud"}`),
			Materials: []Material{
				{Name: "base", URI: "pkg:docker/python@3.12", Digest: map[string]string{"sha256": hexA}},
				{URI: "git+https://gitlab.com/acme/app.git@v1.2.0", Digest: sha1},
			},
		}},
		{"v0.2", PredicateSLSAProvenanceV02, provV02Doc, &Provenance{
			PredicateType: PredicateSLSAProvenanceV02, BuilderID: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0",
			BuildType:          "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
			Source:             &Source{Repository: "https://github.com/acme/fraud-model", Ref: "refs/tags/v3", Digest: sha1, EntryPoint: ".github/workflows/release.yml"},
			ExternalParameters: json.RawMessage(`{"inputs": {"x": 1}}`),
			Materials:          []Material{{URI: "git+https://github.com/acme/fraud-model@refs/tags/v3", Digest: sha1}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProvenance(tc.typ, []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, compactJSON); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !IsProvenance(tc.typ) {
				t.Errorf("IsProvenance(%s) = false", tc.typ)
			}
		})
	}
}

func TestParseProvenanceErrors(t *testing.T) {
	tests := []struct {
		name, typ, doc, want string
	}{
		{"unknown predicate", "https://example.com/other", `{}`, "is not SLSA provenance"},
		{"v1 no buildDefinition", PredicateSLSAProvenanceV1, `{"runDetails":{"builder":{"id":"b"}}}`, "field buildDefinition is missing"},
		{"v1 no builder id", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{}},"runDetails":{"builder":{}}}`, "field runDetails.builder.id is missing"},
		{"v1 no buildType", PredicateSLSAProvenanceV1, `{"buildDefinition":{"externalParameters":{}},"runDetails":{"builder":{"id":"b"}}}`, "field buildDefinition.buildType is missing"},
		{"v1 externalParameters array", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":[]},"runDetails":{"builder":{"id":"b"}}}`, "field buildDefinition.externalParameters is missing or not an object"},
		// provenance/v1's own Validate: externalParameters must say something.
		{"v1 empty externalParameters", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{}},"runDetails":{"builder":{"id":"b"}}}`, "buildDefinition.externalParameters required"},
		{"v1 bad dependency digest", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{"a":1},"resolvedDependencies":[{"uri":"u","digest":{"sha256":"abc"}}]},"runDetails":{"builder":{"id":"b"}}}`, "ResolvedDependencies[0]: digest is not valid hex"},
		{"v1 builder id wrong type", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{"a":1}},"runDetails":{"builder":{"id":5}}}`, "invalid value for string field id"},
		// Names protojson and encoding/json readers would read differently.
		{"v1 proto field name", PredicateSLSAProvenanceV1, `{"build_definition":{"buildType":"t","externalParameters":{"a":1}},"runDetails":{"builder":{"id":"b"}}}`, "field build_definition: write it as buildDefinition"},
		{"v1 builder id in another case", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{"a":1}},"runDetails":{"builder":{"id":"b","ID":"evil"}}}`, "field runDetails.builder.ID: spelled runDetails.builder.id"},
		{"v1 duplicate builder id", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{"a":1}},"runDetails":{"builder":{"id":"b","id":"evil"}}}`, "field runDetails.builder.id appears twice"},
		{"v1 dependency name in another case", PredicateSLSAProvenanceV1, `{"buildDefinition":{"buildType":"t","externalParameters":{"a":1},"resolvedDependencies":[{"uri":"u","URI":"v"}]},"runDetails":{"builder":{"id":"b"}}}`, "field buildDefinition.resolvedDependencies[0].URI"},
		{"v0.2 no builder", PredicateSLSAProvenanceV02, `{"buildType":"t"}`, "field builder.id is missing"},
		{"v0.2 no buildType", PredicateSLSAProvenanceV02, `{"builder":{"id":"b"}}`, "field buildType is missing"},
		{"v0.2 parameters array", PredicateSLSAProvenanceV02, `{"builder":{"id":"b"},"buildType":"t","invocation":{"parameters":[1]}}`, "field invocation.parameters is not an object"},
		{"v0.2 v1 document", PredicateSLSAProvenanceV02, provV1GitHub, "field builder.id is missing"},
		{"v0.2 builder id wrong type", PredicateSLSAProvenanceV02, `{"builder":{"id":5},"buildType":"t"}`, "field builder.id: JSON number"},
		{"v0.2 trailing data", PredicateSLSAProvenanceV02, `{"builder":{"id":"b"},"buildType":"t"} {}`, "trailing data"},
		{"too deep", PredicateSLSAProvenanceV1, strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70), "nesting deeper than 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProvenance(tc.typ, []byte(tc.doc))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
}

// TestProvenanceExtensionFields: members neither SLSA nor gatehouse knows
// are ignored, as in-toto's parsing rules say (other producers add them).
func TestProvenanceExtensionFields(t *testing.T) {
	for _, tc := range []struct{ typ, doc string }{
		{PredicateSLSAProvenanceV1, strings.Replace(provV1GitHub, `"runDetails": {`, `"x-acme": {"k": [1]}, "runDetails": {"x-run": 1,`, 1)},
		{PredicateSLSAProvenanceV02, strings.Replace(provV02Doc, `"buildType":`, `"x-acme": true, "buildType":`, 1)},
	} {
		p, err := ParseProvenance(tc.typ, []byte(tc.doc))
		if err != nil || p.BuilderID == "" {
			t.Errorf("%s with extension members: %+v, %v", tc.typ, p, err)
		}
	}
}

func TestSplitSourceURI(t *testing.T) {
	tests := []struct{ in, repo, ref string }{
		{"git+https://github.com/acme/app@refs/heads/main", "https://github.com/acme/app", "refs/heads/main"},
		{"https://github.com/acme/app", "https://github.com/acme/app", ""},
		{"git+ssh://git@github.com/acme/app", "ssh://git@github.com/acme/app", ""},
		{"git+ssh://git@github.com/acme/app@v1", "ssh://git@github.com/acme/app", "v1"},
		{"pkg:docker/python@3.12", "pkg:docker/python", "3.12"},
	}
	for _, tc := range tests {
		repo, ref := splitSourceURI(tc.in)
		if repo != tc.repo || ref != tc.ref {
			t.Errorf("splitSourceURI(%q) = %q, %q; want %q, %q", tc.in, repo, ref, tc.repo, tc.ref)
		}
	}
}

// compactJSON compares raw JSON without its whitespace.
var compactJSON = cmp.Transformer("compact", func(r json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, r); err != nil {
		return "invalid JSON: " + string(r)
	}
	return b.String()
})

// TestProvenanceInvocationIDSpellings: SLSA v1 spells
// runDetails.metadata.invocationID (the spec, slsa-github-generator and
// cosign attest); in-toto's binding spells invocationId. Both are read.
func TestProvenanceInvocationIDSpellings(t *testing.T) {
	for _, key := range []string{"invocationID", "invocationId"} {
		doc := strings.Replace(provV1GitHub, `"invocationID"`, `"`+key+`"`, 1)
		if _, err := ParseProvenance(PredicateSLSAProvenanceV1, []byte(doc)); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	// Other spellings are still refused: tools disagree on them.
	doc := strings.Replace(provV1GitHub, `"invocationID"`, `"INVOCATIONID"`, 1)
	if _, err := ParseProvenance(PredicateSLSAProvenanceV1, []byte(doc)); err == nil || !strings.Contains(err.Error(), "spelled") {
		t.Errorf("INVOCATIONID: %v, want refused", err)
	}
}
