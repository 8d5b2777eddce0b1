package score

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds Load every fixture and mutations of them. Load must
// return a spec or an error naming the file, never panic; a spec's
// evidence must marshal and never carry a secret value.
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pat := range []string{"testdata/*.yaml", "testdata/*/*.yaml", "testdata/*/*/*.yaml"} {
		m, _ := filepath.Glob(pat)
		seeds = append(seeds, m...)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed fixtures in testdata")
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, diff := mapSpecDiff(data); diff != "" {
			t.Fatal(diff)
		}
		spec, err := Load("fuzz.score.yaml", "", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.score.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		ev := spec.Evidence()
		if ev.Schema != Schema || ev.Workload == "" || len(ev.Containers) == 0 {
			t.Fatalf("evidence without schema, workload or containers: %+v", ev)
		}
		for _, s := range ev.Subjects() {
			if s.Ref == "" || s.Ref == "." || !s.Kind.Valid() {
				t.Fatalf("bad subject %+v", s)
			}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range spec.Workload.Containers {
			for name, v := range c.Variables {
				if len(v) >= 8 && variableSecret(name, v) != "" && strings.Contains(string(b), v) {
					t.Fatalf("evidence carries the secret value of %s", name)
				}
			}
		}
	})
}

// hostileSeeds are shapes the fixtures do not cover.
var hostileSeeds = []string{
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox, files: [{target: /x, content: [a, 1, {b: c}]}]}}\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox, volumes: [{target: /x, source: v, read_only: true}, 3]}}\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox}}\nresources: {r: {type: route, params: {host: [1, 2]}}}\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox}}\nresources: {d: {type: dns, params: {host: A.Example.COM.}}, r: {type: route, params: {host: 'app.${resources.d.host}'}}}\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1, 1: 2}\ncontainers: {main: {image: busybox, variables: {1: 2, ? [a]: b}}}\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox, files: {/k: {binaryContent: '!!!notbase64', mode: '0600'}}}}\n",
	"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox, files: {/k: {source: x}}}}\n",
	"apiVersion: score.dev/v1b1\nmetadata: {name: a1}\ncontainers: {main: {image: busybox, variables: {X: '${resources.}', Y: '${'}}}}\n",
}
