package attest

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// In-toto statement types and the predicate types this package knows.
const (
	StatementTypeV1  = "https://in-toto.io/Statement/v1"
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"

	PredicateSLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"
	PredicateSLSAProvenanceV1  = "https://slsa.dev/provenance/v1"
	PredicateVSA               = "https://slsa.dev/verification_summary/v1"
)

// Statement is an in-toto statement. Predicate stays raw JSON: decode it
// with ParseProvenance, ParseVSAPredicate or hand it to Rego as is.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate,omitempty"`
}

// Subject is one artifact a statement is about (an in-toto
// ResourceDescriptor restricted to name and digest).
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ErrDigestMismatch is wrapped when no subject of a statement (or a
// bundle's signed digest) is the artifact's digest.
var ErrDigestMismatch = errors.New("digest mismatch")

// wireStatement allows the ResourceDescriptor fields of in-toto v1 in
// subjects, which gatehouse ignores.
type wireStatement struct {
	Type          string          `json:"_type"`
	Subject       []wireSubject   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type wireSubject struct {
	Name             string            `json:"name"`
	Digest           map[string]string `json:"digest"`
	URI              string            `json:"uri"`
	Content          []byte            `json:"content"`
	DownloadLocation string            `json:"downloadLocation"`
	MediaType        string            `json:"mediaType"`
	Annotations      json.RawMessage   `json:"annotations"`
}

// digestHexLen is the hex length of the digest algorithms checked for form.
var digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40, "gitCommit": 40}

// ParseStatement reads an in-toto statement within DefaultLimits.
func ParseStatement(data []byte) (*Statement, error) {
	return ParseStatementLimits(data, DefaultLimits)
}

// ParseStatementLimits reads an in-toto statement (v1 or v0.1) within l:
// _type known, at least one subject, each with a digest of well-formed
// lowercase hex (sha256, sha384, sha512; other algorithms kept as given),
// predicateType set, predicate absent or an object.
func ParseStatementLimits(data []byte, l Limits) (*Statement, error) {
	l = l.orDefault()
	if err := checkJSON("in-toto statement", data, l); err != nil {
		return nil, err
	}
	var w wireStatement
	if err := decodeStrict("in-toto statement", data, &w, false); err != nil {
		return nil, err
	}
	if w.Type != StatementTypeV1 && w.Type != StatementTypeV01 {
		return nil, malformed("in-toto statement", "field _type is %q, want %q or %q", w.Type, StatementTypeV1, StatementTypeV01)
	}
	if w.PredicateType == "" {
		return nil, malformed("in-toto statement", "field predicateType is missing or empty")
	}
	if len(w.Subject) == 0 {
		return nil, malformed("in-toto statement", "field subject is empty: the statement is about nothing")
	}
	if len(w.Subject) > l.MaxSubjects {
		return nil, malformed("in-toto statement", "%d subjects, more than the limit of %d", len(w.Subject), l.MaxSubjects)
	}
	if p := strings.TrimSpace(string(w.Predicate)); p != "" && p != "null" && !strings.HasPrefix(p, "{") {
		return nil, malformed("in-toto statement", "field predicate is not a JSON object")
	}
	st := &Statement{Type: w.Type, PredicateType: w.PredicateType, Predicate: w.Predicate, Subject: make([]Subject, len(w.Subject))}
	for i, s := range w.Subject {
		if len(s.Digest) == 0 {
			return nil, malformed("in-toto statement", "field subject[%d].digest is empty", i)
		}
		for alg, h := range s.Digest {
			if err := checkHex(alg, h); err != nil {
				return nil, malformed("in-toto statement", "field subject[%d].digest.%s: %v", i, alg, err)
			}
		}
		st.Subject[i] = Subject{Name: s.Name, Digest: s.Digest}
	}
	return st, nil
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
// predicate (marshalled to JSON).
func NewStatement(predicateType string, predicate any, subjects ...Subject) (*Statement, error) {
	if predicateType == "" {
		return nil, errors.New("new statement: empty predicate type")
	}
	if len(subjects) == 0 {
		return nil, errors.New("new statement: no subjects")
	}
	for i, s := range subjects {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("new statement: subject[%d] %q has no digest", i, s.Name)
		}
		for alg, h := range s.Digest {
			if err := checkHex(alg, h); err != nil {
				return nil, fmt.Errorf("new statement: subject[%d].digest.%s: %v", i, alg, err)
			}
		}
	}
	p, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("new statement: predicate: %w", err)
	}
	return &Statement{Type: StatementTypeV1, Subject: subjects, PredicateType: predicateType, Predicate: p}, nil
}
