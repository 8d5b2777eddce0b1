package netpol

import (
	"fmt"
	"log/slog"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
)

// validationCluster is the cluster name Parse needs; it only shapes the
// internal form of the rules, never what is written.
const validationCluster = "default"

var discard = slog.New(slog.DiscardHandler)

// Validate runs Cilium's own checks on a policy, on a copy (Sanitize
// rewrites selectors into Cilium's internal form):
// CiliumNetworkPolicy.Parse, which is what the Cilium agent runs when the
// policy arrives, and which calls api.Rule.Sanitize on the spec (and each
// of specs) before turning it into rules. A policy without a namespace is
// checked as if in "default" (kubectl apply -n gives it one).
func Validate(cnp *ciliumv2.CiliumNetworkPolicy) error {
	if cnp == nil || (cnp.Spec == nil && len(cnp.Specs) == 0) {
		return fmt.Errorf("cilium validation: empty policy")
	}
	c := cnp.DeepCopy()
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	rules, err := c.Parse(discard, validationCluster)
	if err != nil {
		return fmt.Errorf("cilium validation (CiliumNetworkPolicy.Parse, Rule.Sanitize): %w", err)
	}
	if len(rules) == 0 {
		return fmt.Errorf("cilium validation: Parse returned no rules")
	}
	return nil
}
