package modelcard

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-cmp/cmp"
)

func absent(reason string) Section { return Section{Reason: reason} }

func TestScan(t *testing.T) {
	tests := []struct {
		path string
		want Evidence
	}{
		{
			path: "testdata/full",
			want: Evidence{Schema: Schema, Found: true, Source: "README.md", File: "testdata/full/README.md", Format: "huggingface", License: "apache-2.0",
				Datasets: []string{"example/transactions-2025"},
				Sections: map[string]Section{
					IntendedUse:           {Present: true, Source: "README.md section: Uses", Excerpt: "Direct Use Scoring card-present and card-not-present transactions in the payments pipeline, as one signal among several reviewed by analysts. Out-of-Scope Use"},
					TrainingData:          {Present: true, Source: "README.md front matter: datasets", Excerpt: "example/transactions-2025"},
					Evaluation:            {Present: true, Source: "README.md front matter: model-index", Excerpt: "Accuracy=0.971, F1=0.88, recall=91.2%"},
					Limitations:           {Present: true, Source: "README.md section: Bias, Risks, and Limitations", Excerpt: "The model was trained on European transactions only and under-performs on merchants outside the EU; scores drift when fraud patterns change."},
					EthicalConsiderations: {Present: true, Source: "README.md section: Ethical Considerations", Excerpt: "Decisions are never automatic: a flagged transaction goes to a human analyst, and customers can contest a block."},
				},
				Metrics: []Metric{
					{Name: "Accuracy", Value: 0.971, Dataset: "Transactions 2025 (test)", Source: "README.md front matter: model-index"},
					{Name: "F1", Value: 0.88, Dataset: "Transactions 2025 (test)", Source: "README.md front matter: model-index"},
					{Name: "recall", Value: "91.2%", Dataset: "Transactions 2025 (test)", Source: "README.md front matter: model-index"},
				}},
		},
		{
			path: "testdata/autogen",
			want: Evidence{Schema: Schema, Found: true, Source: "README.md", File: "testdata/autogen/README.md", Format: "huggingface", License: "mit",
				Sections: map[string]Section{
					IntendedUse:           absent(`heading "Intended uses & limitations" holds only a placeholder or too little text`),
					TrainingData:          absent(`heading "Training and evaluation data" holds only a placeholder or too little text`),
					Evaluation:            {Present: true, Source: "README.md: results on the evaluation set", Excerpt: "Loss=0.2301, Accuracy=0.9312, F1=93.5%"},
					Limitations:           absent(`heading "Intended uses & limitations" holds only a placeholder or too little text`),
					EthicalConsiderations: {},
				},
				Metrics: []Metric{
					{Name: "Loss", Value: 0.2301, Source: "README.md: results on the evaluation set"},
					{Name: "Accuracy", Value: 0.9312, Source: "README.md: results on the evaluation set"},
					{Name: "F1", Value: "93.5%", Source: "README.md: results on the evaluation set"},
				}},
		},
		{
			path: "testdata/mct",
			want: Evidence{Schema: Schema, Found: true, Source: "model_card.json", File: "testdata/mct/model_card.json", Format: "model-card-toolkit", License: "Apache-2.0",
				Datasets: []string{"UCI Adult (train split)", "UCI Adult (test split)"},
				Sections: map[string]Section{
					IntendedUse:           {Present: true, Source: "model_card.json: considerations.use_cases", Excerpt: "Teaching and benchmarking fairness tooling, never decisions about people"},
					TrainingData:          {Present: true, Source: "model_card.json: model_parameters.data", Excerpt: "32,561 rows of 1994 census records: UCI Adult (train split) UCI Adult (test split)"},
					Evaluation:            {Present: true, Source: "model_card.json: quantitative_analysis.performance_metrics", Excerpt: "accuracy=0.856, false positive rate=0.08"},
					Limitations:           {Present: true, Source: "model_card.json: considerations.limitations", Excerpt: "Data from 1994 does not reflect today's population or wages"},
					EthicalConsiderations: {Present: true, Source: "model_card.json: considerations.ethical_considerations", Excerpt: "Sensitive attributes such as race and sex are inputs: Report metrics per slice and review before any use"},
				},
				Metrics: []Metric{
					{Name: "accuracy", Value: 0.856, Dataset: "overall", Source: "model_card.json: quantitative_analysis.performance_metrics"},
					{Name: "false positive rate", Value: "0.08", Dataset: "sex:Female", Source: "model_card.json: quantitative_analysis.performance_metrics"},
				}},
		},
		{path: "testdata/nocard", want: empty()},
		{path: "testdata/nocard/model.safetensors", want: empty()},
		{path: "testdata/mct/model_card.json", want: Evidence{}}, // filled below: same as the folder
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := Scan(tt.path, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Schema == "" {
				if want, err = Scan(filepath.Dir(tt.path), Limits{}); err != nil {
					t.Fatal(err)
				}
			}
			want.Subject = &Subject{Path: tt.path} // the path as given
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Scan(%s) (-want +got):\n%s", tt.path, diff)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("evidence does not marshal: %v", err)
			}
		})
	}
	if _, err := Scan("testdata/missing", Limits{}); err == nil || !strings.Contains(err.Error(), "testdata/missing") {
		t.Errorf("Scan(missing) error = %v, want one naming the path", err)
	}
}

