package attest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
)

func TestPAE(t *testing.T) {
	// The example of the DSSE protocol specification.
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
	if got := string(PAE("", nil)); got != "DSSEv1 0  0 " {
		t.Errorf("PAE of empties = %q", got)
	}
}

func TestEnvelopeSignVerify(t *testing.T) {
	ctx := context.Background()
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	other, _ := loadPair(t, "ecdsa-p256")
	otherV := signature.Verifier(other)
	for _, kind := range []string{"ecdsa-p256", "ed25519", "rsa-2048", "cosign-encrypted"} {
		s, v := loadPair(t, kind)
		env, err := SignEnvelope(ctx, s, PayloadTypeInToto, payload)
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name      string
			mutate    func(e *Envelope)
			verifiers []signature.Verifier
			want      Accepted
			wantErr   error
		}{
			{name: "verifies", verifiers: []signature.Verifier{v}},
			{name: "second verifier", verifiers: []signature.Verifier{otherV, v}, want: Accepted{Verifier: 1}},
			{name: "keyid is ignored", mutate: func(e *Envelope) { e.Signatures[0].KeyID = "someone-else" }, verifiers: []signature.Verifier{v}},
			{name: "second signature", mutate: func(e *Envelope) {
				e.Signatures = append([]Signature{{Sig: []byte("junk")}}, e.Signatures...)
			}, verifiers: []signature.Verifier{v}, want: Accepted{Signature: 1}},
			{name: "wrong key", verifiers: []signature.Verifier{otherV}, wantErr: ErrSignature},
			{name: "payload altered", mutate: func(e *Envelope) { e.Payload = append(e.Payload, ' ') }, verifiers: []signature.Verifier{v}, wantErr: ErrSignature},
			{name: "payload type altered", mutate: func(e *Envelope) { e.PayloadType = "application/json" }, verifiers: []signature.Verifier{v}, wantErr: ErrSignature},
			{name: "signature altered", mutate: func(e *Envelope) { e.Signatures[0].Sig[3] ^= 1 }, verifiers: []signature.Verifier{v}, wantErr: ErrSignature},
			{name: "no verifiers", verifiers: nil, wantErr: ErrNoTrust},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				e, err := ParseEnvelope(data)
				if err != nil {
					t.Fatal(err)
				}
				if tc.mutate != nil {
					tc.mutate(e)
				}
				got, err := VerifyEnvelope(ctx, e, tc.verifiers)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("error %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("accepted (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestEnvelopeInterop checks our DSSE against sigstore's (what cosign uses)
// in both directions.
func TestEnvelopeInterop(t *testing.T) {
	ctx := context.Background()
	s, v := loadPair(t, "ecdsa-p256")
	payload := []byte(`{"hello":"world"}`)
	theirs, err := sigdsse.WrapSigner(s, PayloadTypeInToto).SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelope(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyEnvelope(ctx, e, []signature.Verifier{v}); err != nil {
		t.Errorf("sigstore's envelope does not verify here: %v", err)
	}
	if !bytes.Equal(e.Payload, payload) {
		t.Errorf("payload %q", e.Payload)
	}
	ours, err := SignEnvelope(ctx, s, PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ours)
	if err := sigdsse.WrapVerifier(v).VerifySignature(bytes.NewReader(b), nil); err != nil {
		t.Errorf("our envelope does not verify with sigstore's DSSE: %v", err)
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString([]byte("sig"))
	pl := base64.StdEncoding.EncodeToString([]byte("{}"))
	sigs := func(n int) string {
		var parts []string
		for range n {
			parts = append(parts, `{"sig":"`+sig+`"}`)
		}
		return strings.Join(parts, ",")
	}
	for _, tc := range []struct {
		name, doc, msg string
	}{
		{"not JSON", `hello`, "invalid character"},
		{"array", `[]`, "JSON array"},
		{"missing payloadType", `{"payload":"` + pl + `","signatures":[{"sig":"` + sig + `"}]}`, "payloadType is missing"},
		{"missing payload", `{"payloadType":"x","signatures":[{"sig":"` + sig + `"}]}`, "payload is missing"},
		{"no signatures", `{"payloadType":"x","payload":"` + pl + `","signatures":[]}`, "not signed"},
		{"empty sig", `{"payloadType":"x","payload":"` + pl + `","signatures":[{"keyid":"a","sig":""}]}`, "signatures[0].sig is missing"},
		{"sig of padding only", `{"payloadType":"x","payload":"` + pl + `","signatures":[{"sig":"="}]}`, "signatures[0].sig decodes to nothing"},
		{"payload of padding only", `{"payloadType":"x","payload":"==","signatures":[{"sig":"` + sig + `"}]}`, "payload decodes to nothing"},
		{"bad base64 payload", `{"payloadType":"x","payload":"!!!","signatures":[{"sig":"` + sig + `"}]}`, "field payload"},
		{"bad base64 sig", `{"payloadType":"x","payload":"` + pl + `","signatures":[{"sig":"***"}]}`, "signatures[0].sig"},
		{"unknown field", `{"payloadType":"x","payload":"` + pl + `","signatures":[{"sig":"` + sig + `"}],"extra":1}`, "unknown field"},
		{"payload wrong type", `{"payloadType":"x","payload":5,"signatures":[{"sig":"` + sig + `"}]}`, "field payload"},
		{"trailing data", `{"payloadType":"x","payload":"` + pl + `","signatures":[{"sig":"` + sig + `"}]} {}`, "trailing data"},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nesting deeper"},
		{"too many signatures", `{"payloadType":"x","payload":"` + pl + `","signatures":[` + sigs(17) + `]}`, "17 signatures"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEnvelope([]byte(tc.doc))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %v, want ErrMalformed saying %q", err, tc.msg)
			}
		})
	}
	big := `{"payloadType":"x","payload":"` + strings.Repeat("A", 2<<20) + `","signatures":[{"sig":"` + sig + `"}]}`
	if _, err := ParseEnvelopeLimits([]byte(big), Limits{MaxBytes: 1 << 20}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("2 MiB payload under a 1 MiB limit: %v", err)
	}
}

func TestParseEnvelopeEncodings(t *testing.T) {
	raw := []byte{0xfb, 0xff, 0xfe, 'x'} // '+' and '/' in standard base64
	for name, enc := range map[string]*base64.Encoding{"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding} {
		doc := `{"payloadType":"t","payload":"` + enc.EncodeToString(raw) + `","signatures":[{"keyid":"k","sig":"` + enc.EncodeToString(raw) + `"}]}`
		e, err := ParseEnvelope([]byte(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := &Envelope{PayloadType: "t", Payload: raw, Signatures: []Signature{{KeyID: "k", Sig: raw}}}
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	data, err := os.ReadFile("testdata/dsse-example.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEnvelope(data)
	if err != nil || string(e.Payload) != "hello world" || e.Signatures[0].KeyID != "66301bbf" {
		t.Errorf("spec-shaped example: %+v, %v", e, err)
	}
}
