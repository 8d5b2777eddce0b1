package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates/report"
)

// TestDecisionAPIRemoteModelOneWalk: the decision API decides a remote
// model with all its gates from one walk of the artifact per request (five
// collectors, each layer fetched once), and a second request walks it
// again (nothing is kept between requests).
func TestDecisionAPIRemoteModelOneWalk(t *testing.T) {
	addr := remoteRegistry(t)
	config, _ := sideConfig(t)
	f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("admission:\n  vsa: {require: false}\n")
	must(t, err)
	must(t, f.Close())
	counter := countingProxy(t, addr)
	_, layers, viaTag := pushCounted(t, addr, counter, sideModel(t, "MIT.txt"), "models/api-side",
		"model.pkl", "LICENSE", "README.md", "predictions.csv", "metrics.json")
	tokens := filepath.Join(t.TempDir(), "tokens")
	must(t, os.WriteFile(tokens, []byte(apiToken+" checker test\n"), 0o600))
	s := apiServer{startServe(t, "--config", config, "--check-tokens", tokens, "--check-timeout", "30s"), ""}

	body := `{"environment": "prod", "subjects": ["model:` + viaTag + `"]}`
	for round := 1; round <= 2; round++ {
		code, _, raw := s.post(t, apiToken, "application/json", body)
		var doc report.Document
		if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Results) != 1 {
			t.Fatalf("round %d: status %d, %v: %s", round, code, err, raw)
		}
		r := doc.Results[0]
		if r.Allowed || len(r.Undecided) > 0 {
			t.Fatalf("round %d: allowed %v undecided %v, want denied by the signature gate only: %s", round, r.Allowed, r.Undecided, raw)
		}
		for _, v := range r.Violations {
			if v.Gate != "signature" {
				t.Errorf("round %d: violation of %s (%s): every gate but signature should pass on this model", round, v.Gate, v.Message)
			}
		}
		for _, g := range []string{"model_scan", "license", "model_card", "fairness", "evaluation"} {
			if !strings.Contains(strings.Join(r.Gates, ","), g) {
				t.Errorf("round %d: gate %s did not run: %v", round, g, r.Gates)
			}
		}
		// Each layer once; the config blob is read when the reference is
		// pinned and again when the walk opens the pinned tree.
		counter.fetchedOnce(t, layers, fmt.Sprintf("in request %d", round))
	}
}
