// Package keras judges Keras model configurations: config.json inside a
// .keras archive (Keras 3) and the model_config attribute of an HDF5 .h5
// file (Keras 2). Loading a model rebuilds every object its config names:
// a Lambda layer carries Python code (often marshaled bytecode, base64),
// and objects from modules other than Keras/TensorFlow need custom code.
package keras

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/hdf5"
)

// Format names reported in Result.Format.
const (
	FormatConfig = "Keras config.json"
	FormatH5     = "Keras HDF5"
)

const (
	maxDepth    = 128 // JSON nesting walked
	maxFindings = 200
	// MaxConfigBytes bounds the config text judged.
	MaxConfigBytes = 64 << 20
)

// Detect reports HDF5 content (a Keras .h5 candidate): the signature at
// offset 0, 512, 1024 or 2048 of head. .keras files are zips: the
// dispatcher opens them and hands config.json to ScanConfig.
func Detect(head []byte) bool { return hdf5.Detect(head) }

// trustedModules are module prefixes whose objects Keras itself provides.
var trustedModules = []string{"keras", "tensorflow", "tf_keras", "keras_hub", "keras_nlp", "keras_cv"}

// dangerousModules make a "function" object critical: they reach the OS
// or the interpreter.
var dangerousModules = map[string]bool{"builtins": true, "__builtin__": true, "os": true, "posix": true, "nt": true,
	"subprocess": true, "sys": true, "shutil": true, "socket": true, "runpy": true, "importlib": true, "pickle": true, "marshal": true, "code": true, "pty": true}

func trusted(module string) bool {
	for _, p := range trustedModules {
		if module == p || strings.HasPrefix(module, p+".") {
			return true
		}
	}
	return false
}

type judge struct {
	loc     string
	res     finding.Result
	dropped int
}

func (j *judge) add(sev finding.Severity, where, module, name, format string, args ...any) {
	if len(j.res.Findings) >= maxFindings {
		j.dropped++
		return
	}
	j.res.Findings = append(j.res.Findings, finding.Finding{Severity: sev, Location: j.loc + where, Module: module, Name: name, Reason: fmt.Sprintf(format, args...)})
}

// ScanConfig judges the JSON of a Keras model config (config.json of a
// .keras archive, or Keras 2's model_config; a {"model_config": ...}
// wrapper is unwrapped). loc names the file for findings. Input that is not
// JSON is reported as not verified.
func ScanConfig(data []byte, loc string) finding.Result {
	j := &judge{loc: loc, res: finding.Result{Format: FormatConfig}}
	j.config(data, "")
	return j.finish()
}

func (j *judge) finish() finding.Result {
	if j.dropped > 0 {
		j.res.Findings = append(j.res.Findings, finding.Finding{Severity: finding.High, Location: j.loc,
			Reason: fmt.Sprintf("%d more findings not listed (first %d shown)", j.dropped, maxFindings)})
	}
	return j.res
}

func (j *judge) notVerified(where, format string, args ...any) {
	j.res.NotVerified = append(j.res.NotVerified, finding.NotVerified{Location: j.loc + where, Reason: fmt.Sprintf(format, args...)})
}

func (j *judge) config(data []byte, where string) {
	if len(data) > MaxConfigBytes {
		j.notVerified(where, "model config is %d bytes, over the %d-byte bound: not judged", len(data), MaxConfigBytes)
		return
	}
	if !utf8.Valid(data) {
		// Keras decodes config.json as strict UTF-8 (json.loads): it fails
		// to load, and Go's decoder would silently replace the bad bytes.
		j.notVerified(where, "model config is not valid UTF-8 (byte offset %d): Keras refuses to load it, so its layers cannot be checked", invalidUTF8At(data))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		j.notVerified(where, "model config is not valid JSON (%v): its layers cannot be checked", err)
		return
	}
	// Keras 2 style {"model_config": {...}} or a JSON string holding it.
	if m, ok := v.(map[string]any); ok {
		if mc, ok := m["model_config"]; ok {
			if s, ok := mc.(string); ok {
				j.config([]byte(s), where)
				return
			}
			v = mc
		}
	}
	j.walk(v, where, "", 0)
}

// walk visits every object of the config; layer is the nearest named
// layer, for locations.
func (j *judge) walk(v any, where, layer string, depth int) {
	if depth > maxDepth {
		j.notVerified(where, "config nests deeper than %d levels: the inner objects are not checked", maxDepth)
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			j.walk(e, where, layer, depth+1)
		}
	case map[string]any:
		if cfg, ok := x["config"].(map[string]any); ok {
			if n, ok := cfg["name"].(string); ok && n != "" {
				layer = n
			}
		}
		at := where
		if layer != "" {
			at = where + "#" + layer
		}
		j.object(x, at)
		for _, k := range sortedKeys(x) {
			v := x[k]
			if c, ok := v.(map[string]any); ok && k == "config" && x["class_name"] == "Lambda" {
				// The Lambda's function was judged with the layer: walk
				// the rest of its config only.
				rest := maps.Clone(c)
				delete(rest, "function")
				v = rest
			}
			j.walk(v, where, layer, depth+1)
		}
	}
}

