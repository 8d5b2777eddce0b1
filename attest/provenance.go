package attest

import (
	"encoding/json"
	"strings"
)

// Provenance is SLSA provenance (v0.2 or v1) reduced to what gates read.
type Provenance struct {
	// PredicateType is the SLSA version the predicate was written in.
	PredicateType string `json:"predicate_type"`
	// BuilderID is runDetails.builder.id (v1) or builder.id (v0.2).
	BuilderID string `json:"builder_id"`
	// BuildType is buildDefinition.buildType (v1) or buildType (v0.2).
	BuildType string `json:"build_type"`
	// Source is where the build's instructions came from, when known.
	Source *Source `json:"source,omitempty"`
	// ExternalParameters is buildDefinition.externalParameters (v1) or
	// invocation.parameters (v0.2), raw.
	ExternalParameters json.RawMessage `json:"external_parameters,omitempty"`
	// Materials are resolvedDependencies (v1) or materials (v0.2).
	Materials []Material `json:"materials,omitempty"`
}

// Source is the source repository of a build.
type Source struct {
	// Repository is the repository URI without the "git+" scheme prefix
	// and without "@ref", e.g. https://github.com/acme/app.
	Repository string `json:"repository"`
	// Ref is the git ref, e.g. refs/heads/main, when known.
	Ref string `json:"ref,omitempty"`
	// Digest is the source's digest, e.g. {"gitCommit": "…"} or {"sha1": "…"}.
	Digest map[string]string `json:"digest,omitempty"`
	// EntryPoint is v0.2's invocation.configSource.entryPoint or v1's
	// externalParameters.workflow.path.
	EntryPoint string `json:"entry_point,omitempty"`
}

