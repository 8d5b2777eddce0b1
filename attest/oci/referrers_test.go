package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// This file tests how referrers are found and judged: from each referrer's
// manifest, never from what a listing claims, within bounds, and with a
// registry that fails being an error rather than evidence.

const emptyConfigMediaType = "application/vnd.oci.empty.v1+json"

// hostileRegistry is go-containerregistry's registry (v0.22.1: its
// referrers API reports config.mediaType as artifactType) behind a handler
// that counts requests and lets a test answer some paths itself. With noAPI
// it answers the referrers API 404, as Distribution 2.8 does.
type hostileRegistry struct {
	host string
	mu   sync.Mutex
	// gets counts GET requests by requestKind.
	gets map[string]int
	// override answers a path when it returns true.
	override func(w http.ResponseWriter, r *http.Request) bool
}

func newHostileRegistry(t testing.TB, noAPI bool) *hostileRegistry {
	t.Helper()
	h := &hostileRegistry{gets: map[string]int{}}
	reg := registry.New(registry.Logger(nilLogger()), registry.WithReferrersSupport(true))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		if r.Method == http.MethodGet {
			h.gets[requestKind(r.URL.Path)]++
		}
		override := h.override
		h.mu.Unlock()
		if override != nil && override(w, r) {
			return
		}
		if noAPI && strings.Contains(r.URL.Path, "/referrers/") {
			http.NotFound(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.host = strings.TrimPrefix(srv.URL, "http://")
	return h
}

func (h *hostileRegistry) count(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets[kind]
}

// serveListing answers the sha256-<hex> referrers tag of d with entries
// (registries refuse to store an index naming manifests they lack).
func (h *hostileRegistry) serveListing(t testing.TB, d name.Digest, entries []v1.Descriptor) {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	tag := "/manifests/" + strings.Replace(d.DigestStr(), ":", "-", 1)
	h.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, tag) {
			return false
		}
		sum := sha256.Sum256(raw)
		w.Header().Set("Content-Type", string(types.OCIImageIndex))
		w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
		w.Header().Set("Content-Length", fmt.Sprint(len(raw)))
		if r.Method == http.MethodGet {
			w.Write(raw)
		}
		return true
	})
}

func (h *hostileRegistry) setOverride(f func(w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	h.override = f
	h.mu.Unlock()
}

// putManifest PUTs raw manifest bytes under ref (a tag or digest) without
// any client-side referrers handling: the test decides what the listing says.
func putManifest(t testing.TB, repo name.Repository, ref string, mediaType types.MediaType, raw []byte) {
	t.Helper()
	u := fmt.Sprintf("http://%s/v2/%s/manifests/%s", repo.RegistryStr(), repo.RepositoryStr(), ref)
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", string(mediaType))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s: %s", u, resp.Status)
	}
}

// putBlob uploads data (monolithic POST+PUT) and returns its descriptor.
func putBlob(t testing.TB, repo name.Repository, mediaType types.MediaType, data []byte) v1.Descriptor {
	t.Helper()
	h, size, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(fmt.Sprintf("http://%s/v2/%s/blobs/uploads/", repo.RegistryStr(), repo.RepositoryStr()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("start upload: %s", resp.Status)
	}
	if !strings.HasPrefix(loc, "http") {
		loc = "http://" + repo.RegistryStr() + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+h.String(), bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload blob: %s", resp.Status)
	}
	return v1.Descriptor{MediaType: mediaType, Digest: h, Size: size}
}

// referrerSpec is one referrer manifest as a test writes it by hand.
type referrerSpec struct {
	artifactType string // the manifest's artifactType field ("" for none)
	configType   string // config.mediaType (empty config when "")
	layers       []v1.Descriptor
	annotations  map[string]string
	// listedAs replaces the artifactType the fallback index gives (a lie);
	// by default the index says what go-containerregistry v0.20.7 (in
	// cosign v2.6.5) writes: the config media type, no annotations.
	listedAs string
	// listAnnotations are put in the fallback index entry (unsigned labels).
	listAnnotations map[string]string
}

// pushReferrer writes the manifest of spec about subject and returns its
// index descriptor (mediaType, digest, size, artifactType as listed).
func pushReferrer(t testing.TB, subject name.Digest, spec referrerSpec) v1.Descriptor {
	t.Helper()
	repo := subject.Context()
	sub, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	cfgType := spec.configType
	if cfgType == "" {
		cfgType = emptyConfigMediaType
	}
	cfg := putBlob(t, repo, types.MediaType(cfgType), []byte("{}"))
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"config":        cfg,
		"layers":        spec.layers,
		"subject":       v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size},
	}
	if spec.artifactType != "" {
		m["artifactType"] = spec.artifactType
	}
	if spec.annotations != nil {
		m["annotations"] = spec.annotations
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, size, _ := v1.SHA256(bytes.NewReader(raw))
	putManifest(t, repo, h.String(), types.OCIManifestSchema1, raw)
	listed := cfgType
	if spec.listedAs != "" {
		listed = spec.listedAs
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size, ArtifactType: listed, Annotations: spec.listAnnotations}
}