// object judges one serialized Keras object (a map with class_name).
func (j *judge) object(x map[string]any, at string) {
	class, _ := x["class_name"].(string)
	module, _ := x["module"].(string)
	registered, _ := x["registered_name"].(string)
	cfg, _ := x["config"].(map[string]any)
	switch {
	case class == "Lambda":
		j.lambda(cfg, module, at)
		return
	case class == "TFSMLayer":
		j.tfsm(cfg, module, at)
		return
	case class == "TFOpLambda" || class == "SlicingOpLambda":
		fn, _ := cfg["function"].(string)
		j.add(finding.Low, at, "tensorflow", fn, "%s layer calls TensorFlow function %q by name when loaded", class, fn)
		return
	case class == "__lambda__":
		j.add(finding.High, at, module, "<lambda>", "serialized Python lambda: marshaled bytecode (base64) that runs when the model is loaded")
		return
	case class == "function" && module != "" && !trusted(module):
		name, _ := x["config"].(string)
		sev := finding.Medium
		if dangerousModules[module] || dangerousModules[strings.SplitN(module, ".", 2)[0]] {
			sev = finding.Critical
		}
		j.add(sev, at, module, name, "function %s.%s from outside Keras is imported when the model is loaded", module, name)
		return
	}
	if class == "" {
		return
	}
	if module != "" && !trusted(module) {
		j.add(finding.Medium, at, module, class, "custom object %s.%s (not from Keras or TensorFlow): loading imports and runs that module's code", module, class)
		return
	}
	if registered != "" && registered != class && !strings.HasPrefix(registered, "keras") && !strings.HasPrefix(registered, "function") {
		j.add(finding.Medium, at, module, registered, "custom registered object %q: loading needs and runs the code that registered it", registered)
	}
}

// lambda reports a Lambda layer with what its function is.
func (j *judge) lambda(cfg map[string]any, module, at string) {
	fn := cfg["function"]
	ftype, _ := cfg["function_type"].(string)
	fmod, _ := cfg["module"].(string)
	switch f := fn.(type) {
	case []any: // Keras 2: [base64 marshal, defaults, closure]
		j.add(finding.High, at, fmod, "<lambda>", "Lambda layer with marshaled Python bytecode (base64): arbitrary code runs when the model is loaded")
	case string:
		if ftype == "lambda" {
			j.add(finding.High, at, fmod, "<lambda>", "Lambda layer with marshaled Python bytecode (base64): arbitrary code runs when the model is loaded")
		} else {
			j.add(finding.High, at, fmod, f, "Lambda layer calls Python function %s.%s: arbitrary code runs when the model is loaded", fmod, f)
		}
	case map[string]any: // Keras 3: a serialized function or __lambda__
		c, _ := f["class_name"].(string)
		m, _ := f["module"].(string)
		if c == "__lambda__" {
			j.add(finding.High, at, m, "<lambda>", "Lambda layer with marshaled Python bytecode (base64): arbitrary code runs when the model is loaded")
			return
		}
		name, _ := f["config"].(string)
		j.add(finding.High, at, m, name, "Lambda layer calls Python function %s.%s: arbitrary code runs when the model is loaded", m, name)
	default:
		j.add(finding.High, at, module, "", "Lambda layer: Python code runs when the model is loaded")
	}
}

// tfsm judges a TFSMLayer: it loads a TensorFlow SavedModel from a path
// when the model is loaded, and runs that graph. The SavedModel is not
// part of the .keras archive, so this scan never saw it.
func (j *judge) tfsm(cfg map[string]any, module, at string) {
	fp, _ := cfg["filepath"].(string)
	slash := strings.ReplaceAll(fp, `\`, "/")
	switch {
	case fp == "":
		j.add(finding.High, at, module, "TFSMLayer", "TFSMLayer loads an external TensorFlow SavedModel (no filepath in its config): its graph runs on load and was not scanned")
	case strings.Contains(slash, "://"):
		j.add(finding.High, at, module, "TFSMLayer", "TFSMLayer loads the TensorFlow SavedModel at %q from remote storage when the model is loaded: its graph runs and was not scanned", fp)
	case strings.HasPrefix(slash, "/") || len(slash) >= 2 && slash[1] == ':' || strings.HasPrefix(slash, "~") || slices.Contains(strings.Split(slash, "/"), ".."):
		j.add(finding.High, at, module, "TFSMLayer", "TFSMLayer loads the TensorFlow SavedModel at %q, outside the model archive, when the model is loaded: its graph runs and was not scanned", fp)
	default:
		j.add(finding.High, at, module, "TFSMLayer", "TFSMLayer loads the TensorFlow SavedModel at %q (relative to the loader's working folder, not inside the .keras archive) when the model is loaded: its graph runs and was not scanned", fp)
	}
}

// invalidUTF8At is the offset of the first byte that is not valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// ScanH5 reads the root attributes of a Keras 2 HDF5 model and judges its
// model_config. An HDF5 file without model_config holds weights only.
func ScanH5(in finding.Input) (finding.Result, error) {
	root, err := hdf5.ReadRoot(in.R, in.Size, in.Limits)
	j := &judge{loc: in.Location, res: finding.Result{Format: FormatH5}}
	for _, nv := range root.NotVerified {
		j.notVerified("", "%s", nv)
	}
	if err != nil {
		return j.finish(), err
	}
	for _, a := range root.Attributes {
		if a.Name != "model_config" {
			continue
		}
		if len(a.Values) != 1 {
			j.notVerified("#model_config", "model_config attribute is a %s with %d values, want one string", a.Class, len(a.Values))
			continue
		}
		j.config([]byte(a.Values[0]), "")
	}
	return j.finish(), nil
}
