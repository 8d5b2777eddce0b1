package attest

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseStatement(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *Statement
	}{
		{
			name: "v1 with resource descriptor fields",
			doc: `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"model.bin","digest":{"sha256":"` + hexA + `"},"uri":"file:model.bin","annotations":{"k":"v"}}],
				"predicateType":"https://example.com/p","predicate":{"x":1}}`,
			want: &Statement{Type: StatementTypeV1, Subject: []Subject{{Name: "model.bin", Digest: map[string]string{"sha256": hexA}}}, PredicateType: "https://example.com/p", Predicate: []byte(`{"x":1}`)},
		},
		{
			name: "v1 without predicate, extension members ignored (in-toto parsing rules)",
			doc:  `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hexA + `"},"x-note":1}],"predicateType":"t","signature":"x","x-acme":{"k":[1]}}`,
			want: &Statement{Type: StatementTypeV1, Subject: []Subject{{Name: "a", Digest: map[string]string{"sha256": hexA}}}, PredicateType: "t"},
		},
		{
			name: "v0.1 without predicate, other algorithms",
			doc:  `{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567","blake3":"xyz"}}],"predicateType":"t"}`,
			want: &Statement{Type: StatementTypeV01, Subject: []Subject{{Name: "a", Digest: map[string]string{"sha1": "0123456789abcdef0123456789abcdef01234567", "blake3": "xyz"}}}, PredicateType: "t"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStatement([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatementErrors(t *testing.T) {
	sub := `[{"name":"a","digest":{"sha256":"` + hexA + `"}}]`
	st := func(typ, subject, extra string) string {
		return `{"_type":"` + typ + `","subject":` + subject + `,"predicateType":"t"` + extra + `}`
	}
	tests := []struct {
		name, doc, want string
	}{
		{"unknown _type", st("https://in-toto.io/Statement/v9", sub, ""), `field _type is "https://in-toto.io/Statement/v9"`},
		{"no predicateType", `{"_type":"` + StatementTypeV1 + `","subject":` + sub + `}`, "field predicateType is missing"},
		{"no subject", st(StatementTypeV1, `[]`, ""), "field subject is empty"},
		{"subject without digest", st(StatementTypeV1, `[{"name":"a"}]`, ""), "field subject[0].digest is empty"},
		{"short sha256", st(StatementTypeV1, `[{"name":"a","digest":{"sha256":"abc"}}]`, ""), "field subject[0].digest.sha256: 3 hex digits, want 64"},
		{"uppercase sha256", st(StatementTypeV1, `[{"name":"a","digest":{"sha256":"`+strings.ToUpper(hexA)+`"}}]`, ""), "field subject[0].digest.sha256: not lowercase hex"},
		{"non-hex sha256", st(StatementTypeV1, `[{"name":"a","digest":{"sha256":"`+strings.Repeat("z", 64)+`"}}]`, ""), "not lowercase hex"},
		{"empty algorithm", st(StatementTypeV1, `[{"name":"a","digest":{"":"00"}}]`, ""), "field subject[0].digest: an algorithm name is empty"},
		{"empty unknown digest", st(StatementTypeV1, `[{"name":"a","digest":{"foo":""}}]`, ""), "field subject[0].digest.foo: empty"},
		{"predicate array", st(StatementTypeV1, sub, `,"predicate":[1]`), "field predicate is not a JSON object"},
		{"predicate string", st(StatementTypeV1, sub, `,"predicate":"x"`), "field predicate is not a JSON object"},
		{"subject wrong type", st(StatementTypeV1, `{"name":"a"}`, ""), "field subject: JSON object"},
		{"digest wrong type", st(StatementTypeV1, `[{"name":"a","digest":{"sha256":1}}]`, ""), "JSON number"},
		// ResourceDescriptor.Validate: algorithms gatehouse does not check itself.
		{"short md5", st(StatementTypeV1, `[{"name":"a","digest":{"md5":"abcd"}}]`, ""), "field subject[0]: digest has incorrect length"},
		{"sha224 not hex", st(StatementTypeV1, `[{"name":"a","digest":{"sha224":"`+strings.Repeat("g", 56)+`"}}]`, ""), "field subject[0]: digest is not valid hex"},
		// What protojson reads must be what encoding/json readers (cosign) read.
		{"proto field name", `{"_type":"` + StatementTypeV1 + `","subject":` + sub + `,"predicate_type":"t"}`, "field predicate_type: write it as predicateType"},
		{"proto name of _type", `{"type":"` + StatementTypeV1 + `","subject":` + sub + `,"predicateType":"t"}`, "field type: write it as _type"},
		{"another case", st(StatementTypeV1, sub, `,"Predicate":{"x":1}`), "field Predicate: spelled predicate"},
		{"duplicate key", st(StatementTypeV1, sub, `,"predicateType":"u"`), "field predicateType appears twice"},
		{"subject digest in another case", st(StatementTypeV1, `[{"name":"a","digest":{"sha256":"`+hexA+`"},"Digest":{"sha256":"`+hexB+`"}}]`, ""), "field subject[0] reads differently"},
		{"not an object", `[1]`, "the document is not a JSON object"},
		{"trailing data", st(StatementTypeV1, sub, "") + `{}`, "trailing data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatement([]byte(tc.doc))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
	many := `[` + strings.TrimSuffix(strings.Repeat(`{"digest":{"sha256":"`+hexA+`"}},`, 5), ",") + `]`
	if _, err := ParseStatementLimits([]byte(st(StatementTypeV1, many, "")), Limits{MaxSubjects: 4}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "5 subjects, more than the limit of 4") {
		t.Errorf("too many subjects: %v", err)
	}
}

func TestMatchDigest(t *testing.T) {
	st := &Statement{Subject: []Subject{
		{Name: "a", Digest: map[string]string{"sha256": hexA}},
		{Name: "b", Digest: map[string]string{"sha256": hexB, "sha512": strings.Repeat("c", 128)}},
	}}
	got, err := st.MatchDigest("sha256:" + hexB)
	if err != nil || got.Name != "b" {
		t.Errorf("match b: %v, %v", got, err)
	}
	if _, err := st.MatchDigest("sha512:" + strings.Repeat("c", 128)); err != nil {
		t.Errorf("sha512: %v", err)
	}
	tests := []struct {
		digest, want string
		mismatch     bool
	}{
		{"sha256:" + strings.Repeat("d", 64), "the statement is about a (sha256:" + hexA[:8], true},
		{"sha384:" + strings.Repeat("d", 96), "the statement has no sha384 subject digest", true},
		{hexA, "want ALGORITHM:HEX", false},
		{"md5:" + hexA[:32], `algorithm "md5" is not supported`, false},
		{"sha256:" + strings.ToUpper(hexA), "not lowercase hex", false},
	}
	for _, tc := range tests {
		_, err := st.MatchDigest(tc.digest)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrDigestMismatch) != tc.mismatch {
			t.Errorf("MatchDigest(%s) = %v, want error containing %q (mismatch %v)", tc.digest, err, tc.want, tc.mismatch)
		}
	}
}

func TestNewStatement(t *testing.T) {
	st, err := NewStatement("t", map[string]int{"n": 1}, Subject{Name: "a", Digest: map[string]string{"sha256": hexA}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Type != StatementTypeV1 || string(st.Predicate) != `{"n":1}` {
		t.Errorf("got %+v", st)
	}
	for name, f := range map[string]func() error{
		"no type": func() error {
			_, err := NewStatement("", nil, Subject{Name: "a", Digest: map[string]string{"sha256": hexA}})
			return err
		},
		"no subjects": func() error { _, err := NewStatement("t", nil); return err },
		"no digest":   func() error { _, err := NewStatement("t", nil, Subject{Name: "a"}); return err },
		"bad digest": func() error {
			_, err := NewStatement("t", nil, Subject{Name: "a", Digest: map[string]string{"sha256": "x"}})
			return err
		},
		"bad predicate": func() error {
			_, err := NewStatement("t", func() {}, Subject{Name: "a", Digest: map[string]string{"sha256": hexA}})
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
