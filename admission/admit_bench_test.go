package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benchPod is a Deployment-made pod of two pinned images (app and sidecar)
// in a prod namespace: the common case at admission.
func benchPod(h *harness) *admissionv1.AdmissionRequest {
	h.v.set("ghcr.io/acme/sidecar", fakeImage{digest: hexDigest("5"), signed: true, vsa: true})
	return podRequest("prod", pinnedRef(goodRepo, "a"), pinnedRef("ghcr.io/acme/sidecar", "5"))
}

// BenchmarkReviewWarm: every image is in the verification cache.
//
//	review:                Admitter.Review alone (extract, cache, Rego, record).
//	decode+review+encode:  with the AdmissionReview JSON read and written,
//	                       what one HTTP request costs besides TLS.
func BenchmarkReviewWarm(b *testing.B) {
	h := newHarness(b, "")
	h.standardImages()
	req := benchPod(h)
	ctx := context.Background()
	if r := h.a.Review(ctx, req); !r.Response.Allowed {
		b.Fatal(message(r))
	}
	b.Run("review", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r := h.a.Review(ctx, req); !r.Response.Allowed || r.CacheHits != 2 {
				b.Fatalf("%+v", r)
			}
		}
	})
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode+review+encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rv, err := DecodeReview(bytes.NewReader(body), 0)
			if err != nil {
				b.Fatal(err)
			}
			r := h.a.Review(ctx, rv.Request)
			if err := EncodeResponse(io.Discard, rv.Request.UID, r.Response); err != nil || !r.Response.Allowed {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReviewCold: every image is new to the cache (a fresh digest per
// review), verified by the fake verifier: the admission work around a
// verification, without the registry.
func BenchmarkReviewCold(b *testing.B) {
	h := newHarness(b, "")
	h.standardImages()
	h.v.set("ghcr.io/acme/sidecar", fakeImage{digest: hexDigest("5"), signed: true, vsa: true})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := podRequest("prod", fmt.Sprintf("%s@sha256:%064x", goodRepo, i), fmt.Sprintf("ghcr.io/acme/sidecar@sha256:%064x", i))
		if r := h.a.Review(ctx, req); !r.Response.Allowed || r.CacheMisses != 2 {
			b.Fatalf("%s %+v", message(r), r)
		}
	}
}

// BenchmarkReviewColdRegistry: the admission cache is off (1ns TTL), so
// every review verifies the image's signature and VSA against the loopback
// registry with the real oci.Client (whose cache of immutable blobs stays
// warm, as in a running server).
func BenchmarkReviewColdRegistry(b *testing.B) {
	l := newLoopback(b, "  cache: {ttl: 1ns}\n")
	d := l.push(b, "acme/api")
	l.sign(b, d)
	l.attest(b, d, "prod")
	req := podRequest("ml", d.String())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := l.a.Review(ctx, req); !r.Response.Allowed || r.CacheMisses != 1 {
			b.Fatalf("%s %+v", message(r), r)
		}
	}
}
