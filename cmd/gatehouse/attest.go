package main

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/gates"
)

// Wiring of attest/oci: the "signatures" and "provenance" collectors, the
// resolver (tags to digests, files hashed) and the VSA attester of
// `gatehouse check --attest --key KEY`.
func init() {
	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		p, err := gatePolicy(env, "signature")
		return &oci.SignaturesCollector{Client: oci.New(oci.Options{}), Policy: p, PolicyErr: err}, nil
	})
	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		p, err := gatePolicy(env, "provenance", "signature")
		return &oci.ProvenanceCollector{Client: oci.New(oci.Options{}), Policy: p, PolicyErr: err}, nil
	})
	resolverFactory = func(collectorEnv) (gates.Resolver, error) {
		return &oci.Resolver{Client: oci.New(oci.Options{})}, nil
	}
	attesterFactory = func(key string, _ collectorEnv) (attester, error) {
		s, err := oci.LoadSigner(key)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		return &oci.Attester{Client: oci.New(oci.Options{}), Signer: s}, nil
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
