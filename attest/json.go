package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gatehouse-dev/gatehouse/internal/jsonscan"
)

// Limits bound the parsers of this package. The zero value of a field
// means its DefaultLimits value.
type Limits struct {
	// MaxBytes bounds a DSSE envelope or statement document.
	MaxBytes int
	// MaxDepth bounds JSON nesting (objects and arrays).
	MaxDepth int
	// MaxSubjects bounds a statement's subjects (a folder manifest has one
	// per file).
	MaxSubjects int
	// MaxSignatures bounds a DSSE envelope's signatures.
	MaxSignatures int
}

// DefaultLimits suit folder manifests of a few hundred thousand files.
// VerifyVSA uses VSALimits, much smaller.
var DefaultLimits = Limits{MaxBytes: 64 << 20, MaxDepth: 64, MaxSubjects: 250_000, MaxSignatures: 16}

// VSALimits bound a VSA: one subject, a small predicate.
var VSALimits = Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxSubjects: 16, MaxSignatures: 16}

func (l Limits) orDefault() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxSubjects <= 0 {
		l.MaxSubjects = DefaultLimits.MaxSubjects
	}
	if l.MaxSignatures <= 0 {
		l.MaxSignatures = DefaultLimits.MaxSignatures
	}
	return l
}

// ErrMalformed is wrapped by every parse error: the input is not a valid
// document of the kind expected. The message names the field at fault.
var ErrMalformed = errors.New("malformed")

func malformed(what, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrMalformed, what, fmt.Sprintf(format, args...))
}

