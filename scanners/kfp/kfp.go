// Package kfp reads a Kubeflow Pipelines v2 compiled pipeline (the IR YAML
// the KFP SDK writes: a PipelineSpec, optionally followed by a second
// document holding the Kubernetes platform spec) and reports what a gate
// needs: every component with its executor's image, the artifact URIs that
// importers bring in, the pipeline's input defaults and the Kubernetes
// settings of each executor. Images and importer URIs become subjects.
package kfp

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/yamlbound"
)

// Schema names the version of the evidence format.
const Schema = "kfp/v1"

// Limits on what one compiled pipeline may hold. Real pipelines are far
// below them (a large one has tens of executors and is a few hundred KiB).
const (
	MaxFileSize   = 8 << 20
	MaxDocuments  = 2
	MaxExecutors  = 2000
	MaxComponents = 4000
	MaxTasks      = 10000
	MaxDepth      = 64
	MaxNodes      = 2_000_000
)

// Evidence is what a compiled pipeline declares (input.evidence.kfp).
type Evidence struct {
	Schema        string `json:"schema"`
	File          string `json:"file"`
	Pipeline      string `json:"pipeline"`
	SchemaVersion string `json:"schema_version"`
	SDKVersion    string `json:"sdk_version,omitempty"`
	// Components are sorted by name; DAG components have no executor.
	Components []Component `json:"components"`
	// Inputs are the pipeline's root input parameters, sorted by name.
	Inputs []Input `json:"inputs"`
	// Artifacts are the importers' URIs, sorted by executor.
	Artifacts []Artifact `json:"artifacts"`
	// Platform holds the Kubernetes settings per executor (the second
	// document); absent when the file has none.
	Platform map[string]Platform `json:"platform,omitempty"`
}

// Component is one entry of the IR's components map.
type Component struct {
	Name     string `json:"name"`
	Executor string `json:"executor,omitempty"`
	// Kind is "container", "importer", "resolver" or "dag".
	Kind      string     `json:"kind"`
	Container *Container `json:"container,omitempty"`
	// Tasks names the DAG tasks that run this component.
	Tasks []string `json:"tasks,omitempty"`
}

// Container is a container executor.
type Container struct {
	Image string `json:"image"`
	// Pinned is true when the image names a sha256 digest.
	Pinned bool `json:"pinned"`
	// Placeholder is true when the image is a runtime placeholder
	// ("{{$.inputs.parameters['img']}}"): what runs is not in the file.
	Placeholder bool     `json:"placeholder,omitempty"`
	Command     []string `json:"command,omitempty"`
	Args        []string `json:"args,omitempty"`
}

// Input is one root input parameter.
type Input struct {
	Name    string `json:"name"`
	Type    string `json:"type,omitempty"`
	Default any    `json:"default,omitempty"`
	// HasDefault tells an absent default from a null or empty one.
	HasDefault bool `json:"has_default"`
}

// Artifact is a URI an importer brings into the pipeline.
type Artifact struct {
	Executor string `json:"executor"`
	// URI is empty when it cannot be known from the file (a runtime
	// parameter with no constant and no default).
	URI string `json:"uri,omitempty"`
	// Source says where the URI came from: "constant", "task input
	// constant" or "pipeline input default NAME" (a default the run may
	// override), or "runtime parameter NAME" when unresolved.
	Source string `json:"source"`
	// Type is the importer's schemaTitle (system.Dataset, system.Model...).
	Type string `json:"type,omitempty"`
	// Scheme is the URI's scheme; Candidate is true for the schemes gates
	// can fetch a subject from (gs, s3, oci, https).
	Scheme    string `json:"scheme,omitempty"`
	Candidate bool   `json:"candidate"`
}

// Platform is one executor's Kubernetes settings.
type Platform struct {
	Secrets          []SecretRef       `json:"secrets,omitempty"`
	PVCs             []PVCMount        `json:"pvcs,omitempty"`
	NodeSelector     map[string]string `json:"node_selector,omitempty"`
	Tolerations      []Toleration      `json:"tolerations,omitempty"`
	ImagePullSecrets []string          `json:"image_pull_secrets,omitempty"`
	ImagePullPolicy  string            `json:"image_pull_policy,omitempty"`
	// Other lists the other settings present (configMapAsEnv,
	// securityContext...) by their IR key, sorted.
	Other []string `json:"other,omitempty"`
}

// SecretRef is a secret mounted as a volume or exposed as environment.
type SecretRef struct {
	Name string `json:"name"`
	// As is "volume" or "env"; MountPath or Env say where.
	As        string   `json:"as"`
	MountPath string   `json:"mount_path,omitempty"`
	Env       []string `json:"env,omitempty"`
}

// PVCMount is a persistent volume claim mounted into the executor.
type PVCMount struct {
	// Name is the claim's name, or how it is produced at run time
	// ("task createpvc output name", "pipeline input pvc").
	Name      string `json:"name"`
	MountPath string `json:"mount_path"`
}

