package attest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vsav1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intotov1 "github.com/in-toto/attestation/go/v1"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestWrittenStatementIsInToto: what NewStatement writes, in-toto's binding
// reads strictly (no member unknown to the proto) as the statement built,
// and Validate accepts; in-toto-golang's Statement (the encoding/json type
// cosign reads with) reads the same subjects and predicate type.
func TestWrittenStatementIsInToto(t *testing.T) {
	subjects := []Subject{{Name: "model.safetensors", Digest: map[string]string{"sha256": hexA}}, {Name: "config.json", Digest: map[string]string{"sha256": hexB, "sha512": strings.Repeat("c", 128)}}}
	st, err := NewStatement("https://gatehouse.dev/folder/v1", map[string]any{"files": 2}, subjects...)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var pb intotov1.Statement
	if err := (protojson.UnmarshalOptions{}).Unmarshal(doc, &pb); err != nil {
		t.Fatalf("in-toto's binding does not read %s strictly: %v", doc, err)
	}
	if err := pb.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := &intotov1.Statement{Type: intotov1.StatementTypeUri, PredicateType: "https://gatehouse.dev/folder/v1"}
	for _, s := range subjects {
		want.Subject = append(want.Subject, &intotov1.ResourceDescriptor{Name: s.Name, Digest: s.Digest})
	}
	if diff := cmp.Diff(want, &pb, protocmp.Transform(), protocmp.IgnoreFields(&intotov1.Statement{}, "predicate")); diff != "" {
		t.Errorf("binding's reading (-want +got):\n%s", diff)
	}
	if got := pb.GetPredicate().GetFields()["files"].GetNumberValue(); got != 2 {
		t.Errorf("predicate.files = %v", got)
	}
	var legacy intoto.Statement
	if err := json.Unmarshal(doc, &legacy); err != nil {
		t.Fatal(err)
	}
	if legacy.Type != StatementTypeV1 || legacy.PredicateType != st.PredicateType || len(legacy.Subject) != 2 || legacy.Subject[1].Digest["sha512"] != subjects[1].Digest["sha512"] {
		t.Errorf("in-toto-golang reads %+v", legacy.StatementHeader)
	}
	back, err := ParseStatement(doc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, back, compactJSON); diff != "" {
		t.Errorf("round trip (-wrote +read):\n%s", diff)
	}
}

// TestCosignV01Statement: cosign attest in the tag scheme writes in-toto
// v0.1 statements with in-toto-golang's types; they are read.
func TestCosignV01Statement(t *testing.T) {
	var s intoto.Statement
	s.Type = intoto.StatementInTotoV01
	s.PredicateType = PredicateSLSAProvenanceV02
	s.Subject = []intoto.Subject{{Name: "registry.example/app", Digest: map[string]string{"sha256": hexA}}}
	var pred any
	if err := json.Unmarshal([]byte(provV02Doc), &pred); err != nil {
		t.Fatal(err)
	}
	s.Predicate = pred
	doc, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseStatement(doc)
	if err != nil {
		t.Fatal(err)
	}
	if st.Type != StatementTypeV01 {
		t.Errorf("type %s", st.Type)
	}
	if _, err := st.MatchDigest("sha256:" + hexA); err != nil {
		t.Error(err)
	}
	p, err := ParseProvenance(st.PredicateType, st.Predicate)
	if err != nil || p.Source == nil || p.Source.Ref != "refs/tags/v3" {
		t.Errorf("provenance %+v, %v", p, err)
	}
}

// TestWrittenVSAIsInToto: the VSA predicate gatehouse writes is vsa/v1's
// JSON plus sibling members: with those removed, the binding reads it
// strictly and sees what NewVSA was given; with them, ParseVSAPredicate
// returns the same VSAPredicate (the extension round-trips).
func TestWrittenVSAIsInToto(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := NewVSA(VSAOptions{
		SubjectName: "m", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32), PolicyURI: "https://example.com/p",
		Passed: true, TimeVerified: at, Environment: "prod", Gates: []string{"license"}, ConfigDigest: "sha256:" + strings.Repeat("c0", 32),
		VerifierVersion: map[string]string{"gatehouse": "1.2.3"}, DependencyLevels: map[string]int64{"GATEHOUSE_PROD": 2},
		InputAttestations: []Material{{Name: "license", Digest: map[string]string{"sha256": strings.Repeat("ef", 32)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(st.Predicate, &m); err != nil {
		t.Fatal(err)
	}
	// The siblings, documented in VSAPredicate.
	delete(m, "gatehouse")
	delete(m["verifier"].(map[string]any), "version")
	for _, a := range m["inputAttestations"].([]any) {
		delete(a.(map[string]any), "name")
	}
	standard, _ := json.Marshal(m)
	var pb vsav1.VerificationSummary
	if err := (protojson.UnmarshalOptions{}).Unmarshal(standard, &pb); err != nil {
		t.Fatalf("vsa/v1 does not read %s strictly: %v", standard, err)
	}
	if pb.GetVerifier().GetId() != DefaultVerifierID || !pb.GetTimeVerified().AsTime().Equal(at) || pb.GetVerificationResult() != VSAPassed ||
		pb.GetPolicy().GetDigest()["sha256"] != strings.Repeat("cd", 32) || pb.GetDependencyLevels()["GATEHOUSE_PROD"] != 2 ||
		len(pb.GetInputAttestations()) != 1 || pb.GetVerifiedLevels()[0] != "GATEHOUSE_PROD" || pb.GetSlsaVersion() != "1.0" {
		t.Errorf("vsa/v1 reads %v", &pb)
	}
	v, err := ParseVSAPredicate(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(st.Predicate), string(again)); diff != "" {
		t.Errorf("written, read and written again (-first +second):\n%s", diff)
	}
}

func TestNewVSARefusesWhatItCannotRead(t *testing.T) {
	o := VSAOptions{SubjectName: "m", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32)}
	bad := o
	bad.DependencyLevels = map[string]int64{"L": -1}
	if _, err := NewVSA(bad); err == nil || !strings.Contains(err.Error(), "uint64") {
		t.Errorf("negative dependency level: %v", err)
	}
	bad = o
	bad.InputAttestations = []Material{{Name: "x", Digest: map[string]string{"sha256": "abc"}}}
	if _, err := NewVSA(bad); err == nil || !strings.Contains(err.Error(), "inputAttestations[0]") {
		t.Errorf("bad input attestation digest: %v", err)
	}
}