// writeFallbackIndex writes the sha256-<hex> referrers tag by hand.
func writeFallbackIndex(t testing.TB, subject name.Digest, entries []v1.Descriptor) {
	t.Helper()
	raw, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	putManifest(t, subject.Context(), strings.Replace(subject.DigestStr(), ":", "-", 1), types.OCIImageIndex, raw)
}

// Layers as cosign writes them.

// bundleLayer: `cosign sign|attest --new-bundle-format` (one bundle layer).
func bundleSpec(t testing.TB, repo name.Repository, bundle []byte, predicateType string) referrerSpec {
	t.Helper()
	return referrerSpec{
		artifactType: BundleArtifactType,
		layers:       []v1.Descriptor{putBlob(t, repo, BundleArtifactType, bundle)},
		annotations: map[string]string{
			"org.opencontainers.image.created":  "2026-11-30T00:00:00Z",
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": predicateType,
		},
	}
}

// cosignSigSpec: COSIGN_EXPERIMENTAL=1 cosign sign --registry-referrers-mode=oci-1-1
// (pkg/oci/remote.WriteSignaturesExperimentalOCI: the .sig manifest with
// config.mediaType and artifactType application/vnd.dev.cosign.artifact.sig.v1+json).
func cosignSigSpec(t testing.TB, d name.Digest, k testKey) referrerSpec {
	t.Helper()
	p := simpleSigningPayload(t, d)
	sig, err := k.signer.SignMessage(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	l := putBlob(t, d.Context(), ctypes.SimpleSigningMediaType, p)
	l.Annotations = map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)}
	return referrerSpec{artifactType: CosignSignatureArtifactType, configType: CosignSignatureArtifactType, layers: []v1.Descriptor{l}}
}

// cosignAttSpec: pkg/oci/remote.WriteAttestationsReferrer (DSSE layers,
// artifactType application/vnd.in-toto+json).
func cosignAttSpec(t testing.TB, d name.Digest, k testKey, stmt []byte, predicateType string) referrerSpec {
	t.Helper()
	l := putBlob(t, d.Context(), ctypes.DssePayloadType, dsseSign(t, k, stmt))
	// As in the .att tag: the signature is inside the envelope.
	l.Annotations = map[string]string{"predicateType": predicateType, "dev.cosignproject.cosign/signature": ""}
	return referrerSpec{artifactType: ctypes.IntotoPayloadType, layers: []v1.Descriptor{l}}
}

// sbomSpec: an SBOM referrer (not ours to judge).
func sbomSpec(t testing.TB, repo name.Repository) referrerSpec {
	t.Helper()
	return referrerSpec{artifactType: "application/spdx+json",
		layers: []v1.Descriptor{putBlob(t, repo, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))}}
}

// oldCosignBundle is what `cosign sign-blob --bundle` wrote before
// --new-bundle-format (cosign.LocalSignedPayload).
const oldCosignBundle = `{"base64Signature":"MEUCIQ==","cert":"","rekorBundle":{"SignedEntryTimestamp":"MEUC","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"00"}}}`

// referrerRegistries are the ways a listing reaches gatehouse: the
// referrers API of go-containerregistry's registry (artifactType = config
// media type, annotations copied), and the fallback tag written by hand as
// cosign v2.6.5 (go-containerregistry v0.20.7) writes it, on that registry
// with its API turned off and on Distribution 2.8 when available.
type referrerRegistry struct {
	name     string
	host     string
	fallback bool // the test writes the listing (the sha256-<hex> tag)
	hostile  *hostileRegistry
}

