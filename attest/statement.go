package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	intotov1 "github.com/in-toto/attestation/go/v1"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	slsa02 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
)

// In-toto statement types and the predicate types this package knows,
// as in-toto's own bindings name them.
const (
	StatementTypeV1            = intotov1.StatementTypeUri      // https://in-toto.io/Statement/v1
	StatementTypeV01           = intoto.StatementInTotoV01      // https://in-toto.io/Statement/v0.1, cosign's tag scheme
	PredicateSLSAProvenanceV02 = slsa02.PredicateSLSAProvenance // https://slsa.dev/provenance/v0.2
	PredicateSLSAProvenanceV1  = slsa1.PredicateSLSAProvenance  // https://slsa.dev/provenance/v1
	PredicateVSA               = "https://slsa.dev/verification_summary/v1"
)

// Statement is gatehouse's view of an in-toto statement (v1 or v0.1): it
// is read with in-toto's bindings (github.com/in-toto/attestation/go/v1)
// and marshals to the same JSON. Predicate stays raw JSON, byte for byte as
// signed: decode it with ParseProvenance, ParseVSAPredicate or hand it to
// Rego as is.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Subject is one artifact a statement is about: an in-toto
// ResourceDescriptor restricted to name and digest (its other fields are
// read and validated, not kept).
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ErrDigestMismatch is wrapped when no subject of a statement (or a
// bundle's signed digest) is the artifact's digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// digestHexLen is the hex length of the digest algorithms gatehouse checks
// for lowercase form, beyond ResourceDescriptor.Validate (which accepts
// upper case and lets unknown algorithms be empty).
var digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40, "gitCommit": 40}

var statementDesc = (&intotov1.Statement{}).ProtoReflect().Descriptor()

// ParseStatement reads an in-toto statement within DefaultLimits.
func ParseStatement(data []byte) (*Statement, error) {
	return ParseStatementLimits(data, DefaultLimits)
}

// ParseStatementLimits reads an in-toto statement (v1 or v0.1) within l.
// Size, depth and the subject count are checked first, member names next
// (checkNames), then in-toto's binding reads it (protojson, unknown fields
// ignored) and validates it (Statement.Validate for v1,
// ResourceDescriptor.Validate for every subject), and gatehouse adds its
// own rules: _type known, at least one subject, each with a digest of
// well-formed lowercase hex, predicateType set, predicate absent or an
// object.
func ParseStatementLimits(data []byte, l Limits) (*Statement, error) {
	const what = "in-toto statement"
	l = l.orDefault()
	if err := checkJSON(what, data, l); err != nil {
		return nil, err
	}
	// The statement's own member names here; the subjects' (thousands in a
	// folder manifest) by comparing both readings below, which is cheaper.
	top, err := jsonMembers(what, "", data)
	if err != nil {
		return nil, err
	}
	if err := checkMemberNames(what, "", top, statementDesc); err != nil {
		return nil, err
	}
	subjects, err := subjectViews(what, memberOf(top, "subject"), l)
	if err != nil {
		return nil, err
	}
	predicate := memberOf(top, "predicate")
	if p := bytes.TrimSpace(predicate); len(p) > 0 && p[0] != '{' && string(p) != "null" {
		return nil, malformed(what, "field predicate is not a JSON object")
	}
	var pb intotov1.Statement
	if err := protoRead(what, data, &pb); err != nil {
		return nil, err
	}
	switch {
	case pb.GetType() != StatementTypeV1 && pb.GetType() != StatementTypeV01:
		return nil, malformed(what, "field _type is %q, want %q or %q", pb.GetType(), StatementTypeV1, StatementTypeV01)
	case pb.GetPredicateType() == "":
		return nil, malformed(what, "field predicateType is missing or empty")
	case len(pb.GetSubject()) == 0:
		return nil, malformed(what, "field subject is empty: the statement is about nothing")
	}
	st := &Statement{Type: pb.GetType(), PredicateType: pb.GetPredicateType(), Predicate: predicate, Subject: make([]Subject, len(pb.GetSubject()))}
	for i, rd := range pb.GetSubject() {
		if err := checkSubject(rd); err != nil {
			return nil, malformed(what, "field subject[%d]%v", i, err)
		}
		st.Subject[i] = Subject{Name: rd.GetName(), Digest: rd.GetDigest()}
		// What encoding/json-based readers (cosign) see must be what
		// protojson saw: checkNames covers the statement's own members,
		// this the subjects' (a "Digest" beside "digest", say).
		if len(subjects) != len(pb.GetSubject()) || !sameSubject(subjects[i], st.Subject[i]) {
			return nil, malformed(what, "field subject[%d] reads differently to encoding/json and protojson (a member spelled in another case?)", i)
		}
	}
	if st.Type == StatementTypeV1 {
		// The binding's Validate wants a predicate; the spec says "predicate
		// object, optional … Unset is treated the same as set-but-empty".
		if pb.Predicate == nil {
			pb.Predicate = new(structpb.Struct)
		}
		if err := pb.Validate(); err != nil {
			return nil, malformed(what, "in-toto v1: %v", err)
		}
	}
	return st, nil
}

// subjectViews reads the subject array as encoding/json-based in-toto
// readers do, after checking the count against l.
func subjectViews(what string, raw json.RawMessage, l Limits) ([]Subject, error) {
	r := bytes.TrimSpace(raw)
	if len(r) == 0 || string(r) == "null" {
		return nil, nil
	}
	if r[0] != '[' {
		return nil, malformed(what, "field subject: JSON %s where an array of resource descriptors was expected", jsonKind(r[0]))
	}
	if n := countElements(r); n > l.MaxSubjects {
		return nil, malformed(what, "%d subjects, more than the limit of %d", n, l.MaxSubjects)
	}
	var out []Subject
	if err := json.Unmarshal(r, &out); err != nil {
		return nil, malformed(what, "%v", jsonError("subject[].", err))
	}
	return out, nil
}

