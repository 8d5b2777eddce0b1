package netpol

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/policy/api"
	"github.com/google/go-cmp/cmp"
	sigsyaml "sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the generator")

type goldenCase struct {
	name       string
	specs      []string
	config     string
	namespace  string
	kubeAPI    bool
	warnings   []string // substrings, one per expected warning, in order
	policies   []string // workload names, in order
	ingressOff []string // workloads that must have no ingress rule at all
}

var goldenCases = []goldenCase{
	{name: "web", specs: []string{"web.score.yaml"}, namespace: "shop", policies: []string{"checkout"}},
	{name: "worker", specs: []string{"worker.score.yaml"}, namespace: "media", policies: []string{"thumbnailer"},
		warnings: []string{"resource archive: no literal host under params or metadata keys host, endpoint"}, ingressOff: []string{"thumbnailer"}},
	{name: "batch", specs: []string{"batch.score.yaml"}, policies: []string{"nightly-report"}, ingressOff: []string{"nightly-report"}},
	{name: "service-port", specs: []string{"frontend.score.yaml", "backend.score.yaml"}, namespace: "shop", policies: []string{"backend", "frontend"}},
	{name: "service-port-peer-missing", specs: []string{"frontend.score.yaml"}, namespace: "shop", policies: []string{"frontend"},
		warnings: []string{"resource api: workload backend is not among the specs given"}},
	{name: "custom", specs: []string{"custom.score.yaml"}, config: "custom.config.yaml", namespace: "ledger", kubeAPI: true, policies: []string{"ledger"}},
}

func (c goldenCase) generate(t testing.TB) (*Result, []byte) {
	t.Helper()
	o := Options{Namespace: c.namespace, AllowKubeAPIServer: c.kubeAPI}
	if c.config != "" {
		cfg, err := LoadConfig(filepath.Join("testdata", c.config))
		if err != nil {
			t.Fatal(err)
		}
		o.Config = cfg
	}
	var paths []string
	for _, s := range c.specs {
		paths = append(paths, filepath.Join("testdata", s))
	}
	res, err := GenerateFiles(context.Background(), paths, o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return res, buf.Bytes()
}

// TestGolden compares the output with testdata/<case>.golden.yaml (go
// test -update rewrites them) and checks what must hold whatever the
// golden file says.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			res, got := c.generate(t)
			golden := filepath.Join("testdata", c.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s differs (-want +got):\n%s", golden, d)
			}
			// The same input gives the same bytes.
			if _, again := c.generate(t); !bytes.Equal(got, again) {
				t.Error("a second run wrote different bytes")
			}
			var names []string
			for _, p := range res.Policies {
				names = append(names, p.Workload)
			}
			if d := cmp.Diff(c.policies, names); d != "" {
				t.Errorf("policies (-want +got):\n%s", d)
			}
			if len(res.Warnings) != len(c.warnings) {
				t.Errorf("warnings %v, want %d", res.Warnings, len(c.warnings))
			}
			for i, w := range res.Warnings {
				if i < len(c.warnings) && !strings.Contains(w.String(), c.warnings[i]) {
					t.Errorf("warning %d %q, want it to contain %q", i, w, c.warnings[i])
				}
			}
			for _, p := range res.Policies {
				checkInvariants(t, p, c.kubeAPI, slices.Contains(c.ingressOff, p.Workload))
			}
			roundTrip(t, got, res)
		})
	}
}

