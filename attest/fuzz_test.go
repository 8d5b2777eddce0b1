package attest

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
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
// digests, read the same to encoding/json readers (in-toto-golang's
// Statement, what cosign uses) as to gatehouse (in-toto's protojson
// binding), and survive a round trip.
func FuzzStatement(f *testing.F) {
	seeds(f)
	pd := `"policy":{"digest":{"sha256":"` + hexB + `"}}`
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","verifiedLevels":[]}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","verifiedLevels":["GATEHOUSE_PROD"],"gatehouse":{"environment":"prod","gates":["license","sonarqube"],"requiredGates":["license"],"configDigest":{"sha256":"` + hexA + `"}}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"},"Digest":{"sha256":"` + hexB + `"}}],"predicateType":"t","predicate_type":"u","predicate":null}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"t","externalParameters":{"a":1}},"runDetails":{"builder":{"id":"b","ID":"c"}}}}`))
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
		var legacy intoto.Statement
		if err := json.Unmarshal(data, &legacy); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if legacy.Type != st.Type || legacy.PredicateType != st.PredicateType || len(legacy.Subject) != len(st.Subject) {
			t.Fatalf("in-toto-golang reads %+v, gatehouse %+v", legacy.StatementHeader, st)
		}
		for i, s := range legacy.Subject {
			if s.Name != st.Subject[i].Name || !maps.Equal(s.Digest, st.Subject[i].Digest) {
				t.Fatalf("subject[%d]: in-toto-golang reads %+v, gatehouse %+v", i, s, st.Subject[i])
			}
		}
		out, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseStatementLimits(out, Limits{MaxBytes: 2 << 20})
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !cmp.Equal(st, back, cmp.Comparer(jsonEqual)) {
			t.Fatalf("round trip: %s", cmp.Diff(st, back, cmp.Comparer(jsonEqual)))
		}
		_, _ = st.MatchDigest("sha256:" + hexA)
		for _, pt := range []string{PredicateSLSAProvenanceV1, PredicateSLSAProvenanceV02} {
			p, err := ParseProvenance(pt, st.Predicate)
			if err != nil {
				continue
			}
			if p.BuilderID == "" {
				t.Fatalf("provenance without builder id accepted: %s", st.Predicate)
			}
			if pt == PredicateSLSAProvenanceV1 {
				var plain struct {
					RunDetails struct{ Builder struct{ ID string } }
				}
				if json.Unmarshal(st.Predicate, &plain) == nil && plain.RunDetails.Builder.ID != p.BuilderID {
					t.Fatalf("builder id: encoding/json reads %q, gatehouse %q", plain.RunDetails.Builder.ID, p.BuilderID)
				}
			}
		}
		checkVSA(t, st.Predicate)
	})
}

// FuzzVSAPredicate: ParseVSAPredicate never panics; what it accepts has
// the required fields, reads the same to encoding/json readers where a
// verdict depends on it, and round-trips through json.Marshal (the
// gatehouse extension and the members vsa/v1 lacks included).
func FuzzVSAPredicate(f *testing.F) {
	pd := `"policy":{"digest":{"sha256":"` + hexB + `"}}`
	f.Add([]byte(`{"verifier":{"id":"v","version":{"g":"1"}},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","verifiedLevels":["GATEHOUSE_PROD"],"inputAttestations":[{"name":"n","digest":{"sha256":"` + hexA + `"}}],"gatehouse":{"environment":"prod","gates":["license"],"requiredGates":[],"configDigest":{"sha256":"` + hexA + `"}}}`))
	f.Add([]byte(`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00.5+02:00","resourceUri":"r",` + pd + `,"verificationResult":"FAILED","dependencyLevels":{"A":"3"},"x":{"y":[]}}`))
	f.Add([]byte(`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"FAILED","VerificationResult":"PASSED"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkVSA(t, data)
	})
}

func checkVSA(t *testing.T, data []byte) {
	v, err := ParseVSAPredicate(data)
	if err != nil {
		return
	}
	if v.Verifier.ID == "" || len(v.Policy.Digest) == 0 || (v.VerificationResult != VSAPassed && v.VerificationResult != VSAFailed) {
		t.Fatalf("VSA without verifier, policy digest or result accepted: %s", data)
	}
	if x := v.Gatehouse; x != nil && (x.Environment == "" || len(x.Gates) == 0 || len(x.ConfigDigest) == 0) {
		t.Fatalf("gatehouse extension without environment, gates or configuration digest accepted: %s", data)
	}
	var plain struct {
		Verifier           struct{ ID string }
		VerificationResult string
		Policy             struct{ Digest map[string]string }
		Gatehouse          *VSAGatehouse
	}
	if err := json.Unmarshal(data, &plain); err != nil {
		t.Fatalf("accepted what encoding/json refuses: %v", err)
	}
	if plain.Verifier.ID != v.Verifier.ID || plain.VerificationResult != v.VerificationResult || !maps.Equal(plain.Policy.Digest, v.Policy.Digest) {
		t.Fatalf("encoding/json reads %+v, gatehouse %+v", plain, v)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("accepted VSA does not marshal: %v", err)
	}
	back, err := ParseVSAPredicate(out)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", out, err)
	}
	if !cmp.Equal(v, back) {
		t.Fatalf("round trip: %s", cmp.Diff(v, back))
	}
}