func TestParseMarkdownSections(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want map[string]bool // sections present
	}{
		{"no headings", "# Title\n\nSome words about the model here.\n", map[string]bool{}},
		{"hf template names", "## Intended Use\nFor ranking support tickets by urgency.\n## Training data\nTickets from 2024 with agent labels.\n## Evaluation results\nAccuracy was measured on 2025 tickets.\n## Limitations\nEnglish tickets only, fails on short ones.\n## Ethical considerations\nNo personal data is kept in the weights.\n",
			map[string]bool{IntendedUse: true, TrainingData: true, Evaluation: true, Limitations: true, EthicalConsiderations: true}},
		{"placeholders and comments", "## Limitations\n<!-- describe limits -->\n[More Information Needed]\n## Uses\nTBD\n", map[string]bool{}},
		{"too short", "## Limitations\nNone.\n", map[string]bool{}},
		{"heading in code", "```\n## Limitations\nthe code block says many words here\n```\n", map[string]bool{}},
		{"tilde fence", "~~~\n## Limitations\nthe code block says many words here\n~~~\n## Uses\nReal words about the intended use.\n", map[string]bool{IntendedUse: true}},
		{"closing hashes and no space", "## Limitations ##\nOnly works on daylight images.\n#Uses\nnot a heading so no section\n", map[string]bool{Limitations: true}},
		{"subsection carries parent", "## Uses\n### Direct Use\nClassifying product photos into categories.\n## Other\nx\n", map[string]bool{IntendedUse: true}},
		{"training results are not evaluation", "## Training results\nLoss went down across all epochs nicely.\n", map[string]bool{}},
		{"societal impact", "## Societal impact\nMay reinforce stereotypes in generated captions.\n", map[string]bool{EthicalConsiderations: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseMarkdown("README.md", []byte(tt.md), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for s, sec := range ev.Sections {
				if sec.Present {
					got[s] = true
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("present sections (-want +got):\n%s", diff)
			}
			if len(ev.Sections) != len(SectionNames) {
				t.Errorf("sections has %d keys, want all %d", len(ev.Sections), len(SectionNames))
			}
		})
	}
}

func TestEvaluationListMetrics(t *testing.T) {
	md := "## Evaluation\n\nOn the 2025 holdout set:\n\n- Accuracy: 0.91\n- ROC AUC: 0.955\n* Recall@10: 87%\n\n- Not a metric: high\n"
	ev, err := ParseMarkdown("README.md", []byte(md), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{Name: "Accuracy", Value: 0.91, Source: "README.md section: Evaluation"},
		{Name: "ROC AUC", Value: 0.955, Source: "README.md section: Evaluation"},
		{Name: "Recall@10", Value: "87%", Source: "README.md section: Evaluation"},
	}
	if diff := cmp.Diff(want, ev.Metrics); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		json              bool
	}{
		{name: "unclosed front matter", in: "---\nlicense: mit\n", wantErr: "no closing --- line"},
		{name: "bad yaml", in: "---\nlicense: [\n---\n", wantErr: "front matter is not valid YAML"},
		{name: "yaml list", in: "---\n- a\n---\n", wantErr: "must be a YAML mapping"},
		{name: "model-index not a list", in: "---\nmodel-index: 3\n---\n", wantErr: "model-index must be a list"},
		{name: "metric value map", in: "---\nmodel-index:\n- results:\n  - metrics:\n    - {type: acc, value: {a: 1}}\n---\n", wantErr: "model-index[0].results[0].metrics[0].value must be a number or a string"},
		{name: "not utf8", in: "\xff\xfe## Uses", wantErr: "not UTF-8"},
		{name: "json not object", in: "[1]", json: true, wantErr: "not a JSON object"},
		{name: "json unknown shape", in: `{"name":"x"}`, json: true, wantErr: "not a Model Card Toolkit card"},
		{name: "json trailing", in: `{"considerations":{}} x`, json: true, wantErr: "data after the JSON object"},
		{name: "json considerations type", in: `{"considerations":[]}`, json: true, wantErr: "considerations must be an object, not a list"},
		{name: "json limitations type", in: `{"considerations":{"limitations":3}}`, json: true, wantErr: "considerations.limitations must be a list, not a number"},
		{name: "json limitation item", in: `{"considerations":{"limitations":[true]}}`, json: true, wantErr: "considerations.limitations[0] must be a string or an object, not a boolean"},
		{name: "json metrics type", in: `{"quantitative_analysis":{"performance_metrics":{}}}`, json: true, wantErr: "performance_metrics must be a list"},
		{name: "json metric value", in: `{"quantitative_analysis":{"performance_metrics":[{"type":"a","value":[1]}]}}`, json: true, wantErr: "performance_metrics[0].value must be a number or a string, not a list"},
		{name: "json data type", in: `{"model_parameters":{"data":"x"}}`, json: true, wantErr: "model_parameters.data must be a list or an object, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.json {
				_, err = ParseJSON("model_card.json", []byte(tt.in), Limits{})
			} else {
				_, err = ParseMarkdown("README.md", []byte(tt.in), Limits{})
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	big := Limits{MaxCardBytes: 10, MaxFrontMatterBytes: 10, MaxMetrics: 1, ExcerptBytes: 10}
	if _, err := ParseJSON("c.json", []byte(`{"considerations":{}}`), big); err == nil || !strings.Contains(err.Error(), "larger than the limit of 10 bytes") {
		t.Errorf("ParseJSON over the limit: error %v", err)
	}
	if _, err := ParseMarkdown("README.md", []byte("---\n"+strings.Repeat("a: 1\n", 10)+"---\n"), big); err == nil || !strings.Contains(err.Error(), "larger than the limit of 10 bytes") {
		t.Errorf("front matter over the limit: error %v", err)
	}
}

func TestMCTv001(t *testing.T) {
	in := `{"model_details":{"name":"m","licenses":["MIT"]},
	  "model_parameters":{"data":{"train":{"name":"adult-train","link":"gs://bucket/train.csv"},"eval":{"name":"adult-eval"}}},
	  "considerations":{"users":["Data scientists exploring the census data"],"ethical_considerations":[{"name":"Uses sex as a feature","mitigation_strategy":{"description":"Per-slice metrics reviewed"}}]}}`
	ev, err := ParseJSON("model_card.json", []byte(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Section{
		IntendedUse:           {Present: true, Source: "model_card.json: considerations.users", Excerpt: "Data scientists exploring the census data"},
		TrainingData:          {Present: true, Source: "model_card.json: model_parameters.data.train", Excerpt: "adult-train gs://bucket/train.csv"},
		Evaluation:            {},
		Limitations:           {},
		EthicalConsiderations: {Present: true, Source: "model_card.json: considerations.ethical_considerations", Excerpt: "Uses sex as a feature: Per-slice metrics reviewed"},
	}
	if diff := cmp.Diff(want, ev.Sections); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	if ev.License != "MIT" {
		t.Errorf("license = %q, want MIT", ev.License)
	}
}

func TestCollector(t *testing.T) {
	c := &Collector{}
	if c.Name() != "model_card" {
		t.Errorf("Name = %q", c.Name())
	}
	for _, k := range gates.Kinds {
		if got := c.Applies(gates.Subject{Kind: k}); got != (k == gates.KindModel) {
			t.Errorf("Applies(%s) = %v", k, got)
		}
	}
	v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: "testdata/full"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := v.(Evidence); !ev.Found || len(ev.Metrics) != 3 {
		t.Errorf("Collect: found=%v metrics=%d, want true and 3", ev.Found, len(ev.Metrics))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: "testdata/full"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Collect: error %v", err)
	}

	readme, err := os.ReadFile("testdata/full/README.md")
	if err != nil {
		t.Fatal(err)
	}
	mct, err := os.ReadFile("testdata/mct/model_card.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"markdown": readme, "mct": mct} {
		v, err := c.ParseEvidence(in)
		if err != nil {
			t.Fatalf("ParseEvidence(%s): %v", name, err)
		}
		if !v.(Evidence).Sections[Limitations].Present {
			t.Errorf("ParseEvidence(%s): limitations not present", name)
		}
	}
	passed, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.ParseEvidence(passed)
	if err != nil {
		t.Fatalf("ParseEvidence(model_card/v1): %v", err)
	}
	if diff := cmp.Diff(len(v.(Evidence).Metrics), len(back.(Evidence).Metrics)); diff != "" {
		t.Errorf("round trip metrics (-want +got):\n%s", diff)
	}
	for in, wantErr := range map[string]string{
		`{"schema":"license/v1"}`:                 `schema "license/v1": want "model_card/v1"`,
		`{"schema":"model_card/v1","found":true}`: `"sections" is missing`,
		`{"schema":"model_card/v1","sectons":{}}`: `unknown field "sectons"`,
		`{"schema":`: "not JSON",
	} {
		if _, err := c.ParseEvidence([]byte(in)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseEvidence(%s) error = %v, want %q", in, err, wantErr)
		}
	}
}
