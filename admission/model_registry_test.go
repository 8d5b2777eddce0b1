package admission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatehouse-dev/gatehouse/attest/oci"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// pushModel packs a one-file model folder as a ModelPack artifact, as
// `gatehouse push model` does, and returns its digest reference.
func (l *loopback) pushModel(t testing.TB, repo, content string) name.Digest {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	dg, err := sources.Push(context.Background(), dir, "oci://"+l.host+"/"+repo+":v1", sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(l.host+"/"+repo+"@"+dg, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// attestModel attaches the VSA of a passed decision about the model
// artifact d in env, as `gatehouse check --attest model:oci://…` does.
func (l *loopback) attestModel(t testing.TB, d name.Digest, env string) {
	t.Helper()
	ev := sha256.Sum256([]byte(`{"verified":true}`))
	evd := "sha256:" + hex.EncodeToString(ev[:])
	dec := &gates.Decision{
		Subject:     gates.Subject{Kind: gates.KindModel, Ref: "oci://" + d.String(), Digest: d.DigestStr()},
		Environment: env, Allowed: true, Gates: []string{"model_scan", "signature"}, RequiredGates: []string{"model_scan", "signature"},
		PolicyDigest: l.engine.PolicyDigest(), ConfigDigest: l.engine.ConfigDigest("prod"),
		EvidenceDigests: map[string]string{"model_scan": evd, "signatures": evd},
	}
	if _, err := (&oci.Attester{Client: l.client, Signer: l.signer}).Attest(context.Background(), dec); err != nil {
		t.Fatal(err)
	}
}

func isvcObject(ns, storageURI string) []byte {
	return []byte(`{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"name":"fraud","namespace":"` + ns +
		`"},"spec":{"predictor":{"model":{"modelFormat":{"name":"sklearn"},"storageUri":"` + storageURI + `"}}}}`)
}

// TestLoopbackRegistryModel: a KServe InferenceService whose storageUri is
// oci://…@sha256 of a model artifact is admitted on the model's signature
// and the VSA gatehouse attached to that digest; an unattested model, one
// attested for another environment, a VSA stating the image gates only,
// and the tag of an attested model in prod are denied with the reason.
func TestLoopbackRegistryModel(t *testing.T) {
	l := newLoopback(t, `  model_sources: ["oci://127.0.0.1:"]`)
	good := l.pushModel(t, "models/fraud", "good")
	l.sign(t, good)
	l.attestModel(t, good, "prod")
	unattested := l.pushModel(t, "models/unattested", "unattested")
	l.sign(t, unattested)
	staging := l.pushModel(t, "models/staging-only", "staging")
	l.sign(t, staging)
	l.attestModel(t, staging, "staging")
	imageGates := l.pushModel(t, "models/image-gates", "image gates")
	l.sign(t, imageGates)
	l.attest(t, imageGates, "prod") // a VSA stating only the image gates
	isvc := metav1.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"}
	ctx := context.Background()

	r := l.a.Review(ctx, request("ml", isvc, isvcObject("ml", "oci://"+good.String())))
	if !r.Response.Allowed || r.Outcome != OutcomeAllowed {
		t.Fatalf("signed and attested model denied: %s %v", message(r), r.Response.Warnings)
	}
	for _, tt := range []struct {
		name string
		uri  string
		want []string
	}{
		{"unattested", "oci://" + unattested.String(), []string{"model oci://" + unattested.String(), "no valid gatehouse VSA"}},
		{"attested for staging", "oci://" + staging.String(), []string{"no valid gatehouse VSA", "staging"}},
		{"VSA without the model gates", "oci://" + imageGates.String(), []string{"no valid gatehouse VSA", "model_scan"}},
		{"tag in prod", "oci://" + l.host + "/models/fraud:v1", []string{"not pinned"}},
		{"another registry", "oci://registry.example/models/fraud@" + good.DigestStr(), []string{"not from an allowed source"}},
	} {
		r := l.a.Review(ctx, request("ml", isvc, isvcObject("ml", tt.uri)))
		if r.Response.Allowed {
			t.Errorf("%s: %s admitted", tt.name, tt.uri)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(message(r), w) {
				t.Errorf("%s: denied with %q, want %q in it", tt.name, message(r), w)
			}
		}
	}
}
