package blob

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/internal/testsigstore"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// virtualSigstore is an in-process Fulcio CA and Rekor log: keyless
// signing and verification with no network.
type virtualSigstore struct {
	vs *ca.VirtualSigstore
}

func newVirtualSigstore(t testing.TB) *virtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &virtualSigstore{vs: vs}
}

// trustedRoot round-trips the virtual Sigstore's trust through a
// trusted_root.json file, as users supply it.
func (v *virtualSigstore) trustedRoot(t testing.TB) root.TrustedMaterial {
	t.Helper()
	p := testsigstore.TrustedRootFile(t, v.vs)
	m, err := LoadTrustedRoot(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// withProof gives a log entry an inclusion proof (required in bundles
// v0.2+) and a matching signed entry timestamp.
func (v *virtualSigstore) withProof(t testing.TB, e *tlog.Entry, kind, version string) *protorekor.TransparencyLogEntry {
	t.Helper()
	tle := e.TransparencyLogEntry()
	proof, err := v.vs.GetInclusionProof(tle.CanonicalizedBody)
	if err != nil {
		t.Fatal(err)
	}
	set, err := v.vs.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.CanonicalizedBody), IntegratedTime: tle.IntegratedTime, LogIndex: *proof.LogIndex, LogID: hex.EncodeToString(tle.LogId.KeyId)})
	if err != nil {
		t.Fatal(err)
	}
	ne, err := tlog.NewEntry(tle.CanonicalizedBody, tle.IntegratedTime, *proof.LogIndex, tle.LogId.KeyId, set, proof) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	out := ne.TransparencyLogEntry()
	out.KindVersion = &protorekor.KindVersion{Kind: kind, Version: version}
	out.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return out
}

// signKeyless writes the keyless bundle of a file (message signature,
// hashedrekord entry) or folder (DSSE manifest, intoto entry), as cosign
// sign-blob / attest-blob would with Fulcio and Rekor. at is the log's
// integrated time; the certificate is valid for 10 minutes from now.
func (v *virtualSigstore) signKeyless(t *testing.T, path, identity, issuer string, at time.Time) string {
	t.Helper()
	pb := &protobundle.Bundle{MediaType: BundleMediaType}
	var ent *ca.TestEntity
	kind, version := "hashedrekord", "0.0.1"
	st, _ := os.Stat(path)
	var err error
	if st.IsDir() {
		stmt, _, err := FolderStatement(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(stmt)
		kind, version = "intoto", "0.0.2"
		if ent, err = v.vs.AttestAtTime(identity, issuer, body, at, false); err != nil {
			t.Fatal(err)
		}
		sc, _ := ent.SignatureContent()
		env := sc.EnvelopeContent().RawEnvelope()
		payload, _ := base64.StdEncoding.DecodeString(env.Payload)
		var sigs []*protodsse.Signature
		for _, s := range env.Signatures {
			raw, _ := base64.StdEncoding.DecodeString(s.Sig)
			sigs = append(sigs, &protodsse.Signature{Sig: raw, Keyid: s.KeyID})
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType, Signatures: sigs}}
	} else {
		data, _ := os.ReadFile(path)
		if ent, err = v.vs.SignAtTime(identity, issuer, data, at); err != nil {
			t.Fatal(err)
		}
		sc, _ := ent.SignatureContent()
		ms := sc.MessageSignatureContent()
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: ms.Digest()},
			Signature:     ms.Signature(),
		}}
	}
	vc, _ := ent.VerificationContent()
	entries, _ := ent.TlogEntries()
	pb.VerificationMaterial = &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
		TlogEntries: []*protorekor.TransparencyLogEntry{v.withProof(t, entries[0], kind, version)},
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	bp, _ := BundlePath(path)
	if err := os.WriteFile(bp, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return bp
}

func TestKeylessMatrix(t *testing.T) {
	const (
		id     = "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"
		issuer = "https://token.actions.githubusercontent.com"
	)
	v := newVirtualSigstore(t)
	tr := v.trustedRoot(t)
	for _, kind := range []string{"file", "folder"} {
		for _, tc := range []struct {
			name    string
			at      time.Duration // integrated time, from now
			ids     []Identity
			strip   bool // remove the log entry
			tamper  bool
			wantErr []error
			msg     string
		}{
			{name: "right identity", ids: []Identity{{Subject: id, Issuer: issuer}}},
			{name: "identity regexp", ids: []Identity{{SubjectRegexp: `^https://github\.com/acme/.+@refs/heads/main$`, Issuer: issuer}}},
			{name: "second identity", ids: []Identity{{Subject: "someone@else", Issuer: issuer}, {Subject: id, Issuer: issuer}}},
			{name: "wrong identity", ids: []Identity{{Subject: "https://github.com/evil/models/.github/workflows/x.yml@refs/heads/main", Issuer: issuer}},
				wantErr: []error{ErrNotVerified, ErrIdentity}, msg: "SAN"},
			{name: "wrong issuer", ids: []Identity{{Subject: id, Issuer: "https://accounts.google.com"}},
				wantErr: []error{ErrNotVerified, ErrIdentity}, msg: "issuer"},
			{name: "expired certificate", at: time.Hour, ids: []Identity{{Subject: id, Issuer: issuer}},
				wantErr: []error{ErrNotVerified, ErrIdentity}, msg: "certificate"},
			{name: "missing tlog entry", strip: true, ids: []Identity{{Subject: id, Issuer: issuer}},
				wantErr: []error{ErrNotVerified}, msg: "transparency log"},
			{name: "tampered content", tamper: true, ids: []Identity{{Subject: id, Issuer: issuer}},
				wantErr: []error{ErrNotVerified, ErrContentMismatch}},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				p := artifact(t, kind)
				bp := v.signKeyless(t, p, id, issuer, time.Now().Add(tc.at))
				if tc.strip {
					raw, _ := os.ReadFile(bp)
					var m map[string]any
					json.Unmarshal(raw, &m)
					delete(m["verificationMaterial"].(map[string]any), "tlogEntries")
					raw, _ = json.Marshal(m)
					os.WriteFile(bp, raw, 0o644)
				}
				if tc.tamper {
					tamper(t, p)
				}
				res, err := Verify(context.Background(), p, VerifyOptions{Identities: tc.ids, TrustedRoot: tr, IgnoreSCT: true})
				if tc.wantErr == nil {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if res.Identity != id || res.Issuer != issuer || !res.Tlog {
						t.Errorf("result %+v", res)
					}
					return
				}
				if err == nil {
					t.Fatal("Verify succeeded")
				}
				t.Logf("rejected: %v", err)
				for _, w := range tc.wantErr {
					if !errors.Is(err, w) {
						t.Errorf("error %q does not wrap %q", err, w)
					}
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not say %q", err, tc.msg)
				}
			})
		}
	}
	t.Run("certificate bundle with a key", func(t *testing.T) {
		p := artifact(t, "file")
		v.signKeyless(t, p, id, issuer, time.Now())
		k := newKey(t, "ecdsa-p256")
		_, err := Verify(context.Background(), p, VerifyOptions{Keys: []signature.Verifier{k.verifier}})
		if !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "keylessly") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("SCT required by default", func(t *testing.T) {
		p := artifact(t, "file")
		v.signKeyless(t, p, id, issuer, time.Now())
		_, err := Verify(context.Background(), p, VerifyOptions{Identities: []Identity{{Subject: id, Issuer: issuer}}, TrustedRoot: tr})
		if !errors.Is(err, ErrNotVerified) {
			t.Errorf("a certificate without SCT verified: %v", err)
		}
	})
	_ = attest.ErrSignature
}
