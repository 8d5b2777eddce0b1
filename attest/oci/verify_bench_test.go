package oci

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// BenchmarkVerifyImage verifies one image's signature and its VSA against
// the loopback registry: Distribution (docker-registry) when available,
// else go-containerregistry's in-process registry over loopback HTTP. The
// sub-benchmark name says which.
//
//	combined:         VerifyImage with both checks (what admission calls):
//	                  one fetch of the .sig and .att tags and the referrers,
//	                  all at once; blobs read by digest come from the cache
//	                  after the first call (the default client).
//	combined-nocache: the same with the blob cache off: every call reads
//	                  every blob (a client seeing the image for the first time).
//	separate:         VerifySignatures then VerifyImageVSA, two fetches, no cache.
//
// The image carries a signature, a VSA and an unrelated provenance
// attestation (which the VSA check should not fetch).
func BenchmarkVerifyImage(b *testing.B) {
	host, which := realRegistry, "distribution"
	if host == "" {
		host, which = inProcessRegistry(b), "ggcr-inprocess"
	}
	ctx := context.Background()
	c := New(Options{Timeout: 10 * time.Second})
	k := newTestKey(b, "ecdsa-p256")
	p, err := PolicyFromParams(map[string]any{"keys": []any{string(k.pubPEM)}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	d := pushRandomImage(b, host, "bench/app")
	signClassicKey(b, d, k)
	if _, err := c.AttachAttestation(ctx, d, dsseSign(b, k, statement(b, d, SLSAProvenanceV1, map[string]any{})), SLSAProvenanceV1); err != nil {
		b.Fatal(err)
	}
	att := &Attester{Client: c, Signer: k.signer}
	if _, err := att.Attest(ctx, passedDecision(gates.Subject{Kind: gates.KindImage, Ref: d.String(), Digest: d.DigestStr()}, "prod", "sha256:"+strings.Repeat("0", 64))); err != nil {
		b.Fatal(err)
	}
	b.Run(which+"/combined", func(b *testing.B) {
		for b.Loop() {
			res, err := c.VerifyImage(ctx, d.String(), ImagePolicy{Signatures: p, VSA: vsaPolicy(p, "sha256:"+strings.Repeat("0", 64))})
			if err != nil || !res.Signatures.Verified || res.VSA == nil {
				b.Fatalf("verify image: %v %+v", err, res)
			}
		}
	})
	nocache := New(Options{Timeout: 10 * time.Second, BlobCacheBytes: -1})
	b.Run(which+"/combined-nocache", func(b *testing.B) {
		for b.Loop() {
			res, err := nocache.VerifyImage(ctx, d.String(), ImagePolicy{Signatures: p, VSA: vsaPolicy(p, "sha256:"+strings.Repeat("0", 64))})
			if err != nil || !res.Signatures.Verified || res.VSA == nil {
				b.Fatalf("verify image: %v %+v", err, res)
			}
		}
	})
	b.Run(which+"/separate", func(b *testing.B) {
		c := nocache
		for b.Loop() {
			ev, err := c.VerifySignatures(ctx, d, p)
			if err != nil || !ev.Verified {
				b.Fatalf("signatures: %v %+v", err, ev)
			}
			if _, err := c.VerifyImageVSA(ctx, d.String(), *vsaPolicy(p, "sha256:"+strings.Repeat("0", 64))); err != nil {
				b.Fatal(err)
			}
		}
	})
}
