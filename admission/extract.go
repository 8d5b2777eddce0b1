package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
)

// Limits on the objects extraction reads: an object is outside input.
const (
	// MaxObjectBytes bounds the object of one request.
	MaxObjectBytes = MaxReviewBytes
	// MaxDepth bounds the nesting of the object's JSON (a CronJob's pod
	// spec with affinity rules is about 20 deep).
	MaxDepth = 64
	// MaxImages bounds the containers (of every kind) one object may hold.
	MaxImages = 1000
	// MaxPodSpecs bounds the pod specs and Argo templates of one object.
	MaxPodSpecs = 500
	// MaxModels bounds the model URIs of one object.
	MaxModels = 100
)

// ErrOutOfScope is returned by Extract for kinds and subresources that
// run no images: they are allowed without review.
var ErrOutOfScope = errors.New("out of scope")

// ErrBadObject is wrapped by Extract's errors about the object itself.
var ErrBadObject = errors.New("object cannot be reviewed")

// Container kinds (Image.Kind).
const (
	ContainerRegular   = "container"
	ContainerInit      = "init"
	ContainerEphemeral = "ephemeral"
)

// Workload is what an object would run.
type Workload struct {
	Kind string
	Name string
	// PodSpecs are the object's pod specs, as JSON objects.
	PodSpecs []PodSpec
	// Images are every container's image, in document order.
	Images []Image
	// Models are model URIs (KServe storageUri(s), Trainer initializers).
	Models []Model
	// GPURequests sums nvidia.com/gpu over every container (the larger of
	// its request and limit).
	GPURequests int64
	// Privileged is true when any container asks for privileged mode.
	Privileged bool
	// HostPath is true when any pod mounts a hostPath volume.
	HostPath bool
}

// PodSpec is one pod spec of an object and where it is (a JSON pointer).
type PodSpec struct {
	Path string
	Spec map[string]any
}

// Image is one container's image and where it is written.
type Image struct {
	Container string
	// Kind is container, init or ephemeral.
	Kind string
	Ref  string
	// Path is the JSON pointer of the image field (for the /mutate patch).
	Path string
}

// Model is one model URI and where it is written.
type Model struct {
	URI  string
	Path string
}

// kindSpec says where a kind keeps its pod specs and containers.
type kindSpec struct {
	versions []string
	walk     func(w *walker, obj map[string]any)
}

type groupKind struct{ group, kind string }

var kinds = map[groupKind]kindSpec{
	{"", "Pod"}:                   {[]string{"v1"}, func(w *walker, o map[string]any) { w.podSpec(o, "spec") }},
	{"", "ReplicationController"}: {[]string{"v1"}, templateAt("spec", "template", "spec")},
	{"apps", "Deployment"}:        {[]string{"v1"}, templateAt("spec", "template", "spec")},
	{"apps", "ReplicaSet"}:        {[]string{"v1"}, templateAt("spec", "template", "spec")},
	{"apps", "StatefulSet"}:       {[]string{"v1"}, templateAt("spec", "template", "spec")},
	{"apps", "DaemonSet"}:         {[]string{"v1"}, templateAt("spec", "template", "spec")},
	{"batch", "Job"}:              {[]string{"v1"}, templateAt("spec", "template", "spec")},
	{"batch", "CronJob"}:          {[]string{"v1"}, templateAt("spec", "jobTemplate", "spec", "template", "spec")},
	{"kubeflow.org", "Notebook"}:  {[]string{"v1", "v1beta1"}, templateAt("spec", "template", "spec")},
	// Kubeflow's training-operator jobs keep one pod template per role.
	{"kubeflow.org", "PyTorchJob"}: {[]string{"v1"}, replicaSpecs},
	{"kubeflow.org", "TFJob"}:      {[]string{"v1"}, replicaSpecs},
	{"kubeflow.org", "XGBoostJob"}: {[]string{"v1"}, replicaSpecs},
	{"kubeflow.org", "PaddleJob"}:  {[]string{"v1"}, replicaSpecs},
	{"kubeflow.org", "JAXJob"}:     {[]string{"v1"}, replicaSpecs},
	{"kubeflow.org", "MPIJob"}:     {[]string{"v1"}, replicaSpecs},

	{"trainer.kubeflow.org", "TrainJob"}:        {[]string{"v1alpha1"}, trainJob},
	{"trainer.kubeflow.org", "TrainingRuntime"}: {[]string{"v1alpha1"}, jobSetAt("spec", "template", "spec")},
	{"jobset.x-k8s.io", "JobSet"}:               {[]string{"v1alpha2"}, jobSetAt("spec")},
	{"serving.kserve.io", "InferenceService"}:   {[]string{"v1beta1"}, inferenceService},
	{"argoproj.io", "Workflow"}:                 {[]string{"v1alpha1"}, argoAt("spec")},
	{"argoproj.io", "WorkflowTemplate"}:         {[]string{"v1alpha1"}, argoAt("spec")},
	{"argoproj.io", "CronWorkflow"}:             {[]string{"v1alpha1"}, argoAt("spec", "workflowSpec")},
	{"serving.kserve.io", "ServingRuntime"}:     {[]string{"v1alpha1"}, servingRuntime},
}

