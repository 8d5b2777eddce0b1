package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// attachRegistries are the two kinds of registry a VSA is attached to:
// Distribution 2.8 (no referrers API: the sha256-<hex> fallback index) and
// go-containerregistry's own registry, unmodified (referrers API; its
// index reports the config media type as a referrer's artifactType).
func attachRegistries(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"distribution": func(t *testing.T) string { return needRealRegistry(t) },
		"referrers-api": func(t *testing.T) string {
			srv := httptest.NewServer(registry.New(registry.Logger(nilLogger()), registry.WithReferrersSupport(true)))
			t.Cleanup(srv.Close)
			return strings.TrimPrefix(srv.URL, "http://")
		},
	}
}

// attachVSAOptions is a passed VSA about d.
func attachVSAOptions(d name.Digest) attest.VSAOptions {
	return attest.VSAOptions{Digest: d.DigestStr(), PolicyDigest: "sha256:" + strings.Repeat("ab", 32), Passed: true,
		VerifiedLevels: []string{"GATEHOUSE_PROD"}, TimeVerified: time.Now()}
}

func TestParseAttestFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want AttestFormat
		err  bool
	}{
		{in: "auto", want: AttestAuto}, {in: "bundle", want: AttestBundle}, {in: "tag", want: AttestTag},
		{in: "", err: true}, {in: "Bundle", err: true}, {in: "att", err: true},
	} {
		got, err := ParseAttestFormat(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseAttestFormat(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "auto, bundle, tag") {
			t.Errorf("ParseAttestFormat(%q): error %q does not name the accepted values", tc.in, err)
		}
	}
	d := mustDigest(t, "127.0.0.1:1/x@sha256:"+strings.Repeat("0", 64))
	if _, err := New(Options{}).AttachVSA(context.Background(), d, attachVSAOptions(d), newTestKey(t, "ecdsa-p256").signer, "att"); err == nil || !strings.Contains(err.Error(), `"att"`) {
		t.Fatalf("AttachVSA with format att: want an error naming it, got %v", err)
	}
}

// TestAttachVSABundle: a VSA attached as a bundle is the referrer `cosign
// attest --new-bundle-format --key` writes, and gatehouse's reader finds
// and verifies it, on both kinds of registry.
func TestAttachVSABundle(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	hosts := attachRegistries(t)
	// gatehouse's reader relies on the artifactType the index lists (until
	// it reads manifests): read back through the registry that reports it.
	hosts["referrers-api"] = func(t *testing.T) string { return inProcessRegistry(t) }
	for kind, host := range hosts {
		t.Run(kind, func(t *testing.T) {
			c := New(Options{Timeout: 10 * time.Second})
			d := pushRandomImage(t, host(t), "vsa/bundle-"+kind)
			o := attachVSAOptions(d)
			loc, err := c.AttachVSA(ctx, d, o, k.signer, AttestBundle)
			if err != nil {
				t.Fatal(err)
			}
			if want := "Sigstore bundle referrer of " + d.String(); loc != want {
				t.Errorf("location %q, want %q", loc, want)
			}
			if _, err := remote.Get(mustAttTag(t, d)); !isNotFound(err) {
				t.Errorf("bundle form also wrote the .att tag (or it could not be checked): %v", err)
			}
			m, layer := onlyReferrer(t, c, d)
			if got, want := m.ArtifactType, BundleArtifactType; got != want {
				t.Errorf("artifactType %q, want %q", got, want)
			}
			emptyDigest, _, _ := v1.SHA256(strings.NewReader("{}"))
			if diff := cmp.Diff(v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", ArtifactType: BundleArtifactType, Digest: emptyDigest, Size: 2}, m.Config); diff != "" {
				t.Errorf("config descriptor (-want +got):\n%s", diff)
			}
			if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() {
				t.Errorf("subject %+v, want the image %s", m.Subject, d.DigestStr())
			}
			if len(m.Layers) != 1 || m.Layers[0].MediaType != BundleArtifactType {
				t.Fatalf("layers %+v, want one of media type %s", m.Layers, BundleArtifactType)
			}
			if got := map[string]string{"content": m.Annotations["dev.sigstore.bundle.content"], "predicateType": m.Annotations["dev.sigstore.bundle.predicateType"]}; !cmp.Equal(got, map[string]string{"content": "dsse-envelope", "predicateType": VSAPredicateType}) {
				t.Errorf("annotations %v", m.Annotations)
			}
			b, err := ParseBundle(layer)
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := k.signer.PublicKey()
			der, _ := x509.MarshalPKIXPublicKey(pub)
			h := sha256.Sum256(der)
			if got, want := b.GetVerificationMaterial().GetPublicKey().GetHint(), base64.StdEncoding.EncodeToString(h[:]); got != want {
				t.Errorf("public key hint %q, want %q (base64 SHA-256 of the PKIX key, as cosign writes it)", got, want)
			}
			if n := len(b.GetVerificationMaterial().GetTlogEntries()); n != 0 {
				t.Errorf("%d transparency-log entries, want none (gatehouse uploads nothing)", n)
			}
			if got := bundlePredicateType(b); got != VSAPredicateType {
				t.Errorf("DSSE statement predicateType %q, want %q", got, VSAPredicateType)
			}
			got, err := c.VerifyImageVSA(ctx, d.String(), *vsaPolicy(p, o.PolicyDigest))
			if err != nil {
				t.Fatalf("gatehouse's reader: %v", err)
			}
			if got.Format != FormatBundleReferrer {
				t.Errorf("read back as %s, want %s", got.Format, FormatBundleReferrer)
			}
		})
	}
}

