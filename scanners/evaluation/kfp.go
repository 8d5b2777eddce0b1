package evaluation

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
)

// KFP v2 artifact schema titles this package reads.
const (
	KFPMetrics                     = "system.Metrics"
	KFPClassificationMetrics       = "system.ClassificationMetrics"
	KFPSlicedClassificationMetrics = "system.SlicedClassificationMetrics"
)

// kfpExecutorOutput reads the executor output a KFP v2 Python component
// writes (kfp/dsl/executor.py write_executor_output):
// {"artifacts": {OUTPUT: {"artifacts": [{"name", "uri", "metadata"}]}},
// "parameterValues": {...}}. Output parameters are not metrics.
func kfpExecutorOutput(name string, d map[string]any, o Options, b *builder) error {
	if d["artifacts"] == nil {
		return fmt.Errorf("%s: a KFP executor output without artifacts holds no metrics (its parameterValues are not read)", name)
	}
	outs, ok := d["artifacts"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: artifacts: want an object of output name to {\"artifacts\": [...]}, found %s", name, jsonscan.TypeName(d["artifacts"]))
	}
	for _, out := range sortedKeys(outs) {
		at := field("artifacts", out)
		obj, ok := outs[out].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s: want an object, found %s", name, at, jsonscan.TypeName(outs[out]))
		}
		list, ok := obj["artifacts"].([]any)
		if !ok {
			return fmt.Errorf("%s: %s.artifacts: want a list, found %s", name, at, jsonscan.TypeName(obj["artifacts"]))
		}
		if err := kfpArtifacts(name, at+".artifacts", list, o, b); err != nil {
			return err
		}
	}
	return nil
}

func kfpArtifacts(name, at string, list []any, o Options, b *builder) error {
	if len(list) == 0 && at == "" {
		return fmt.Errorf("%s: an empty list holds no artifacts", name)
	}
	for i, e := range list {
		ai := fmt.Sprintf("%s[%d]", at, i)
		obj, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s: want a KFP artifact object, found %s", name, ai, jsonscan.TypeName(e))
		}
		if err := kfpArtifact(name, ai, obj, o, b); err != nil {
			return err
		}
	}
	return nil
}

// kfpArtifact reads one runtime artifact: {"name", "uri", "type":
// {"schemaTitle"} or "type": "system.Metrics", "metadata": {...}}. Without
// a type (an executor output carries none) the kind is read from the
// metadata: evaluationSlices → sliced, confusionMatrix/confidenceMetrics →
// classification, else scalar metrics.
func kfpArtifact(name, at string, a map[string]any, o Options, b *builder) error {
	meta, ok := a["metadata"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: %s: want an object, found %s", name, field(at, "metadata"), jsonscan.TypeName(a["metadata"]))
	}
	title := ""
	switch t := a["type"].(type) {
	case nil:
	case string:
		title = t
	case map[string]any:
		title, _ = t["schemaTitle"].(string)
	default:
		return fmt.Errorf("%s: %s: want a schema title or {\"schemaTitle\": ...}, found %s", name, field(at, "type"), jsonscan.TypeName(t))
	}
	if title == "" {
		switch {
		case meta["evaluationSlices"] != nil:
			title = KFPSlicedClassificationMetrics
		case meta["confusionMatrix"] != nil || meta["confidenceMetrics"] != nil:
			title = KFPClassificationMetrics
		default:
			title = KFPMetrics
		}
	}
	mat := field(at, "metadata")
	base := Metric{Dataset: o.Dataset, Split: o.Split}
	switch title {
	case KFPMetrics:
		return kfpScalars(name, mat, meta, base, b, nil)
	case KFPClassificationMetrics:
		return kfpClassification(name, mat, meta, base, b)
	case KFPSlicedClassificationMetrics:
		list, ok := meta["evaluationSlices"].([]any)
		if !ok {
			return fmt.Errorf("%s: %s: want a list of {slice, sliceClassificationMetrics}, found %s", name, field(mat, "evaluationSlices"), jsonscan.TypeName(meta["evaluationSlices"]))
		}
		for i, e := range list {
			si := fmt.Sprintf("%s[%d]", field(mat, "evaluationSlices"), i)
			obj, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s: want an object, found %s", name, si, jsonscan.TypeName(e))
			}
			slice, ok := obj["slice"].(string)
			if !ok || slice == "" {
				return fmt.Errorf("%s: %s: want a slice name, found %s", name, field(si, "slice"), jsonscan.TypeName(obj["slice"]))
			}
			cm, ok := obj["sliceClassificationMetrics"].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s: want an object, found %s", name, field(si, "sliceClassificationMetrics"), jsonscan.TypeName(obj["sliceClassificationMetrics"]))
			}
			sb := base
			sb.Slice = slice
			if err := kfpClassification(name, field(si, "sliceClassificationMetrics"), cm, sb, b); err != nil {
				return err
			}
		}
		return nil
	default:
		b.skip(name+": "+at, fmt.Sprintf("a %s artifact holds no metrics", title))
		return nil
	}
}

// kfpScalars reads the number-valued keys of metadata as metrics; other
// values (KFP adds display_name) are listed as skipped. except names keys
// read otherwise.
func kfpScalars(name, at string, meta map[string]any, base Metric, b *builder, except map[string]bool) error {
	for _, k := range sortedKeys(meta) {
		if except[k] {
			continue
		}
		fa := name + ": " + field(at, k)
		v, ok := meta[k].(float64)
		if !ok {
			b.skip(fa, fmt.Sprintf("%s is not a number", jsonscan.TypeName(meta[k])))
			continue
		}
		m := base
		m.Name, m.Value, m.Source = k, v, fa
		if err := b.add(m, fa); err != nil {
			return err
		}
	}
	return nil
}

