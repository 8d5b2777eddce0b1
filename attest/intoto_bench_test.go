package attest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
)

// The benchmarks of the in-toto layer: what admission pays per VSA
// (BenchmarkVerifyVSA: DSSE, statement, predicate, policy; the signature
// check dominates), what a folder verification pays per manifest
// (BenchmarkParseStatement/folder-10000: one subject per file), and what
// the provenance gate pays per attestation (BenchmarkParseProvenance).

func BenchmarkVerifyVSA(b *testing.B) {
	ctx := context.Background()
	signer, verifier := loadPair(b, "ecdsa-p256")
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	o := VSAOptions{
		SubjectName: "registry.example/app", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32),
		Passed: true, TimeVerified: at, Environment: "prod", Gates: []string{"license", "model_scan", "pii", "signature"},
		RequiredGates: []string{"license", "signature"}, ConfigDigest: "sha256:" + strings.Repeat("c0", 32),
		InputAttestations: []Material{{Name: "license", Digest: map[string]string{"sha256": strings.Repeat("ef", 32)}}},
	}
	env, err := SignVSA(ctx, signer, o)
	if err != nil {
		b.Fatal(err)
	}
	p := VSAPolicy{
		Verifiers: []signature.Verifier{verifier}, Digest: o.Digest, AcceptedPolicyDigests: []string{o.PolicyDigest},
		MaxAge: time.Hour, Level: "GATEHOUSE_PROD", RequiredGates: []string{"license"}, Environment: "prod",
		Now: func() time.Time { return at.Add(time.Minute) },
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyVSA(ctx, env, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVSA is VerifyVSA without the signature: the parsing share.
func BenchmarkParseVSA(b *testing.B) {
	st, err := NewVSA(VSAOptions{
		SubjectName: "registry.example/app", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32),
		Passed: true, Environment: "prod", Gates: []string{"license", "signature"}, ConfigDigest: "sha256:" + strings.Repeat("c0", 32),
	})
	if err != nil {
		b.Fatal(err)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		st, err := ParseStatementLimits(doc, VSALimits)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseVSAPredicate(st.Predicate); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStatement(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		subjects := make([]Subject, n)
		for i := range subjects {
			subjects[i] = Subject{Name: fmt.Sprintf("shard-%05d.safetensors", i), Digest: map[string]string{"sha256": fmt.Sprintf("%064x", i)}}
		}
		st, err := NewStatement("https://gatehouse.dev/folder/v1", map[string]any{}, subjects...)
		if err != nil {
			b.Fatal(err)
		}
		doc, err := json.Marshal(st)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("folder-%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseStatement(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("new-folder-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := NewStatement("https://gatehouse.dev/folder/v1", map[string]any{}, subjects...)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseProvenance(b *testing.B) {
	for _, f := range []string{"slsa-v1-github.json", "slsa-v02.json"} {
		data, err := os.ReadFile("testdata/" + f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimSuffix(f, ".json"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := ParseStatement(data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ParseProvenance(st.PredicateType, st.Predicate); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
