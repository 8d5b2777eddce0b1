package evaluation

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/yamlbound"
)

// maxCardNodes bounds the YAML nodes of a card's front matter.
const maxCardNodes = 200000

// parseCard reads the model-index results of a Hugging Face model card's
// YAML front matter:
//
//	model-index:
//	- name: NAME
//	  results:
//	  - task: {type, name}
//	    dataset: {type, name, config, split}
//	    metrics:
//	    - {type: accuracy, value: 0.91, name: Accuracy}
//
// The metric name is its type (the metric's id), else its name; the
// dataset is dataset.type (the Hub id), else dataset.name, with
// ":config" when a config is named; the split is dataset.split. A value
// that is not a number (a string such as "92.1%") is listed as skipped.
// (scanners/modelcard reads the same results for the card's evaluation
// section, but joins dataset and split into one string and prefers the
// metric's display name: not what a gate can compare.)
func parseCard(name string, data []byte, o Options, b *builder) error {
	fm, err := frontMatter(name, data, o.Limits.MaxFrontMatterBytes)
	if err != nil {
		return err
	}
	docs, err := yamlbound.Mappings(name+" front matter", fm, yamlbound.Limits{Documents: 1, Depth: o.Limits.MaxDepth, Nodes: maxCardNodes})
	if err != nil {
		return err
	}
	var card map[string]any
	if err := docs[0].Decode(&card); err != nil {
		return fmt.Errorf("%s front matter: %w", name, err)
	}
	mi, ok := card["model-index"]
	if !ok || mi == nil {
		return fmt.Errorf("%w in %s: the card's front matter has no model-index results", ErrNoMetrics, name)
	}
	models, ok := mi.([]any)
	if !ok {
		return fmt.Errorf("%s: model-index: want a list, found %T", name, mi)
	}
	for i, m := range models {
		at := fmt.Sprintf("model-index[%d]", i)
		mm, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s: want a mapping, found %T", name, at, m)
		}
		results, ok := mm["results"].([]any)
		if !ok {
			if mm["results"] == nil {
				continue
			}
			return fmt.Errorf("%s: %s.results: want a list, found %T", name, at, mm["results"])
		}
		for j, r := range results {
			ra := fmt.Sprintf("%s.results[%d]", at, j)
			rm, ok := r.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s: want a mapping, found %T", name, ra, r)
			}
			base := Metric{Dataset: o.Dataset, Split: o.Split}
			if d, ok := rm["dataset"].(map[string]any); ok {
				if ds := firstString(d, "type", "name"); ds != "" {
					base.Dataset = ds
					if c := firstString(d, "config"); c != "" && c != "default" {
						base.Dataset += ":" + c
					}
				}
				if s := firstString(d, "split"); s != "" {
					base.Split = s
				}
			}
			metrics, ok := rm["metrics"].([]any)
			if !ok {
				return fmt.Errorf("%s: %s.metrics: want a list, found %T", name, ra, rm["metrics"])
			}
			for k, mt := range metrics {
				ma := fmt.Sprintf("%s: %s.metrics[%d]", name, ra, k)
				mtm, ok := mt.(map[string]any)
				if !ok {
					return fmt.Errorf("%s: want a mapping, found %T", ma, mt)
				}
				m := base
				m.Name, m.Source = firstString(mtm, "type", "name"), ma
				v, ok := cardNumber(mtm["value"])
				if !ok {
					b.skip(ma, fmt.Sprintf("value %v of %s is not a number", mtm["value"], m.Name))
					continue
				}
				m.Value = v
				if err := b.add(m, ma); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// frontMatter returns the YAML between a leading --- line and the next
// --- (or ...) line, within max bytes.
func frontMatter(name string, data []byte, max int) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || strings.TrimSpace(string(first)) != "---" {
		return nil, fmt.Errorf("%s: no YAML front matter (a model card starts with a --- line)", name)
	}
	off := 0
	for off < len(rest) && off <= max {
		line, _, _ := bytes.Cut(rest[off:], []byte("\n"))
		t := strings.TrimSpace(string(line))
		if t == "---" || t == "..." {
			return rest[:off], nil
		}
		off += len(line) + 1
	}
	if off > max {
		return nil, fmt.Errorf("%s: front matter is larger than the limit of %d bytes", name, max)
	}
	return nil, fmt.Errorf("%s: front matter starts with --- but has no closing --- line", name)
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// cardNumber accepts YAML numbers and strings that are plain numbers.
func cardNumber(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}
