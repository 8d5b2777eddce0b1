package kfp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

func component(t *testing.T, ev *Evidence, name string) Component {
	t.Helper()
	for _, c := range ev.Components {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %s in %+v", name, ev.Components)
	return Component{}
}

func TestHandWrittenPipeline(t *testing.T) {
	ev, err := ParseFile("testdata/train_pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Schema != Schema || ev.Pipeline != "fraud-train" || ev.SchemaVersion != "2.1.0" || ev.SDKVersion != "kfp-2.14.6" {
		t.Fatalf("header: %+v", ev)
	}
	if len(ev.Components) != 4 {
		t.Fatalf("components: %d, want 4", len(ev.Components))
	}
	pre := component(t, ev, "comp-preprocess")
	if pre.Kind != "container" || pre.Container.Image != "ghcr.io/acme/preprocess:1.4.2" || pre.Container.Pinned {
		t.Errorf("preprocess: %+v %+v", pre, pre.Container)
	}
	if !reflect.DeepEqual(pre.Container.Command, []string{"python", "-m", "acme.preprocess"}) || !reflect.DeepEqual(pre.Tasks, []string{"preprocess"}) {
		t.Errorf("preprocess command/tasks: %v %v", pre.Container.Command, pre.Tasks)
	}
	if tr := component(t, ev, "comp-train"); !tr.Container.Pinned {
		t.Errorf("train image not seen as pinned: %+v", tr.Container)
	}
	if imp := component(t, ev, "comp-importer"); imp.Kind != "importer" || imp.Executor != "exec-importer" {
		t.Errorf("importer: %+v", imp)
	}
	want := []Artifact{
		{Executor: "exec-importer", URI: "gs://acme-models/fraud/base-v3/model", Source: "pipeline input default base_model", Type: "system.Model", Scheme: "gs", Candidate: true},
		{Executor: "exec-importer-data", URI: "s3://acme-data/fraud/transactions-2026-10.parquet", Source: "constant", Type: "system.Dataset", Scheme: "s3", Candidate: true},
	}
	if !reflect.DeepEqual(ev.Artifacts, want) {
		t.Errorf("artifacts:\n got %+v\nwant %+v", ev.Artifacts, want)
	}
	if len(ev.Inputs) != 2 || ev.Inputs[1].Name != "epochs" || ev.Inputs[1].Default != 3.0 || !ev.Inputs[1].HasDefault {
		t.Errorf("inputs: %+v", ev.Inputs)
	}
	p, ok := ev.Platform["exec-train"]
	if !ok || len(ev.Platform) != 1 {
		t.Fatalf("platform: %+v", ev.Platform)
	}
	wantP := Platform{
		Secrets:          []SecretRef{{Name: "wandb", As: "env", Env: []string{"WANDB_API_KEY"}}},
		PVCs:             []PVCMount{{Name: "fraud-scratch", MountPath: "/scratch"}},
		NodeSelector:     map[string]string{"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
		Tolerations:      []Toleration{{Key: "nvidia.com/gpu", Operator: "Exists", Effect: "NoSchedule"}},
		ImagePullSecrets: []string{"ghcr-pull"},
		Other:            []string{"securityContext"},
	}
	if !reflect.DeepEqual(p, wantP) {
		t.Errorf("platform exec-train:\n got %+v\nwant %+v", p, wantP)
	}
	subs := ev.Subjects()
	wantS := []gates.Subject{
		{Kind: gates.KindImage, Ref: "ghcr.io/acme/preprocess:1.4.2"},
		{Kind: gates.KindImage, Ref: "ghcr.io/acme/train@sha256:3f4c1e2b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"},
		{Kind: gates.KindModel, Ref: "gs://acme-models/fraud/base-v3/model"},
		{Kind: gates.KindDataset, Ref: "s3://acme-data/fraud/transactions-2026-10.parquet"},
	}
	if len(subs) != len(wantS) {
		t.Fatalf("subjects: %+v", subs)
	}
	for i, s := range subs {
		if s.Kind != wantS[i].Kind || s.Ref != wantS[i].Ref || s.Labels["kfp.pipeline"] != "fraud-train" {
			t.Errorf("subject %d: %+v, want %s:%s", i, s, wantS[i].Kind, wantS[i].Ref)
		}
	}
	if _, err := json.Marshal(ev); err != nil {
		t.Fatal(err)
	}
}

// Real files compiled by the KFP SDK (see testdata/SOURCES.md).
func TestUpstreamPipelines(t *testing.T) {
	tests := []struct {
		file      string
		pipeline  string
		images    []string // image subjects, in order
		artifacts []string // URI|source
		platform  map[string]Platform
	}{
		{
			file: "kfp_pipeline_with_importer.yaml", pipeline: "pipeline-with-importer",
			images: []string{"python:3.11"},
			artifacts: []string{
				"gs://ml-pipeline-playground/shakespeare1.txt|constant",
				"gs://ml-pipeline-playground/shakespeare2.txt|pipeline input default dataset2",
			},
		},
		{
			file: "kfp_two_step_pipeline_containerized.yaml", pipeline: "containerized-two-step-pipeline",
			images: []string{"alpine"},
		},
		{
			file: "kfp_secret_as_env.yaml", pipeline: "my-pipeline",
			images:   []string{"python:3.11"},
			platform: map[string]Platform{"exec-comp": {Secrets: []SecretRef{{Name: "my-secret", As: "env", Env: []string{"SECRET_VAR"}}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := ParseFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Pipeline != tt.pipeline {
				t.Errorf("pipeline %q, want %q", ev.Pipeline, tt.pipeline)
			}
			var images []string
			for _, s := range ev.Subjects() {
				if s.Kind == gates.KindImage {
					images = append(images, s.Ref)
				}
			}
			if !reflect.DeepEqual(images, tt.images) {
				t.Errorf("images %v, want %v", images, tt.images)
			}
			var arts []string
			for _, a := range ev.Artifacts {
				arts = append(arts, a.URI+"|"+a.Source)
			}
			if !reflect.DeepEqual(arts, tt.artifacts) {
				t.Errorf("artifacts %v, want %v", arts, tt.artifacts)
			}
			if !reflect.DeepEqual(ev.Platform, tt.platform) {
				t.Errorf("platform %+v, want %+v", ev.Platform, tt.platform)
			}
			for _, c := range ev.Components {
				if c.Kind != "dag" && len(c.Tasks) == 0 {
					t.Errorf("component %s run by no task", c.Name)
				}
			}
		})
	}
}

const minimal = `pipelineInfo: {name: p}
schemaVersion: 2.1.0
components:
  comp-a: {executorLabel: exec-a}
deploymentSpec:
  executors:
    exec-a: {container: {image: alpine}}
root:
  dag:
    tasks:
      a: {componentRef: {name: comp-a}}
`

func TestMinimal(t *testing.T) {
	ev, err := Parse("p.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Components) != 1 || ev.Platform != nil {
		t.Fatalf("%+v", ev)
	}
}

func TestBadInput(t *testing.T) {
	deep := "pipelineInfo: {name: p}\nschemaVersion: 2.1.0\nx: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"
	tests := []struct {
		name, data, want string
	}{
		{"not yaml", "pipelineInfo: [unclosed", "not YAML"},
		{"empty", "", "empty file"},
		{"scalar", "hello", "not a YAML mapping"},
		{"no schemaVersion", strings.Replace(minimal, "schemaVersion: 2.1.0\n", "", 1), "schemaVersion missing"},
		{"v1 schema", strings.Replace(minimal, "2.1.0", "1.0.0", 1), `schemaVersion "1.0.0", want 2.x`},
		{"no deploymentSpec", strings.Replace(minimal, "deploymentSpec:\n  executors:\n    exec-a: {container: {image: alpine}}\n", "", 1), "deploymentSpec.executors missing"},
		{"no pipeline name", strings.Replace(minimal, "pipelineInfo: {name: p}", "pipelineInfo: {}", 1), "pipelineInfo.name missing"},
		{"no root dag", strings.Replace(minimal, "root:\n  dag:\n    tasks:\n      a: {componentRef: {name: comp-a}}\n", "root: {}\n", 1), "root.dag missing"},
		{"executor missing", strings.Replace(minimal, "executorLabel: exec-a", "executorLabel: exec-b", 1), `executorLabel "exec-b" is not in deploymentSpec.executors`},
		{"unknown component", strings.Replace(minimal, "componentRef: {name: comp-a}", "componentRef: {name: comp-z}", 1), `componentRef.name "comp-z" is not in components`},
		{"no image", strings.Replace(minimal, "{image: alpine}", "{command: [sh]}", 1), "deploymentSpec.executors.exec-a.container.image missing"},
		{"empty executor", strings.Replace(minimal, "{container: {image: alpine}}", "{}", 1), "has no container, importer or resolver"},
		{"orphan executor", minimal[:strings.Index(minimal, "root:")] + "    exec-x: {container: {image: evil}}\n" + minimal[strings.Index(minimal, "root:"):], "exec-x is named by no component"},
		{"image not string", strings.Replace(minimal, "{image: alpine}", "{image: [a]}", 1), "pipeline spec"},
		{"importer uri mapping", strings.Replace(minimal, "{container: {image: alpine}}", "{importer: {artifactUri: {constant: {a: b}}}}", 1), "importer.artifactUri.constant: want a string"},
		{"importer no uri", strings.Replace(minimal, "{container: {image: alpine}}", "{importer: {artifactUri: {}}}", 1), "neither constant nor runtimeParameter"},
		{"three documents", minimal + "---\nplatforms: {}\n---\na: b\n", "more than 2 YAML document(s)"},
		{"platform not kubernetes", minimal + "---\nplatforms: {other: {}}\n", "platforms.kubernetes missing"},
		{"platform empty", minimal + "---\nfoo: bar\n", "document 2 has no platforms"},
		{"platform unknown executor", minimal + "---\nplatforms: {kubernetes: {deploymentSpec: {executors: {exec-q: {}}}}}\n", "executors.exec-q is not in the pipeline's"},
		{"platform wrong type", minimal + "---\nplatforms: {kubernetes: {deploymentSpec: {executors: {exec-a: {pvcMount: 3}}}}}\n", "platforms.kubernetes.deploymentSpec.executors.exec-a"},
		{"deep", deep, "nests deeper than 64 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("no error, evidence %+v", ev)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "bad.yaml") {
				t.Fatalf("error %q, want it to name bad.yaml and contain %q", err, tt.want)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	big := []byte(minimal + "# " + strings.Repeat("x", MaxFileSize) + "\n")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseFile(path); !errors.Is(err, readlimit.ErrTooLarge) || !strings.Contains(err.Error(), "huge.yaml") {
		t.Fatalf("ParseFile: %v, want ErrTooLarge naming the file", err)
	}
	if _, err := Parse("huge.yaml", big); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("Parse: %v, want a size error", err)
	}
}

func TestTooManyExecutors(t *testing.T) {
	var b strings.Builder
	b.WriteString("pipelineInfo: {name: p}\nschemaVersion: 2.1.0\nroot: {dag: {tasks: {}}}\ndeploymentSpec:\n  executors:\n")
	for i := 0; i <= MaxExecutors; i++ {
		b.WriteString("    exec-" + strconv.Itoa(i) + ": {container: {image: alpine}}\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "deploymentSpec.executors has 2001 entries, limit 2000") {
		t.Fatalf("error %v", err)
	}
}

// A billion-laughs alias bomb must be refused, not expanded.
func TestAliasBomb(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n" + minimal
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(bomb))
	if err == nil || !strings.Contains(err.Error(), "more than 2000000 YAML nodes") {
		t.Fatalf("alias bomb: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("alias bomb took %v", d)
	}
}

func TestUnpinnedAndPlaceholderImages(t *testing.T) {
	tests := []struct {
		image               string
		pinned, placeholder bool
		subject             bool
	}{
		{"alpine", false, false, true},
		{"alpine:3.20@sha256:" + strings.Repeat("ab", 32), true, false, true},
		{"alpine@sha256:" + strings.Repeat("ab", 31), false, false, true},
		{"{{$.inputs.parameters['img']}}", false, true, false},
	}
	for _, tt := range tests {
		ev, err := Parse("p.yaml", []byte(strings.Replace(minimal, "image: alpine", "image: \""+tt.image+"\"", 1)))
		if err != nil {
			t.Fatal(err)
		}
		c := ev.Components[0].Container
		if c.Pinned != tt.pinned || c.Placeholder != tt.placeholder {
			t.Errorf("%s: pinned %v placeholder %v", tt.image, c.Pinned, c.Placeholder)
		}
		if got := len(ev.Subjects()) == 1; got != tt.subject {
			t.Errorf("%s: subject %v, want %v", tt.image, got, tt.subject)
		}
	}
}

func TestNonCandidateURI(t *testing.T) {
	data := strings.Replace(minimal, "{container: {image: alpine}}", "{importer: {artifactUri: {constant: /mnt/data/x.csv}, typeSchema: {schemaTitle: system.Dataset}}}", 1)
	ev, err := Parse("p.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Artifacts) != 1 || ev.Artifacts[0].Candidate || ev.Artifacts[0].URI != "/mnt/data/x.csv" {
		t.Fatalf("artifacts %+v", ev.Artifacts)
	}
	if len(ev.Subjects()) != 0 {
		t.Fatalf("a local path became a subject: %+v", ev.Subjects())
	}
}

// An importer whose URI is a runtime parameter with no constant and no
// default is reported as unknown, and makes no subject.
func TestUnresolvedRuntimeParameter(t *testing.T) {
	data, err := os.ReadFile("testdata/train_pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "        defaultValue: gs://acme-models/fraud/base-v3/model\n", "", 1)
	ev, err := Parse("p.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	a := ev.Artifacts[0]
	if a.Executor != "exec-importer" || a.URI != "" || a.Source != "runtime parameter uri" || a.Candidate {
		t.Fatalf("artifact %+v", a)
	}
	for _, sub := range ev.Subjects() {
		if sub.Kind == "model" {
			t.Fatalf("unresolved importer became a subject: %+v", sub)
		}
	}
}