// TestAttachVSAAuto: auto writes a bundle when the image already has a
// Sigstore bundle referrer (whatever the index claims about it), the .att
// tag otherwise; a forced format is written as asked.
func TestAttachVSAAuto(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	type setup func(t *testing.T, c *Client, d name.Digest)
	bundle := func(t *testing.T, c *Client, d name.Digest) {
		if _, err := c.AttachBundle(ctx, d, keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{}))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		setup  setup
		format AttestFormat
		want   AttestFormat
	}{
		{name: "nothing attached", want: AttestTag},
		{name: "zero value is auto", format: "", setup: bundle, want: AttestBundle},
		{name: "classic attestation only", setup: func(t *testing.T, c *Client, d name.Digest) {
			if _, err := c.AttachAttestation(ctx, d, dsseSign(t, k, statement(t, d, SLSAProvenanceV1, map[string]any{})), SLSAProvenanceV1); err != nil {
				t.Fatal(err)
			}
		}, want: AttestTag},
		{name: "bundle referrer", setup: bundle, want: AttestBundle},
		{name: "bundle listed as an empty config", setup: func(t *testing.T, c *Client, d name.Digest) {
			bundle(t, c, d)
			hideArtifactTypes(t, d)
		}, want: AttestBundle},
		{name: "other referrer", setup: func(t *testing.T, c *Client, d name.Digest) {
			writeReferrer(t, d, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
		}, want: AttestTag},
		{name: "bundle-typed referrer that is not a bundle", setup: func(t *testing.T, c *Client, d name.Digest) {
			writeReferrer(t, d, BundleArtifactType, []byte(`{"not":"a bundle"}`))
		}, want: AttestTag},
		{name: "forced tag beside bundles", setup: bundle, format: AttestTag, want: AttestTag},
		{name: "forced bundle on a bare image", format: AttestBundle, want: AttestBundle},
	}
	for kind, host := range attachRegistries(t) {
		t.Run(kind, func(t *testing.T) {
			h := host(t)
			for i, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					c := New(Options{Timeout: 10 * time.Second})
					d := pushRandomImage(t, h, "vsa/auto"+string(rune('a'+i)))
					if tc.setup != nil {
						tc.setup(t, c, d)
					}
					format := tc.format
					if format == "" && tc.name != "zero value is auto" {
						format = AttestAuto
					}
					before := len(referrersOf(t, d))
					loc, err := c.AttachVSA(ctx, d, attachVSAOptions(d), k.signer, format)
					if err != nil {
						t.Fatal(err)
					}
					added := len(referrersOf(t, d)) - before
					var got AttestFormat
					switch {
					case loc == mustAttTag(t, d).String() && added == 0:
						got = AttestTag
					case strings.HasPrefix(loc, "Sigstore bundle referrer of ") && added == 1:
						got = AttestBundle
					default:
						t.Fatalf("AttachVSA wrote to %q and added %d referrers", loc, added)
					}
					if got != tc.want {
						t.Errorf("wrote %s, want %s", got, tc.want)
					}
				})
			}
		})
	}
}

