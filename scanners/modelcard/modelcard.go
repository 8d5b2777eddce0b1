// Package modelcard reads a model's card — a Hugging Face README.md (YAML
// front matter and Markdown sections) or a Model Card Toolkit JSON file —
// and reports which of the sections a governance review needs are present:
// intended use, training data, evaluation (with metrics), limitations and
// ethical considerations.
package modelcard

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

// Schema names the version of the evidence format.
const Schema = "model_card/v1"

// Section names, the keys of Evidence.Sections.
const (
	IntendedUse           = "intended_use"
	TrainingData          = "training_data"
	Evaluation            = "evaluation"
	Limitations           = "limitations"
	EthicalConsiderations = "ethical_considerations"
)

// SectionNames lists every section, in the order a card usually has them.
var SectionNames = []string{IntendedUse, TrainingData, Evaluation, Limitations, EthicalConsiderations}

// Evidence is what a model card says (input.evidence.model_card).
type Evidence struct {
	Schema string `json:"schema"`
	// Subject names the path scanned, as given (absent when a card file
	// was parsed on its own, as --evidence model_card=README.md does).
	Subject *Subject `json:"subject,omitempty"`
	Found   bool     `json:"found"`
	// Source is the card file; Format is "huggingface" or "model-card-toolkit".
	Source string `json:"source,omitempty"`
	// File is the card's path as found from the subject (the SARIF location).
	File     string             `json:"file,omitempty"`
	Format   string             `json:"format,omitempty"`
	Sections map[string]Section `json:"sections"`
	Metrics  []Metric           `json:"metrics"`
	// License is the card's licence as written (see the license evidence
	// for its meaning); Datasets the training datasets it names.
	License  string   `json:"license,omitempty"`
	Datasets []string `json:"datasets,omitempty"`
	// Remote is set when the card came from a remote model (oci://,
	// gs://): the tree's identity and the card file's origin. Kept when
	// the evidence is read back.
	Remote *remote.Evidence `json:"remote,omitempty"`
}

// Subject names what evidence is about. Digest is kept when evidence that
// carries one is read back; the scanner itself names the path only.
type Subject struct {
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
}

// Section tells whether one section is present.
type Section struct {
	Present bool `json:"present"`
	// Source names where it was found ("README.md section: Training data",
	// "README.md front matter: datasets", "model_card.json: considerations.limitations").
	Source string `json:"source,omitempty"`
	// Excerpt is the start of the text, whitespace collapsed.
	Excerpt string `json:"excerpt,omitempty"`
	// Reason says why a heading that was found does not count (a template
	// placeholder such as "More information needed", or an empty body).
	Reason string `json:"reason,omitempty"`
}

// Metric is one evaluation result. Value is a number or, when the card
// writes it so, a string.
type Metric struct {
	Name    string `json:"name"`
	Value   any    `json:"value"`
	Dataset string `json:"dataset,omitempty"`
	Source  string `json:"source"`
}

// Limits bound the work on a card.
type Limits struct {
	MaxCardBytes        int64 // README.md or JSON card
	MaxFrontMatterBytes int
	MaxMetrics          int
	ExcerptBytes        int
}

// DefaultLimits suit real cards.
func DefaultLimits() Limits {
	return Limits{MaxCardBytes: 4 << 20, MaxFrontMatterBytes: 256 << 10, MaxMetrics: 1000, ExcerptBytes: 200}
}

func (l Limits) orDefault() Limits {
	if l == (Limits{}) {
		return DefaultLimits()
	}
	return l
}

// cardNames are looked for, in this order, in a model folder.
var cardNames = []string{"README.md", "MODEL_CARD.md", "model_card.md", "MODELCARD.md", "model_card.json", "model-card.json", "modelcard.json"}