// Extract reads the object of a request of kind gvk (and subresource, ""
// for the object itself) and returns what it would run. Kinds that run
// nothing are ErrOutOfScope; objects too large, too deep, malformed or
// lacking their pod spec are errors wrapping ErrBadObject.
func Extract(gvk metav1.GroupVersionKind, subResource string, raw []byte) (*Workload, error) {
	spec, ok := kinds[groupKind{gvk.Group, gvk.Kind}]
	if !ok || spec.walk == nil {
		return nil, fmt.Errorf("%w: kind %s", ErrOutOfScope, gvkString(gvk))
	}
	ephemeral := false
	if subResource != "" {
		if gvk.Kind != "Pod" || subResource != "ephemeralcontainers" {
			return nil, fmt.Errorf("%w: subresource %s of %s", ErrOutOfScope, subResource, gvk.Kind)
		}
		ephemeral = true
	}
	if !slices.Contains(spec.versions, gvk.Version) {
		return nil, fmt.Errorf("%w: %s: version %s is not supported (want %s)", ErrBadObject, gvkString(gvk), gvk.Version, strings.Join(spec.versions, ", "))
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	w := &walker{wl: &Workload{Kind: gvk.Kind}, ephemeralOnly: ephemeral}
	if md, ok := obj["metadata"].(map[string]any); ok {
		w.wl.Name, _ = md["name"].(string)
		if w.wl.Name == "" {
			w.wl.Name, _ = md["generateName"].(string)
		}
	}
	spec.walk(w, obj)
	if w.err != nil {
		return nil, w.err
	}
	return w.wl, nil
}

func gvkString(gvk metav1.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version + " " + gvk.Kind
	}
	return gvk.Group + "/" + gvk.Version + " " + gvk.Kind
}

// decodeObject parses the object after checking its size and depth (the
// JSON decoder's own depth bound is 10000).
func decodeObject(raw []byte) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: the request carries no object", ErrBadObject)
	}
	if len(raw) > MaxObjectBytes {
		return nil, fmt.Errorf("%w: object of %d bytes is larger than %d", ErrBadObject, len(raw), MaxObjectBytes)
	}
	if d := jsonDepth(raw); d > MaxDepth {
		return nil, fmt.Errorf("%w: object nested deeper than %d levels", ErrBadObject, MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: malformed JSON object: %v", ErrBadObject, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrBadObject)
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: the object is null", ErrBadObject)
	}
	return obj, nil
}

// jsonDepth is the deepest nesting of brackets in raw, outside strings; it
// stops counting once past MaxDepth.
func jsonDepth(raw []byte) int { return jsonscan.Depth(raw, MaxDepth) }

// walker collects a workload; the first error stops it.
type walker struct {
	wl            *Workload
	err           error
	ephemeralOnly bool
	specs         int
}