// countElements counts the elements of a well-formed JSON array: the
// commas outside strings at its top level, plus one.
func countElements(arr []byte) int {
	if len(bytes.TrimSpace(arr[1:len(arr)-1])) == 0 {
		return 0
	}
	return jsonscan.TopLevel(arr, ',') + 1
}

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

func sameSubject(a, b Subject) bool {
	return a.Name == b.Name && maps.Equal(a.Digest, b.Digest)
}

// checkSubject applies gatehouse's rules and in-toto's
// ResourceDescriptor.Validate to a subject; the error starts with the
// member at fault (".digest.sha256: …" or ": …").
func checkSubject(rd *intotov1.ResourceDescriptor) error {
	if len(rd.GetDigest()) == 0 {
		return errors.New(".digest is empty")
	}
	if err := checkDigestSet(rd.GetDigest()); err != nil {
		return err
	}
	if err := rd.Validate(); err != nil {
		return fmt.Errorf(": %v", err)
	}
	return nil
}

// checkDigestSet is gatehouse's rule for an in-toto DigestSet, beyond
// ResourceDescriptor.Validate: algorithm names are not empty, and the
// algorithms of digestHexLen are lowercase hex of their length.
func checkDigestSet(d map[string]string) error {
	for _, alg := range slices.Sorted(maps.Keys(d)) {
		if alg == "" {
			return errors.New(".digest: an algorithm name is empty")
		}
		if err := checkHex(alg, d[alg]); err != nil {
			return fmt.Errorf(".digest.%s: %v", alg, err)
		}
	}
	return nil
}

func checkHex(alg, h string) error {
	n, known := digestHexLen[alg]
	if !known {
		if h == "" {
			return errors.New("empty")
		}
		return nil
	}
	if len(h) != n {
		return fmt.Errorf("%d hex digits, want %d", len(h), n)
	}
	if _, err := hex.DecodeString(h); err != nil || strings.ToLower(h) != h {
		return errors.New("not lowercase hex")
	}
	return nil
}

// SplitDigest splits "sha256:<hex>" into algorithm and hex, checking the
// form (sha256, sha384 or sha512 in lowercase hex).
func SplitDigest(d string) (alg, hexDigest string, err error) {
	alg, hexDigest, ok := strings.Cut(d, ":")
	if !ok {
		return "", "", fmt.Errorf("digest %q: want ALGORITHM:HEX, e.g. sha256:…", d)
	}
	switch alg {
	case "sha256", "sha384", "sha512":
	default:
		return "", "", fmt.Errorf("digest %q: algorithm %q is not supported (want sha256)", d, alg)
	}
	if err := checkHex(alg, hexDigest); err != nil {
		return "", "", fmt.Errorf("digest %q: %v", d, err)
	}
	return alg, hexDigest, nil
}

// MatchDigest returns the subject whose digest is d ("sha256:<hex>"). The
// error wraps ErrDigestMismatch when none is, and lists what was found.
func (s *Statement) MatchDigest(d string) (Subject, error) {
	alg, h, err := SplitDigest(d)
	if err != nil {
		return Subject{}, err
	}
	var seen []string
	for _, sub := range s.Subject {
		got, ok := sub.Digest[alg]
		if ok && got == h {
			return sub, nil
		}
		if ok && len(seen) < 3 {
			seen = append(seen, fmt.Sprintf("%s (%s:%s)", sub.Name, alg, got))
		}
	}
	if len(seen) == 0 {
		return Subject{}, fmt.Errorf("%w: the statement has no %s subject digest; the artifact is %s", ErrDigestMismatch, alg, d)
	}
	return Subject{}, fmt.Errorf("%w: the artifact is %s, the statement is about %s", ErrDigestMismatch, d, strings.Join(seen, ", "))
}

// NewStatement builds an in-toto v1 statement about subjects with a
// predicate (marshalled to JSON), validated as in-toto's binding validates
// one (Statement.Validate, ResourceDescriptor.Validate) and by gatehouse's
// digest rules. It marshals (encoding/json) to the JSON protojson reads
// back as the same intotov1.Statement.
func NewStatement(predicateType string, predicate any, subjects ...Subject) (*Statement, error) {
	if predicateType == "" {
		return nil, errors.New("new statement: empty predicate type")
	}
	if len(subjects) == 0 {
		return nil, errors.New("new statement: no subjects")
	}
	pb := &intotov1.Statement{Type: StatementTypeV1, PredicateType: predicateType, Subject: make([]*intotov1.ResourceDescriptor, len(subjects))}
	for i, s := range subjects {
		pb.Subject[i] = &intotov1.ResourceDescriptor{Name: s.Name, Digest: s.Digest}
		if err := checkSubject(pb.Subject[i]); err != nil {
			return nil, fmt.Errorf("new statement: subject[%d] %q%v", i, s.Name, err)
		}
	}
	p, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("new statement: predicate: %w", err)
	}
	pb.Predicate = new(structpb.Struct)
	if err := protojson.Unmarshal(p, pb.Predicate); err != nil {
		return nil, fmt.Errorf("new statement: the predicate is not a JSON object: %v", err)
	}
	if err := pb.Validate(); err != nil {
		return nil, fmt.Errorf("new statement: in-toto v1: %w", err)
	}
	return &Statement{Type: StatementTypeV1, Subject: subjects, PredicateType: predicateType, Predicate: p}, nil
}