// TestAttachVSAAutoUnreachable: when the referrers cannot be read, auto
// attaches nothing and says why (a VSA in the wrong place would be one
// cosign never reads); a forced tag needs no listing.
func TestAttachVSAAutoUnreachable(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	for _, tc := range []struct {
		name string
		fail func(r *http.Request) bool
	}{
		{name: "referrers listing", fail: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/referrers/") }},
		{name: "referrer manifest", fail: func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registry.New(registry.Logger(nilLogger()), registry.WithReferrersSupport(true))
			var failing bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if failing && tc.fail(r) {
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
					return
				}
				reg.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			c := New(Options{Timeout: 10 * time.Second})
			d := pushRandomImage(t, strings.TrimPrefix(srv.URL, "http://"), "vsa/down")
			if _, err := c.AttachBundle(ctx, d, keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{}))); err != nil {
				t.Fatal(err)
			}
			failing = true
			_, err := c.AttachVSA(ctx, d, attachVSAOptions(d), k.signer, AttestAuto)
			if err == nil || !strings.Contains(err.Error(), "choosing its format") || !strings.Contains(err.Error(), "503") {
				t.Fatalf("want an error saying the format could not be chosen (503), got %v", err)
			}
			if _, err := remote.Get(mustAttTag(t, d)); !isNotFound(err) {
				t.Errorf("a VSA was attached anyway: %v", err)
			}
		})
	}
}

// TestAttachVSAAutoManyReferrers: auto reads at most MaxAttachments
// referrer manifests, claimed bundles first; past the limit without a
// bundle it refuses to guess.
func TestAttachVSAAutoManyReferrers(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	for _, tc := range []struct {
		name    string
		bundle  bool // a real bundle referrer is listed after 149 others
		wantErr string
	}{
		{name: "no bundle among too many", wantErr: "none of the first 100 of 150 referrers is a Sigstore bundle"},
		{name: "bundle listed last", bundle: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registry.New(registry.Logger(nilLogger()), registry.WithReferrersSupport(true))
			var extra []v1.Descriptor
			var manifestGets atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256:") {
					manifestGets.Add(1)
				}
				if !strings.Contains(r.URL.Path, "/referrers/") || extra == nil {
					reg.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				reg.ServeHTTP(rec, r)
				var im v1.IndexManifest
				if err := json.Unmarshal(rec.Body.Bytes(), &im); err != nil {
					t.Errorf("referrers listing: %v", err)
				}
				// Listed but absent manifests: skipped as cosign skips them.
				im.Manifests = append(slices.Clone(extra), im.Manifests...)
				w.Header().Set("Content-Type", string(types.OCIImageIndex))
				json.NewEncoder(w).Encode(im)
			}))
			t.Cleanup(srv.Close)
			c := New(Options{Timeout: 10 * time.Second})
			d := pushRandomImage(t, strings.TrimPrefix(srv.URL, "http://"), "vsa/many")
			if tc.bundle {
				if _, err := c.AttachBundle(ctx, d, keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{}))); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 150 - len(referrersOf(t, d)) {
				h, _, _ := v1.SHA256(strings.NewReader(strings.Repeat("x", i+1)))
				extra = append(extra, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 100, ArtifactType: "application/spdx+json"})
			}
			// The bundle is listed last, typed by its empty config (as this
			// registry lists it): it is read before the SPDX-typed ones.
			manifestGets.Store(0)
			loc, err := c.AttachVSA(ctx, d, attachVSAOptions(d), k.signer, AttestAuto)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v (wrote %q)", tc.wantErr, err, loc)
				}
				if n := manifestGets.Load(); n != MaxAttachments {
					t.Errorf("read %d referrer manifests, want the limit %d", n, MaxAttachments)
				}
				return
			}
			if err != nil || !strings.HasPrefix(loc, "Sigstore bundle referrer of ") {
				t.Fatalf("want a bundle, got %q, %v", loc, err)
			}
			if n := manifestGets.Load(); n != 1 {
				t.Errorf("read %d referrer manifests to find the bundle, want 1 (likely bundles first)", n)
			}
		})
	}
}

