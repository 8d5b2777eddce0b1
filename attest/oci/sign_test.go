package oci

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatehouse-dev/gatehouse/attest/internal/testkeys"
	"github.com/gatehouse-dev/gatehouse/attest/internal/testsigstore"
)

// testKey is a signing key with its PEM public key.
type testKey struct {
	name   string
	signer signature.SignerVerifier
	pubPEM []byte
}

func newTestKey(t testing.TB, alg string) testKey {
	t.Helper()
	kind := alg
	if alg == "rsa" {
		kind = "rsa-2048"
	}
	priv := testkeys.New(t, kind).Signer
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{name: alg, signer: sv, pubPEM: pem}
}

func (k testKey) key(t testing.TB) Key {
	t.Helper()
	key, err := ParseKey(k.name+".pub", k.pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func opts() []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(remote.WithContext(context.Background()))}
}

// simpleSigningPayload is what `cosign sign` signs.
func simpleSigningPayload(t testing.TB, d name.Digest) []byte {
	t.Helper()
	p, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signClassicKey signs d as `cosign sign --key` does (tag schema, no tlog).
func signClassicKey(t testing.TB, d name.Digest, k testKey) {
	t.Helper()
	p := simpleSigningPayload(t, d)
	sig, err := k.signer.SignMessage(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	s, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		t.Fatal(err)
	}
	writeClassicSignature(t, d, s)
}

func writeClassicSignature(t testing.TB, d name.Digest, s staticSig) {
	t.Helper()
	se, err := mutate.AttachSignatureToEntity(ociremote.SignedUnknown(d, opts()...), s)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Repository, se, opts()...); err != nil {
		t.Fatalf("write signature: %v", err)
	}
}

// statement builds an in-toto statement about d.
func statement(t testing.TB, d name.Digest, predicateType string, predicate any) []byte {
	t.Helper()
	h, err := hashOf(d)
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": h.Hex}}},
		"predicateType": predicateType,
		"predicate":     predicate,
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dsseSign signs an in-toto statement into a DSSE envelope (JSON).
func dsseSign(t testing.TB, k testKey, stmt []byte) []byte {
	t.Helper()
	env, err := sigdsse.WrapSigner(k.signer, "application/vnd.in-toto+json").SignMessage(bytes.NewReader(stmt))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// keyBundle makes a key-based Sigstore bundle v0.3 holding a DSSE envelope.
func keyBundle(t testing.TB, k testKey, stmt []byte) []byte {
	t.Helper()
	pub, _ := k.signer.PublicKey()
	b, err := cbundle.MakeNewBundle(pub, nil, stmt, dsseSign(t, k, stmt), k.pubPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyMessageBundle makes a key-based bundle holding a message signature over
// the image manifest (whose sha256 is the digest).
func keyMessageBundle(t testing.TB, k testKey, manifest []byte) []byte {
	t.Helper()
	sig, err := k.signer.SignMessage(bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := cryptoutilsSHA256(manifest)
	pb := &protobundle.Bundle{
		MediaType: BundleArtifactType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "test"}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: h},
			Signature:     sig,
		}},
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fulcio is an in-process Sigstore: test CA, transparency log, trusted root.
type fulcio struct {
	vs *ca.VirtualSigstore
}

func newFulcio(t testing.TB) *fulcio {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &fulcio{vs: vs}
}

// trustedRootFile writes the virtual Sigstore's trusted_root.json.
func (f *fulcio) trustedRootFile(t testing.TB) string {
	t.Helper()
	p := testsigstore.TrustedRootFile(t, f.vs)
	return p
}

// signClassicKeyless signs d as `cosign sign` (keyless) does: certificate,
// chain and a Rekor bundle (SET) in the layer annotations. at shifts the
// log's integrated time (certificates are valid for 10 minutes from now).
func (f *fulcio) signClassicKeyless(t testing.TB, d name.Digest, identity, issuer string, at time.Duration) {
	t.Helper()
	p := simpleSigningPayload(t, d)
	ent, err := f.vs.SignAtTime(identity, issuer, p, time.Now().Add(at))
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	sig := sc.MessageSignatureContent().Signature()
	entries, _ := ent.TlogEntries()
	tle := entries[0].TransparencyLogEntry()
	certPEM, _ := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	fca := f.vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	chainPEM, _ := cryptoutils.MarshalCertificatesToPEM(append(fca.Intermediates, fca.Root))
	rb := &cbundle.RekorBundle{
		SignedEntryTimestamp: f.set(t, tle),
		Payload: cbundle.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
			IntegratedTime: tle.IntegratedTime,
			LogIndex:       tle.LogIndex,
			LogID:          hex.EncodeToString(tle.LogId.KeyId),
		},
	}
	s, err := static.NewSignature(p, base64.StdEncoding.EncodeToString(sig), static.WithCertChain(certPEM, chainPEM), static.WithBundle(rb))
	if err != nil {
		t.Fatal(err)
	}
	writeClassicSignature(t, d, s)
}

// keylessBundle attests stmt keylessly into a Sigstore bundle v0.3 with an
// inclusion proof and promise.
func (f *fulcio) keylessBundle(t testing.TB, stmt []byte, identity, issuer string, at time.Duration) []byte {
	t.Helper()
	ent, err := f.vs.AttestAtTime(identity, issuer, stmt, time.Now().Add(at), true)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := ent.VerificationContent()
	sc, _ := ent.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	entries, _ := ent.TlogEntries()
	tle := entries[0].TransparencyLogEntry()
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: f.set(t, tle)}
	tle.KindVersion = &protorekor.KindVersion{Kind: "intoto", Version: "0.0.2"}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	var sigs []*protodsse.Signature
	for _, s := range env.Signatures {
		raw, _ := base64.StdEncoding.DecodeString(s.Sig)
		sigs = append(sigs, &protodsse.Signature{Sig: raw, Keyid: s.KeyID})
	}
	pb := &protobundle.Bundle{
		MediaType: BundleArtifactType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType, Signatures: sigs}},
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// set signs the log entry's inclusion promise (signed entry timestamp) with
// the virtual log's key, as Rekor does.
func (f *fulcio) set(t testing.TB, tle *protorekor.TransparencyLogEntry) []byte {
	t.Helper()
	set, err := f.vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime,
		LogIndex:       tle.LogIndex,
		LogID:          hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		t.Fatal(err)
	}
	return set
}