// Scan finds and reads the card of the model at path: a folder, a file in
// a folder (the folder is searched), or the card file itself (.md or .json).
// No card is not an error: Found is false. A FIFO, device or socket given
// as path is refused without a blocking open (and /dev is no model folder).
// The evidence names path, as given, as its subject.
func Scan(path string, limits Limits) (Evidence, error) {
	ev, err := scan(path, limits)
	if err != nil {
		return Evidence{}, err
	}
	ev.Subject = &Subject{Path: path}
	return ev, nil
}

func scan(path string, limits Limits) (Evidence, error) {
	limits = limits.orDefault()
	fi, err := os.Stat(path)
	if err != nil {
		return Evidence{}, fmt.Errorf("model card: %w", err)
	}
	card := ""
	if !fi.IsDir() {
		f, err := readlimit.Open(path)
		if err != nil {
			return Evidence{}, fmt.Errorf("model card: %w", err)
		}
		f.Close()
		ext := strings.ToLower(filepath.Ext(path))
		if ext == ".md" || strings.HasSuffix(strings.ToLower(path), "card.json") {
			card = path
		} else {
			path = filepath.Dir(path)
		}
	}
	if card == "" {
		entries, err := os.ReadDir(path)
		if err != nil {
			return Evidence{}, fmt.Errorf("model card: %w", err)
		}
		have := map[string]string{}
		for _, e := range entries {
			if !e.IsDir() {
				have[strings.ToLower(e.Name())] = e.Name()
			}
		}
		for _, n := range cardNames {
			if real, ok := have[strings.ToLower(n)]; ok {
				card = filepath.Join(path, real)
				break
			}
		}
	}
	if card == "" {
		return empty(), nil
	}
	data, err := readlimit.File(card, limits.MaxCardBytes)
	if err != nil {
		return Evidence{}, fmt.Errorf("model card: %w", err)
	}
	name := filepath.Base(card)
	parse := ParseMarkdown
	if strings.EqualFold(filepath.Ext(card), ".json") {
		parse = ParseJSON
	}
	ev, err := parse(name, data, limits)
	if err != nil {
		return Evidence{}, fmt.Errorf("model card %s: %w", card, err)
	}
	ev.File = card
	return ev, nil
}

func empty() Evidence {
	ev := Evidence{Schema: Schema, Sections: map[string]Section{}, Metrics: []Metric{}}
	for _, s := range SectionNames {
		ev.Sections[s] = Section{}
	}
	return ev
}

// ParseMarkdown reads a Hugging Face card: front matter (license, datasets,
// model-index results) and the Markdown sections.
func ParseMarkdown(name string, data []byte, limits Limits) (Evidence, error) {
	limits = limits.orDefault()
	if !utf8.Valid(data) {
		return Evidence{}, fmt.Errorf("%s is not UTF-8 text", name)
	}
	ev := empty()
	ev.Found, ev.Source, ev.Format = true, name, "huggingface"
	fm, body, err := splitFrontMatter(data, limits.MaxFrontMatterBytes)
	if err != nil {
		return Evidence{}, fmt.Errorf("%s: %w", name, err)
	}
	if fm != nil {
		if err := ev.frontMatter(name, fm, limits); err != nil {
			return Evidence{}, fmt.Errorf("%s front matter: %w", name, err)
		}
	}
	ev.markdown(name, string(body), limits)
	return ev, nil
}

// splitFrontMatter returns the YAML front matter (nil when there is none)
// and the Markdown after it.
func splitFrontMatter(data []byte, max int) (map[string]any, []byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	if string(bytes.TrimRight(first, " \t\r")) != "---" {
		return nil, data, nil
	}
	for off := 0; off < len(rest); {
		line, _, _ := bytes.Cut(rest[off:], []byte("\n"))
		if t := string(bytes.TrimRight(line, " \t\r")); t == "---" || t == "..." {
			if off > max {
				break
			}
			var v any
			if err := yaml.Unmarshal(rest[:off], &v); err != nil {
				return nil, nil, fmt.Errorf("front matter is not valid YAML: %w", err)
			}
			m, ok := v.(map[string]any)
			if v != nil && !ok {
				return nil, nil, fmt.Errorf("front matter must be a YAML mapping, not %T", v)
			}
			if m == nil {
				m = map[string]any{}
			}
			end := min(off+len(line)+1, len(rest))
			return m, rest[end:], nil
		}
		if off > max {
			break
		}
		off += len(line) + 1
	}
	if len(rest) > max {
		return nil, nil, fmt.Errorf("front matter is larger than the limit of %d bytes", max)
	}
	return nil, nil, errors.New("front matter starts with --- but has no closing --- line")
}