// TestCosignVerifiesVSA runs the real cosign CLI (GATEHOUSE_COSIGN) on
// gatehouse's VSA in each form on both kinds of registry, with the commands
// docs/signing.md shows.
func TestCosignVerifiesVSA(t *testing.T) {
	bin := os.Getenv("GATEHOUSE_COSIGN")
	if bin == "" {
		t.Skip("GATEHOUSE_COSIGN is unset: the real cosign CLI is not available (scripts/cosign.sh builds it; scripts/test-env.sh sets it)")
	}
	dir := t.TempDir()
	// cosign runs the CLI offline (no TUF cache or network lookup may
	// decide the outcome) and returns its stdout and its combined output.
	cosign := func(t *testing.T, args ...string) (stdout, all string, err error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"))
		var out, both bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, &both), &both
		err = cmd.Run()
		return out.String(), both.String(), err
	}
	if _, out, err := cosign(t, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	k := newTestKey(t, "ecdsa-p256")
	pub := filepath.Join(dir, "gatehouse.pub")
	trustedRoot := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(pub, k.pubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// A trusted root with no authorities: enough for key-signed bundles
	// (cosign's bundle mode wants one; the key is what verifies).
	if err := os.WriteFile(trustedRoot, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := []string{"verify-attestation", "--key", pub, "--type", VSAPredicateType, "--insecure-ignore-tlog=true"}
	withRoot := append(append([]string{}, verify...), "--trusted-root", trustedRoot)
	tests := []struct {
		name         string
		cosignBundle bool // the image is signed by cosign --new-bundle-format first
		format       AttestFormat
		args         []string
		wantErr      string // "": cosign accepts
	}{
		{name: "tag on a bare image", format: AttestAuto, args: verify},
		{name: "tag on a bare image, with trusted root", format: AttestAuto, args: withRoot},
		{name: "bundle beside cosign bundles", cosignBundle: true, format: AttestAuto, args: withRoot},
		{name: "bundle beside cosign bundles, new-bundle-format", cosignBundle: true, format: AttestAuto, args: append(append([]string{}, withRoot...), "--new-bundle-format")},
		{name: "bundle forced on a bare image", format: AttestBundle, args: withRoot},
		{name: "bundle without trusted root", cosignBundle: true, format: AttestAuto, args: verify, wantErr: "trusted root is required"},
		{name: "tag read with new-bundle-format", format: AttestAuto, args: append(append([]string{}, withRoot...), "--new-bundle-format"), wantErr: "no valid bundles exist"},
		{name: "tag forced beside cosign bundles", cosignBundle: true, format: AttestTag, args: withRoot, wantErr: "no matching attestations"},
	}
	for kind, host := range attachRegistries(t) {
		t.Run(kind, func(t *testing.T) {
			h := host(t)
			for i, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					c := New(Options{Timeout: 10 * time.Second})
					d := pushRandomImage(t, h, "vsa/cosign"+string(rune('a'+i)))
					if tc.cosignBundle {
						if _, out, err := cosign(t, "sign", "--key", "cosign.key", "--new-bundle-format", "--tlog-upload=false", "-y", d.String()); err != nil {
							t.Fatalf("cosign sign --new-bundle-format: %v\n%s", err, out)
						}
					}
					if _, err := c.AttachVSA(context.Background(), d, attachVSAOptions(d), k.signer, tc.format); err != nil {
						t.Fatal(err)
					}
					args := append(append([]string{}, tc.args...), d.String())
					stdout, out, err := cosign(t, args...)
					t.Logf("cosign %s\n%s", strings.Join(args, " "), out)
					switch {
					case tc.wantErr == "" && err != nil:
						t.Fatalf("cosign rejected the VSA: %v\n%s", err, out)
					case tc.wantErr == "":
						if n := cosignPrintedVSAs(t, stdout, d); n != 1 {
							t.Fatalf("cosign printed %d VSAs about %s, want 1:\n%s", n, d.DigestStr(), stdout)
						}
					case err == nil || !strings.Contains(out, tc.wantErr):
						t.Fatalf("want cosign to fail with %q, got %v\n%s", tc.wantErr, err, out)
					}
				})
			}
		})
	}
}

