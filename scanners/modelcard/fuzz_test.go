package modelcard

import (
	"encoding/json"
	"os"
	"testing"
)

func seed(f *testing.F, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func checkEvidence(t *testing.T, ev Evidence) {
	if len(ev.Sections) != len(SectionNames) {
		t.Fatalf("sections has %d keys, want %d", len(ev.Sections), len(SectionNames))
	}
	for name, s := range ev.Sections {
		if s.Present && s.Source == "" {
			t.Fatalf("section %s present without a source", name)
		}
	}
	if _, err := json.Marshal(ev); err != nil {
		t.Fatalf("evidence does not marshal: %v", err)
	}
}

// FuzzFrontMatter feeds Markdown cards (front matter and sections).
func FuzzFrontMatter(f *testing.F) {
	seed(f, "testdata/full/README.md")
	seed(f, "testdata/autogen/README.md")
	f.Add([]byte("---\nmodel-index: [{results: [{metrics: [{value: 1}]}]}]\n---\n## Evaluation\n- A: 1\n"))
	f.Add([]byte("---\na: &x [*x, *x]\n---\n"))
	f.Add([]byte("```\n## Uses\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseMarkdown("README.md", data, Limits{MaxCardBytes: 1 << 20, MaxFrontMatterBytes: 64 << 10, MaxMetrics: 100, ExcerptBytes: 200})
		if err != nil {
			return
		}
		checkEvidence(t, ev)
	})
}

func FuzzModelCardJSON(f *testing.F) {
	seed(f, "testdata/mct/model_card.json")
	f.Add([]byte(`{"model_parameters":{"data":{"train":{"name":"x"}}},"considerations":{"users":["a b c"]}}`))
	f.Add([]byte(`{"quantitative_analysis":{"performance_metrics":[{"type":"a","value":"1"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseJSON("model_card.json", data, Limits{})
		if err != nil {
			return
		}
		checkEvidence(t, ev)
	})
}
