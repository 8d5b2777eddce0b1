package score

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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

// TestLoadMutations runs Load on deterministic line-level mutations of the
// fixtures (deleted, duplicated, swapped and re-indented lines, values
// replaced by hostile ones): cheap coverage of what the fuzzer finds,
// for every `go test` run. A panic fails the test binary.
func TestLoadMutations(t *testing.T) {
	var seeds [][]string
	for _, pat := range []string{"testdata/*.yaml", "testdata/*/*.yaml", "testdata/*/*/*.yaml"} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, strings.Split(string(b), "\n"))
		}
	}
	values := []string{"", "null", "[]", "{}", "0", "-1", "1e400", "!!binary AAAA", "*x", "&x a", "${", "${resources}",
		"${resources.a.b.c.d}", "'\\u0000'", "!!timestamp 2001-12-14", "? [a]", "<<: {}", ".", "@sha256:"}
	rng := rand.New(rand.NewPCG(1, 2))
	loaded := 0
	for i := 0; i < 3000; i++ {
		lines := slices.Clone(seeds[rng.IntN(len(seeds))])
		for range 1 + rng.IntN(3) {
			j := rng.IntN(len(lines))
			switch rng.IntN(5) {
			case 0:
				lines = slices.Delete(lines, j, j+1)
			case 1:
				lines = slices.Insert(lines, j, lines[j])
			case 2:
				k := rng.IntN(len(lines))
				lines[j], lines[k] = lines[k], lines[j]
			case 3:
				lines[j] = "  " + lines[j]
			case 4:
				if k := strings.Index(lines[j], ": "); k >= 0 {
					lines[j] = lines[j][:k+2] + values[rng.IntN(len(values))]
				}
			}
			if len(lines) == 0 {
				lines = []string{""}
			}
		}
		spec, err := Load("mutated.score.yaml", "", []byte(strings.Join(lines, "\n")))
		if err != nil {
			if !strings.Contains(err.Error(), "mutated.score.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			continue
		}
		loaded++
		if _, err := json.Marshal(spec.Evidence()); err != nil {
			t.Fatal(err)
		}
	}
	if loaded < 100 {
		t.Errorf("only %d of 3000 mutations loaded: the mutations test little beyond the parser", loaded)
	}
	t.Logf("%d of 3000 mutations loaded", loaded)
}
