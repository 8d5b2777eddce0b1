package score

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/score-spec/score-go/loader"
	"github.com/score-spec/score-go/schema"
	"github.com/score-spec/score-go/types"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/yamlbound"
)

const (
	digestA = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
	minimal = "apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers:\n  main:\n    image: ghcr.io/acme/app@" + digestA + "\n"
)

func mustScan(t *testing.T, path string) *Evidence {
	t.Helper()
	ev, err := Scan(path)
	if err != nil {
		t.Fatalf("Scan(%s): %v", path, err)
	}
	return ev
}

func TestWebService(t *testing.T) {
	ev := mustScan(t, "testdata/web.score.yaml")
	if ev.Schema != Schema || ev.Workload != "checkout" || ev.File != "testdata/web.score.yaml" {
		t.Fatalf("header: %+v", ev)
	}
	c := ev.Containers[0]
	if !c.Pinned || len(c.Missing) != 0 || c.Liveness == nil || c.Liveness.Kind != "httpGet" || c.Readiness == nil {
		t.Errorf("container: %+v", c)
	}
	if diff := cmp.Diff([]Port{{Name: "web", Port: 80, TargetPort: 8080, Protocol: "TCP"}}, ev.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	var types []string
	for _, r := range ev.Resources {
		types = append(types, r.Name+"="+r.Type)
	}
	if diff := cmp.Diff([]string{"cache=redis", "db=postgres", "dns=dns", "route=route"}, types); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"host", "path", "port"}, ev.Resources[3].Params); diff != "" {
		t.Errorf("route params (-want +got):\n%s", diff)
	}
	if len(ev.Routes) != 1 || ev.Routes[0].Resolved || ev.Routes[0].Host != Unresolved ||
		ev.Routes[0].Declared != "${resources.dns.host}" || !strings.Contains(ev.Routes[0].Reason, "provisioner") {
		t.Errorf("route: %+v", ev.Routes)
	}
	if len(ev.Secrets) != 0 {
		t.Errorf("placeholders flagged as secrets: %+v", ev.Secrets)
	}
	want := []gates.Subject{{Kind: gates.KindImage, Ref: "ghcr.io/acme/checkout@" + digestA, Name: "ghcr.io/acme/checkout@" + digestA,
		Labels: map[string]string{"score.workload": "checkout", "score.containers": "main"}}}
	if diff := cmp.Diff(want, ev.Subjects()); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