// checkInvariants: default deny both ways, DNS first, nothing to the world.
func checkInvariants(t *testing.T, p Policy, kubeAPI, noIngress bool) {
	t.Helper()
	r := p.CNP.Spec
	if r == nil || r.EnableDefaultDeny.Ingress == nil || !*r.EnableDefaultDeny.Ingress || r.EnableDefaultDeny.Egress == nil || !*r.EnableDefaultDeny.Egress {
		t.Errorf("%s: enableDefaultDeny is not ingress+egress true", p.Workload)
		return
	}
	if got := r.EndpointSelector.MatchLabels["app.kubernetes.io/name"]; got != p.Workload {
		t.Errorf("%s: selects app.kubernetes.io/name=%q", p.Workload, got)
	}
	if noIngress && len(r.Ingress) > 0 {
		t.Errorf("%s: has ingress rules, want none", p.Workload)
	}
	if len(r.Egress) == 0 || len(r.Egress[0].ToPorts) != 1 || r.Egress[0].ToPorts[0].Rules == nil || len(r.Egress[0].ToPorts[0].Rules.DNS) == 0 {
		t.Fatalf("%s: first egress rule is not the DNS rule", p.Workload)
	}
	sawAPI := false
	for i, e := range r.Egress {
		for _, ent := range e.ToEntities {
			switch ent {
			case api.EntityWorld, api.EntityAll, api.EntityWorldIPv4, api.EntityWorldIPv6:
				t.Errorf("%s: egress %d to entity %s", p.Workload, i, ent)
			case api.EntityKubeAPIServer:
				sawAPI = true
				continue
			}
		}
		if len(e.ToCIDR)+len(e.ToCIDRSet) > 0 {
			t.Errorf("%s: egress %d to CIDRs", p.Workload, i)
		}
		if len(e.ToPorts) == 0 && !slices.Contains(e.ToEntities, api.EntityKubeAPIServer) {
			t.Errorf("%s: egress %d allows every port", p.Workload, i)
		}
	}
	if sawAPI != kubeAPI {
		t.Errorf("%s: kube-apiserver egress %v, want %v", p.Workload, sawAPI, kubeAPI)
	}
	for i, in := range r.Ingress {
		if len(in.ToPorts) == 0 {
			t.Errorf("%s: ingress %d allows every port", p.Workload, i)
		}
		for _, ent := range in.FromEntities {
			if ent != api.EntityIngress {
				t.Errorf("%s: ingress %d from entity %s", p.Workload, i, ent)
			}
		}
	}
}

// roundTrip reads the written YAML back into Cilium's own type, strictly
// (an unknown field fails), checks it with Cilium's validation in the
// test itself, and requires it to equal what was generated.
func roundTrip(t *testing.T, out []byte, res *Result) {
	t.Helper()
	for _, bad := range []string{"status:", "creationTimestamp", "\t"} {
		if bytes.Contains(out, []byte(bad)) {
			t.Errorf("output holds %q", bad)
		}
	}
	docs := splitDocs(out)
	if len(docs) != len(res.Policies) {
		t.Fatalf("%d YAML documents for %d policies", len(docs), len(res.Policies))
	}
	for i, doc := range docs {
		var cnp ciliumv2.CiliumNetworkPolicy
		if err := sigsyaml.UnmarshalStrict(doc, &cnp); err != nil {
			t.Fatalf("document %d does not read back into ciliumv2.CiliumNetworkPolicy: %v", i, err)
		}
		if cnp.APIVersion != "cilium.io/v2" || cnp.Kind != "CiliumNetworkPolicy" {
			t.Errorf("document %d: %s %s", i, cnp.APIVersion, cnp.Kind)
		}
		// Cilium's validation, called here and not only in the generator.
		if err := cnp.Spec.DeepCopy().Sanitize(); err != nil {
			t.Errorf("document %d: Rule.Sanitize: %v", i, err)
		}
		c := cnp.DeepCopy()
		if c.Namespace == "" {
			c.Namespace = "default"
		}
		rules, err := c.Parse(discard, "default")
		if err != nil || len(rules) != 1 {
			t.Errorf("document %d: CiliumNetworkPolicy.Parse: %d rules, %v", i, len(rules), err)
		}
		gen := res.Policies[i].CNP
		// JSON, not Rule.DeepEqual: that compares the selectors' cached
		// strings, which only constructors fill in.
		rj, _ := json.Marshal(cnp.Spec)
		gj, _ := json.Marshal(gen.Spec)
		if cnp.Name != gen.Name || cnp.Namespace != gen.Namespace || !bytes.Equal(rj, gj) {
			t.Errorf("document %d read back differs from the generated policy:\n%s\n%s", i, rj, gj)
		}
		again, err := MarshalPolicy(&cnp)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(stripComments(doc)), string(again)); d != "" {
			t.Errorf("document %d does not re-marshal to itself (-written +again):\n%s", i, d)
		}
	}
}

func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for d := range bytes.SplitSeq(b, []byte("\n---\n")) {
		out = append(out, d)
	}
	return out
}

func stripComments(b []byte) []byte {
	var out []byte
	for l := range bytes.Lines(b) {
		if !bytes.HasPrefix(l, []byte("#")) {
			out = append(out, l...)
		}
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}
