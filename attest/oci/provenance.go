package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// SLSA provenance predicate types understood by ParseStatement.
const (
	SLSAProvenanceV1  = "https://slsa.dev/provenance/v1"
	SLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"
	SLSAProvenanceV01 = "https://slsa.dev/provenance/v0.1"
)

// ProvenanceEvidence is input.evidence.provenance.
type ProvenanceEvidence struct {
	Schema       string                  `json:"schema"`
	Digest       string                  `json:"digest"`
	Attestations []ProvenanceAttestation `json:"attestations"`
}

// ProvenanceAttestation is one attestation of the subject. SLSA provenance
// is mapped to builder_id, build_type, source and external_parameters; any
// other predicate is passed on raw in predicate.
type ProvenanceAttestation struct {
	PredicateType      string         `json:"predicate_type"`
	Format             string         `json:"format"`
	Verified           bool           `json:"verified"`
	Key                string         `json:"key,omitempty"`
	Identity           string         `json:"identity,omitempty"`
	Issuer             string         `json:"issuer,omitempty"`
	BuilderID          string         `json:"builder_id,omitempty"`
	BuildType          string         `json:"build_type,omitempty"`
	Source             *Source        `json:"source,omitempty"`
	ExternalParameters map[string]any `json:"external_parameters,omitempty"`
	Predicate          map[string]any `json:"predicate,omitempty"`
	Location           string         `json:"location,omitempty"`
	Error              string         `json:"error,omitempty"`
}

// Source is where a build's sources came from.
type Source struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// Provenance collects and verifies the attestations of d and maps SLSA
// provenance for the provenance gate.
func (c *Client) Provenance(ctx context.Context, d name.Digest, p *Policy) (*ProvenanceEvidence, error) {
	atts, err := c.Attestations(ctx, d, p, "")
	if err != nil {
		return nil, err
	}
	ev := &ProvenanceEvidence{Schema: ProvenanceSchema, Digest: d.DigestStr(), Attestations: []ProvenanceAttestation{}}
	for _, a := range atts {
		pa := ProvenanceAttestation{PredicateType: a.PredicateType, Format: a.Format, Verified: a.Verified,
			Key: a.Key, Identity: a.Identity, Issuer: a.Issuer, Location: a.Location, Error: a.Error}
		if a.Verified {
			if err := pa.fill(a.Statement); err != nil {
				pa.Verified, pa.Error = false, err.Error()
			}
		}
		ev.Attestations = append(ev.Attestations, pa)
	}
	return ev, nil
}

// Statement is an in-toto statement (v0.1 or v1).
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is an in-toto subject.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Limits of ParseStatement.
const (
	maxSubjects  = 1024
	maxJSONDepth = 64
)

// ParseStatement reads an in-toto statement, with limits on size, nesting
// and subject count.
func ParseStatement(data []byte) (*Statement, error) {
	if len(data) > MaxPayloadBytes {
		return nil, fmt.Errorf("in-toto statement is %d bytes, more than the %d byte limit", len(data), MaxPayloadBytes)
	}
	if err := checkDepth(data, maxJSONDepth); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	var st Statement
	if err := jsonUnmarshalLimited(data, &st); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	switch st.Type {
	case "https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1":
	default:
		return nil, fmt.Errorf("in-toto statement: _type %q is not an in-toto statement type", st.Type)
	}
	if st.PredicateType == "" {
		return nil, errors.New("in-toto statement: predicateType is missing")
	}
	if len(st.Subject) == 0 {
		return nil, errors.New("in-toto statement: no subject")
	}
	if len(st.Subject) > maxSubjects {
		return nil, fmt.Errorf("in-toto statement: %d subjects, more than the limit of %d", len(st.Subject), maxSubjects)
	}
	return &st, nil
}