func (w *walker) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: "+format, append([]any{ErrBadObject}, args...)...)
	}
}

// pointer renders path segments as a JSON pointer (RFC 6901).
func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func dotted(path []string) string { return strings.Join(path, ".") }

// at walks m along path; ok is false when a step is absent. A step that is
// present but not an object is an error.
func (w *walker) at(m map[string]any, path []string) (map[string]any, bool) {
	cur := m
	for i, k := range path {
		v, present := cur[k]
		if !present || v == nil {
			return nil, false
		}
		next, isMap := v.(map[string]any)
		if !isMap {
			w.fail("%s must be an object, got %s", dotted(path[:i+1]), jsonscan.TypeName(v))
			return nil, false
		}
		cur = next
	}
	return cur, true
}

func (w *walker) list(m map[string]any, key string, path []string) []any {
	v, present := m[key]
	if !present || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		w.fail("%s must be a list, got %s", dotted(append(path, key)), jsonscan.TypeName(v))
		return nil
	}
	return l
}

func join(path []string, more ...string) []string {
	return append(slices.Clip(path), more...)
}

// templateAt is a kind whose one pod spec is at path (which must exist).
func templateAt(path ...string) func(*walker, map[string]any) {
	return func(w *walker, o map[string]any) { w.podSpec(o, path...) }
}

// podSpec reads the required pod spec at path.
func (w *walker) podSpec(o map[string]any, path ...string) {
	spec, ok := w.at(o, path)
	if !ok {
		w.fail("%s is missing", dotted(path))
		return
	}
	w.podSpecMap(spec, path)
}

// podSpecMap collects a pod spec's containers and volumes.
func (w *walker) podSpecMap(spec map[string]any, path []string) {
	if w.err != nil {
		return
	}
	if w.specs++; w.specs > MaxPodSpecs {
		w.fail("more than %d pod specs or templates", MaxPodSpecs)
		return
	}
	w.wl.PodSpecs = append(w.wl.PodSpecs, PodSpec{Path: pointer(path), Spec: spec})
	if !w.ephemeralOnly {
		w.containers(spec, "containers", path, ContainerRegular)
		w.containers(spec, "initContainers", path, ContainerInit)
		w.volumes(spec, path)
	}
	w.containers(spec, "ephemeralContainers", path, ContainerEphemeral)
}

func (w *walker) containers(spec map[string]any, key string, path []string, kind string) {
	for i, c := range w.list(spec, key, path) {
		p := join(path, key, strconv.Itoa(i))
		m, ok := c.(map[string]any)
		if !ok {
			w.fail("%s must be an object, got %s", dotted(p), jsonscan.TypeName(c))
			return
		}
		w.container(m, p, kind, true)
	}
}

// container collects one container; an image is required unless the
// container is a KServe framework spec (whose runtime picks the image).
func (w *walker) container(c map[string]any, path []string, kind string, needImage bool) {
	if w.err != nil {
		return
	}
	name, _ := c["name"].(string)
	img, present := c["image"]
	ref, isString := img.(string)
	switch {
	case present && !isString:
		w.fail("%s.image must be a string, got %s", dotted(path), jsonscan.TypeName(img))
		return
	case ref == "" && needImage:
		w.fail("%s (container %q) has no image", dotted(path), name)
		return
	case ref != "":
		if len(w.wl.Images) >= MaxImages {
			w.fail("more than %d containers", MaxImages)
			return
		}
		w.wl.Images = append(w.wl.Images, Image{Container: name, Kind: kind, Ref: ref, Path: pointer(join(path, "image"))})
	}
	if sc, ok := w.at(c, []string{"securityContext"}); ok && sc["privileged"] == true {
		w.wl.Privileged = true
	}
	if res, ok := w.at(c, []string{"resources"}); ok {
		w.wl.GPURequests += w.gpus(res, path)
	}
}

const gpuResource = "nvidia.com/gpu"