// frontMatter reads license, datasets and model-index.
func (ev *Evidence) frontMatter(name string, fm map[string]any, limits Limits) error {
	switch v := fm["license"].(type) {
	case string:
		ev.License = v
	case []any:
		var parts []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			}
		}
		ev.License = strings.Join(parts, ", ")
	}
	if ev.License == "other" {
		if n, ok := fm["license_name"].(string); ok && n != "" {
			ev.License = "other: " + n
		}
	}
	switch v := fm["datasets"].(type) {
	case string:
		ev.Datasets = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				ev.Datasets = append(ev.Datasets, s)
			}
		}
	}
	if len(ev.Datasets) > 0 {
		ev.Sections[TrainingData] = Section{Present: true, Source: name + " front matter: datasets", Excerpt: excerpt(strings.Join(ev.Datasets, ", "), limits.ExcerptBytes)}
	}
	mi, ok := fm["model-index"]
	if !ok || mi == nil {
		return nil
	}
	models, ok := mi.([]any)
	if !ok {
		return fmt.Errorf("model-index must be a list, not %T", mi)
	}
	for i, m := range models {
		mm, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("model-index[%d] must be a mapping, not %T", i, m)
		}
		results, _ := mm["results"].([]any)
		for j, r := range results {
			rm, ok := r.(map[string]any)
			if !ok {
				return fmt.Errorf("model-index[%d].results[%d] must be a mapping, not %T", i, j, r)
			}
			dataset := ""
			if d, ok := rm["dataset"].(map[string]any); ok {
				dataset = firstString(d, "name", "type")
				if split := firstString(d, "split"); split != "" && dataset != "" {
					dataset += " (" + split + ")"
				}
			}
			metrics, _ := rm["metrics"].([]any)
			for k, mt := range metrics {
				mtm, ok := mt.(map[string]any)
				if !ok {
					return fmt.Errorf("model-index[%d].results[%d].metrics[%d] must be a mapping, not %T", i, j, k, mt)
				}
				val, ok := metricValue(mtm["value"])
				if !ok {
					return fmt.Errorf("model-index[%d].results[%d].metrics[%d].value must be a number or a string, not %T", i, j, k, mtm["value"])
				}
				ev.addMetric(Metric{Name: firstString(mtm, "name", "type"), Value: val, Dataset: dataset, Source: name + " front matter: model-index"}, limits)
			}
		}
	}
	if len(ev.Metrics) > 0 {
		ev.Sections[Evaluation] = Section{Present: true, Source: name + " front matter: model-index", Excerpt: metricsExcerpt(ev.Metrics, limits.ExcerptBytes)}
	}
	return nil
}

func (ev *Evidence) addMetric(m Metric, limits Limits) {
	if len(ev.Metrics) < limits.MaxMetrics {
		if m.Name == "" {
			m.Name = "(unnamed)"
		}
		ev.Metrics = append(ev.Metrics, m)
	}
}

func metricsExcerpt(ms []Metric, n int) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s=%v", m.Name, m.Value))
	}
	return excerpt(strings.Join(parts, ", "), n)
}

// metricValue accepts numbers and strings (YAML ints, floats; "92.1%").
func metricValue(v any) (any, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		return x, true
	}
	return nil, false
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// excerpt collapses whitespace and cuts s to about n bytes on a rune
// boundary.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
