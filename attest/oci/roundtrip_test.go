package oci

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// recordingRegistry is go-containerregistry's registry behind a handler
// that records the requests it gets and, with noAPI, answers the referrers
// API 404 as Distribution 2.8 does.
type recordingRegistry struct {
	host string
	mu   sync.Mutex
	on   bool
	reqs []string
	// slowReferrers delays answers listing referrers (API or tag).
	slowReferrers time.Duration
}

func newRecordingRegistry(t testing.TB, noAPI bool) *recordingRegistry {
	t.Helper()
	r := &recordingRegistry{}
	reg := referrersRegistry()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		kind := requestKind(req.URL.Path)
		if r.on {
			r.reqs = append(r.reqs, req.Method+" "+kind)
		}
		delay := r.slowReferrers
		r.mu.Unlock()
		if kind == "referrers-api" || kind == "referrers-tag" {
			time.Sleep(delay)
		}
		if noAPI && strings.Contains(req.URL.Path, "/referrers/") {
			http.NotFound(w, req)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

var (
	tagRE = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}(\.sig|\.att)?$`)
)

// requestKind names what a registry path is for.
func requestKind(path string) string {
	switch {
	case path == "/v2/":
		return "ping"
	case strings.Contains(path, "/referrers/"):
		return "referrers-api"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	}
	if m := tagRE.FindStringSubmatch(path); m != nil {
		switch m[1] {
		case ".sig":
			return "sig-tag"
		case ".att":
			return "att-tag"
		}
		return "referrers-tag"
	}
	if strings.Contains(path, "/manifests/sha256:") {
		return "manifest-by-digest"
	}
	return path
}

// record runs f and returns the requests it made, sorted.
func (r *recordingRegistry) record(f func()) []string {
	r.mu.Lock()
	r.on, r.reqs = true, nil
	r.mu.Unlock()
	f()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	out := slices.Clone(r.reqs)
	slices.Sort(out)
	return out
}

// TestRoundTrips pins the requests one verification makes: each of the
// .sig tag, .att tag and referrers once, only the blobs the policy needs,
// the referrers API asked once per registry that lacks it, and the VSA
// check not fetching other attestations or signature bundles.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	p, err := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	type check struct {
		name string
		pol  func() ImagePolicy
		want []string
	}
	sigs := func() ImagePolicy { return ImagePolicy{Signatures: p} }
	vsa := func() ImagePolicy { return ImagePolicy{VSA: vsaPolicy(p, "sha256:"+strings.Repeat("0", 64))} }
	both := func() ImagePolicy {
		return ImagePolicy{Signatures: p, VSA: vsaPolicy(p, "sha256:"+strings.Repeat("0", 64))}
	}
	for _, reg := range []struct {
		name  string
		noAPI bool
		// cold: the first call of a new client (warm calls are below).
		cold []string
	}{
		{name: "no referrers API (Distribution 2.8)", noAPI: true,
			cold: []string{"GET att-tag", "GET blob", "GET blob", "GET ping", "GET referrers-api", "GET referrers-tag", "GET sig-tag"}},
		{name: "referrers API",
			cold: []string{"GET att-tag", "GET blob", "GET blob", "GET ping", "GET referrers-api", "GET sig-tag"}},
	} {
		t.Run(reg.name, func(t *testing.T) {
			r := newRecordingRegistry(t, reg.noAPI)
			d := pushRandomImage(t, r.host, "rt/app")
			c := New(Options{Timeout: 10 * time.Second})
			signClassicKey(t, d, k)
			// A provenance attestation in both formats: the VSA check must
			// not fetch either; the signature check not the bundle.
			if _, err := c.AttachAttestation(ctx, d, dsseSign(t, k, statement(t, d, SLSAProvenanceV1, map[string]any{})), SLSAProvenanceV1); err != nil {
				t.Fatal(err)
			}
			if _, err := c.AttachBundle(ctx, d, keyBundle(t, k, statement(t, d, SLSAProvenanceV1, map[string]any{}))); err != nil {
				t.Fatal(err)
			}
			att := &Attester{Client: c, Signer: k.signer, Format: AttestTag}
			if _, err := att.Attest(ctx, passedDecision(gates.Subject{Kind: gates.KindImage, Ref: d.String(), Digest: d.DigestStr()}, "prod", "sha256:"+strings.Repeat("0", 64))); err != nil {
				t.Fatal(err)
			}
			list := "GET referrers-api"
			if reg.noAPI {
				list = "GET referrers-tag"
			}
			verify := func(c *Client, pol ImagePolicy) {
				res, err := c.VerifyImage(ctx, d.String(), pol)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if pol.Signatures != nil && !res.Signatures.Verified || pol.VSA != nil && res.VSA == nil {
					t.Fatalf("not verified: %+v", res)
				}
			}
			// No blob cache: every call reads its blobs (see TestBlobCache).
			cold := New(Options{Timeout: 10 * time.Second, BlobCacheBytes: -1})
			if diff := cmpDiff(reg.cold, r.record(func() { verify(cold, both()) })); diff != "" {
				t.Errorf("first call of a client (-want +got)\n%s", diff)
			}
			for _, tc := range []check{
				{"signatures", sigs, sorted("GET sig-tag", list, "GET blob")},
				{"VSA", vsa, sorted("GET att-tag", list, "GET blob")},
				{"both", both, sorted("GET sig-tag", "GET att-tag", list, "GET blob", "GET blob")},
			} {
				if diff := cmpDiff(tc.want, r.record(func() { verify(cold, tc.pol()) })); diff != "" {
					t.Errorf("%s, warm client (-want +got)\n%s", tc.name, diff)
				}
			}
		})
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// TestResolveDigestOffline: a reference that carries a digest is never
// looked up: `gatehouse check image:REG/REPO@sha256:...` works offline.
func TestResolveDigestOffline(t *testing.T) {
	var calls []string
	var mu sync.Mutex
	c := New(Options{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls = append(calls, r.URL.String())
		mu.Unlock()
		return nil, context.DeadlineExceeded
	})})
	dg := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name string
		subj gates.Subject
		want string
	}{
		{"digest reference", gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api@" + dg}, dg},
		{"tag and digest", gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api:v1@" + dg}, dg},
		{"image: prefix", gates.Subject{Kind: gates.KindImage, Ref: "image:ghcr.io/acme/api@" + dg}, dg},
		{"digest given", gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api:v1", Digest: dg}, dg},
		{"parsed subject", mustParseSubject(t, "image:ghcr.io/acme/api@"+dg), dg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.subj
			if err := (&Resolver{Client: c}).Resolve(context.Background(), &s); err != nil {
				t.Fatal(err)
			}
			if s.Digest != tc.want {
				t.Errorf("digest %q, want %q", s.Digest, tc.want)
			}
		})
	}
	if len(calls) != 0 {
		t.Errorf("resolving digest references made network calls: %v", calls)
	}
	// A tag does go to the registry (and fails here, clearly).
	s := gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api:v1"}
	if err := (&Resolver{Client: c}).Resolve(context.Background(), &s); err == nil || len(calls) == 0 {
		t.Errorf("tag resolved without the registry: err=%v calls=%v", err, calls)
	}
}

func mustParseSubject(t *testing.T, s string) gates.Subject {
	t.Helper()
	subj, err := gates.ParseSubject(s)
	if err != nil {
		t.Fatal(err)
	}
	return subj
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSharedReferrers: the signatures and provenance collectors checking
// one image at the same time list its referrers once.
func TestSharedReferrers(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	r := newRecordingRegistry(t, true)
	d := pushRandomImage(t, r.host, "shared/app")
	c := New(Options{Timeout: 10 * time.Second, BlobCacheBytes: -1})
	signClassicKey(t, d, k)
	if _, err := c.AttachAttestation(ctx, d, dsseSign(t, k, statement(t, d, SLSAProvenanceV1, slsaV1Predicate("b", "https://github.com/acme/app"))), SLSAProvenanceV1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifySignatures(ctx, d, p); err != nil { // warm up: ping, referrers API probe
		t.Fatal(err)
	}
	r.mu.Lock()
	r.slowReferrers = 200 * time.Millisecond
	r.mu.Unlock()
	var sigErr, provErr error
	var sig *SignaturesEvidence
	var prov *ProvenanceEvidence
	got := r.record(func() {
		var wg sync.WaitGroup
		wg.Go(func() { sig, sigErr = c.VerifySignatures(ctx, d, p) })
		wg.Go(func() { prov, provErr = c.Provenance(ctx, d, p) })
		wg.Wait()
	})
	if sigErr != nil || provErr != nil || !sig.Verified || len(prov.Attestations) != 1 || !prov.Attestations[0].Verified {
		t.Fatalf("signatures %+v %v; provenance %+v %v", sig, sigErr, prov, provErr)
	}
	want := sorted("GET sig-tag", "GET att-tag", "GET referrers-tag", "GET blob", "GET blob")
	if diff := cmpDiff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// A caller whose own deadline is fine does not inherit another's timeout.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var shortErr, longErr error
	var wg sync.WaitGroup
	wg.Go(func() { _, shortErr = c.VerifySignatures(short, d, p) })
	time.Sleep(10 * time.Millisecond)
	wg.Go(func() { _, longErr = c.VerifySignatures(ctx, d, p) })
	wg.Wait()
	if shortErr == nil || longErr != nil {
		t.Errorf("short deadline: %v (want an error); long deadline: %v (want none)", shortErr, longErr)
	}
}

// TestBlobCache: content fetched by digest (signature and attestation
// layers, bundle referrer manifests and blobs) is read once per client;
// tags and the referrers list are asked every time; the cache stays
// within its bound.
func TestBlobCache(t *testing.T) {
	ctx := context.Background()
	k := newTestKey(t, "ecdsa-p256")
	p, _ := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	for _, noAPI := range []bool{true, false} {
		r := newRecordingRegistry(t, noAPI)
		d := pushRandomImage(t, r.host, "cache/app")
		c := New(Options{Timeout: 10 * time.Second})
		// A signature bundle referrer and a classic VSA.
		if _, err := c.AttachBundle(ctx, d, keyBundle(t, k, statement(t, d, CosignSignPredicateType, map[string]any{}))); err != nil {
			t.Fatal(err)
		}
		att := &Attester{Client: c, Signer: k.signer, Format: AttestTag}
		if _, err := att.Attest(ctx, passedDecision(gates.Subject{Kind: gates.KindImage, Ref: d.String(), Digest: d.DigestStr()}, "prod", "sha256:"+strings.Repeat("0", 64))); err != nil {
			t.Fatal(err)
		}
		pol := ImagePolicy{Signatures: p, VSA: vsaPolicy(p, "sha256:"+strings.Repeat("0", 64))}
		verify := func() {
			res, err := c.VerifyImage(ctx, d.String(), pol)
			if err != nil || !res.Signatures.Verified || res.VSA == nil {
				t.Fatalf("verify: %v %+v", err, res)
			}
		}
		list := "GET referrers-api"
		if noAPI {
			list = "GET referrers-tag"
		}
		first := r.record(verify)
		wantFirst := sorted("GET sig-tag", "GET att-tag", list, "GET manifest-by-digest", "GET blob", "GET blob")
		if diff := cmpDiff(wantFirst, first); diff != "" {
			t.Errorf("noAPI=%v first call (-want +got)\n%s", noAPI, diff)
		}
		second := r.record(verify)
		if diff := cmpDiff(sorted("GET sig-tag", "GET att-tag", list), second); diff != "" {
			t.Errorf("noAPI=%v second call (-want +got)\n%s", noAPI, diff)
		}
	}

	bc := newBlobCache(100)
	for i := range 10 {
		bc.put(strconv.Itoa(i), make([]byte, 20))
	}
	if bc.size > 100 || len(bc.items) != 5 {
		t.Errorf("cache holds %d bytes in %d items, bound 100", bc.size, len(bc.items))
	}
	if _, ok := bc.get("0"); ok {
		t.Error("least recently used item kept")
	}
	if _, ok := bc.get("9"); !ok {
		t.Error("most recent item dropped")
	}
	bc.put("big", make([]byte, 26))
	if _, ok := bc.get("big"); ok {
		t.Error("an item over a quarter of the bound was cached")
	}
	if newBlobCache(-1) != nil {
		t.Error("negative size should disable the cache")
	}
}