func TestWorkerAndBatch(t *testing.T) {
	w := mustScan(t, "testdata/worker.score.yaml")
	if len(w.Ports) != 0 || len(w.Routes) != 0 || len(w.Secrets) != 0 {
		t.Errorf("worker: ports %v routes %v secrets %v", w.Ports, w.Routes, w.Secrets)
	}
	c := w.Containers[0]
	if c.Liveness == nil || c.Liveness.Kind != "exec" || c.Readiness != nil {
		t.Errorf("worker probes: %+v %+v", c.Liveness, c.Readiness)
	}
	if diff := cmp.Diff([]File{{Target: "/etc/worker/config.yaml", Mode: "0440", Source: "inline", Size: len("queue: orders\nprefetch: 10\npassword_file: /run/secrets/queue\nregion: ${resources.reports.region}\n")}}, c.Files); diff != "" {
		t.Errorf("worker files (-want +got):\n%s", diff)
	}
	if r := w.Resources[1]; r.Type != "s3" || r.Class != "default" {
		t.Errorf("s3 resource: %+v", r)
	}
	b := mustScan(t, "testdata/batch.score.yaml")
	if len(b.Ports) != 0 {
		t.Errorf("batch has ports: %v", b.Ports)
	}
	bc := b.Containers[0]
	if diff := cmp.Diff([]string{"requests.cpu", "requests.memory"}, bc.Missing); diff != "" {
		t.Errorf("batch missing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Volume{{Target: "/scratch", Source: "${resources.scratch}"}}, bc.Volumes); diff != "" {
		t.Errorf("batch volumes (-want +got):\n%s", diff)
	}
	if b.Resources[1].ID != "warehouse" {
		t.Errorf("batch resource id: %+v", b.Resources)
	}
}

func TestUpstream(t *testing.T) {
	tests := []struct {
		file      string
		workload  string
		subjects  int
		build     []string
		upgrades  int
		unpinned  bool
		embedded  string
		routes    int
		resources int
	}{
		{file: "aks-store-front.score.yaml", workload: "store-front", subjects: 1, unpinned: true, routes: 1, resources: 4},
		{file: "aks-order.score.yaml", workload: "order-service", subjects: 1, unpinned: true, resources: 1},
		{file: "boutique-frontend.score.yaml", workload: "frontend", subjects: 1, unpinned: true, routes: 1, resources: 10},
		{file: "traderx-database.score.yaml", workload: "database", subjects: 1, unpinned: true},
		{file: "spec-volumes.score.yaml", workload: "my-workload", subjects: 1, unpinned: true, resources: 1},
		{file: "spec-probes.score.yaml", workload: "my-workload", subjects: 1, unpinned: true},
		{file: "spec-files/score.yaml", workload: "my-workload", subjects: 1, unpinned: true, embedded: "/fileA.txt"},
		{file: "score-go-full/score.yaml", workload: "example-workload-name123", subjects: 1, build: []string{"container-two2"}, upgrades: 2, unpinned: true, embedded: "/my/file", resources: 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := mustScan(t, filepath.Join("testdata/upstream", tt.file))
			if ev.Workload != tt.workload || len(ev.Subjects()) != tt.subjects || len(ev.Upgrades) != tt.upgrades ||
				len(ev.Routes) != tt.routes || len(ev.Resources) != tt.resources {
				t.Errorf("got workload %q, %d subjects, %d upgrades, %d routes, %d resources", ev.Workload, len(ev.Subjects()), len(ev.Upgrades), len(ev.Routes), len(ev.Resources))
			}
			if diff := cmp.Diff(append([]string{}, tt.build...), ev.BuildPlaceholders); diff != "" {
				t.Errorf("build placeholders (-want +got):\n%s", diff)
			}
			if tt.unpinned == ev.Containers[0].Pinned {
				t.Errorf("pinned = %v", ev.Containers[0].Pinned)
			}
			if tt.embedded != "" {
				found := false
				for _, c := range ev.Containers {
					for _, f := range c.Files {
						if f.Target == tt.embedded {
							found = f.Source == "embedded" && f.Size > 0
						}
					}
				}
				if !found {
					t.Errorf("file %s not reported as embedded: %+v", tt.embedded, ev.Containers)
				}
			}
		})
	}
}

func TestSubjectsShareImagesAndSkipBuild(t *testing.T) {
	spec := "apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers:\n" +
		"  aa: {image: 'busybox@" + digestA + "'}\n  bb: {image: 'busybox@" + digestA + "'}\n  cc: {image: .}\n  dd: {image: nginx:1.27}\n"
	s, err := Load("multi.score.yaml", "", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	ev := s.Evidence()
	got := map[string]string{}
	for _, sub := range ev.Subjects() {
		if sub.Kind != gates.KindImage || sub.Labels["score.workload"] != "app" {
			t.Errorf("subject %+v", sub)
		}
		got[sub.Ref] = sub.Labels["score.containers"]
	}
	if diff := cmp.Diff(map[string]string{"busybox@" + digestA: "aa,bb", "nginx:1.27": "dd"}, got); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cc"}, ev.BuildPlaceholders); diff != "" {
		t.Errorf("build placeholders (-want +got):\n%s", diff)
	}
}

func TestPinned(t *testing.T) {
	for image, want := range map[string]bool{
		"ghcr.io/acme/app@" + digestA:                         true,
		"ghcr.io/acme/app:1.2@" + digestA:                     true,
		"ghcr.io/acme/app:1.2":                                false,
		"ghcr.io/acme/app@sha256:abc":                         false,
		"ghcr.io/acme/app@" + strings.ToUpper(digestA):        false,
		"ghcr.io/acme/app@" + digestA + "x":                   false,
		"ghcr.io/acme/app@sha512:" + strings.Repeat("a", 128): false,
	} {
		s, err := Load("p.score.yaml", "", []byte(strings.Replace(minimal, "ghcr.io/acme/app@"+digestA, "'"+image+"'", 1)))
		if err != nil {
			t.Fatalf("%s: %v", image, err)
		}
		if got := s.Evidence().Containers[0].Pinned; got != want {
			t.Errorf("%s: pinned = %v, want %v", image, got, want)
		}
	}
}

