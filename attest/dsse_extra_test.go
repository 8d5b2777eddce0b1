package attest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	sslibdsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
)

// TestPAEMatchesSecureSystemsLib: our PAE is byte for byte the reference
// implementation's (go-securesystemslib/dsse), multi-byte UTF-8 included.
func TestPAEMatchesSecureSystemsLib(t *testing.T) {
	for _, tc := range []struct{ typ, body string }{
		{"", ""},
		{PayloadTypeInToto, `{"_type":"https://in-toto.io/Statement/v1"}`},
		{"ü/ñ", "\x00\xff binary \n body"},
		{"a b", "1 2 3"},
	} {
		if got, want := PAE(tc.typ, []byte(tc.body)), sslibdsse.PAE(tc.typ, []byte(tc.body)); !bytes.Equal(got, want) {
			t.Errorf("PAE(%q, %q) = %q, go-securesystemslib says %q", tc.typ, tc.body, got, want)
		}
	}
}

// TestVerifyEnvelopeSkipsMisleadingKeyID: a first signature by another key
// claiming the trusted key's keyid neither verifies nor hides the second,
// good signature; with only the bogus one, verification fails.
func TestVerifyEnvelopeSkipsMisleadingKeyID(t *testing.T) {
	ctx := context.Background()
	mine, v := loadPair(t, "ecdsa-p256")
	theirs, _ := loadPair(t, "ed25519")
	payload := []byte(`{"x":1}`)
	good, err := SignEnvelope(ctx, mine, PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	bogus, err := SignEnvelope(ctx, theirs, PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	env := &Envelope{PayloadType: PayloadTypeInToto, Payload: payload, Signatures: []Signature{
		{KeyID: "the-trusted-key", Sig: bogus.Signatures[0].Sig},
		{KeyID: "someone-else", Sig: good.Signatures[0].Sig},
	}}
	acc, err := VerifyEnvelope(ctx, env, []signature.Verifier{v})
	if err != nil || acc.Signature != 1 {
		t.Fatalf("accepted %+v, %v; want signature 1", acc, err)
	}
	env.Signatures = env.Signatures[:1]
	if _, err := VerifyEnvelope(ctx, env, []signature.Verifier{v}); !errors.Is(err, ErrSignature) {
		t.Errorf("only the bogus signature: err = %v, want ErrSignature", err)
	}
}
