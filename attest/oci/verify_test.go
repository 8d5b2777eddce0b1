package oci

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	testIssuer   = "https://token.actions.githubusercontent.com"
	testIdentity = "ci@example.com"
)

// pushModelArtifact pushes an OCI artifact holding a "model" (config media
// type of a model, one layer) and returns its digest reference.
func pushModelArtifact(t testing.TB, host, repo string) name.Digest {
	t.Helper()
	layer, err := random.Layer(128, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, "application/vnd.cncf.model.config.v1+json")
	tag, _ := name.NewTag(host + "/" + repo + ":v1")
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push model: %v", err)
	}
	h, _ := img.Digest()
	return tag.Context().Digest(h.String())
}

func manifestOf(t testing.TB, d name.Digest) []byte {
	t.Helper()
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	return desc.Manifest
}

// registries under test: the in-process one (referrers API) and, when
// available, Distribution 2.8 (no referrers API: tag-schema fallback).
func testRegistries(t *testing.T) map[string]string {
	regs := map[string]string{"ggcr-referrers-api": inProcessRegistry(t)}
	if realRegistry != "" {
		regs["distribution-tag-fallback"] = realRegistry
	} else {
		t.Logf("real registry cells skipped: %s", realRegistryWhyNot)
	}
	return regs
}

// TestMatrix signs and attests in every format with every signer kind, on
// images and model artifacts, and checks what VerifySignatures and
// Provenance report.
func TestMatrix(t *testing.T) {
	ctx := context.Background()
	f := newFulcio(t)
	trPath := f.trustedRootFile(t)
	keys := map[string]testKey{}
	for _, alg := range []string{"ecdsa-p256", "ed25519", "rsa"} {
		keys[alg] = newTestKey(t, alg)
	}
	signers := []string{"ecdsa-p256", "ed25519", "rsa", "keyless"}
	formats := []string{FormatCosignTag, FormatBundleReferrer}
	subjects := []string{"image", "model-artifact"}
	c := New(Options{Timeout: 20 * time.Second})
	n := 0
	for regName, host := range testRegistries(t) {
		for _, format := range formats {
			for _, signer := range signers {
				for _, subject := range subjects {
					n++
					cell := regName + "/" + format + "/" + signer + "/" + subject
					repo := "matrix/r" + strings.ReplaceAll(strings.ReplaceAll(cell, "/", "-"), "_", "-")
					t.Run(cell, func(t *testing.T) {
						var d name.Digest
						if subject == "image" {
							d = pushRandomImage(t, host, repo)
						} else {
							d = pushModelArtifact(t, host, repo)
						}
						params := map[string]any{}
						if signer == "keyless" {
							params["identities"] = []any{map[string]any{"issuer": testIssuer, "subject": testIdentity}}
							params["trusted_root"] = trPath
							params["ignore_sct"] = true
						} else {
							params["keys"] = []any{string(keys[signer].pubPEM)}
						}
						p, err := PolicyFromParams(params, nil)
						if err != nil {
							t.Fatal(err)
						}
						prov := statement(t, d, SLSAProvenanceV1, slsaV1Predicate("https://github.com/actions/runner", "https://github.com/acme/app"))
						switch {
						case format == FormatCosignTag && signer == "keyless":
							f.signClassicKeyless(t, d, testIdentity, testIssuer, 5*time.Minute)
							attachOrFatal(t, c, d, f.keylessBundle(t, prov, testIdentity, testIssuer, 5*time.Minute), true)
						case format == FormatCosignTag:
							signClassicKey(t, d, keys[signer])
							if _, err := c.AttachAttestation(ctx, d, dsseSign(t, keys[signer], prov), SLSAProvenanceV1); err != nil {
								t.Fatal(err)
							}
						case signer == "keyless":
							attachOrFatal(t, c, d, f.keylessBundle(t, statement(t, d, CosignSignPredicateType, map[string]any{}), testIdentity, testIssuer, 5*time.Minute), false)
							attachOrFatal(t, c, d, f.keylessBundle(t, prov, testIdentity, testIssuer, 5*time.Minute), false)
						default:
							attachOrFatal(t, c, d, keyBundle(t, keys[signer], statement(t, d, CosignSignPredicateType, map[string]any{})), false)
							attachOrFatal(t, c, d, keyBundle(t, keys[signer], prov), false)
						}
						ev, err := c.VerifySignatures(ctx, d, p)
						if err != nil {
							t.Fatal(err)
						}
						want := SignatureResult{Format: format, Verified: true}
						if signer == "keyless" {
							want.Identity, want.Issuer, want.Tlog = testIdentity, testIssuer, true
						} else {
							want.Key, want.Fingerprint = "inline[0]", p.Keys[0].Fingerprint
						}
						if !ev.Verified || len(ev.Signatures) != 1 {
							t.Fatalf("signatures: verified=%v %+v", ev.Verified, ev.Signatures)
						}
						got := ev.Signatures[0]
						got.Location = ""
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("signature (-want +got):\n%s", diff)
						}
						pev, err := c.Provenance(ctx, d, p)
						if err != nil {
							t.Fatal(err)
						}
						var found bool
						for _, a := range pev.Attestations {
							if a.Verified && a.PredicateType == SLSAProvenanceV1 {
								found = true
								if a.BuilderID != "https://github.com/actions/runner" || a.Source == nil || a.Source.Repository != "https://github.com/acme/app" {
									t.Errorf("provenance mapped wrongly: %+v source %+v", a, a.Source)
								}
							}
						}
						if !found {
							t.Errorf("no verified SLSA provenance: %+v", pev.Attestations)
						}
					})
				}
			}
		}
	}
	t.Logf("%d matrix cells", n)
}

// attachOrFatal stores a bundle as a referrer; classic says the matrix cell
// is the tag format and the bundle is only the attestation (keyless classic
// attestations are not written by this test's helpers).
func attachOrFatal(t testing.TB, c *Client, d name.Digest, bundle []byte, classic bool) {
	t.Helper()
	if _, err := c.AttachBundle(context.Background(), d, bundle); err != nil {
		t.Fatalf("attach bundle: %v", err)
	}
}

func slsaV1Predicate(builder, repo string) map[string]any {
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType":          "https://actions.github.io/buildtypes/workflow/v1",
			"externalParameters": map[string]any{"workflow": map[string]any{"repository": repo, "ref": "refs/heads/main", "path": ".github/workflows/build.yml"}},
			"resolvedDependencies": []any{map[string]any{
				"uri": "git+" + repo + "@refs/heads/main", "digest": map[string]any{"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}},
		},
		"runDetails": map[string]any{"builder": map[string]any{"id": builder}},
	}
}

var _ = v1.Hash{}
