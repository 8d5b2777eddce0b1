package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// fixture reads testdata/objects/<file> (YAML) as JSON with its kind.
func fixture(t testing.TB, file string) (metav1.GroupVersionKind, []byte) {
	t.Helper()
	y, err := os.ReadFile(filepath.Join("testdata", "objects", file))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		t.Fatal(err)
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		t.Fatal(err)
	}
	return metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: tm.Kind}, raw
}

func imageLines(w *Workload) []string {
	out := []string{}
	for _, i := range w.Images {
		out = append(out, fmt.Sprintf("%s %s %s %s", i.Kind, i.Container, i.Ref, i.Path))
	}
	return out
}

func TestExtractKinds(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	tests := []struct {
		file        string
		sub         string
		images      []string
		models      []string
		specs       []string
		gpus        int64
		priv, hostP bool
	}{
		{file: "pod.yaml", images: []string{
			"container api ghcr.io/acme/api:1.4.2 /spec/containers/0/image",
			"container envoy envoyproxy/envoy:v1.31.0 /spec/containers/1/image",
			"init migrate ghcr.io/acme/migrate@" + d1 + " /spec/initContainers/0/image",
			"ephemeral debugger busybox:1.36 /spec/ephemeralContainers/0/image",
		}, specs: []string{"/spec"}, gpus: 1},
		{file: "pod.yaml", sub: "ephemeralcontainers", images: []string{
			"ephemeral debugger busybox:1.36 /spec/ephemeralContainers/0/image",
		}, specs: []string{"/spec"}},
		{file: "deployment.yaml", images: []string{
			"container api ghcr.io/acme/api@sha256:2222222222222222222222222222222222222222222222222222222222222222 /spec/template/spec/containers/0/image",
		}, specs: []string{"/spec/template/spec"}},
		{file: "replicaset.yaml", images: []string{"container api ghcr.io/acme/api:1.4.2 /spec/template/spec/containers/0/image"}, specs: []string{"/spec/template/spec"}},
		{file: "statefulset.yaml", images: []string{
			"container redis docker.io/library/redis:7.2 /spec/template/spec/containers/0/image",
			"init init-perms registry.k8s.io/busybox:1.36 /spec/template/spec/initContainers/0/image",
		}, specs: []string{"/spec/template/spec"}},
		{file: "daemonset.yaml", images: []string{
			"container exporter nvcr.io/nvidia/k8s/dcgm-exporter:3.3.5-3.4.0-ubuntu22.04 /spec/template/spec/containers/0/image",
		}, specs: []string{"/spec/template/spec"}, priv: true, hostP: true},
		{file: "job.yaml", images: []string{
			"container score europe-docker.pkg.dev/acme/ml/batch-score:2026.11.1 /spec/template/spec/containers/0/image",
		}, specs: []string{"/spec/template/spec"}, gpus: 2},
		{file: "cronjob.yaml", images: []string{
			"container retrain europe-docker.pkg.dev/acme/ml/retrain@sha256:3333333333333333333333333333333333333333333333333333333333333333 /spec/jobTemplate/spec/template/spec/containers/0/image",
			"init fetch google/cloud-sdk:489.0.0-slim /spec/jobTemplate/spec/template/spec/initContainers/0/image",
		}, specs: []string{"/spec/jobTemplate/spec/template/spec"}},
		{file: "notebook-v1.yaml", images: []string{
			"container alice-jupyter kubeflownotebookswg/jupyter-scipy:v1.9.2 /spec/template/spec/containers/0/image",
		}, specs: []string{"/spec/template/spec"}},
		{file: "notebook-v1beta1.yaml", images: []string{
			"container bob-gpu kubeflownotebookswg/jupyter-pytorch-cuda-full:v1.9.2 /spec/template/spec/containers/0/image",
		}, specs: []string{"/spec/template/spec"}, gpus: 1, priv: true, hostP: true},
		{file: "inferenceservice.yaml", images: []string{
			"container kserve-container ghcr.io/acme/fraud-transformer:0.3.1 /spec/transformer/containers/0/image",
			"container  ghcr.io/acme/art-explainer:0.9 /spec/explainer/art/image",
		}, models: []string{
			"gs://acme-models/fraud/v3 /spec/predictor/model/storageUri",
			"oci://europe-docker.pkg.dev/acme/models/fraud-explainer@sha256:4444444444444444444444444444444444444444444444444444444444444444 /spec/explainer/art/storageUris/0",
		}, specs: []string{"/spec/predictor", "/spec/transformer", "/spec/explainer"}, gpus: 1},
		{file: "workflow.yaml", images: []string{
			"container  curlimages/curl:8.10.1 /spec/templates/0/dag/tasks/2/inline/container/image",
			"container  python:3.12-slim /spec/templates/1/script/image",
			"container  ghcr.io/acme/trainer:2.1 /spec/templates/2/container/image",
			"init fetch google/cloud-sdk:489.0.0-slim /spec/templates/2/initContainers/0/image",
			"container metrics prom/statsd-exporter:v0.27.1 /spec/templates/2/sidecars/0/image",
			"container a alpine:3.20 /spec/templates/3/containerSet/containers/0/image",
			"container b alpine:3.20 /spec/templates/3/containerSet/containers/1/image",
		}, gpus: 4},
		{file: "workflowtemplate.yaml", images: []string{"container  ghcr.io/acme/evaluate:1.0 /spec/templates/0/container/image"}},
		{file: "cronworkflow.yaml", images: []string{"container  ghcr.io/acme/evaluate:1.0 /spec/workflowSpec/templates/0/container/image"}},
		{file: "trainjob.yaml", images: []string{"container  ghcr.io/acme/llama-trainer:0.4 /spec/trainer/image"},
			models: []string{"hf://meta-llama/Llama-3.2-1B-Instruct /spec/initializer/model/storageUri"}, gpus: 8},
		{file: "pytorchjob.yaml", images: []string{
			"container pytorch docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727 /spec/pytorchReplicaSpecs/Master/template/spec/containers/0/image",
			"container pytorch docker.io/kubeflowkatib/pytorch-mnist:v1beta1-45c5727 /spec/pytorchReplicaSpecs/Worker/template/spec/containers/0/image",
		}, specs: []string{"/spec/pytorchReplicaSpecs/Master/template/spec", "/spec/pytorchReplicaSpecs/Worker/template/spec"}, gpus: 2},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml")+tt.sub, func(t *testing.T) {
			gvk, raw := fixture(t, tt.file)
			w, err := Extract(gvk, tt.sub, raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.images, imageLines(w)); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			models := []string{}
			for _, m := range w.Models {
				models = append(models, m.URI+" "+m.Path)
			}
			if diff := cmp.Diff(append([]string{}, tt.models...), models); diff != "" {
				t.Errorf("models (-want +got):\n%s", diff)
			}
			specs := []string{}
			for _, s := range w.PodSpecs {
				specs = append(specs, s.Path)
			}
			if diff := cmp.Diff(append([]string{}, tt.specs...), specs); diff != "" {
				t.Errorf("pod specs (-want +got):\n%s", diff)
			}
			if w.GPURequests != tt.gpus || w.Privileged != tt.priv || w.HostPath != tt.hostP {
				t.Errorf("gpus %d privileged %v hostPath %v, want %d %v %v", w.GPURequests, w.Privileged, w.HostPath, tt.gpus, tt.priv, tt.hostP)
			}
			if w.Name == "" {
				t.Error("no name")
			}
		})
	}
}