// cosignPrintedVSAs counts the DSSE envelopes cosign verify-attestation
// printed (one JSON document a line) whose statement is a VSA about d.
func cosignPrintedVSAs(t *testing.T, stdout string, d name.Digest) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var env struct {
			Payload []byte `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatalf("cosign printed %q: %v", line, err)
		}
		st, err := attest.ParseStatement(env.Payload)
		if err != nil {
			t.Fatalf("cosign printed a payload that is no statement: %v", err)
		}
		if _, err := st.MatchDigest(d.DigestStr()); err == nil && st.PredicateType == VSAPredicateType {
			n++
		}
	}
	return n
}

// mustAttTag is d's cosign .att tag.
func mustAttTag(t *testing.T, d name.Digest) name.Tag {
	t.Helper()
	tag, err := ociremote.AttestationTag(d)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// referrersOf lists d's referrers (API or fallback tag).
func referrersOf(t *testing.T, d name.Digest) []v1.Descriptor {
	t.Helper()
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im.Manifests
}

// onlyReferrer returns d's one referrer manifest, with artifactType, and
// the bytes of its first layer.
func onlyReferrer(t *testing.T, c *Client, d name.Digest) (*referrerManifestView, []byte) {
	t.Helper()
	refs := referrersOf(t, d)
	if len(refs) != 1 {
		t.Fatalf("%d referrers, want 1", len(refs))
	}
	desc, err := remote.Get(d.Context().Digest(refs[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	var m referrerManifestView
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) == 0 {
		return &m, nil
	}
	data, err := c.fetchBlob(context.Background(), d.Context().Digest(m.Layers[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	return &m, data
}

// referrerManifestView is an OCI 1.1 manifest with its artifactType.
type referrerManifestView struct {
	v1.Manifest
	ArtifactType string `json:"artifactType"`
}

// writeReferrer attaches a one-layer referrer of artifactType to d.
func writeReferrer(t *testing.T, d name.Digest, artifactType string, content []byte) {
	t.Helper()
	l := ggcrstatic.NewLayer(content, types.MediaType(artifactType))
	if err := ociremote.WriteReferrer(d, artifactType, []v1.Layer{l}, nil); err != nil {
		t.Fatal(err)
	}
}

// hideArtifactTypes rewrites d's fallback referrers index as cosign v2.6.5
// (go-containerregistry v0.20.7) writes it: each entry's artifactType the
// empty config media type, no annotations. On a registry with the
// referrers API there is no such index and the registry's listing already
// reports the config media type.
func hideArtifactTypes(t *testing.T, d name.Digest) {
	t.Helper()
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
	desc, err := remote.Get(tag)
	if isNotFound(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var im map[string]any
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		t.Fatal(err)
	}
	for _, m := range im["manifests"].([]any) {
		e := m.(map[string]any)
		e["artifactType"] = "application/vnd.oci.empty.v1+json"
		delete(e, "annotations")
	}
	raw, _ := json.Marshal(im)
	req, _ := http.NewRequest(http.MethodPut, "http://"+d.RegistryStr()+"/v2/"+d.RepositoryStr()+"/manifests/"+tag.TagStr(), bytes.NewReader(raw))
	req.Header.Set("Content-Type", string(types.OCIImageIndex))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("rewrite %s: %s", tag, resp.Status)
	}
}

// BenchmarkAttachVSA: the cost of each format, and of auto's look at the
// referrers, against the in-process referrers-API registry on loopback.
func BenchmarkAttachVSA(b *testing.B) {
	ctx := context.Background()
	k := newTestKey(b, "ecdsa-p256")
	for _, bc := range []struct {
		name    string
		bundles bool
		format  AttestFormat
	}{
		{"tag", false, AttestTag}, {"auto-bare-image", false, AttestAuto},
		{"bundle", true, AttestBundle}, {"auto-beside-bundles", true, AttestAuto},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := New(Options{Timeout: 10 * time.Second, BlobCacheBytes: -1})
			d := pushRandomImage(b, inProcessRegistry(b), "bench/vsa")
			if bc.bundles {
				if _, err := c.AttachBundle(ctx, d, keyBundle(b, k, statement(b, d, CosignSignPredicateType, map[string]any{}))); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := c.AttachVSA(ctx, d, attachVSAOptions(d), k.signer, bc.format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
