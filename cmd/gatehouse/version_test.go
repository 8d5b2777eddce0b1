package main

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionCommand: version names the libraries linked in at the
// versions the build used, in text, JSON and --version alike.
func TestVersionCommand(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info in the test binary")
	}
	want := map[string]string{}
	for _, dep := range bi.Deps {
		for _, m := range linkedModules {
			if dep.Path == m.path {
				want[m.name] = dep.Version
			}
		}
	}
	for _, name := range []string{"opa", "cosign", "go-containerregistry", "sigstore-go"} {
		if want[name] == "" {
			t.Fatalf("the test binary does not link %s", name)
		}
	}
	r := gatehouse(t, nil, "version", "--format", "json")
	var v versionInfo
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil {
		t.Fatalf("version --format json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for name, ver := range want {
		if v.Modules[name] != ver {
			t.Errorf("%s: version says %q, the build used %q", name, v.Modules[name], ver)
		}
	}
	if !strings.HasPrefix(v.GoVersion, "go1.") {
		t.Errorf("go version %q", v.GoVersion)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := gatehouse(t, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "gatehouse ") || !strings.Contains(r.stdout, "cosign") || !strings.Contains(r.stdout, want["opa"]) {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stdout)
		}
	}
	if r := gatehouse(t, nil, "version", "--format", "yaml"); r.code != 2 {
		t.Errorf("version --format yaml: exit %d, want 2", r.code)
	}
}