// kfpClassification reads ClassificationMetrics metadata: confusionMatrix
// {annotationSpecs: [{displayName}], rows: [{row: [...]}]},
// confidenceMetrics [{confidenceThreshold, recall, falsePositiveRate}],
// and any other number-valued key as a reported metric.
func kfpClassification(name, at string, meta map[string]any, base Metric, b *builder) error {
	if err := kfpScalars(name, at, meta, base, b, map[string]bool{"confusionMatrix": true, "confidenceMetrics": true}); err != nil {
		return err
	}
	if v, ok := meta["confusionMatrix"]; ok {
		fa := field(at, "confusionMatrix")
		c, err := readConfusion(name, fa, v, b.lim)
		if err != nil {
			return err
		}
		if err := c.derive(base, name+": "+fa, b); err != nil {
			return err
		}
	}
	if v, ok := meta["confidenceMetrics"]; ok {
		fa := field(at, "confidenceMetrics")
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %s: want a list of ROC points, found %s", name, fa, jsonscan.TypeName(v))
		}
		if len(list) > b.lim.MaxROCPoints {
			return fmt.Errorf("%s: %s: %d points, more than the limit of %d: %w", name, fa, len(list), b.lim.MaxROCPoints, ErrTooMany)
		}
		pts := make([]ROCPoint, 0, len(list))
		for i, e := range list {
			pa := fmt.Sprintf("%s[%d]", fa, i)
			obj, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: %s: want {confidenceThreshold, recall, falsePositiveRate}, found %s", name, pa, jsonscan.TypeName(e))
			}
			fpr, okF := obj["falsePositiveRate"]
			tpr, okT := obj["recall"]
			if !okF || !okT {
				b.skip(name+": "+fa, "roc_auc not computed: a point has no falsePositiveRate or recall (a precision-recall curve is not a ROC curve)")
				return nil
			}
			f, okF := fpr.(float64)
			t, okT := tpr.(float64)
			if !okF || !okT || f < 0 || f > 1 || t < 0 || t > 1 {
				return fmt.Errorf("%s: %s: falsePositiveRate and recall must be numbers in [0,1], found %v and %v", name, pa, fpr, tpr)
			}
			pts = append(pts, ROCPoint{FPR: f, TPR: t})
		}
		if len(pts) < 2 {
			b.skip(name+": "+fa, fmt.Sprintf("roc_auc not computed from %d point(s): want 2 or more", len(pts)))
			return nil
		}
		m := base
		m.Name, m.Value, m.Derived = "roc_auc", AUC(pts), true
		m.From, m.Source = fmt.Sprintf("confidenceMetrics (%d ROC points, trapezoid rule)", len(pts)), name+": "+fa
		if err := b.add(m, m.Source); err != nil {
			return err
		}
	}
	return nil
}

func readConfusion(name, at string, v any, lim Limits) (Confusion, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Confusion{}, fmt.Errorf("%s: %s: want {annotationSpecs, rows}, found %s", name, at, jsonscan.TypeName(v))
	}
	specs, ok := obj["annotationSpecs"].([]any)
	if !ok || len(specs) < 2 {
		return Confusion{}, fmt.Errorf("%s: %s.annotationSpecs: want a list of two or more {displayName}, found %s", name, at, jsonscan.TypeName(obj["annotationSpecs"]))
	}
	if len(specs) > lim.MaxClasses {
		return Confusion{}, fmt.Errorf("%s: %s.annotationSpecs: %d classes, more than the limit of %d: %w", name, at, len(specs), lim.MaxClasses, ErrTooMany)
	}
	var c Confusion
	seen := map[string]bool{}
	for i, s := range specs {
		so, _ := s.(map[string]any)
		dn, ok := so["displayName"].(string)
		if !ok || dn == "" {
			return Confusion{}, fmt.Errorf("%s: %s.annotationSpecs[%d].displayName: want a class name", name, at, i)
		}
		if seen[dn] {
			return Confusion{}, fmt.Errorf("%s: %s.annotationSpecs[%d].displayName: class %q named twice", name, at, i, dn)
		}
		seen[dn] = true
		c.Classes = append(c.Classes, dn)
	}
	rows, ok := obj["rows"].([]any)
	if !ok || len(rows) != len(c.Classes) {
		return Confusion{}, fmt.Errorf("%s: %s.rows: want %d rows (one per class), found %s of %d", name, at, len(c.Classes), jsonscan.TypeName(obj["rows"]), len(rows))
	}
	for i, r := range rows {
		ro, _ := r.(map[string]any)
		cells, ok := ro["row"].([]any)
		if !ok || len(cells) != len(c.Classes) {
			return Confusion{}, fmt.Errorf("%s: %s.rows[%d].row: want %d counts", name, at, i, len(c.Classes))
		}
		row := make([]float64, len(cells))
		for j, x := range cells {
			f, ok := x.(float64)
			if !ok || f < 0 {
				return Confusion{}, fmt.Errorf("%s: %s.rows[%d].row[%d]: want a count (a number, 0 or more), found %v", name, at, i, j, x)
			}
			row[j] = f
		}
		c.Counts = append(c.Counts, row)
	}
	return c, nil
}