func TestExtractBadInput(t *testing.T) {
	pod := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deploy := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	many := `{"spec":{"containers":[` + strings.TrimSuffix(strings.Repeat(`{"name":"c","image":"a:1"},`, 100000), ",") + `]}}`
	deep := `{"spec":{"x":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}}`
	tests := []struct {
		name string
		gvk  metav1.GroupVersionKind
		sub  string
		raw  string
		want error
		msg  string
	}{
		{"unknown kind", metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "", `{}`, ErrOutOfScope, "kind v1 ConfigMap"},
		{"status subresource", pod, "status", `{}`, ErrOutOfScope, "subresource status"},
		{"scale subresource", deploy, "scale", `{}`, ErrOutOfScope, "subresource scale"},
		{"old version", metav1.GroupVersionKind{Group: "apps", Version: "v1beta1", Kind: "Deployment"}, "", `{}`, ErrBadObject, "version v1beta1 is not supported"},
		{"no object", pod, "", ``, ErrBadObject, "no object"},
		{"malformed", pod, "", `{"spec":`, ErrBadObject, "malformed JSON"},
		{"not an object", pod, "", `[1,2]`, ErrBadObject, "malformed JSON"},
		{"null", pod, "", `null`, ErrBadObject, "null"},
		{"trailing data", pod, "", `{"spec":{}} {}`, ErrBadObject, "data after"},
		{"no spec", pod, "", `{"metadata":{"name":"x"}}`, ErrBadObject, "spec is missing"},
		{"no template", deploy, "", `{"spec":{"replicas":1}}`, ErrBadObject, "spec.template.spec is missing"},
		{"spec not object", pod, "", `{"spec":"x"}`, ErrBadObject, "spec must be an object"},
		{"containers not list", pod, "", `{"spec":{"containers":{"a":1}}}`, ErrBadObject, "spec.containers must be a list"},
		{"container not object", pod, "", `{"spec":{"containers":["nginx"]}}`, ErrBadObject, "spec.containers.0 must be an object"},
		{"image not string", pod, "", `{"spec":{"containers":[{"name":"c","image":7}]}}`, ErrBadObject, "image must be a string"},
		{"no image", pod, "", `{"spec":{"containers":[{"name":"c"}]}}`, ErrBadObject, `(container "c") has no image`},
		{"bad gpu quantity", pod, "", `{"spec":{"containers":[{"name":"c","image":"a","resources":{"limits":{"nvidia.com/gpu":"lots"}}}]}}`, ErrBadObject, "is not a quantity"},
		{"100k containers", pod, "", many, ErrBadObject, "more than 1000 containers"},
		{"deep nesting", pod, "", deep, ErrBadObject, "nested deeper than 64"},
		{"too large", pod, "", `{"spec":{"containers":[],"x":"` + strings.Repeat("a", MaxObjectBytes) + `"}}`, ErrBadObject, "larger than"},
		{"isvc without predictor", metav1.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"}, "", `{"spec":{}}`, ErrBadObject, "spec.predictor is missing"},
		{"pytorchjob without replicas", metav1.GroupVersionKind{Group: "kubeflow.org", Version: "v1", Kind: "PyTorchJob"}, "", `{"spec":{}}`, ErrBadObject, "no replica specs"},
		{"argo template not object", metav1.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Workflow"}, "", `{"spec":{"templates":[3]}}`, ErrBadObject, "spec.templates.0 must be an object"},
		{"model uri not string", metav1.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"}, "", `{"spec":{"predictor":{"model":{"storageUri":5}}}}`, ErrBadObject, "storageUri must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Extract(tt.gvk, tt.sub, []byte(tt.raw))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestJSONDepthIgnoresStrings(t *testing.T) {
	if d := jsonDepth([]byte(`{"a":"[[[[{{{{\"[[["}`)); d != 1 {
		t.Fatalf("depth %d, want 1", d)
	}
}

// FuzzExtract: any object of any supported kind gives a workload or an
// error, never a panic, and stays within the limits.
func FuzzExtract(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "objects"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		gvk, raw := fixture(f, e.Name())
		f.Add(gvk.Group, gvk.Version, gvk.Kind, "", raw)
	}
	f.Add("", "v1", "Pod", "ephemeralcontainers", []byte(`{"spec":{"ephemeralContainers":[{"name":"d","image":"busybox"}]}}`))
	f.Add("", "v1", "Pod", "", []byte(`{"spec":{"containers":[{"name":"c","image":"a","resources":{"limits":{"nvidia.com/gpu":"1e3"}}}]}}`))
	f.Add("argoproj.io", "v1alpha1", "Workflow", "", []byte(`{"spec":{"templates":[{"steps":[[{"inline":{"container":{"image":"x"}}}]]}]}}`))
	f.Fuzz(func(t *testing.T, group, version, kind, sub string, raw []byte) {
		w, err := Extract(metav1.GroupVersionKind{Group: group, Version: version, Kind: kind}, sub, raw)
		if err != nil {
			if w != nil {
				t.Fatal("workload with an error")
			}
			if !errors.Is(err, ErrOutOfScope) && !errors.Is(err, ErrBadObject) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(w.Images) > MaxImages || len(w.PodSpecs) > MaxPodSpecs || len(w.Models) > MaxModels {
			t.Fatalf("limits exceeded: %d images %d specs %d models", len(w.Images), len(w.PodSpecs), len(w.Models))
		}
		for _, i := range w.Images {
			if i.Ref == "" || !strings.HasPrefix(i.Path, "/") {
				t.Fatalf("bad image %+v", i)
			}
		}
	})
}
