package modelcard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
)

// ParseJSON reads a Model Card Toolkit (Google / Vertex AI) JSON card:
// model_details.licenses, model_parameters.data,
// quantitative_analysis.performance_metrics and considerations{users,
// use_cases, limitations, tradeoffs, ethical_considerations}. Both the
// v0.0.1 shapes (lists of strings, data.train/data.eval) and the v0.0.2
// shapes (lists of objects with description) are read.
func ParseJSON(name string, data []byte, limits Limits) (Evidence, error) {
	limits = limits.orDefault()
	if int64(len(data)) > limits.MaxCardBytes {
		return Evidence{}, fmt.Errorf("%s is larger than the limit of %d bytes", name, limits.MaxCardBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return Evidence{}, fmt.Errorf("%s: not a JSON object: %w", name, err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return Evidence{}, fmt.Errorf("%s: data after the JSON object", name)
	}
	known := false
	for _, k := range []string{"model_details", "model_parameters", "quantitative_analysis", "considerations"} {
		if _, ok := doc[k]; ok {
			known = true
		}
	}
	if !known {
		return Evidence{}, fmt.Errorf("%s: not a Model Card Toolkit card: it has none of model_details, model_parameters, quantitative_analysis, considerations", name)
	}
	ev := empty()
	ev.Found, ev.Source, ev.Format = true, name, "model-card-toolkit"
	p := &jsonCard{name: name, ev: &ev, limits: limits}
	if err := p.read(doc); err != nil {
		return Evidence{}, fmt.Errorf("%s: %w", name, err)
	}
	return ev, nil
}

type jsonCard struct {
	name   string
	ev     *Evidence
	limits Limits
}

func (p *jsonCard) read(doc map[string]any) error {
	md, err := object(doc, "model_details", "model_details")
	if err != nil {
		return err
	}
	if lic, ok := md["licenses"]; ok {
		texts, err := texts(lic, "model_details.licenses", "identifier", "custom_text")
		if err != nil {
			return err
		}
		p.ev.License = strings.Join(texts, ", ")
	}

	cons, err := object(doc, "considerations", "considerations")
	if err != nil {
		return err
	}
	for _, f := range []struct{ key, section string }{
		{"use_cases", IntendedUse}, {"users", IntendedUse},
		{"limitations", Limitations}, {"tradeoffs", Limitations},
		{"ethical_considerations", EthicalConsiderations},
	} {
		if err := p.section(cons, f.key, "considerations."+f.key, f.section); err != nil {
			return err
		}
	}

	mp, err := object(doc, "model_parameters", "model_parameters")
	if err != nil {
		return err
	}
	switch d := mp["data"].(type) {
	case nil:
	case []any:
		if err := p.section(mp, "data", "model_parameters.data", TrainingData); err != nil {
			return err
		}
		for _, e := range d {
			if m, ok := e.(map[string]any); ok {
				if n := firstString(m, "name"); n != "" {
					p.ev.Datasets = append(p.ev.Datasets, n)
				}
			}
		}
	case map[string]any: // v0.0.1: {"train": {...}, "eval": {...}}
		if tr, ok := d["train"].(map[string]any); ok {
			desc := strings.TrimSpace(firstString(tr, "name") + " " + firstString(tr, "description", "link"))
			if desc != "" {
				p.set(TrainingData, "model_parameters.data.train", desc)
				if n := firstString(tr, "name"); n != "" {
					p.ev.Datasets = append(p.ev.Datasets, n)
				}
			}
		}
	default:
		return fmt.Errorf("model_parameters.data must be a list or an object, not %s", jsonscan.TypeName(d))
	}

	qa, err := object(doc, "quantitative_analysis", "quantitative_analysis")
	if err != nil {
		return err
	}
	pm, ok := qa["performance_metrics"]
	if !ok || pm == nil {
		return nil
	}
	list, ok := pm.([]any)
	if !ok {
		return fmt.Errorf("quantitative_analysis.performance_metrics must be a list, not %s", jsonscan.TypeName(pm))
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("quantitative_analysis.performance_metrics[%d] must be an object, not %s", i, jsonscan.TypeName(e))
		}
		val, ok := metricValue(m["value"])
		if !ok {
			return fmt.Errorf("quantitative_analysis.performance_metrics[%d].value must be a number or a string, not %s", i, jsonscan.TypeName(m["value"]))
		}
		p.ev.addMetric(Metric{Name: firstString(m, "type", "name"), Value: val, Dataset: firstString(m, "slice"), Source: p.name + ": quantitative_analysis.performance_metrics"}, p.limits)
	}
	if len(p.ev.Metrics) > 0 {
		p.ev.Sections[Evaluation] = Section{Present: true, Source: p.name + ": quantitative_analysis.performance_metrics", Excerpt: metricsExcerpt(p.ev.Metrics, p.limits.ExcerptBytes)}
	}
	return nil
}

// section marks a section present when obj[key] holds text.
func (p *jsonCard) section(obj map[string]any, key, path, section string) error {
	v, ok := obj[key]
	if !ok || v == nil {
		return nil
	}
	ts, err := texts(v, path, "description", "name", "mitigation_strategy")
	if err != nil {
		return err
	}
	if len(ts) > 0 && !p.ev.Sections[section].Present {
		p.set(section, path, strings.Join(ts, " "))
	}
	return nil
}

func (p *jsonCard) set(section, path, text string) {
	if t, _ := substance(text); t != "" {
		p.ev.Sections[section] = Section{Present: true, Source: p.name + ": " + path, Excerpt: excerpt(t, p.limits.ExcerptBytes)}
	}
}

// object returns doc[key] as an object; absent is an empty object.
func object(doc map[string]any, key, path string) (map[string]any, error) {
	v, ok := doc[key]
	if !ok || v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object, not %s", path, jsonscan.TypeName(v))
	}
	return m, nil
}

// texts reads a list of strings or of objects whose fields (keys) hold
// text, as MCT writes users, use_cases, limitations, licenses...
func texts(v any, path string, keys ...string) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if s, ok := v.(string); ok {
			list = []any{s}
		} else {
			return nil, fmt.Errorf("%s must be a list, not %s", path, jsonscan.TypeName(v))
		}
	}
	var out []string
	for i, e := range list {
		switch x := e.(type) {
		case string:
			if x != "" {
				out = append(out, x)
			}
		case map[string]any:
			var parts []string
			for _, k := range keys {
				switch y := x[k].(type) {
				case string:
					if y != "" {
						parts = append(parts, y)
					}
				case map[string]any: // ethical_considerations v0.0.1 nests
					if s := firstString(y, "description"); s != "" {
						parts = append(parts, s)
					}
				}
			}
			if len(parts) > 0 {
				out = append(out, strings.Join(parts, ": "))
			}
		default:
			return nil, fmt.Errorf("%s[%d] must be a string or an object, not %s", path, i, jsonscan.TypeName(e))
		}
	}
	return out, nil
}