func TestVariableSecrets(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // a fragment of the reason, "" for none
	}{
		{"DB_PASSWORD", "hunter2", "secret-looking name"},
		{"dbPassword", "hunter2", "secret-looking name"},
		{"GITHUB_TOKEN", "abc", "secret-looking name"},
		{"STRIPE_API_KEY", "sk_live_x", "secret-looking name"},
		{"apiKey", "x", "secret-looking name"},
		{"TLS_PRIVATE_KEY", "x", "secret-looking name"},
		{"CLIENT_SECRET", "x", "secret-looking name"},
		{"DB_PASSWORD", "${resources.db.password}", ""},
		{"DB_PASSWORD", "", ""},
		{"PASSWORD_FILE", "/run/secrets/db", ""},
		{"TOKEN_URL", "https://auth.example.com/token", ""},
		{"TOKEN_TTL", "3600", ""},
		{"SECRET_NAME", "db-credentials", ""},
		{"REQUIRE_TOKEN", "true", ""},
		{"LOG_LEVEL", "debug", ""},
		{"MONKEY", "banana", ""},
		{"ANY", "AKIAIOSFODNN7EXAMPLE", "AWS access key id"},
		{"ANY", "ghp_" + strings.Repeat("a1B2", 9), "GitHub token"},
		{"ANY", "-----BEGIN RSA PRIVATE KEY-----\nMIIB", "PEM private key"},
		{"ANY", "-----BEGIN OPENSSH PRIVATE KEY-----", "PEM private key"},
		{"ANY", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JSON Web Token"},
		{"DATABASE_URL", "postgres://app:s3cret@db:5432/app", "URL with a literal password"},
		{"DATABASE_URL", "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/app", ""},
		{"DATABASE_URL", "postgres://app@db:5432/app", ""},
		{"AUTH_TOKEN", "Bearer ${resources.auth.token}", ""},
	}
	for _, tt := range tests {
		got := variableSecret(tt.name, tt.value)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("variableSecret(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
		if tt.value != "" && strings.Contains(got, tt.value) {
			t.Errorf("reason %q carries the value", got)
		}
	}
}

func TestFileSecrets(t *testing.T) {
	tests := []struct {
		content string
		want    []string
	}{
		{"queue: orders\npassword_file: /run/secrets/q\n", nil},
		{"db:\n  password: hunter2\n", []string{"a literal value under the secret-looking key password"}},
		{"export API_KEY=\"abc123\"\n", []string{"a literal value under the secret-looking key API_KEY"}},
		{"password: ${resources.db.password}\ntoken: $TOKEN\nsecret: \"{{ .Secret }}\"\n", nil},
		{"password:\n  from: vault\n", nil},
		{"key: |\n  -----BEGIN EC PRIVATE KEY-----\n  MHc\n", []string{"holds a PEM private key"}},
		{"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", []string{"holds an AWS access key id"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, contentSecrets(tt.content)); diff != "" {
			t.Errorf("contentSecrets(%q) (-want +got):\n%s", tt.content, diff)
		}
	}
}

func TestLiteralSecretsInSpec(t *testing.T) {
	ev := mustScan(t, "testdata/deny/literal-password.score.yaml")
	want := []Secret{{Container: "main", Kind: "variable", Name: "DB_PASSWORD", Reason: "a literal value under a secret-looking name (want a ${resources.…} placeholder)"}}
	if diff := cmp.Diff(want, ev.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	b, _ := json.Marshal(ev)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("evidence carries the password: %s", b)
	}
	spec := minimal + "    files:\n      /etc/app.env:\n        content: \"DB_PASSWORD=hunter2-in-a-file\\n\"\n      /etc/key.pem:\n        binaryContent: " +
		"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUUK\n"
	s, err := Load("files.score.yaml", "", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	ev = s.Evidence()
	want = []Secret{
		{Container: "main", Kind: "file", Name: "/etc/app.env", Reason: "a literal value under the secret-looking key DB_PASSWORD"},
		{Container: "main", Kind: "file", Name: "/etc/key.pem", Reason: "holds a PEM private key"},
	}
	if diff := cmp.Diff(want, ev.Secrets); diff != "" {
		t.Errorf("file secrets (-want +got):\n%s", diff)
	}
	if b, _ := json.Marshal(ev); strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "LS0t") {
		t.Errorf("evidence carries file content: %s", b)
	}
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name      string
		resources string
		host      string
		resolved  bool
		reason    string
	}{
		{"literal", "rt: {type: route, params: {host: Shop.Example.COM., path: /}}", "shop.example.com", true, ""},
		{"metadata", "rt: {type: route, params: {host: '${metadata.name}.example.com'}}", "app.example.com", true, ""},
		{"dns with host", "dn: {type: dns, params: {host: api.example.com}}\n  rt: {type: route, params: {host: '${resources.dn.host}'}}", "api.example.com", true, ""},
		{"dns from provisioner", "dn: {type: dns}\n  rt: {type: route, params: {host: '${resources.dn.host}'}}", Unresolved, false, "provisioner"},
		{"dns other output", "dn: {type: dns}\n  rt: {type: route, params: {host: '${resources.dn.name}'}}", Unresolved, false, "no \"name\" output"},
		{"not dns", "db: {type: postgres}\n  rt: {type: route, params: {host: '${resources.db.host}'}}", Unresolved, false, "\"postgres\" resource"},
		{"no host", "rt: {type: route, params: {path: /}}", Unresolved, false, "no params.host"},
		{"not a string", "rt: {type: route, params: {host: [a, b]}}", Unresolved, false, "not a string"},
		{"not a host", "rt: {type: route, params: {host: 'evil.com/x.example.com'}}", Unresolved, false, "not a host name"},
		{"escaped dollar", "rt: {type: route, params: {host: '$${x}.example.com'}}", Unresolved, false, "not a host name"},
		{"port in host", "rt: {type: route, params: {host: 'a.example.com:443'}}", Unresolved, false, "not a host name"},
		{"wildcard", "rt: {type: route, params: {host: '*.apps.example.com'}}", "*.apps.example.com", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load("r.score.yaml", "", []byte(minimal+"resources:\n  "+tt.resources+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			ev := s.Evidence()
			if len(ev.Routes) != 1 {
				t.Fatalf("routes: %+v", ev.Routes)
			}
			r := ev.Routes[0]
			if r.Host != tt.host || r.Resolved != tt.resolved || !strings.Contains(r.Reason, tt.reason) || (tt.reason == "") != (r.Reason == "") {
				t.Errorf("got %+v, want host %q resolved %v reason ~%q", r, tt.host, tt.resolved, tt.reason)
			}
		})
	}
}

// Invalid specs fail with score-go's own message and the file's name.
func TestInvalid(t *testing.T) {
	tests := map[string]string{
		"bad-name.score.yaml":         "invalid Score spec: at '/metadata/name': does not match pattern '^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$'",
		"bad-port.score.yaml":         "invalid Score spec: at '/service/ports/web/port': must be <= 65535 but found 70000",
		"no-image.score.yaml":         "invalid Score spec: at '/containers/main': missing properties: 'image'",
		"missing-resource.score.yaml": `placeholder ${resources.nope.host} does not resolve to a resource, no resource with name "nope"`,
		"legacy-no-target.score.yaml": "containers.main.files.0.target: is missing or is not a string",
		"escape.score.yaml":           `containers.main.files./etc/passwd-copy.source "../../../../../../etc/passwd": leaves the spec's folder`,
	}
	for file, want := range tests {
		path := filepath.Join("testdata/invalid", file)
		_, err := LoadFile(path)
		if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want the file and %q", file, err, want)
		}
	}
}

// hostileDir builds a spec folder whose one file source is made by mk.
func hostileDir(t *testing.T, mk func(dir string) string) string {
	t.Helper()
	dir := t.TempDir()
	src := mk(dir)
	spec := minimal + "    files:\n      /x:\n        source: '" + src + "'\n"
	if err := os.WriteFile(filepath.Join(dir, "score.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "score.yaml")
}

func TestHostileFileSources(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mk   func(dir string) string
		want string
	}{
		{"dotdot", func(dir string) string {
			rel, err := filepath.Rel(dir, filepath.Join(outside, "secret"))
			must(t, err)
			return rel
		}, "leaves the spec's folder"},
		{"absolute", func(string) string { return "/etc/hostname" }, "absolute paths are refused"},
		{"dev zero", func(string) string { return "/dev/zero" }, "absolute paths are refused"},
		{"symlink out", func(dir string) string {
			must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link")))
			return "link"
		}, "leaves the spec's folder"},
		{"symlink to dev zero", func(dir string) string {
			must(t, os.Symlink("/dev/zero", filepath.Join(dir, "zero")))
			return "zero"
		}, "leaves the spec's folder"},
		{"fifo", func(dir string) string {
			must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
			return "fifo"
		}, "not a regular file"},
		{"folder", func(dir string) string {
			must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
			return "sub"
		}, "not a regular file"},
		{"too large", func(dir string) string {
			must(t, os.WriteFile(filepath.Join(dir, "big"), make([]byte, MaxEmbeddedFile+1), 0o644))
			return "big"
		}, "larger"},
		{"missing", func(string) string { return "nope.txt" }, "no such file beside the spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := hostileDir(t, tt.mk)
			_, err := LoadFile(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(strings.ToLower(err.Error()), tt.want) {
				t.Errorf("got %v, want the file and %q", err, tt.want)
			}
		})
	}
}

func TestEmbeddedTotalBound(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(minimal + "    files:\n")
	chunk := make([]byte, MaxEmbeddedFile)
	for i := 0; i <= MaxEmbeddedAll/MaxEmbeddedFile; i++ {
		name := "f" + string(rune('a'+i))
		must(t, os.WriteFile(filepath.Join(dir, name), chunk, 0o644))
		b.WriteString("      /" + name + ": {source: " + name + "}\n")
	}
	_, err := Load("big.score.yaml", dir, []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "embedded files exceed") {
		t.Fatalf("got %v", err)
	}
}

func TestHostileSpecs(t *testing.T) {
	deep := "apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers: {main: {image: busybox}}\nresources: {r: {type: x, params: {a: " +
		strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}}}\n"
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	tests := []struct {
		name, data, want string
	}{
		{"deep", deep, "nests deeper than"},
		{"alias bomb", bomb, "once aliases are expanded"},
		{"oversized", minimal + "# " + strings.Repeat("x", MaxFileSize), "limit"},
		{"two documents", minimal + "---\n" + minimal, "more than 1 YAML document"},
		{"not a mapping", "- a\n- b\n", "not a YAML mapping"},
		{"empty", "", "empty file"},
		{"not yaml", "a: [\n", "not YAML"},
		{"file source without folder", minimal + "    files: {/x: {source: a.txt}}\n", "file sources need the spec's folder"},
		{"non-string keys", "apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers: {main: {image: busybox, variables: {? [a]: b}}}\n", "hostile.score.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("hostile.score.yaml", "", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), "hostile.score.yaml") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want the file and %q", err, tt.want)
			}
		})
	}
}

func TestLoadFileRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "score.yaml")
	must(t, syscall.Mkfifo(fifo, 0o644))
	for _, path := range []string{fifo, "/dev/zero", dir} {
		if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("LoadFile(%s) = %v, want an error naming it", path, err)
		}
	}
	big := filepath.Join(dir, "big.score.yaml")
	must(t, os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644))
	if _, err := LoadFile(big); err == nil {
		t.Errorf("oversized file loaded")
	}
}

func TestCollector(t *testing.T) {
	var c Collector
	if c.Name() != "score" || !c.Applies(gates.Subject{Kind: gates.KindScore}) || c.Applies(gates.Subject{Kind: gates.KindImage}) {
		t.Fatal("name or applies")
	}
	got, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindScore, Ref: "testdata/worker.score.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := got.(*Evidence); !ok || ev.Workload != "order-worker" {
		t.Fatalf("got %#v", got)
	}
	if _, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindScore, Ref: "testdata/invalid/bad-port.score.yaml"}); err == nil ||
		!strings.Contains(err.Error(), "bad-port.score.yaml") {
		t.Errorf("bad spec: %v", err)
	}
	subs, err := Expand(context.Background(), gates.Subject{Kind: gates.KindScore, Ref: "testdata/upstream/score-go-full/score.yaml"})
	if err != nil || len(subs) != 1 || subs[0].Ref != "localhost:4000/repo/my-image:tag" || subs[0].Labels["score.containers"] != "container-one1" {
		t.Errorf("Expand: %+v, %v", subs, err)
	}
	if _, err := Expand(context.Background(), gates.Subject{Kind: gates.KindScore, Ref: "testdata/invalid/escape.score.yaml"}); err == nil {
		t.Error("Expand of a spec that does not load")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Expand(ctx, gates.Subject{Kind: gates.KindScore, Ref: "testdata/worker.score.yaml"}); err == nil {
		t.Error("cancelled context expanded")
	}
	if _, err := c.Collect(ctx, gates.Subject{Kind: gates.KindScore, Ref: "testdata/worker.score.yaml"}); err == nil {
		t.Error("cancelled context collected")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The direct YAML decoding of mapSpec gives what loader.MapSpec gives.
func TestMapSpecEquivalent(t *testing.T) {
	var files []string
	for _, pat := range []string{"testdata/*.yaml", "testdata/*/*.yaml", "testdata/*/*/*.yaml"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	extra := []string{
		minimal + "    variables: {A: 'x', B: \"\"}\n    resources: {limits: {cpu: '1'}}\n",
		"apiVersion: score.dev/v1b1\nmetadata: {name: app, n: 1, when: 2001-12-14, list: [1, a], base: &b {image: busybox, variables: {A: x}}}\n" +
			"containers:\n  main:\n    <<: *b\n    livenessProbe: {httpGet: {port: 80.0, path: /}}\n",
	}
	n := 0
	check := func(name string, data []byte) {
		compared, diff := mapSpecDiff(data)
		if diff != "" {
			t.Errorf("%s: %s", name, diff)
		}
		if compared {
			n++
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		must(t, err)
		check(f, data)
	}
	for i, s := range extra {
		before := n
		check(fmt.Sprintf("extra %d", i), []byte(s))
		if n == before {
			t.Errorf("extra %d was not compared (not a valid spec?)", i)
		}
	}
	if n < 10 {
		t.Fatalf("only %d specs compared", n)
	}
}

// mapSpecDiff decodes a valid, un-upgraded spec both ways (loader.MapSpec
// and mapSpec's direct decoding) and describes any difference.
func mapSpecDiff(data []byte) (compared bool, diff string) {
	docs, err := yamlbound.Mappings("x", data, yamlbound.Limits{Documents: 1, Depth: MaxDepth, Nodes: MaxNodes})
	if err != nil {
		return false, ""
	}
	var raw map[string]any
	if docs[0].Decode(&raw) != nil {
		return false, ""
	}
	if up, err := schema.ApplyCommonUpgradeTransforms(raw); err != nil || len(up) > 0 {
		return false, ""
	}
	sch, err := compiled()
	if err != nil || sch.Validate(jsonCompatible(raw)) != nil {
		return false, ""
	}
	var viaMap, viaNode types.Workload
	errMap := loader.MapSpec(&viaMap, raw)
	errNode := mapSpec(&viaNode, docs[0], raw, false)
	if (errMap == nil) != (errNode == nil) {
		return true, fmt.Sprintf("MapSpec error %v, direct decoding error %v", errMap, errNode)
	}
	if d := cmp.Diff(viaMap, viaNode); d != "" {
		return true, "direct decoding differs from MapSpec (-MapSpec +direct):\n" + d
	}
	return true, ""
}