func referrerRegistries(t *testing.T) []referrerRegistry {
	api := newHostileRegistry(t, false)
	noAPI := newHostileRegistry(t, true)
	regs := []referrerRegistry{
		{name: "ggcr-referrers-api", host: api.host, hostile: api},
		{name: "ggcr-fallback-tag", host: noAPI.host, fallback: true, hostile: noAPI},
	}
	if realRegistry != "" {
		regs = append(regs, referrerRegistry{name: "distribution-2.8-fallback-tag", host: realRegistry, fallback: true})
	} else {
		t.Logf("Distribution 2.8 cells skipped: %s", realRegistryWhyNot)
	}
	return regs
}

// TestReferrersFromManifests: every kind of referrer cosign writes is
// found and verified whatever the listing claims about it, and a listing
// cannot pass a non-signature off as one.
func TestReferrersFromManifests(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	other := newTestKey(t, "ecdsa-p256")
	p, err := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		// sigs: the formats of verified signatures, then "!format: error
		// substring" for each that did not verify, in order.
		sigs []string
		// slsa: whether a verified SLSA provenance was found; attErr a
		// substring of an unverified attestation's error ("" for none).
		slsa   bool
		attErr string
	}
	type tc struct {
		name string
		// fallbackOnly: the case is about what the listing says, which
		// only the fallback tag lets a test write.
		fallbackOnly bool
		refs         func(t *testing.T, d name.Digest) []referrerSpec
		want         result
	}
	signBundle := func(t *testing.T, d name.Digest, key testKey) referrerSpec {
		return bundleSpec(t, d.Context(), keyBundle(t, key, statement(t, d, CosignSignPredicateType, map[string]any{})), CosignSignPredicateType)
	}
	slsaBundle := func(t *testing.T, d name.Digest) referrerSpec {
		return bundleSpec(t, d.Context(), keyBundle(t, k, statement(t, d, SLSAProvenanceV1, slsaV1Predicate("b", "r"))), SLSAProvenanceV1)
	}
	cases := []tc{
		{name: "cosign sign and attest --new-bundle-format", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			return []referrerSpec{signBundle(t, d, k), slsaBundle(t, d)}
		}, want: result{sigs: []string{FormatBundleReferrer}, slsa: true}},
		{name: "bundle without annotations or artifactType", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s := signBundle(t, d, k)
			s.annotations, s.artifactType = nil, ""
			return []referrerSpec{s}
		}, want: result{sigs: []string{FormatBundleReferrer}}},
		{name: "cosign OCI 1.1 signature", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			return []referrerSpec{cosignSigSpec(t, d, k)}
		}, want: result{sigs: []string{FormatCosignReferrer}}},
		{name: "cosign OCI 1.1 attestation", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			return []referrerSpec{cosignAttSpec(t, d, k, statement(t, d, SLSAProvenanceV1, slsaV1Predicate("b", "r")), SLSAProvenanceV1)}
		}, want: result{slsa: true}},
		{name: "wrong key", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			return []referrerSpec{signBundle(t, d, other), cosignSigSpec(t, d, other)}
		}, want: result{sigs: []string{"!" + FormatCosignReferrer + ": key", "!" + FormatBundleReferrer + ": key"}}},
		{name: "SBOM is ignored", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			return []referrerSpec{sbomSpec(t, d.Context()), signBundle(t, d, k)}
		}, want: result{sigs: []string{FormatBundleReferrer}}},
		{name: "old cosign bundle format", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			return []referrerSpec{bundleSpec(t, d.Context(), []byte(oldCosignBundle), "")}
		}, want: result{sigs: []string{"!" + FormatBundleReferrer + ": --new-bundle-format"}, attErr: "old bundle format"}},
		{name: "manifest claims a bundle but holds an SBOM", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s := sbomSpec(t, d.Context())
			s.artifactType = BundleArtifactType
			return []referrerSpec{s}
		}, want: result{sigs: []string{"!" + FormatBundleReferrer + ": holds no such layer"}, attErr: "holds no such layer"}},
		{name: "bundle manifest with two layers", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s := signBundle(t, d, k)
			s.layers = append(s.layers, s.layers[0])
			return []referrerSpec{s}
		}, want: result{sigs: []string{"!" + FormatBundleReferrer + ": exactly one layer"}}},
		{name: "layer claims 10 GiB", refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s := signBundle(t, d, k)
			s.layers[0].Size = 10 << 30
			c := cosignSigSpec(t, d, k)
			c.layers[0].Size = 10 << 30
			return []referrerSpec{s, c, signBundle(t, d, k)}
		}, want: result{sigs: []string{"!" + FormatCosignReferrer + ": byte limit", "!" + FormatBundleReferrer + ": byte limit", FormatBundleReferrer}}},
		{name: "listing hides a signature behind another artifactType", fallbackOnly: true, refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s, c := signBundle(t, d, k), cosignSigSpec(t, d, k)
			s.listedAs, c.listedAs = "application/spdx+json", "application/vnd.oci.image.config.v1+json"
			return []referrerSpec{s, c}
		}, want: result{sigs: []string{FormatCosignReferrer, FormatBundleReferrer}}},
		{name: "listing passes an SBOM off as a bundle", fallbackOnly: true, refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s := sbomSpec(t, d.Context())
			s.listedAs = BundleArtifactType
			s.listAnnotations = map[string]string{"dev.sigstore.bundle.content": "message-signature"}
			return []referrerSpec{s}
		}, want: result{}},
		{name: "listing labels a signature as an attestation: missed, never accepted", fallbackOnly: true, refs: func(t *testing.T, d name.Digest) []referrerSpec {
			s := signBundle(t, d, k)
			s.listAnnotations = map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": SLSAProvenanceV1}
			return []referrerSpec{s}
		}, want: result{}},
	}
	for _, reg := range referrerRegistries(t) {
		c := New(Options{Timeout: 20 * time.Second})
		for i, tc := range cases {
			if tc.fallbackOnly && !reg.fallback {
				continue
			}
			t.Run(reg.name+"/"+tc.name, func(t *testing.T) {
				d := pushRandomImage(t, reg.host, fmt.Sprintf("refs/case%d", i))
				var listing []v1.Descriptor
				for _, s := range tc.refs(t, d) {
					listing = append(listing, pushReferrer(t, d, s))
				}
				if reg.fallback {
					writeFallbackIndex(t, d, listing)
				}
				ev, err := c.VerifySignatures(ctx, d, p)
				if err != nil {
					t.Fatalf("VerifySignatures: %v", err)
				}
				var got []string
				for _, s := range ev.Signatures {
					if s.Verified {
						got = append(got, s.Format)
						continue
					}
					got = append(got, "!"+s.Format+": "+s.Error)
				}
				if len(got) != len(tc.want.sigs) {
					t.Fatalf("signatures %q, want %q", got, tc.want.sigs)
				}
				// Referrers come in the registry's order: compare as sets,
				// by format and whether they verified.
				head := func(s string) string { return strings.SplitN(s, ": ", 2)[0] }
				wantSigs := slices.Clone(tc.want.sigs)
				slices.SortStableFunc(got, func(a, b string) int { return strings.Compare(head(a), head(b)) })
				slices.SortStableFunc(wantSigs, func(a, b string) int { return strings.Compare(head(a), head(b)) })
				for j, w := range wantSigs {
					if !strings.HasPrefix(w, "!") && got[j] != w || strings.HasPrefix(w, "!") && !strings.Contains(got[j], strings.SplitN(w, ": ", 2)[1]) || strings.HasPrefix(w, "!") != strings.HasPrefix(got[j], "!") {
						t.Errorf("signature %d: %q, want %q", j, got[j], w)
					}
				}
				want := false
				for _, w := range tc.want.sigs {
					want = want || !strings.HasPrefix(w, "!")
				}
				if ev.Verified != want {
					t.Errorf("Verified = %v, want %v", ev.Verified, want)
				}
				pev, err := c.Provenance(ctx, d, p)
				if err != nil {
					t.Fatalf("Provenance: %v", err)
				}
				var slsa bool
				attErr := ""
				for _, a := range pev.Attestations {
					slsa = slsa || a.Verified && a.PredicateType == SLSAProvenanceV1
					if !a.Verified && attErr == "" {
						attErr = a.Error
					}
				}
				if slsa != tc.want.slsa {
					t.Errorf("verified SLSA provenance: %v, want %v (%+v)", slsa, tc.want.slsa, pev.Attestations)
				}
				if tc.want.attErr == "" && attErr != "" || !strings.Contains(attErr, tc.want.attErr) {
					t.Errorf("attestation error %q, want one saying %q", attErr, tc.want.attErr)
				}
			})
		}
	}
}

