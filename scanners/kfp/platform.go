package kfp

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/gates"
)

type platformDoc struct {
	Platforms map[string]struct {
		DeploymentSpec struct {
			Executors map[string]yaml.Node `yaml:"executors"`
		} `yaml:"deploymentSpec"`
	} `yaml:"platforms"`
}

// executorConfig is the part of KFP's KubernetesExecutorConfig gatehouse
// reports field by field; other keys are listed by name.
type executorConfig struct {
	SecretAsVolume []struct {
		SecretName          string     `yaml:"secretName"`
		SecretNameParameter *paramSpec `yaml:"secretNameParameter"`
		MountPath           string     `yaml:"mountPath"`
	} `yaml:"secretAsVolume"`
	SecretAsEnv []struct {
		SecretName          string     `yaml:"secretName"`
		SecretNameParameter *paramSpec `yaml:"secretNameParameter"`
		KeyToEnv            []struct {
			EnvVar string `yaml:"envVar"`
		} `yaml:"keyToEnv"`
	} `yaml:"secretAsEnv"`
	PvcMount []struct {
		MountPath               string     `yaml:"mountPath"`
		Constant                string     `yaml:"constant"`
		ComponentInputParameter string     `yaml:"componentInputParameter"`
		PvcNameParameter        *paramSpec `yaml:"pvcNameParameter"`
		TaskOutputParameter     *struct {
			ProducerTask       string `yaml:"producerTask"`
			OutputParameterKey string `yaml:"outputParameterKey"`
		} `yaml:"taskOutputParameter"`
	} `yaml:"pvcMount"`
	NodeSelector *struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"nodeSelector"`
	Tolerations     []Toleration `yaml:"tolerations"`
	ImagePullSecret []struct {
		SecretName          string     `yaml:"secretName"`
		SecretNameParameter *paramSpec `yaml:"secretNameParameter"`
	} `yaml:"imagePullSecret"`
	ImagePullPolicy string `yaml:"imagePullPolicy"`
}

var reportedKeys = map[string]bool{
	"secretAsVolume": true, "secretAsEnv": true, "pvcMount": true, "nodeSelector": true,
	"tolerations": true, "imagePullSecret": true, "imagePullPolicy": true,
}

// platform reads the second document: the Kubernetes settings per
// executor, each of which must be an executor of the pipeline spec.
func platform(file string, doc *yaml.Node, executors map[string]executorSpec) (map[string]Platform, error) {
	var pd platformDoc
	if err := doc.Decode(&pd); err != nil {
		return nil, fmt.Errorf("kfp: %s: platform spec (document 2): %w", file, err)
	}
	if len(pd.Platforms) == 0 {
		return nil, fmt.Errorf("kfp: %s: document 2 has no platforms, want the platform spec (platforms.kubernetes)", file)
	}
	k, ok := pd.Platforms["kubernetes"]
	if !ok {
		return nil, fmt.Errorf("kfp: %s: document 2: platforms.kubernetes missing", file)
	}
	if n := len(k.DeploymentSpec.Executors); n > MaxExecutors {
		return nil, fmt.Errorf("kfp: %s: platforms.kubernetes.deploymentSpec.executors has %d entries, limit %d", file, n, MaxExecutors)
	}
	out := map[string]Platform{}
	for en, node := range k.DeploymentSpec.Executors {
		field := "platforms.kubernetes.deploymentSpec.executors." + en
		if _, ok := executors[en]; !ok {
			return nil, fmt.Errorf("kfp: %s: %s is not in the pipeline's deploymentSpec.executors", file, field)
		}
		if node.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("kfp: %s: %s is not a mapping", file, field)
		}
		var c executorConfig
		if err := node.Decode(&c); err != nil {
			return nil, fmt.Errorf("kfp: %s: %s: %w", file, field, err)
		}
		var p Platform
		for _, s := range c.SecretAsVolume {
			p.Secrets = append(p.Secrets, SecretRef{Name: refName(s.SecretName, s.SecretNameParameter), As: "volume", MountPath: s.MountPath})
		}
		for _, s := range c.SecretAsEnv {
			r := SecretRef{Name: refName(s.SecretName, s.SecretNameParameter), As: "env"}
			for _, ke := range s.KeyToEnv {
				r.Env = append(r.Env, ke.EnvVar)
			}
			p.Secrets = append(p.Secrets, r)
		}
		for _, m := range c.PvcMount {
			name := refName(m.Constant, m.PvcNameParameter)
			switch {
			case name != "":
			case m.ComponentInputParameter != "":
				name = "component input " + m.ComponentInputParameter
			case m.TaskOutputParameter != nil:
				name = "task " + m.TaskOutputParameter.ProducerTask + " output " + m.TaskOutputParameter.OutputParameterKey
			}
			p.PVCs = append(p.PVCs, PVCMount{Name: name, MountPath: m.MountPath})
		}
		if c.NodeSelector != nil && len(c.NodeSelector.Labels) > 0 {
			p.NodeSelector = c.NodeSelector.Labels
		}
		p.Tolerations = c.Tolerations
		for _, s := range c.ImagePullSecret {
			p.ImagePullSecrets = append(p.ImagePullSecrets, refName(s.SecretName, s.SecretNameParameter))
		}
		p.ImagePullPolicy = c.ImagePullPolicy
		for i := 0; i+1 < len(node.Content); i += 2 {
			if key := node.Content[i].Value; !reportedKeys[key] {
				p.Other = append(p.Other, key)
			}
		}
		sort.Strings(p.Other)
		out[en] = p
	}
	return out, nil
}

// refName is a name given as a constant or as an InputParameterSpec.
func refName(constant string, p *paramSpec) string {
	if p != nil {
		switch {
		case p.RuntimeValue != nil && p.RuntimeValue.Constant.Kind == yaml.ScalarNode:
			return p.RuntimeValue.Constant.Value
		case p.ComponentInputParameter != "":
			return "component input " + p.ComponentInputParameter
		case p.TaskOutputParameter != nil:
			return "task " + p.TaskOutputParameter.ProducerTask + " output " + p.TaskOutputParameter.OutputParameterKey
		}
	}
	return constant
}

// Subjects returns what the pipeline brings in that gates judge on their
// own: every distinct container image (placeholders excluded: they name
// no image) and every importer URI with a candidate scheme, as a model
// (schemaTitle system.Model) or dataset (anything else). Labels name the
// pipeline and the components or executors that use each.
func (e *Evidence) Subjects() []gates.Subject {
	var out []gates.Subject
	index := map[string]int{}
	add := func(kind gates.Kind, ref, key, val string) {
		id := string(kind) + ":" + ref
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, gates.Subject{Kind: kind, Ref: ref, Name: ref, Labels: map[string]string{"kfp.pipeline": e.Pipeline}})
		}
		if prev := out[i].Labels[key]; prev != "" {
			if slices.Contains(strings.Split(prev, ","), val) {
				return
			}
			val = prev + "," + val
		}
		out[i].Labels[key] = val
	}
	for _, c := range e.Components {
		if c.Container != nil && !c.Container.Placeholder {
			add(gates.KindImage, c.Container.Image, "kfp.components", c.Name)
		}
	}
	for _, a := range e.Artifacts {
		if !a.Candidate {
			continue
		}
		kind := gates.KindDataset
		if a.Type == "system.Model" {
			kind = gates.KindModel
		}
		add(kind, a.URI, "kfp.executors", a.Executor)
	}
	return out
}
