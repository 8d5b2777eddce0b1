// Package score loads Score workload specs (score.dev/v1b1) the way
// score-go's own tools do — parse, upgrade transforms, JSON-Schema
// validation, mapping, normalisation and placeholder validation — with
// bounds on what a hostile file can cost, and reports what a gate needs.
package score

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"github.com/score-spec/score-go/loader"
	"github.com/score-spec/score-go/schema"
	"github.com/score-spec/score-go/types"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/yamlbound"
)

// ScoreGoVersion is the score-go release whose schema and loader judge specs.
const ScoreGoVersion = "v1.20.0"

// Limits on one spec and the files it embeds. Real specs are a few KiB.
const (
	MaxFileSize     = 1 << 20
	MaxDepth        = 64
	MaxNodes        = 200_000
	MaxEmbeddedFile = 1 << 20 // one containers.*.files.*.source
	MaxEmbeddedAll  = 8 << 20 // all of them together
)

// Spec is a loaded, validated Score workload.
type Spec struct {
	// Path is the file the spec was read from.
	Path string
	// Workload is the spec after upgrade transforms and normalisation.
	Workload types.Workload
	// Upgrades lists what score-go's upgrade transforms changed
	// (deprecated forms rewritten), for the report.
	Upgrades []string
	// Embedded maps "container/target" to the size of each file whose
	// source was read and embedded during normalisation.
	Embedded map[string]int
}

// LoadFile reads and validates a Score spec, refusing special files and
// files over MaxFileSize. Files named by containers.*.files.*.source are
// read relative to the spec's folder and must stay inside it.
func LoadFile(path string) (*Spec, error) {
	data, err := readlimit.File(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return Load(path, filepath.Dir(path), data)
}

// compiled is the Score JSON schema, compiled once (schema.Validate
// compiles it on every call, which costs more than the rest of a load).
var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return jsonschema.CompileString("score-v1b1.json", schema.ScoreSchemaV1b1)
})

// Load validates a Score spec held in data; name is the file for errors
// and dir the folder file sources are relative to ("" refuses them).
func Load(name, dir string, data []byte) (*Spec, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("score: %s is %d bytes, limit %d", name, len(data), MaxFileSize)
	}
	docs, err := yamlbound.Mappings(name, data, yamlbound.Limits{Documents: 1, Depth: MaxDepth, Nodes: MaxNodes})
	if err != nil {
		return nil, fmt.Errorf("score: %w (want one Score workload)", err)
	}
	var raw map[string]any
	if err := docs[0].Decode(&raw); err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	upgrades, err := schema.ApplyCommonUpgradeTransforms(raw)
	if err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	sch, err := compiled()
	if err != nil {
		return nil, fmt.Errorf("score: compiling score-go %s's schema: %w", ScoreGoVersion, err)
	}
	if err := sch.Validate(jsonCompatible(raw)); err != nil {
		return nil, fmt.Errorf("score: %s: invalid Score spec: %s", name, schemaError(err))
	}
	spec := &Spec{Path: name, Upgrades: upgrades}
	if err := mapSpec(&spec.Workload, docs[0], raw, len(upgrades) > 0); err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	if err := spec.normalize(dir); err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	if err := loader.Validate(&spec.Workload); err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	return spec, nil
}

// mapSpec fills w as score-go's loader.MapSpec does. When no upgrade
// transform rewrote the document, it decodes the schema-valid YAML node
// straight into the workload (the types carry the same yaml and json
// tags): a third of the cost of mapstructure's reflection over the map.
// TestMapSpecEquivalent and FuzzLoad hold the two paths equal.
func mapSpec(w *types.Workload, doc *yaml.Node, raw map[string]any, upgraded bool) error {
	if upgraded {
		return loader.MapSpec(w, raw)
	}
	return doc.Decode(w)
}

// schemaError flattens a jsonschema error to its leaves, one line each:
// "at '/containers/main': missing property 'image'".
func schemaError(err error) string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	var leaves []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := e.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			leaves = append(leaves, fmt.Sprintf("at '%s': %s", loc, e.Message))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(leaves, "; ")
}

// jsonCompatible turns what yaml.v3 decodes (map[string]any, with ints)
// into what the JSON-Schema validator expects.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonCompatible(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonCompatible(e)
		}
		return out
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	}
	return v
}

// normalize embeds file sources as score-go's loader.Normalize does, but
// reads each with a size bound, refuses FIFOs and devices, and refuses a
// source outside the spec's folder: a spec from a pull request must not
// make the gate read the runner's files.
func (s *Spec) normalize(dir string) error {
	total := 0
	for cname, c := range s.Workload.Containers {
		for target, f := range c.Files {
			if f.Source == nil {
				continue
			}
			src := *f.Source
			where := fmt.Sprintf("containers.%s.files.%s.source %q", cname, target, src)
			if dir == "" {
				return fmt.Errorf("%s: file sources need the spec's folder", where)
			}
			path, err := inside(dir, src)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			raw, err := readlimit.File(path, MaxEmbeddedFile)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if total += len(raw); total > MaxEmbeddedAll {
				return fmt.Errorf("%s: embedded files exceed %d bytes in all", where, MaxEmbeddedAll)
			}
			if s.Embedded == nil {
				s.Embedded = map[string]int{}
			}
			s.Embedded[cname+"/"+target] = len(raw)
			content := string(raw)
			f.Source = nil
			if utf8.ValidString(content) {
				f.Content = &content
			} else {
				content = base64.StdEncoding.EncodeToString(raw)
				f.BinaryContent = &content
			}
			c.Files[target] = f
		}
	}
	return nil
}

// inside resolves src against dir and returns it when it stays inside dir
// (symbolic links included).
func inside(dir, src string) (string, error) {
	if filepath.IsAbs(src) {
		return "", fmt.Errorf("absolute paths are refused: sources are read relative to the spec's folder")
	}
	// Lexical check first: whether "../../etc/passwd" escapes must not
	// depend on whether the file happens to exist where it points.
	if !filepath.IsLocal(src) {
		return "", fmt.Errorf("leaves the spec's folder")
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	path, err := filepath.EvalSymlinks(filepath.Join(root, src))
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("no such file beside the spec")
		}
		return "", err
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("leaves the spec's folder")
	}
	return path, nil
}
