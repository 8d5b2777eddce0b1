package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	provv1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	slsa02 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
)

// Provenance is SLSA provenance (v0.2 or v1) reduced to what gates read:
// gatehouse's view of the in-toto types ParseProvenance reads it with.
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

// IsProvenance reports whether predicateType is a SLSA provenance version
// ParseProvenance reads.
func IsProvenance(predicateType string) bool {
	return predicateType == PredicateSLSAProvenanceV1 || predicateType == PredicateSLSAProvenanceV02
}

var provenanceV1Desc = (&provv1.Provenance{}).ProtoReflect().Descriptor()

// ParseProvenance decodes a SLSA provenance predicate (v1 or v0.2) within
// DefaultLimits, with the in-toto project's types: v1 with
// github.com/in-toto/attestation's provenance/v1 binding (protojson, then
// its Validate), v0.2 with in-toto-golang's slsa_provenance/v0.2 (the
// types cosign writes it with). Required fields (builder id, build type;
// v1 also externalParameters) missing are errors naming the field; unknown
// fields are ignored, as in-toto's parsing rules say.
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
	top, err := checkNames(what, "", data, provenanceV1Desc)
	if err != nil {
		return nil, err
	}
	// externalParameters is kept raw (byte for byte as signed); checkNames
	// made sure it is the member protojson reads.
	var ext json.RawMessage
	if bd := memberOf(top, "buildDefinition"); isObject(bd) {
		bdm, err := jsonMembers(what, "buildDefinition.", bd)
		if err != nil {
			return nil, err
		}
		ext = memberOf(bdm, "externalParameters")
		if e := bytes.TrimSpace(ext); len(e) > 0 && e[0] != '{' && string(e) != "null" {
			return nil, malformed(what, "field buildDefinition.externalParameters is missing or not an object")
		}
	}
	var pb provv1.Provenance
	if err := protoRead(what, data, &pb); err != nil {
		return nil, err
	}
	bd, b := pb.GetBuildDefinition(), pb.GetRunDetails().GetBuilder()
	switch {
	case bd == nil:
		return nil, malformed(what, "field buildDefinition is missing")
	case b.GetId() == "":
		return nil, malformed(what, "field runDetails.builder.id is missing or empty")
	case bd.GetBuildType() == "":
		return nil, malformed(what, "field buildDefinition.buildType is missing or empty")
	case !isObject(ext):
		return nil, malformed(what, "field buildDefinition.externalParameters is missing or not an object")
	}
	if err := pb.Validate(); err != nil {
		return nil, malformed(what, "%v", err)
	}
	p := &Provenance{
		PredicateType:      PredicateSLSAProvenanceV1,
		BuilderID:          b.GetId(),
		BuildType:          bd.GetBuildType(),
		ExternalParameters: ext,
	}
	for _, rd := range bd.GetResolvedDependencies() {
		p.Materials = append(p.Materials, Material{URI: rd.GetUri(), Name: rd.GetName(), Digest: nilIfEmpty(rd.GetDigest())})
	}
	// GitHub Actions: externalParameters.workflow.{repository,ref,path}.
	if wf := bd.GetExternalParameters().GetFields()["workflow"].GetStructValue(); wf != nil {
		str := func(k string) string { return wf.GetFields()[k].GetStringValue() }
		if repo := str("repository"); repo != "" {
			p.Source = &Source{Repository: repo, Ref: str("ref"), EntryPoint: str("path")}
			for _, m := range p.Materials {
				if r, _ := splitSourceURI(m.URI); r == repo {
					p.Source.Digest = m.Digest
					break
				}
			}
			return p, nil
		}
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
	var w slsa02.ProvenancePredicate
	// UseNumber keeps the parameters' numbers as written.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, malformed(what, "%v", jsonError("", err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed(what, "trailing data after the JSON document")
	}
	if w.Builder.ID == "" {
		return nil, malformed(what, "field builder.id is missing or empty")
	}
	if w.BuildType == "" {
		return nil, malformed(what, "field buildType is missing or empty")
	}
	p := &Provenance{PredicateType: PredicateSLSAProvenanceV02, BuilderID: w.Builder.ID, BuildType: w.BuildType}
	for _, m := range w.Materials {
		p.Materials = append(p.Materials, Material{URI: m.URI, Digest: m.Digest})
	}
	inv := w.Invocation
	if inv.Parameters != nil {
		if _, ok := inv.Parameters.(map[string]any); !ok {
			return nil, malformed(what, "field invocation.parameters is not an object")
		}
		raw, err := json.Marshal(inv.Parameters)
		if err != nil {
			return nil, malformed(what, "field invocation.parameters: %v", err)
		}
		p.ExternalParameters = raw
	}
	if cs := inv.ConfigSource; cs.URI != "" {
		repo, ref := splitSourceURI(cs.URI)
		p.Source = &Source{Repository: repo, Ref: ref, Digest: cs.Digest, EntryPoint: cs.EntryPoint}
	}
	return p, nil
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