// gpus is the larger of a container's nvidia.com/gpu request and limit.
func (w *walker) gpus(res map[string]any, path []string) int64 {
	var most int64
	for _, k := range []string{"limits", "requests"} {
		m, ok := w.at(res, []string{k})
		if !ok {
			continue
		}
		v, ok := m[gpuResource]
		if !ok {
			continue
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		default:
			w.fail("%s.resources.%s[%s] must be a quantity, got %s", dotted(path), k, gpuResource, jsonscan.TypeName(v))
			return 0
		}
		q, err := resource.ParseQuantity(s)
		if err != nil {
			w.fail("%s.resources.%s[%s]: %q is not a quantity", dotted(path), k, gpuResource, s)
			return 0
		}
		if n := q.Value(); n > most {
			most = n
		}
	}
	return most
}

func (w *walker) volumes(spec map[string]any, path []string) {
	for i, v := range w.list(spec, "volumes", path) {
		m, ok := v.(map[string]any)
		if !ok {
			w.fail("%s.volumes[%d] must be an object, got %s", dotted(path), i, jsonscan.TypeName(v))
			return
		}
		if m["hostPath"] != nil {
			w.wl.HostPath = true
		}
	}
}

// replicaSpecs reads Kubeflow training jobs: spec.<x>ReplicaSpecs.<role>.template.spec.
func replicaSpecs(w *walker, o map[string]any) {
	spec, ok := w.at(o, []string{"spec"})
	if !ok {
		w.fail("spec is missing")
		return
	}
	found := false
	for _, key := range slices.Sorted(maps.Keys(spec)) {
		if !strings.HasSuffix(key, "ReplicaSpecs") {
			continue
		}
		roles, ok := w.at(o, []string{"spec", key})
		if !ok {
			continue
		}
		for _, role := range slices.Sorted(maps.Keys(roles)) {
			found = true
			w.podSpec(o, "spec", key, role, "template", "spec")
		}
	}
	if !found {
		w.fail("spec has no replica specs (spec.<kind>ReplicaSpecs.<role>.template.spec)")
	}
}

// jobSetAt reads a JobSet spec at path: replicatedJobs[].template.spec.template.spec.
func jobSetAt(path ...string) func(*walker, map[string]any) {
	return func(w *walker, o map[string]any) {
		spec, ok := w.at(o, path)
		if !ok {
			w.fail("%s is missing", dotted(path))
			return
		}
		jobs := w.list(spec, "replicatedJobs", path)
		if len(jobs) == 0 && w.err == nil {
			w.fail("%s.replicatedJobs is empty", dotted(path))
		}
		for i := range jobs {
			w.podSpec(o, join(path, "replicatedJobs", strconv.Itoa(i), "template", "spec", "template", "spec")...)
		}
	}
}

// trainJob reads a Kubeflow Trainer TrainJob: the trainer's image (the
// runtime's when unset) and the model initializer's storageUri.
func trainJob(w *walker, o map[string]any) {
	spec, ok := w.at(o, []string{"spec"})
	if !ok {
		w.fail("spec is missing")
		return
	}
	if tr, ok := w.at(spec, []string{"trainer"}); ok {
		w.container(tr, []string{"spec", "trainer"}, ContainerRegular, false)
		if res, ok := w.at(tr, []string{"resourcesPerNode"}); ok {
			w.wl.GPURequests += w.gpus(res, []string{"spec", "trainer"})
		}
	}
	if m, ok := w.at(spec, []string{"initializer", "model"}); ok {
		w.models(m, []string{"spec", "initializer", "model"})
	}
}

// kserveFrameworks are the predictor and explainer fields of KServe
// v1beta1 that hold a container (image optional: the serving runtime
// brings one) and a storageUri.
var kserveFrameworks = []string{"model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml", "lightgbm", "paddle", "huggingface", "art"}

