package netpol

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	sigsyaml "sigs.k8s.io/yaml"
)

// crdSchema compiles the openAPIV3Schema of the CiliumNetworkPolicy CRD
// that ships in the cilium module go.mod names (what `kubectl apply`
// validates against once Cilium is installed), made strict the way
// kubectl's server-side field validation is: an object with declared
// properties takes no other keys.
func crdSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/cilium").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("cannot locate the cilium module's source to read its CRD (go list -m: %v)", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml"))
	if err != nil {
		t.Skipf("the cilium module has no CNP CRD where v1.20.2 keeps it: %v", err)
	}
	raw = bytes.TrimPrefix(raw, []byte("---\n"))
	j, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(j, &crd); err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	for _, v := range crd.Spec.Versions {
		if v.Name == "v2" {
			schema = v.Schema.OpenAPIV3Schema
		}
	}
	if schema == nil {
		t.Fatal("no v2 schema in the CRD")
	}
	strict(schema)
	sj, _ := json.Marshal(schema)
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft7
	if err := c.AddResource("cnp.json", bytes.NewReader(sj)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("cnp.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func strict(n any) {
	switch t := n.(type) {
	case map[string]any:
		if t["type"] == "object" && t["properties"] != nil && t["additionalProperties"] == nil && t["x-kubernetes-preserve-unknown-fields"] == nil {
			t["additionalProperties"] = false
		}
		for _, v := range t {
			strict(v)
		}
	case []any:
		for _, v := range t {
			strict(v)
		}
	}
}

// TestGoldenAgainstCRD: every generated document passes the schema of
// Cilium's own CRD; a misspelt field or an out-of-range port does not
// (so the check can fail).
func TestGoldenAgainstCRD(t *testing.T) {
	s := crdSchema(t)
	validate := func(doc []byte) error {
		j, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			return err
		}
		return s.Validate(v)
	}
	n := 0
	for _, c := range goldenCases {
		_, out := c.generate(t)
		for i, doc := range splitDocs(out) {
			if err := validate(doc); err != nil {
				t.Errorf("%s document %d: CRD schema: %v", c.name, i, err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no documents checked")
	}
	_, out := goldenCases[0].generate(t)
	good := splitDocs(out)[0]
	for name, bad := range map[string]string{
		"unknown field": strings.Replace(string(good), "toEndpoints:", "toEndpoint:", 1),
		"bad protocol":  strings.Replace(string(good), "protocol: TCP", "protocol: HTTP", 1),
		"bad entity":    strings.Replace(string(good), "- ingress\n", "- internet\n", 1),
	} {
		if bad == string(good) {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := validate([]byte(bad)); err == nil {
			t.Errorf("%s: the CRD schema accepted it", name)
		}
	}
}
