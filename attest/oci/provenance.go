package oci

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/google/go-containerregistry/pkg/name"
)

// SLSA provenance predicate types mapped into provenance evidence.
const (
	SLSAProvenanceV1  = attest.PredicateSLSAProvenanceV1
	SLSAProvenanceV02 = attest.PredicateSLSAProvenanceV02
)

// ProvenanceEvidence is input.evidence.provenance.
type ProvenanceEvidence struct {
	Schema       string                  `json:"schema"`
	Digest       string                  `json:"digest"`
	Attestations []ProvenanceAttestation `json:"attestations"`
}

// ProvenanceAttestation is one attestation of the subject. SLSA provenance
// (v1, v0.2) is mapped by attest.ParseProvenance to builder_id, build_type,
// source, external_parameters and materials; any other predicate is passed
// on raw in predicate.
type ProvenanceAttestation struct {
	PredicateType      string            `json:"predicate_type"`
	Format             string            `json:"format"`
	Verified           bool              `json:"verified"`
	Key                string            `json:"key,omitempty"`
	Identity           string            `json:"identity,omitempty"`
	Issuer             string            `json:"issuer,omitempty"`
	BuilderID          string            `json:"builder_id,omitempty"`
	BuildType          string            `json:"build_type,omitempty"`
	Source             *attest.Source    `json:"source,omitempty"`
	ExternalParameters json.RawMessage   `json:"external_parameters,omitempty"`
	Materials          []attest.Material `json:"materials,omitempty"`
	Predicate          map[string]any    `json:"predicate,omitempty"`
	Location           string            `json:"location,omitempty"`
	Error              string            `json:"error,omitempty"`
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

// fill maps a verified statement into the attestation.
func (pa *ProvenanceAttestation) fill(stmt []byte) error {
	st, err := attest.ParseStatement(stmt)
	if err != nil {
		return err
	}
	pa.PredicateType = st.PredicateType
	if attest.IsProvenance(st.PredicateType) {
		p, err := attest.ParseProvenance(st.PredicateType, st.Predicate)
		if err != nil {
			return err
		}
		pa.BuilderID, pa.BuildType, pa.Source = p.BuilderID, p.BuildType, p.Source
		pa.ExternalParameters, pa.Materials = p.ExternalParameters, p.Materials
		return nil
	}
	var m map[string]any
	if len(st.Predicate) > 0 && string(st.Predicate) != "null" {
		if err := json.Unmarshal(st.Predicate, &m); err != nil {
			return fmt.Errorf("predicate of type %s is not a JSON object: %w", st.PredicateType, err)
		}
	}
	pa.Predicate = m
	return nil
}