// inferenceService reads a KServe InferenceService: each component is a
// pod spec (custom containers), its framework spec a container with model
// URIs, and workerSpec a second pod spec.
func inferenceService(w *walker, o map[string]any) {
	if _, ok := w.at(o, []string{"spec", "predictor"}); !ok {
		w.fail("spec.predictor is missing")
		return
	}
	for _, comp := range []string{"predictor", "transformer", "explainer"} {
		path := []string{"spec", comp}
		c, ok := w.at(o, path)
		if !ok {
			continue
		}
		w.podSpecMap(c, path)
		for _, fw := range kserveFrameworks {
			if m, ok := w.at(c, []string{fw}); ok {
				w.container(m, join(path, fw), ContainerRegular, false)
				w.models(m, join(path, fw))
			}
		}
		if ws, ok := w.at(c, []string{"workerSpec"}); ok {
			w.podSpecMap(ws, join(path, "workerSpec"))
		}
	}
}

// servingRuntime is a KServe ServingRuntime: its spec is a pod spec.
func servingRuntime(w *walker, o map[string]any) { w.podSpec(o, "spec") }

// models collects storageUri and storageUris (strings or {uri: ...}).
func (w *walker) models(m map[string]any, path []string) {
	add := func(v any, p []string) {
		s, ok := v.(string)
		if !ok {
			w.fail("%s must be a string, got %s", dotted(p), jsonscan.TypeName(v))
			return
		}
		if len(w.wl.Models) >= MaxModels {
			w.fail("more than %d model URIs", MaxModels)
			return
		}
		w.wl.Models = append(w.wl.Models, Model{URI: s, Path: pointer(p)})
	}
	if v, ok := m["storageUri"]; ok && v != nil {
		add(v, join(path, "storageUri"))
	}
	for i, v := range w.list(m, "storageUris", path) {
		p := join(path, "storageUris", strconv.Itoa(i))
		if e, ok := v.(map[string]any); ok {
			v, p = e["uri"], join(p, "uri")
		}
		add(v, p)
	}
}

// argoAt reads an Argo workflow spec at path: every template's container,
// script, init containers, sidecars and container set, inline templates of
// steps and DAG tasks included, and the workflow's volumes.
func argoAt(path ...string) func(*walker, map[string]any) {
	return func(w *walker, o map[string]any) {
		spec, ok := w.at(o, path)
		if !ok {
			w.fail("%s is missing", dotted(path))
			return
		}
		w.volumes(spec, path)
		for i, t := range w.list(spec, "templates", path) {
			w.argoTemplate(t, join(path, "templates", strconv.Itoa(i)))
		}
	}
}

func (w *walker) argoTemplate(t any, path []string) {
	if w.err != nil {
		return
	}
	m, ok := t.(map[string]any)
	if !ok {
		w.fail("%s must be an object, got %s", dotted(path), jsonscan.TypeName(t))
		return
	}
	if w.specs++; w.specs > MaxPodSpecs {
		w.fail("more than %d pod specs or templates", MaxPodSpecs)
		return
	}
	for _, k := range []string{"container", "script"} {
		if c, ok := w.at(m, []string{k}); ok {
			w.container(c, join(path, k), ContainerRegular, true)
		}
	}
	w.containers(m, "initContainers", path, ContainerInit)
	w.containers(m, "sidecars", path, ContainerRegular)
	if cs, ok := w.at(m, []string{"containerSet"}); ok {
		w.containers(cs, "containers", join(path, "containerSet"), ContainerRegular)
	}
	for i, step := range w.list(m, "steps", path) {
		group, ok := step.([]any)
		if !ok {
			continue
		}
		for j, s := range group {
			if sm, ok := s.(map[string]any); ok && sm["inline"] != nil {
				w.argoTemplate(sm["inline"], join(path, "steps", strconv.Itoa(i), strconv.Itoa(j), "inline"))
			}
		}
	}
	if dag, ok := w.at(m, []string{"dag"}); ok {
		for i, task := range w.list(dag, "tasks", join(path, "dag")) {
			if tm, ok := task.(map[string]any); ok && tm["inline"] != nil {
				w.argoTemplate(tm["inline"], join(path, "dag", "tasks", strconv.Itoa(i), "inline"))
			}
		}
	}
}