// TestReferrersBounded: a listing of 1000 referrers is refused before any
// manifest is read; a huge referrer manifest (with or without a
// Content-Length) and one listed but missing are reported unverified
// without hiding the valid signature beside them; a layer claiming 10 GiB
// is never requested.
func TestReferrersBounded(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	p, err := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fakeDigest := func(i int) v1.Hash {
		s := sha256.Sum256([]byte(fmt.Sprint(i)))
		return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
	}

	t.Run("1000 referrers", func(t *testing.T) {
		reg := newHostileRegistry(t, true)
		d := pushRandomImage(t, reg.host, "bounded/many")
		var listing []v1.Descriptor
		for i := range 1000 {
			listing = append(listing, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: fakeDigest(i), Size: 500, ArtifactType: BundleArtifactType})
		}
		reg.serveListing(t, d, listing)
		c := New(Options{Timeout: 10 * time.Second})
		_, err := c.VerifySignatures(ctx, d, p)
		if err == nil || !strings.Contains(err.Error(), "1000 referrers") {
			t.Fatalf("error %v, want one naming the 1000 referrers", err)
		}
		if n := reg.count("manifest-by-digest"); n != 0 {
			t.Errorf("%d referrer manifests read, want none", n)
		}
		// One referrer listed 1000 times is read once.
		one := pushReferrer(t, d, bundleSpec(t, d.Context(), keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{})), CosignSignPredicateType))
		reg.serveListing(t, d, slices.Repeat([]v1.Descriptor{one}, 1000))
		ev, err := c.VerifySignatures(ctx, d, p)
		if err != nil || !ev.Verified || len(ev.Signatures) != 1 {
			t.Fatalf("one referrer listed 1000 times: %v %+v", err, ev)
		}
	})

	t.Run("huge manifest and missing referrer", func(t *testing.T) {
		for _, chunked := range []bool{false, true} {
			reg := newHostileRegistry(t, true)
			d := pushRandomImage(t, reg.host, "bounded/huge")
			good := pushReferrer(t, d, bundleSpec(t, d.Context(), keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{})), CosignSignPredicateType))
			huge := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: fakeDigest(1), Size: 500, ArtifactType: BundleArtifactType}
			missing := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: fakeDigest(2), Size: 500, ArtifactType: BundleArtifactType}
			reg.serveListing(t, d, []v1.Descriptor{huge, good, missing})
			listing := reg.override
			reg.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, "/manifests/"+huge.Digest.String()) {
					return listing(w, r)
				}
				w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
				w.Header().Set("Docker-Content-Digest", huge.Digest.String())
				if !chunked {
					w.Header().Set("Content-Length", fmt.Sprint(64<<20))
				}
				w.WriteHeader(http.StatusOK)
				if r.Method == http.MethodHead {
					return true
				}
				chunk := bytes.Repeat([]byte(" "), 1<<20)
				for range 64 {
					if _, err := w.Write(chunk); err != nil {
						break
					}
				}
				return true
			})
			c := New(Options{Timeout: 10 * time.Second})
			ev, err := c.VerifySignatures(ctx, d, p)
			if err != nil {
				t.Fatalf("chunked=%v: %v", chunked, err)
			}
			if !ev.Verified || len(ev.Signatures) != 3 {
				t.Fatalf("chunked=%v: want the good signature verified beside two unusable ones: %+v", chunked, ev.Signatures)
			}
			for _, s := range ev.Signatures {
				switch {
				case strings.Contains(s.Location, huge.Digest.String()) && !strings.Contains(s.Error, "limit"):
					t.Errorf("chunked=%v: huge manifest: %q, want the size limit named", chunked, s.Error)
				case strings.Contains(s.Location, missing.Digest.String()) && !strings.Contains(s.Error, "not found"):
					t.Errorf("chunked=%v: missing manifest: %q, want 'not found'", chunked, s.Error)
				}
			}
		}
	})

	t.Run("attachments across referrers", func(t *testing.T) {
		reg := newHostileRegistry(t, false)
		d := pushRandomImage(t, reg.host, "bounded/layers")
		s := cosignSigSpec(t, d, k)
		s.layers = slices.Repeat(s.layers, MaxAttachments*6/10)
		pushReferrer(t, d, s)
		s.annotations = map[string]string{"n": "2"} // another manifest, the same layers
		pushReferrer(t, d, s)
		c := New(Options{Timeout: 10 * time.Second})
		_, err := c.VerifySignatures(ctx, d, p)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d signatures and attestations", MaxAttachments)) {
			t.Fatalf("error %v, want the attachment limit named", err)
		}
	})

	t.Run("layer claims 10 GiB", func(t *testing.T) {
		reg := newHostileRegistry(t, false)
		d := pushRandomImage(t, reg.host, "bounded/big-layer")
		s := bundleSpec(t, d.Context(), keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{})), CosignSignPredicateType)
		s.layers[0].Size = 10 << 30
		pushReferrer(t, d, s)
		c := New(Options{Timeout: 10 * time.Second})
		before := reg.count("blob")
		ev, err := c.VerifySignatures(ctx, d, p)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Verified || len(ev.Signatures) != 1 || !strings.Contains(ev.Signatures[0].Error, "10737418240 bytes") {
			t.Fatalf("want one unverified signature naming its size: %+v", ev.Signatures)
		}
		if n := reg.count("blob") - before; n != 0 {
			t.Errorf("%d blobs requested, want none", n)
		}
	})
}

