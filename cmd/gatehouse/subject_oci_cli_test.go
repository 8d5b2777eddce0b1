package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// model:REGISTRY/REPO@sha256:… without oci:// is the registry artifact
// when no such local path exists; a manifest that is no model artifact is
// not decided, with a message that says to write oci://.
func TestImplicitOCISubject(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	clean := pushModel(t, "testdata/models/clean", "oci://"+addr+"/models/implicit-clean:v1")
	evil := pushModel(t, "testdata/models/evil", "oci://"+addr+"/models/implicit-evil:v1")
	bare := func(pinned string) string { return strings.TrimPrefix(pinned, "oci://") }

	r := gatehouse(t, env, "check", "--env", "dev", "model:"+bare(clean))
	if r.code != 0 || !strings.Contains(r.stdout, "allowed") {
		t.Errorf("model:%s: exit %d\n%s%s", bare(clean), r.code, r.stdout, r.stderr)
	}
	r = gatehouse(t, env, "check", "--env", "dev", "--format", "json", "model:"+bare(evil))
	var out struct {
		Results []struct {
			Subject struct {
				Ref    string            `json:"ref"`
				Digest string            `json:"digest"`
				Labels map[string]string `json:"labels"`
			} `json:"subject"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Results) != 1 {
		t.Fatalf("check --format json model:%s: exit %d, %v\n%s%s", bare(evil), r.code, err, r.stdout, r.stderr)
	}
	if s := out.Results[0].Subject; r.code != 1 || s.Ref != evil || s.Labels["gatehouse.pinned"] != evil || s.Labels["gatehouse.implicit-oci"] != bare(evil) {
		t.Errorf("model:%s: exit %d, subject %+v; want 1, read as %s", bare(evil), r.code, s, evil)
	}
	r = gatehouse(t, env, "resolve", "model:"+bare(clean))
	if r.code != 0 || r.stdout != "model:"+clean+"\n" {
		t.Errorf("resolve model:%s: exit %d, printed %q\n%s", bare(clean), r.code, r.stdout, r.stderr)
	}

	// A Helm chart pushed by digest: no model artifact.
	chart := pushHelmChart(t, addr, "charts/web")
	for _, cmd := range [][]string{{"check", "--env", "dev", "model:" + chart}, {"resolve", "model:" + chart}} {
		r := gatehouse(t, env, cmd...)
		if r.code != 2 {
			t.Fatalf("%v: exit %d, want 2\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
		all := r.stdout + r.stderr
		for _, w := range []string{"not a model artifact", "write model:oci://" + chart, "read as model:oci://" + chart} {
			if !strings.Contains(all, w) {
				t.Errorf("%v: output lacks %q:\n%s", cmd, w, all)
			}
		}
	}
}

// pushHelmChart pushes a Helm chart as OCI registries store it and returns
// REGISTRY/REPO@sha256:… (no scheme).
func pushHelmChart(t *testing.T, addr, repo string) string {
	t.Helper()
	tag, err := name.NewTag(addr + "/" + repo + ":0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	desc := func(mt string, b []byte) map[string]any { return writeBlob(t, tag.Context(), mt, b) }
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc("application/vnd.cncf.helm.config.v1+json", []byte(`{"name":"web","version":"0.1.0","apiVersion":"v2"}`)),
		"layers": []any{desc("application/vnd.cncf.helm.chart.content.v1.tar+gzip", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"))},
	})
	if err := remote.Put(tag, testManifest{raw}, registryCtx(t)); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s/%s@sha256:%x", addr, repo, sha256.Sum256(raw))
}
