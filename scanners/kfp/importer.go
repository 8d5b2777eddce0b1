package kfp

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// importerArtifact lists the URIs an importer executor brings in: its
// constant, or for a runtime parameter the value each task that runs it
// binds (a constant, or a pipeline input's default).
func importerArtifact(file, field, executor string, ex executorSpec, root componentSpec, tasks []boundTask) ([]Artifact, error) {
	imp := ex.Importer
	base := Artifact{Executor: executor, Type: imp.TypeSchema.SchemaTitle}
	if c := &imp.ArtifactURI.Constant; c.Kind != 0 {
		uri, err := scalarString(c)
		if err != nil {
			return nil, fmt.Errorf("kfp: %s: %s.importer.artifactUri.constant: %w", file, field, err)
		}
		a := base
		a.Source = "constant"
		a.setURI(uri)
		return []Artifact{a}, nil
	}
	param := imp.ArtifactURI.RuntimeParameter
	if param == "" {
		return nil, fmt.Errorf("kfp: %s: %s.importer.artifactUri has neither constant nor runtimeParameter", file, field)
	}
	seen := map[string]bool{}
	var out []Artifact
	add := func(a Artifact) {
		k := a.URI + "\x00" + a.Source
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for _, t := range tasks {
		a := base
		a.Source = "runtime parameter " + param
		p, ok := t.spec.Inputs.Parameters[param]
		switch {
		case !ok:
		case p.RuntimeValue != nil && p.RuntimeValue.Constant.Kind != 0:
			uri, err := scalarString(&p.RuntimeValue.Constant)
			if err != nil {
				return nil, fmt.Errorf("kfp: %s: task %s: inputs.parameters.%s.runtimeValue.constant: %w", file, t.name, param, err)
			}
			a.Source = "task input constant"
			a.setURI(uri)
		case p.ComponentInputParameter != "":
			if in, def, ok := rootDefault(root, p.ComponentInputParameter); ok {
				uri, err := scalarString(def)
				if err != nil {
					return nil, fmt.Errorf("kfp: %s: root.inputDefinitions.parameters.%s.defaultValue: %w", file, in, err)
				}
				a.Source = "pipeline input default " + in
				a.setURI(uri)
			}
		}
		add(a)
	}
	if len(out) == 0 {
		a := base
		a.Source = "runtime parameter " + param
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}

// rootDefault finds the default of the pipeline input a task parameter is
// bound to. Inside a nested DAG the SDK names it "pipelinechannel--NAME".
func rootDefault(root componentSpec, name string) (string, *yaml.Node, bool) {
	for _, n := range []string{name, strings.TrimPrefix(name, "pipelinechannel--")} {
		if p, ok := root.InputDefinitions.Parameters[n]; ok && p.DefaultValue.Kind != 0 {
			return n, &p.DefaultValue, true
		}
	}
	return "", nil, false
}

func scalarString(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("want a string, got a YAML %s", kindName(n.Kind))
	}
	return n.Value, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	}
	return "node"
}

func (a *Artifact) setURI(uri string) {
	a.URI = uri
	if u, err := url.Parse(uri); err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") {
		a.Scheme = strings.ToLower(u.Scheme)
		a.Candidate = candidateSchemes[a.Scheme]
	}
}