// TestRegistryDownIsAnError: a registry that refuses, fails or stalls,
// at any step and for digest and tag references alike, makes the
// signature and provenance checks (and their collectors) return an
// error, never evidence: the decision is "not decided" (exit 2).
func TestRegistryDownIsAnError(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	p, err := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A registry with a signed image, to break at one step.
	reg := newHostileRegistry(t, false)
	d := pushRandomImage(t, reg.host, "down/app")
	sig := pushReferrer(t, d, cosignSigSpec(t, d, k))
	pushReferrer(t, d, bundleSpec(t, d.Context(), keyBundle(t, k, statement(t, d, SLSAProvenanceV1, map[string]any{})), SLSAProvenanceV1))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	fail := func(status int, match func(r *http.Request) bool) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if !match(r) {
				return false
			}
			if status == 0 {
				select {
				case <-stall:
				case <-r.Context().Done():
				}
				return true
			}
			http.Error(w, "broken", status)
			return true
		}
	}
	all := func(*http.Request) bool { return true }
	path := func(s string) func(*http.Request) bool {
		return func(r *http.Request) bool { return strings.Contains(r.URL.Path, s) }
	}
	for _, tc := range []struct {
		name     string
		host     string
		override func(w http.ResponseWriter, r *http.Request) bool
		want     string
	}{
		{name: "connection refused", host: refused, want: "refused"},
		{name: "500 on everything", override: fail(http.StatusInternalServerError, all), want: "500"},
		{name: "500 on the referrers listing", override: fail(http.StatusInternalServerError, path("/referrers/")), want: "500"},
		{name: "503 on a referrer manifest", override: fail(http.StatusServiceUnavailable, path(sig.Digest.String())), want: "503"},
		{name: "500 on the blobs", override: fail(http.StatusInternalServerError, path("/blobs/")), want: "500"},
		{name: "403 on a referrer manifest", override: fail(http.StatusForbidden, path(sig.Digest.String())), want: "403"},
		{name: "stall on the referrers listing", override: fail(0, path("/referrers/")), want: "in time"},
		{name: "stall on a referrer manifest", override: fail(0, path(sig.Digest.String())), want: "in time"},
		{name: "stall on the blobs", override: fail(0, path("/blobs/")), want: "in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = reg.host
			}
			reg.setOverride(tc.override)
			defer reg.setOverride(nil)
			const timeout = 500 * time.Millisecond
			c := New(Options{Timeout: timeout, BlobCacheBytes: -1})
			dd, err := name.NewDigest(strings.Replace(d.String(), reg.host, host, 1))
			if err != nil {
				t.Fatal(err)
			}
			tag := strings.Replace(dd.String(), "@"+dd.DigestStr(), ":latest", 1)
			sc := &SignaturesCollector{Client: c, Policy: p}
			pc := &ProvenanceCollector{Client: c, Policy: p}
			for _, call := range []struct {
				what string
				f    func() (any, error)
			}{
				{"VerifySignatures", func() (any, error) { return c.VerifySignatures(ctx, dd, p) }},
				{"Attestations", func() (any, error) { return c.Attestations(ctx, dd, p, "") }},
				{"signatures collector, digest", func() (any, error) {
					return sc.Collect(ctx, gates.Subject{Kind: gates.KindImage, Ref: dd.String(), Digest: dd.DigestStr()})
				}},
				{"signatures collector, tag", func() (any, error) {
					return sc.Collect(ctx, gates.Subject{Kind: gates.KindImage, Ref: tag})
				}},
				{"provenance collector, digest", func() (any, error) {
					return pc.Collect(ctx, gates.Subject{Kind: gates.KindImage, Ref: dd.String(), Digest: dd.DigestStr()})
				}},
				{"provenance collector, tag", func() (any, error) {
					return pc.Collect(ctx, gates.Subject{Kind: gates.KindImage, Ref: tag})
				}},
			} {
				start := time.Now()
				ev, err := call.f()
				took := time.Since(start)
				if err == nil {
					t.Errorf("%s: evidence %+v, want an error", call.what, ev)
					continue
				}
				// go-containerregistry retries 5xx: the deadline may come first.
				if !strings.Contains(err.Error(), tc.want) && !(tc.want[0] == '5' && strings.Contains(err.Error(), "in time")) {
					t.Errorf("%s: error %q, want it to say %q", call.what, err, tc.want)
				}
				// A tag is resolved, then checked: two timeouts at most,
				// plus slack for a loaded machine.
				if limit := 2*timeout + 2*time.Second; took > limit {
					t.Errorf("%s took %v, more than %v (timeout %v)", call.what, took, limit, timeout)
				}
			}
		})
	}
}