// checkDepth refuses JSON nested deeper than max (a cheap scan that ignores
// brackets inside strings).
func checkDepth(data []byte, max int) error {
	depth, inStr, esc := 0, false, false
	for _, b := range data {
		switch {
		case esc:
			esc = false
		case inStr:
			if b == '\\' {
				esc = true
			} else if b == '"' {
				inStr = false
			}
		case b == '"':
			inStr = true
		case b == '{' || b == '[':
			depth++
			if depth > max {
				return fmt.Errorf("nested more than %d levels deep", max)
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return nil
}

// fill maps a verified statement into the attestation.
func (pa *ProvenanceAttestation) fill(stmt []byte) error {
	st, err := ParseStatement(stmt)
	if err != nil {
		return err
	}
	pa.PredicateType = st.PredicateType
	switch st.PredicateType {
	case SLSAProvenanceV1:
		var p struct {
			BuildDefinition struct {
				BuildType            string         `json:"buildType"`
				ExternalParameters   map[string]any `json:"externalParameters"`
				ResolvedDependencies []struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder struct {
					ID string `json:"id"`
				} `json:"builder"`
			} `json:"runDetails"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return fmt.Errorf("SLSA v1 provenance predicate: %w", err)
		}
		pa.BuilderID = p.RunDetails.Builder.ID
		pa.BuildType = p.BuildDefinition.BuildType
		pa.ExternalParameters = p.BuildDefinition.ExternalParameters
		if len(p.BuildDefinition.ResolvedDependencies) > 0 {
			dep := p.BuildDefinition.ResolvedDependencies[0]
			pa.Source = sourceFromURI(dep.URI, dep.Digest)
		}
		// GitHub's generators name the workflow's repository and ref.
		if wf, ok := p.BuildDefinition.ExternalParameters["workflow"].(map[string]any); ok {
			repo, _ := wf["repository"].(string)
			ref, _ := wf["ref"].(string)
			if repo != "" && pa.Source == nil {
				pa.Source = &Source{Repository: normalizeRepo(repo), Ref: ref}
			}
		}
	case SLSAProvenanceV02, SLSAProvenanceV01:
		var p struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			BuildType  string `json:"buildType"`
			Invocation struct {
				ConfigSource struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"configSource"`
				Parameters map[string]any `json:"parameters"`
			} `json:"invocation"`
			Recipe struct { // v0.1
				Type string `json:"type"`
			} `json:"recipe"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return fmt.Errorf("SLSA v0.2 provenance predicate: %w", err)
		}
		pa.BuilderID = p.Builder.ID
		pa.BuildType = p.BuildType
		if pa.BuildType == "" {
			pa.BuildType = p.Recipe.Type
		}
		pa.ExternalParameters = p.Invocation.Parameters
		if p.Invocation.ConfigSource.URI != "" {
			pa.Source = sourceFromURI(p.Invocation.ConfigSource.URI, p.Invocation.ConfigSource.Digest)
		}
	default:
		var m map[string]any
		if len(st.Predicate) > 0 && string(st.Predicate) != "null" {
			if err := json.Unmarshal(st.Predicate, &m); err != nil {
				return fmt.Errorf("predicate of type %s is not a JSON object: %w", st.PredicateType, err)
			}
		}
		pa.Predicate = m
	}
	return nil
}

// sourceFromURI splits "git+https://github.com/o/r@refs/heads/main".
func sourceFromURI(uri string, digest map[string]string) *Source {
	if uri == "" {
		return nil
	}
	s := &Source{}
	u := strings.TrimPrefix(uri, "git+")
	if i := strings.LastIndex(u, "@"); i > strings.Index(u, "://")+2 && i > 0 {
		u, s.Ref = u[:i], u[i+1:]
	}
	s.Repository = normalizeRepo(u)
	for _, alg := range []string{"gitCommit", "sha1", "sha256"} {
		if v := digest[alg]; v != "" {
			s.Digest = alg + ":" + v
			break
		}
	}
	return s
}

func normalizeRepo(r string) string {
	return strings.TrimSuffix(strings.TrimSuffix(r, "/"), ".git")
}