// checkJSON enforces the size and depth limits before any decoding, so a
// hostile document costs one linear scan.
func checkJSON(what string, data []byte, l Limits) error {
	if len(data) > l.MaxBytes {
		return malformed(what, "%d bytes is more than the %d byte limit", len(data), l.MaxBytes)
	}
	if jsonscan.Depth(data, l.MaxDepth) > l.MaxDepth {
		return malformed(what, "JSON nesting deeper than %d", l.MaxDepth)
	}
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(what string, data []byte, v any, allowUnknown bool) error {
	return decodeStrictAt(what, "", data, v, allowUnknown)
}

// decodeStrictAt is decodeStrict of the member at path ("a.b.") of a
// larger document: errors name the field by its full path.
func decodeStrictAt(what, path string, data []byte, v any, allowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if !allowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return malformed(what, "%v", jsonError(path, err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed(what, "trailing data after the JSON document")
	}
	return nil
}

// jsonError makes encoding/json's messages name the field.
func jsonError(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := path + te.Field
		if field == "" {
			field = "(document)"
		}
		field = strings.TrimSuffix(field, ".")
		return fmt.Errorf("field %s: JSON %s where %s was expected", field, te.Value, te.Type)
	}
	if path != "" && strings.HasPrefix(err.Error(), "json: unknown field ") {
		return fmt.Errorf("%s in %s", strings.TrimPrefix(err.Error(), "json: "), strings.TrimSuffix(path, "."))
	}
	return err
}

// jsonMember is one member of a JSON object, in document order.
type jsonMember struct {
	Key   string
	Value json.RawMessage
}

// memberOf is the value of key among ms, nil when absent.
func memberOf(ms []jsonMember, key string) json.RawMessage {
	for _, m := range ms {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// jsonMembers splits the JSON object data into its members, refusing
// duplicate keys: encoding/json keeps the last of two, protojson refuses
// them, so a document with one would read differently to different tools.
// path names the object in errors ("" for the document, else "a.b.").
func jsonMembers(what, path string, data []byte) ([]jsonMember, error) {
	// Fast path: a map, and a count of the keys to see whether one was
	// repeated (the token walk below finds which, and is slower).
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err == nil && m != nil && countMembers(data) == len(m) {
		ms := make([]jsonMember, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ms = append(ms, jsonMember{k, m[k]})
		}
		return ms, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return nil, malformed(what, "%v", err)
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, malformed(what, "%s is not a JSON object", objectName(path))
	}
	var ms []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(what, "%v", err)
		}
		k, _ := tok.(string)
		if memberOf(ms, k) != nil {
			return nil, malformed(what, "field %s%s appears twice", path, k)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(what, "field %s%s: %v", path, k, err)
		}
		ms = append(ms, jsonMember{k, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformed(what, "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed(what, "trailing data after the JSON document")
	}
	return ms, nil
}

// countMembers counts the members of a well-formed JSON object: the colons
// outside strings at its top level.
func countMembers(obj []byte) int { return jsonscan.TopLevel(obj, ':') }

func objectName(path string) string {
	if path == "" {
		return "the document"
	}
	return "field " + strings.TrimSuffix(path, ".")
}

// checkNames walks the JSON object data along the proto message md and
// refuses member names that protojson and encoding/json-based readers
// (cosign, in-toto-golang) would read differently: protojson also accepts
// a field's proto name ("predicate_type" for "predicateType") and ignores
// a differently cased one ("PredicateType"), which encoding/json takes for
// the field. Duplicate keys are refused (jsonMembers). Other unknown
// members are extension fields, ignored as in-toto's parsing rules say.
// It descends into message fields, not into google.protobuf types (Struct
// holds free-form JSON). It returns the object's members.
func checkNames(what, path string, data []byte, md protoreflect.MessageDescriptor) ([]jsonMember, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return nil, nil // null, or a type protojson reports
	}
	ms, err := jsonMembers(what, path, data)
	if err != nil {
		return nil, err
	}
	if err := checkMemberNames(what, path, ms, md); err != nil {
		return nil, err
	}
	fields := md.Fields()
	for _, m := range ms {
		fd := fields.ByJSONName(m.Key)
		if fd == nil || fd.Kind() != protoreflect.MessageKind || fd.IsMap() || fd.Message().FullName().Parent() == "google.protobuf" {
			continue
		}
		if !fd.IsList() {
			if _, err := checkNames(what, path+m.Key+".", m.Value, fd.Message()); err != nil {
				return nil, err
			}
			continue
		}
		var items []json.RawMessage
		if json.Unmarshal(m.Value, &items) != nil {
			continue // not a list: protojson reports it
		}
		for i, it := range items {
			if _, err := checkNames(what, fmt.Sprintf("%s%s[%d].", path, m.Key, i), it, fd.Message()); err != nil {
				return nil, err
			}
		}
	}
	return ms, nil
}

// checkMemberNames is checkNames of one object's members, not descending.
func checkMemberNames(what, path string, ms []jsonMember, md protoreflect.MessageDescriptor) error {
	fields := md.Fields()
	for _, m := range ms {
		if fields.ByJSONName(m.Key) != nil {
			continue
		}
		if alias := fields.ByTextName(m.Key); alias != nil {
			return malformed(what, "field %s%s: write it as %s%s, its in-toto JSON name", path, m.Key, path, alias.JSONName())
		}
		names := siblingNames[md.FullName()]
		if slices.Contains(names, m.Key) {
			continue
		}
		for i := range fields.Len() {
			names = append(names, fields.Get(i).JSONName())
		}
		for _, name := range names {
			if strings.EqualFold(name, m.Key) {
				return malformed(what, "field %s%s: spelled %s%s in in-toto JSON (tools disagree on other spellings)", path, m.Key, path, name)
			}
		}
	}
	return nil
}

// siblingNames are the members gatehouse reads beside a proto message
// (vsaSiblings), spelled exactly too, and the spellings of the SLSA spec
// that differ from the proto's JSON name: SLSA v1 writes
// runDetails.metadata.invocationID (as slsa-github-generator and cosign
// attest do), the binding reads invocationId. gatehouse does not read the
// invocation id, so the spec spelling is accepted and left unread.
var siblingNames = map[protoreflect.FullName][]string{
	"in_toto_attestation.predicates.provenance.v1.BuildMetadata":                 {"invocationID"},
	"in_toto_attestation.predicates.vsa.v1.VerificationSummary.Verifier":         {"version"},
	"in_toto_attestation.predicates.vsa.v1.VerificationSummary.Policy":           {"name"},
	"in_toto_attestation.predicates.vsa.v1.VerificationSummary.InputAttestation": {"name"},
}

// protoRead decodes data into m as in-toto's bindings read it: protojson,
// unknown fields ignored (in-toto's parsing rules; gatehouse's own
// extension fields are read beside it). Call checkJSON and checkNames first.
func protoRead(what string, data []byte, m proto.Message) error {
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		// protojson's messages start "proto:" and a space or NBSP.
		msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
		return malformed(what, "%s", msg)
	}
	return nil
}