// FuzzClassifyReferrer: any manifest is classified or refused, never a
// panic, and what classifies without error holds only layers of its kind
// (a bundle exactly one); labels never skip when everything is wanted.
func FuzzClassifyReferrer(f *testing.F) {
	seed := func(m map[string]any) {
		b, _ := json.Marshal(m)
		f.Add(b, "dsse-envelope", SLSAProvenanceV1)
	}
	seed(map[string]any{"schemaVersion": 2, "artifactType": BundleArtifactType, "config": map[string]any{"mediaType": emptyConfigMediaType},
		"layers": []any{map[string]any{"mediaType": BundleArtifactType, "size": 10}}})
	seed(map[string]any{"schemaVersion": 2, "config": map[string]any{"mediaType": CosignSignatureArtifactType},
		"layers": []any{map[string]any{"mediaType": ctypes.SimpleSigningMediaType}, map[string]any{"mediaType": ctypes.SimpleSigningMediaType}}})
	seed(map[string]any{"schemaVersion": 2, "artifactType": ctypes.IntotoPayloadType, "layers": []any{map[string]any{"mediaType": ctypes.DssePayloadType}}})
	seed(map[string]any{"schemaVersion": 2, "artifactType": BundleArtifactType, "layers": []any{map[string]any{"mediaType": "application/spdx+json"}}})
	seed(map[string]any{"schemaVersion": 2, "layers": []any{map[string]any{"mediaType": "x"}, map[string]any{"mediaType": BundleArtifactType}}})
	seed(map[string]any{"schemaVersion": 2, "config": map[string]any{"mediaType": "application/spdx+json"}, "layers": []any{}})
	f.Add([]byte(`{"layers":null}`), "message-signature", CosignSignPredicateType)
	f.Fuzz(func(t *testing.T, raw []byte, content, pt string) {
		ann := map[string]string{"dev.sigstore.bundle.content": content, "dev.sigstore.bundle.predicateType": pt}
		if labelledOut(ann, want{sigs: true, atts: true}) {
			t.Fatalf("labels %v skipped a referrer when everything is wanted", ann)
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return
		}
		kind, err := classifyReferrer(m)
		if err != nil {
			if kind == refOther {
				t.Fatalf("error %v without the kind claimed or held", err)
			}
			return
		}
		for i, l := range m.Layers {
			if lk := kindOfMediaType(string(l.MediaType)); kind != refOther && lk != kind || kind == refOther && lk != refOther {
				t.Fatalf("classified %v but layer %d is %s", kind, i, l.MediaType)
			}
		}
		if kind == refBundle && len(m.Layers) != 1 {
			t.Fatalf("bundle with %d layers", len(m.Layers))
		}
	})
}
