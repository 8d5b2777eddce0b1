package netpol

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/score"
)

// FuzzParseConfig: any input is accepted or refused with an error, never
// a panic; and every configuration it accepts yields policies for a real
// spec that Cilium's validation accepts (Generate validates each one).
func FuzzParseConfig(f *testing.F) {
	seed, err := os.ReadFile("testdata/custom.config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	for _, s := range []string{
		"workloadLabel: app\n",
		"types:\n  nats: {peer: cluster, ports: [{port: 4222, endPort: 4230, protocol: UDP}]}\n",
		"types:\n  db: {peer: endpoints, matchLabels: {k8s:io.kubernetes.pod.namespace: db}, ports: [{port: 5432}]}\n",
		"types:\n  s3: {peer: fqdn, hostKeys: [host], ports: [{port: 443}]}\n",
		"dns:\n  matchLabels: {k8s-app: coredns}\n  matchPattern: \"*.cluster.local\"\n",
		"ingress:\n  routeTypes: [route, dns]\n  gatewayNamespaces: [gw]\n",
		"matchLabels: {tier: web}\n",
		"a: &a [x, *a]\n",
		"types: {x: {peer: none}}\n",
	} {
		f.Add([]byte(s))
	}
	specs := []*score.Spec{}
	for _, p := range []string{"testdata/web.score.yaml", "testdata/custom.score.yaml", "testdata/worker.score.yaml"} {
		s, err := score.LoadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		specs = append(specs, s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("a config came back with an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted what Validate refuses: %v", err)
		}
		for _, s := range specs {
			// An unknown type is the spec's problem, not the config's;
			// anything else means an accepted config produced a policy
			// Cilium refuses.
			if _, err := Generate([]*score.Spec{s}, Options{Config: c, Namespace: "ns"}); err != nil && !isUnknownType(err) {
				t.Fatalf("%s: %v\nconfig:\n%s", s.Path, err, data)
			}
		}
	})
}

func isUnknownType(err error) bool {
	return err != nil && strings.Contains(err.Error(), "has no network mapping")
}