// Toleration is a Kubernetes toleration.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// candidateSchemes are the URI schemes that make a model or dataset subject.
var candidateSchemes = map[string]bool{"gs": true, "s3": true, "oci": true, "https": true}

var digestRE = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// ParseFile reads and parses a compiled pipeline, refusing special files
// and files over MaxFileSize.
func ParseFile(path string) (*Evidence, error) {
	data, err := readlimit.File(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("kfp: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a compiled pipeline held in data; name is for errors.
func Parse(name string, data []byte) (*Evidence, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("kfp: %s is %d bytes, limit %d", name, len(data), MaxFileSize)
	}
	docs, err := documents(name, data)
	if err != nil {
		return nil, err
	}
	var spec pipelineSpec
	if err := docs[0].Decode(&spec); err != nil {
		return nil, fmt.Errorf("kfp: %s: pipeline spec: %w", name, err)
	}
	ev, err := spec.evidence(name)
	if err != nil {
		return nil, err
	}
	if len(docs) == 2 {
		if ev.Platform, err = platform(name, docs[1], spec.DeploymentSpec.Executors); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// documents splits data into one or two YAML documents, each a mapping
// within the limits above.
func documents(name string, data []byte) ([]*yaml.Node, error) {
	docs, err := yamlbound.Mappings(name, data, yamlbound.Limits{Documents: MaxDocuments, Depth: MaxDepth, Nodes: MaxNodes})
	if err != nil {
		return nil, fmt.Errorf("kfp: %w (want a compiled pipeline: the pipeline spec and at most a platform spec)", err)
	}
	return docs, nil
}

type pipelineSpec struct {
	PipelineInfo struct {
		Name string `yaml:"name"`
	} `yaml:"pipelineInfo"`
	SchemaVersion  string                   `yaml:"schemaVersion"`
	SDKVersion     string                   `yaml:"sdkVersion"`
	Components     map[string]componentSpec `yaml:"components"`
	Root           componentSpec            `yaml:"root"`
	DeploymentSpec *struct {
		Executors map[string]executorSpec `yaml:"executors"`
	} `yaml:"deploymentSpec"`
}

type componentSpec struct {
	ExecutorLabel    string `yaml:"executorLabel"`
	InputDefinitions struct {
		Parameters map[string]struct {
			ParameterType string    `yaml:"parameterType"`
			DefaultValue  yaml.Node `yaml:"defaultValue"`
		} `yaml:"parameters"`
	} `yaml:"inputDefinitions"`
	DAG *struct {
		Tasks map[string]taskSpec `yaml:"tasks"`
	} `yaml:"dag"`
}

type taskSpec struct {
	ComponentRef struct {
		Name string `yaml:"name"`
	} `yaml:"componentRef"`
	Inputs struct {
		Parameters map[string]paramSpec `yaml:"parameters"`
	} `yaml:"inputs"`
}

// paramSpec is the IR's InputParameterSpec (the forms gatehouse resolves).
type paramSpec struct {
	RuntimeValue *struct {
		Constant yaml.Node `yaml:"constant"`
	} `yaml:"runtimeValue"`
	ComponentInputParameter string `yaml:"componentInputParameter"`
	TaskOutputParameter     *struct {
		ProducerTask       string `yaml:"producerTask"`
		OutputParameterKey string `yaml:"outputParameterKey"`
	} `yaml:"taskOutputParameter"`
}

type executorSpec struct {
	Container *struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
	} `yaml:"container"`
	Importer *struct {
		ArtifactURI struct {
			Constant         yaml.Node `yaml:"constant"`
			RuntimeParameter string    `yaml:"runtimeParameter"`
		} `yaml:"artifactUri"`
		TypeSchema struct {
			SchemaTitle string `yaml:"schemaTitle"`
		} `yaml:"typeSchema"`
	} `yaml:"importer"`
	Resolver yaml.Node `yaml:"resolver"`
}

func (s *pipelineSpec) evidence(name string) (*Evidence, error) {
	if s.SchemaVersion == "" {
		return nil, fmt.Errorf("kfp: %s: schemaVersion missing, want a KFP v2 compiled pipeline (2.x)", name)
	}
	if !strings.HasPrefix(s.SchemaVersion, "2.") {
		return nil, fmt.Errorf("kfp: %s: schemaVersion %q, want 2.x (a KFP v2 compiled pipeline)", name, s.SchemaVersion)
	}
	if s.DeploymentSpec == nil || len(s.DeploymentSpec.Executors) == 0 {
		return nil, fmt.Errorf("kfp: %s: deploymentSpec.executors missing or empty", name)
	}
	if n := len(s.DeploymentSpec.Executors); n > MaxExecutors {
		return nil, fmt.Errorf("kfp: %s: deploymentSpec.executors has %d entries, limit %d", name, n, MaxExecutors)
	}
	if n := len(s.Components); n > MaxComponents {
		return nil, fmt.Errorf("kfp: %s: components has %d entries, limit %d", name, n, MaxComponents)
	}
	if s.PipelineInfo.Name == "" {
		return nil, fmt.Errorf("kfp: %s: pipelineInfo.name missing", name)
	}
	if s.Root.DAG == nil {
		return nil, fmt.Errorf("kfp: %s: root.dag missing", name)
	}
	ev := &Evidence{
		Schema: Schema, File: name, Pipeline: s.PipelineInfo.Name,
		SchemaVersion: s.SchemaVersion, SDKVersion: s.SDKVersion,
		Components: []Component{}, Inputs: []Input{}, Artifacts: []Artifact{},
	}

	// Every DAG (root and nested) with its tasks, for task names and for
	// resolving importers' runtime parameters.
	byComponent := map[string][]boundTask{}
	ntasks := 0
	dags := []componentSpec{s.Root}
	for _, c := range s.Components {
		if c.DAG != nil {
			dags = append(dags, c)
		}
	}
	for _, d := range dags {
		for tn, t := range d.DAG.Tasks {
			if ntasks++; ntasks > MaxTasks {
				return nil, fmt.Errorf("kfp: %s: more than %d dag tasks", name, MaxTasks)
			}
			if t.ComponentRef.Name == "" {
				return nil, fmt.Errorf("kfp: %s: dag task %q: componentRef.name missing", name, tn)
			}
			if _, ok := s.Components[t.ComponentRef.Name]; !ok {
				return nil, fmt.Errorf("kfp: %s: dag task %q: componentRef.name %q is not in components", name, tn, t.ComponentRef.Name)
			}
			byComponent[t.ComponentRef.Name] = append(byComponent[t.ComponentRef.Name], boundTask{tn, t})
		}
	}

	for pn, p := range s.Root.InputDefinitions.Parameters {
		in := Input{Name: pn, Type: p.ParameterType}
		if p.DefaultValue.Kind != 0 {
			in.HasDefault = true
			if err := p.DefaultValue.Decode(&in.Default); err != nil {
				return nil, fmt.Errorf("kfp: %s: root.inputDefinitions.parameters.%s.defaultValue: %w", name, pn, err)
			}
		}
		ev.Inputs = append(ev.Inputs, in)
	}
	sort.Slice(ev.Inputs, func(i, j int) bool { return ev.Inputs[i].Name < ev.Inputs[j].Name })

	used := map[string]bool{}
	for cn, c := range s.Components {
		comp := Component{Name: cn, Executor: c.ExecutorLabel}
		for _, t := range byComponent[cn] {
			comp.Tasks = append(comp.Tasks, t.name)
		}
		sort.Strings(comp.Tasks)
		if c.ExecutorLabel == "" {
			if c.DAG == nil {
				return nil, fmt.Errorf("kfp: %s: components.%s has neither executorLabel nor dag", name, cn)
			}
			comp.Kind = "dag"
			ev.Components = append(ev.Components, comp)
			continue
		}
		ex, ok := s.DeploymentSpec.Executors[c.ExecutorLabel]
		if !ok {
			return nil, fmt.Errorf("kfp: %s: components.%s.executorLabel %q is not in deploymentSpec.executors", name, cn, c.ExecutorLabel)
		}
		used[c.ExecutorLabel] = true
		field := "deploymentSpec.executors." + c.ExecutorLabel
		switch {
		case ex.Container != nil:
			img := ex.Container.Image
			if img == "" {
				return nil, fmt.Errorf("kfp: %s: %s.container.image missing", name, field)
			}
			comp.Kind = "container"
			comp.Container = &Container{
				Image: img, Pinned: digestRE.MatchString(img),
				Placeholder: strings.Contains(img, "{{"),
				Command:     ex.Container.Command, Args: ex.Container.Args,
			}
		case ex.Importer != nil:
			comp.Kind = "importer"
			art, err := importerArtifact(name, field, c.ExecutorLabel, ex, s.Root, byComponent[cn])
			if err != nil {
				return nil, err
			}
			ev.Artifacts = append(ev.Artifacts, art...)
		case ex.Resolver.Kind != 0:
			comp.Kind = "resolver"
		default:
			return nil, fmt.Errorf("kfp: %s: %s has no container, importer or resolver", name, field)
		}
		ev.Components = append(ev.Components, comp)
	}
	sort.Slice(ev.Components, func(i, j int) bool { return ev.Components[i].Name < ev.Components[j].Name })
	sort.SliceStable(ev.Artifacts, func(i, j int) bool { return ev.Artifacts[i].Executor < ev.Artifacts[j].Executor })
	// An executor no component names still ships in the file; refuse it
	// rather than gate a pipeline whose images we did not all list.
	for en := range s.DeploymentSpec.Executors {
		if !used[en] {
			return nil, fmt.Errorf("kfp: %s: deploymentSpec.executors.%s is named by no component", name, en)
		}
	}
	return ev, nil
}

// boundTask is a DAG task with its name.
type boundTask struct {
	name string
	spec taskSpec
}