// Material is one input of a build.
type Material struct {
	URI    string            `json:"uri,omitempty"`
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// GitHubActionsBuildType is the SLSA v1 build type of GitHub Actions
// workflows (slsa-github-generator and GitHub's artifact attestations).
const GitHubActionsBuildType = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"

type provV1 struct {
	BuildDefinition *struct {
		BuildType            string          `json:"buildType"`
		ExternalParameters   json.RawMessage `json:"externalParameters"`
		InternalParameters   json.RawMessage `json:"internalParameters"`
		ResolvedDependencies []wireMaterial  `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails *struct {
		Builder *struct {
			ID                  string          `json:"id"`
			Version             json.RawMessage `json:"version"`
			BuilderDependencies json.RawMessage `json:"builderDependencies"`
		} `json:"builder"`
		Metadata   json.RawMessage `json:"metadata"`
		Byproducts json.RawMessage `json:"byproducts"`
	} `json:"runDetails"`
}

type wireMaterial struct {
	URI              string            `json:"uri"`
	Name             string            `json:"name"`
	Digest           map[string]string `json:"digest"`
	Content          []byte            `json:"content"`
	DownloadLocation string            `json:"downloadLocation"`
	MediaType        string            `json:"mediaType"`
	Annotations      json.RawMessage   `json:"annotations"`
}

type provV02 struct {
	Builder *struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType  string `json:"buildType"`
	Invocation *struct {
		ConfigSource *struct {
			URI        string            `json:"uri"`
			Digest     map[string]string `json:"digest"`
			EntryPoint string            `json:"entryPoint"`
		} `json:"configSource"`
		Parameters  json.RawMessage `json:"parameters"`
		Environment json.RawMessage `json:"environment"`
	} `json:"invocation"`
	BuildConfig json.RawMessage `json:"buildConfig"`
	Metadata    json.RawMessage `json:"metadata"`
	Materials   []wireMaterial  `json:"materials"`
}

// IsProvenance reports whether predicateType is a SLSA provenance version
// ParseProvenance reads.
func IsProvenance(predicateType string) bool {
	return predicateType == PredicateSLSAProvenanceV1 || predicateType == PredicateSLSAProvenanceV02
}

// ParseProvenance decodes a SLSA provenance predicate (v1 or v0.2) within
// DefaultLimits. Required fields (builder id, build type; v1 also
// externalParameters) missing are errors naming the field; unknown fields
// are refused at the levels SLSA defines.
func ParseProvenance(predicateType string, predicate []byte) (*Provenance, error) {
	l := DefaultLimits
	if err := checkJSON("SLSA provenance", predicate, l); err != nil {
		return nil, err
	}
	switch predicateType {
	case PredicateSLSAProvenanceV1:
		return parseV1(predicate)
	case PredicateSLSAProvenanceV02:
		return parseV02(predicate)
	}
	return nil, malformed("SLSA provenance", "predicateType %q is not SLSA provenance v0.2 or v1", predicateType)
}

func parseV1(data []byte) (*Provenance, error) {
	const what = "SLSA provenance v1"
	var w provV1
	if err := decodeStrict(what, data, &w, false); err != nil {
		return nil, err
	}
	if w.BuildDefinition == nil {
		return nil, malformed(what, "field buildDefinition is missing")
	}
	if w.RunDetails == nil || w.RunDetails.Builder == nil || w.RunDetails.Builder.ID == "" {
		return nil, malformed(what, "field runDetails.builder.id is missing or empty")
	}
	bd := w.BuildDefinition
	if bd.BuildType == "" {
		return nil, malformed(what, "field buildDefinition.buildType is missing or empty")
	}
	if !isObject(bd.ExternalParameters) {
		return nil, malformed(what, "field buildDefinition.externalParameters is missing or not an object")
	}
	p := &Provenance{
		PredicateType:      PredicateSLSAProvenanceV1,
		BuilderID:          w.RunDetails.Builder.ID,
		BuildType:          bd.BuildType,
		ExternalParameters: bd.ExternalParameters,
		Materials:          materials(bd.ResolvedDependencies),
	}
	// GitHub Actions: externalParameters.workflow.{repository,ref,path}.
	var ext struct {
		Workflow *struct {
			Repository string `json:"repository"`
			Ref        string `json:"ref"`
			Path       string `json:"path"`
		} `json:"workflow"`
	}
	if err := json.Unmarshal(bd.ExternalParameters, &ext); err == nil && ext.Workflow != nil && ext.Workflow.Repository != "" {
		p.Source = &Source{Repository: ext.Workflow.Repository, Ref: ext.Workflow.Ref, EntryPoint: ext.Workflow.Path}
		for _, m := range p.Materials {
			if repo, _ := splitSourceURI(m.URI); repo == p.Source.Repository {
				p.Source.Digest = m.Digest
				break
			}
		}
		return p, nil
	}
	// Otherwise the first resolved dependency that names a source (git+…).
	for _, m := range p.Materials {
		if strings.HasPrefix(m.URI, "git+") {
			repo, ref := splitSourceURI(m.URI)
			p.Source = &Source{Repository: repo, Ref: ref, Digest: m.Digest}
			break
		}
	}
	return p, nil
}

func parseV02(data []byte) (*Provenance, error) {
	const what = "SLSA provenance v0.2"
	var w provV02
	if err := decodeStrict(what, data, &w, false); err != nil {
		return nil, err
	}
	if w.Builder == nil || w.Builder.ID == "" {
		return nil, malformed(what, "field builder.id is missing or empty")
	}
	if w.BuildType == "" {
		return nil, malformed(what, "field buildType is missing or empty")
	}
	p := &Provenance{PredicateType: PredicateSLSAProvenanceV02, BuilderID: w.Builder.ID, BuildType: w.BuildType, Materials: materials(w.Materials)}
	if inv := w.Invocation; inv != nil {
		if len(inv.Parameters) > 0 && string(inv.Parameters) != "null" {
			if !isObject(inv.Parameters) {
				return nil, malformed(what, "field invocation.parameters is not an object")
			}
			p.ExternalParameters = inv.Parameters
		}
		if cs := inv.ConfigSource; cs != nil && cs.URI != "" {
			repo, ref := splitSourceURI(cs.URI)
			p.Source = &Source{Repository: repo, Ref: ref, Digest: cs.Digest, EntryPoint: cs.EntryPoint}
		}
	}
	return p, nil
}

func materials(in []wireMaterial) []Material {
	var out []Material
	for _, m := range in {
		out = append(out, Material{URI: m.URI, Name: m.Name, Digest: m.Digest})
	}
	return out
}

// splitSourceURI splits "git+https://github.com/acme/app@refs/heads/main"
// into the repository (scheme prefix "git+" dropped) and the ref.
func splitSourceURI(uri string) (repo, ref string) {
	uri = strings.TrimPrefix(uri, "git+")
	// The ref follows the last '@' after the host (user@host is not a ref).
	if i := strings.LastIndex(uri, "@"); i > strings.Index(uri, "://")+3 && strings.Contains(uri[:i], "/") {
		if j := strings.Index(uri, "://"); j < 0 || strings.Contains(uri[j+3:i], "/") {
			return uri[:i], uri[i+1:]
		}
	}
	return uri, ""
}

func isObject(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return strings.HasPrefix(s, "{")
}
