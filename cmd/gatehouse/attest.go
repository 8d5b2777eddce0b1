package main

import (
	"fmt"
	"sync"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/gates"
)

// ociClient is the one registry client of the process: collectors, the
// resolver and the attester share its connections and what it learnt about
// registries (e.g. which lack the referrers API).
var ociClient = sync.OnceValue(func() *oci.Client { return oci.New(oci.Options{}) })

// Wiring of attest/oci: the "signatures" and "provenance" collectors, the
// resolver (tags to digests, files hashed) and the VSA attester of
// `gatehouse check --attest --key KEY`.
func init() {
	for _, name := range []string{"signatures", "provenance"} {
		unsuppliedEvidence[name] = name + " evidence is gatehouse's own verification of the artifact and cannot be given as a file: configure the trusted keys or identities (params.signature) and let gatehouse verify"
	}
	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		p, err := gatePolicy(env, "signature")
		return &oci.SignaturesCollector{Client: ociClient(), Policy: p, PolicyErr: err}, nil
	})
	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		p, err := gatePolicy(env, "provenance", "signature")
		return &oci.ProvenanceCollector{Client: ociClient(), Policy: p, PolicyErr: err}, nil
	})
	resolverFactory = func(collectorEnv) (gates.Resolver, error) {
		return &oci.Resolver{Client: ociClient()}, nil
	}
	attesterFactory = func(o attestOptions, _ collectorEnv) (attester, error) {
		f, err := oci.ParseAttestFormat(o.format)
		if err != nil {
			return nil, fmt.Errorf("--attest-format: %w", err)
		}
		s, err := attest.LoadSigner(o.key)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		return &oci.Attester{Client: ociClient(), Signer: s, Format: f}, nil
	}
}

// gatePolicy builds the verification policy from the first of the gates'
// params that names keys or identities. A missing policy is not an error
// here: the collector records it as evidence error, and only the gates that
// need the evidence deny on it.
func gatePolicy(env collectorEnv, gatesInOrder ...string) (*oci.Policy, error) {
	if env.Config == nil {
		return nil, oci.ErrNoTrust
	}
	var lastErr error = oci.ErrNoTrust
	for _, g := range gatesInOrder {
		params := env.Config.GateParams(env.Env, g)
		if params["keys"] == nil && params["identities"] == nil {
			continue
		}
		p, err := oci.PolicyFromParams(params, env.Config.Path)
		if err != nil {
			return nil, fmt.Errorf("params.%s: %w", g, err)
		}
		return p, nil
	}
	return nil, lastErr
}
