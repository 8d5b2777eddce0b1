package gates_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/policies"
)

// benchSetup is one decision with the default bundle and configuration:
// an image in prod, evidence for each gate prod requires of images.
func benchSetup(tb testing.TB) (*gates.Engine, gates.Request) {
	tb.Helper()
	b, err := policies.FS.ReadFile("gatehouse.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := gates.ParseConfig("default", b, "")
	if err != nil {
		tb.Fatal(err)
	}
	e, err := gates.New(gates.WithConfig(cfg), gates.WithDefaultPolicies(policies.FS))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile("../testdata/sonarqube/error.json")
	if err != nil {
		tb.Skipf("sonarqube fixture not present yet: %v", err)
	}
	// As `gatehouse check --evidence sonarqube=FILE` hands it over: the
	// parsed evidence encoded once per run.
	var sonar map[string]any
	if err := json.Unmarshal(raw, &sonar); err != nil {
		tb.Fatal(err)
	}
	encoded, err := json.Marshal(sonar)
	if err != nil {
		tb.Fatal(err)
	}
	req := gates.Request{
		Subject:     gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api@sha256:0123", Digest: "sha256:0123"},
		Environment: "dev",
		Evidence:    map[string]any{"sonarqube": json.RawMessage(encoded)},
	}
	if _, err := e.Decide(context.Background(), req); err != nil {
		tb.Fatal(err)
	}
	return e, req
}

// BenchmarkDecide is one decision on a warm engine (target: median ≤ 200 µs).
func BenchmarkDecide(b *testing.B) {
	e, req := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d, err := e.Decide(ctx, req)
		if err != nil || d.Allowed {
			b.Fatalf("decision %+v, err %v: the fixture must deny", d, err)
		}
	}
}

// TestWriteBenchInput writes the input, data and query of BenchmarkDecide
// for `opa bench` (scripts/bench-decide.sh), so both evaluate the same
// policy on the same input in the same run.
func TestWriteBenchInput(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_BENCH_DIR")
	if dir == "" {
		t.Skip("GATEHOUSE_BENCH_DIR not set: only scripts/bench-decide.sh needs these files")
	}
	e, req := benchSetup(t)
	_, gs, err := e.GatesFor(req)
	if err != nil {
		t.Fatal(err)
	}
	input := map[string]any{
		"subject":  req.Subject,
		"evidence": req.Evidence,
		"context":  map[string]any{"environment": "dev", "time": "2026-11-26T12:00:00Z"},
	}
	b, err := os.ReadFile("../policies/gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gates.ParseConfig("default", b, "")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"gatehouse": map[string]any{"config": cfg.Data("dev")}}
	query := ""
	for i, g := range gs {
		if i > 0 {
			query += "; "
		}
		query += "deny_" + g + " := [x | some x in data.gatehouse.gates." + g + ".deny]; warn_" + g + " := [x | some x in data.gatehouse.gates." + g + ".warn]"
	}
	for name, v := range map[string]any{"input.json": input, "data.json": data} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), j, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "query.txt"), []byte(query), 0o644); err != nil {
		t.Fatal(err)
	}
}
