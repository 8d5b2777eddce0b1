package attest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// seeds adds the testdata documents to a fuzz corpus.
func seeds(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDSSE: ParseEnvelope never panics, and what it accepts survives a
// round trip through MarshalJSON.
func FuzzDSSE(f *testing.F) {
	seeds(f)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"c2ln"}]}`))
	f.Add([]byte(`{"payloadType":"t","payload":"-_8","signatures":[{"sig":"AA"},{"sig":"AQ=="}]}`))
	f.Add([]byte(`{"payloadType":"t","payload":"e30=","signatures":[{"sig":"AA","extra":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEnvelopeLimits(data, Limits{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("accepted envelope does not marshal: %v", err)
		}
		e2, err := ParseEnvelope(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if e2.PayloadType != e.PayloadType || !bytes.Equal(e2.Payload, e.Payload) || len(e2.Signatures) != len(e.Signatures) {
			t.Fatalf("round trip changed the envelope: %+v vs %+v", e, e2)
		}
	})
}

// FuzzStatement: statements and the predicates read from them (SLSA
// provenance, VSA) never panic; accepted statements have subjects with
// digests.
func FuzzStatement(f *testing.F) {
	seeds(f)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED","verifiedLevels":[]}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED","verifiedLevels":["GATEHOUSE_PROD"],"gatehouse":{"environment":"prod","gates":["license","sonarqube"],"requiredGates":["license"],"configDigest":{"sha256":"` + hexA + `"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatementLimits(data, Limits{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		if len(st.Subject) == 0 {
			t.Fatal("accepted a statement without subjects")
		}
		for _, s := range st.Subject {
			if len(s.Digest) == 0 {
				t.Fatal("accepted a subject without digest")
			}
		}
		_, _ = st.MatchDigest("sha256:" + hexA)
		for _, pt := range []string{PredicateSLSAProvenanceV1, PredicateSLSAProvenanceV02} {
			if p, err := ParseProvenance(pt, st.Predicate); err == nil && p.BuilderID == "" {
				t.Fatalf("provenance without builder id accepted: %s", st.Predicate)
			}
		}
		if v, err := ParseVSAPredicate(st.Predicate); err == nil && (v.Verifier.ID == "" || len(v.Policy.Digest) == 0) {
			t.Fatalf("VSA without verifier or policy digest accepted: %s", st.Predicate)
		} else if err == nil && v.Gatehouse != nil && (v.Gatehouse.Environment == "" || len(v.Gatehouse.Gates) == 0 || len(v.Gatehouse.ConfigDigest) == 0) {
			t.Fatalf("gatehouse extension without environment, gates or configuration digest accepted: %s", st.Predicate)
		}
	})
}
