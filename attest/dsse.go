package attest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// PayloadTypeInToto is the DSSE payload type of in-toto statements.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// Envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse).
// Payload and Sig hold the decoded bytes; on the wire they are base64.
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  []Signature
}

// Signature is one DSSE signature. KeyID is an unauthenticated hint.
type Signature struct {
	KeyID string
	Sig   []byte
}

type wireEnvelope struct {
	PayloadType *string         `json:"payloadType"`
	Payload     *string         `json:"payload"`
	Signatures  []wireSignature `json:"signatures"`
}

type wireSignature struct {
	KeyID string  `json:"keyid"`
	Sig   *string `json:"sig"`
}

// ErrSignature is wrapped when no signature verifies with any trusted key.
var ErrSignature = errors.New("signature does not verify")

// ErrNoTrust is wrapped when verification is asked for without any key.
var ErrNoTrust = errors.New("no trusted keys")

// ParseEnvelope reads a DSSE envelope (JSON) within DefaultLimits.
func ParseEnvelope(data []byte) (*Envelope, error) {
	return ParseEnvelopeLimits(data, DefaultLimits)
}

// ParseEnvelopeLimits reads a DSSE envelope within l. Base64 fields may be
// standard or URL-safe, padded or not, as the DSSE spec allows. The
// payload must be non-empty and every signature non-empty.
func ParseEnvelopeLimits(data []byte, l Limits) (*Envelope, error) {
	l = l.orDefault()
	// base64 grows the payload by 4/3: allow for it.
	wl := l
	wl.MaxBytes = l.MaxBytes/3*4 + 64<<10
	if err := checkJSON("DSSE envelope", data, wl); err != nil {
		return nil, err
	}
	var w wireEnvelope
	if err := decodeStrict("DSSE envelope", data, &w, false); err != nil {
		return nil, err
	}
	switch {
	case w.PayloadType == nil || *w.PayloadType == "":
		return nil, malformed("DSSE envelope", "field payloadType is missing or empty")
	case w.Payload == nil || *w.Payload == "":
		return nil, malformed("DSSE envelope", "field payload is missing or empty")
	case len(w.Signatures) == 0:
		return nil, malformed("DSSE envelope", "field signatures is empty: the envelope is not signed")
	case len(w.Signatures) > l.MaxSignatures:
		return nil, malformed("DSSE envelope", "%d signatures, more than the limit of %d", len(w.Signatures), l.MaxSignatures)
	}
	payload, err := decodeBase64(*w.Payload)
	if err != nil {
		return nil, malformed("DSSE envelope", "field payload: %v", err)
	}
	if len(payload) == 0 {
		return nil, malformed("DSSE envelope", "field payload decodes to nothing")
	}
	if len(payload) > l.MaxBytes {
		return nil, malformed("DSSE envelope", "payload of %d bytes is more than the %d byte limit", len(payload), l.MaxBytes)
	}
	env := &Envelope{PayloadType: *w.PayloadType, Payload: payload}
	for i, s := range w.Signatures {
		if s.Sig == nil || *s.Sig == "" {
			return nil, malformed("DSSE envelope", "field signatures[%d].sig is missing or empty", i)
		}
		sig, err := decodeBase64(*s.Sig)
		if err != nil {
			return nil, malformed("DSSE envelope", "field signatures[%d].sig: %v", i, err)
		}
		if len(sig) == 0 {
			return nil, malformed("DSSE envelope", "field signatures[%d].sig decodes to nothing", i)
		}
		env.Signatures = append(env.Signatures, Signature{KeyID: s.KeyID, Sig: sig})
	}
	return env, nil
}

// MarshalJSON writes the envelope in its wire form (standard base64).
func (e *Envelope) MarshalJSON() ([]byte, error) {
	pt, pl := e.PayloadType, base64.StdEncoding.EncodeToString(e.Payload)
	w := wireEnvelope{PayloadType: &pt, Payload: &pl, Signatures: []wireSignature{}}
	for _, s := range e.Signatures {
		sig := base64.StdEncoding.EncodeToString(s.Sig)
		w.Signatures = append(w.Signatures, wireSignature{KeyID: s.KeyID, Sig: &sig})
	}
	return json.Marshal(w)
}

func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// PAE is DSSE's pre-authentication encoding, the bytes actually signed:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.Grow(32 + len(payloadType) + len(payload))
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// SignEnvelope signs payload into a DSSE envelope with one signature. The
// keyid is left empty (cosign does the same): verifiers must not trust it.
func SignEnvelope(ctx context.Context, s signature.Signer, payloadType string, payload []byte) (*Envelope, error) {
	if s == nil {
		return nil, fmt.Errorf("sign DSSE envelope: %w: no signer", ErrNoTrust)
	}
	sig, err := s.SignMessage(bytes.NewReader(PAE(payloadType, payload)), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign DSSE envelope: %w", err)
	}
	return &Envelope{PayloadType: payloadType, Payload: payload, Signatures: []Signature{{Sig: sig}}}, nil
}

// Accepted says which signature verified with which verifier.
type Accepted struct {
	// Signature is the index in Envelope.Signatures.
	Signature int
	// Verifier is the index in the verifiers given to VerifyEnvelope.
	Verifier int
}

// VerifyEnvelope checks that at least one signature of e verifies over
// PAE(payloadType, payload) with one of verifiers. Key IDs are ignored:
// every signature is tried with every verifier. The error wraps
// ErrSignature (or ErrNoTrust without verifiers).
func VerifyEnvelope(ctx context.Context, e *Envelope, verifiers []signature.Verifier) (Accepted, error) {
	if len(verifiers) == 0 {
		return Accepted{}, fmt.Errorf("verify DSSE envelope: %w: give at least one public key", ErrNoTrust)
	}
	if e == nil || len(e.Signatures) == 0 {
		return Accepted{}, fmt.Errorf("%w: the envelope has no signatures", ErrSignature)
	}
	pae := PAE(e.PayloadType, e.Payload)
	for si, s := range e.Signatures {
		for vi, v := range verifiers {
			if v == nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return Accepted{}, err
			}
			if v.VerifySignature(bytes.NewReader(s.Sig), bytes.NewReader(pae), options.WithContext(ctx)) == nil {
				return Accepted{Signature: si, Verifier: vi}, nil
			}
		}
	}
	return Accepted{}, fmt.Errorf("%w: none of the envelope's %d signature(s) verifies with any of the %d trusted key(s) (signed by another key, or the envelope was altered)", ErrSignature, len(e.Signatures), len(verifiers))
}
