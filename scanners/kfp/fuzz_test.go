package kfp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		f.Fatal("no seed fixtures in testdata")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "---\nplatforms: {kubernetes: {deploymentSpec: {executors: {exec-a: {pvcMount: [{mountPath: /d, constant: c}]}}}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if ev.Schema != Schema || ev.Pipeline == "" {
			t.Fatalf("evidence without schema or pipeline: %+v", ev)
		}
		for _, c := range ev.Components {
			if c.Kind == "container" && (c.Container == nil || c.Container.Image == "") {
				t.Fatalf("container component %s without image", c.Name)
			}
		}
		for _, s := range ev.Subjects() {
			if s.Ref == "" || !s.Kind.Valid() {
				t.Fatalf("bad subject %+v", s)
			}
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatal(err)
		}
	})
}
