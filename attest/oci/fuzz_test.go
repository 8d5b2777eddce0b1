package oci

import (
	"testing"
)

// FuzzProvenanceFill: any verified statement is mapped or refused, never a
// panic; SLSA provenance that maps names its builder.
func FuzzProvenanceFill(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"t","externalParameters":{"workflow":{"repository":"https://github.com/a/b","ref":"refs/heads/main"}},"resolvedDependencies":[{"uri":"git+https://github.com/a/b@refs/heads/main","digest":{"gitCommit":"00"}}]},"runDetails":{"builder":{"id":"b"}}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"x","digest":{"sha256":"ab"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"builder":{"id":"b"},"invocation":{"configSource":{"uri":"git+https://x@y"}}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":""}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicate":"\"]]]]"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var pa ProvenanceAttestation
		if err := pa.fill(data); err != nil {
			return
		}
		if pa.PredicateType == "" {
			t.Fatalf("mapped a statement without predicateType: %s", data)
		}
		if (pa.PredicateType == SLSAProvenanceV1 || pa.PredicateType == SLSAProvenanceV02) && pa.BuilderID == "" {
			t.Fatalf("SLSA provenance mapped without a builder id: %s", data)
		}
	})
}

// FuzzParseBundle: Sigstore bundles from a registry are parsed or refused.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAAA"},"signature":"AAAA"}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err == nil && b == nil {
			t.Fatal("nil bundle without error")
		}
	})
}
