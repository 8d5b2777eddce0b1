package oci

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// outcome is the result of verifying one attachment.
type outcome struct {
	verified bool
	key      *Key
	identity string
	issuer   string
	tlog     bool
	err      error
	// statement is the verified in-toto statement of an attestation.
	statement []byte
}

// verifyAttachment checks one signature or attestation against the policy:
// each key in turn, then (for certificates) the keyless identities. att says
// whether an attestation (DSSE over an in-toto statement about h) or a
// signature (over h itself) is expected.
func verifyAttachment(ctx context.Context, a *attachment, h v1.Hash, p *Policy, att bool) outcome {
	if a.fetchErr != nil {
		return outcome{err: a.fetchErr}
	}
	if err := ctx.Err(); err != nil {
		return outcome{err: err}
	}
	var errs []string
	for i := range p.Keys {
		k := &p.Keys[i]
		co := p.keyOpts(k)
		var err error
		var tlog bool
		if a.bundle != nil {
			_, err = verifyBundle(ctx, a.bundle, h, co)
			tlog = !co.IgnoreTlog
		} else {
			tlog, err = verifyClassic(ctx, a.classic, h, co, att)
		}
		if err == nil {
			o := outcome{verified: true, key: k, tlog: tlog}
			o.statement, o.err = statementOf(a, att)
			o.verified = o.err == nil
			return o
		}
		errs = append(errs, fmt.Sprintf("key %s: %v", k.Ref, err))
	}
	if len(p.Identities) > 0 && p.TrustedRoot != nil && hasCertificate(a) {
		// Classic signatures take every identity at once; the sigstore-go
		// verifier behind bundles takes one at a time.
		idSets := [][]Identity{p.Identities}
		if a.bundle != nil {
			idSets = idSets[:0]
			for _, id := range p.Identities {
				idSets = append(idSets, []Identity{id})
			}
		}
		for _, ids := range idSets {
			co := p.keylessOpts(ids)
			var err error
			var sum *certificate.Summary
			if a.bundle != nil {
				var res *verify.VerificationResult
				res, err = verifyBundle(ctx, a.bundle, h, co)
				if err == nil && res.Signature != nil {
					sum = res.Signature.Certificate
				}
			} else {
				_, err = verifyClassic(ctx, a.classic, h, co, att)
				if err == nil {
					sum, err = classicSummary(a.classic)
				}
			}
			if err == nil {
				o := outcome{verified: true, tlog: true}
				if sum != nil {
					o.identity, o.issuer = sum.SubjectAlternativeName, sum.Issuer
				}
				o.statement, o.err = statementOf(a, att)
				o.verified = o.err == nil
				return o
			}
			errs = append(errs, "keyless: "+err.Error())
		}
	} else if hasCertificate(a) && len(p.Keys) == 0 {
		errs = append(errs, "signed with a certificate (keyless) but no identities with a trusted_root are configured")
	}
	if len(errs) == 0 {
		errs = append(errs, "nothing in the policy can verify it")
	}
	return outcome{err: errors.New(strings.Join(errs, "; "))}
}

func hasCertificate(a *attachment) bool {
	if a.bundle != nil {
		vc, err := a.bundle.VerificationContent()
		return err == nil && vc.Certificate() != nil
	}
	c, err := a.classic.Cert()
	return err == nil && c != nil
}

func classicSummary(s oci.Signature) (*certificate.Summary, error) {
	c, err := s.Cert()
	if err != nil || c == nil {
		return nil, fmt.Errorf("certificate: %v", err)
	}
	sum, err := certificate.SummarizeCertificate(c)
	if err != nil {
		return nil, err
	}
	return &sum, nil
}

// keyOpts are cosign's check options for one trusted key: nothing but the
// registry is needed unless the policy asks for transparency-log proof.
func (p *Policy) keyOpts(k *Key) *cosign.CheckOpts {
	co := &cosign.CheckOpts{
		SigVerifier: k.Verifier,
		IgnoreSCT:   true,
		IgnoreTlog:  !p.RequireTlog,
		Offline:     true,
		MaxWorkers:  1,
	}
	if p.RequireTlog {
		co.TrustedMaterial = p.TrustedRoot
	}
	return co
}

// keylessOpts check certificates against the trusted root offline: chain,
// identity, SCT, and the transparency-log entry carried with the signature.
func (p *Policy) keylessOpts(ids []Identity) *cosign.CheckOpts {
	co := &cosign.CheckOpts{
		TrustedMaterial: p.TrustedRoot,
		IgnoreSCT:       p.IgnoreSCT,
		Offline:         true,
		MaxWorkers:      1,
	}
	for _, id := range ids {
		co.Identities = append(co.Identities, id.cosign())
	}
	return co
}

func verifyClassic(ctx context.Context, s oci.Signature, h v1.Hash, co *cosign.CheckOpts, att bool) (bool, error) {
	if att {
		co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
		_, bv, err := cosign.VerifyImageAttestation(ctx, singleSignature{sigs: []oci.Signature{s}}, h, co)
		return bv, err
	}
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	return cosign.VerifyImageSignature(ctx, s, h, co)
}

// singleSignature feeds one attestation to cosign.VerifyImageAttestation,
// which reads only Get.
type singleSignature struct {
	oci.Signatures
	sigs []oci.Signature
}

func (s singleSignature) Get() ([]oci.Signature, error) { return s.sigs, nil }

func verifyBundle(ctx context.Context, b interface {
	verify.SignedEntity
}, h v1.Hash, co *cosign.CheckOpts) (*verify.VerificationResult, error) {
	if co.TrustedMaterial == nil {
		// Keys need no trust root; sigstore-go still wants one.
		co.TrustedMaterial = &root.BaseTrustedMaterial{}
	}
	raw, err := hex.DecodeString(h.Hex)
	if err != nil {
		return nil, fmt.Errorf("digest %s: %w", h, err)
	}
	return cosign.VerifyNewBundle(ctx, co, verify.WithArtifactDigest(h.Algorithm, raw), b)
}

// statementOf returns the in-toto statement an attestation carries (after
// its signature was verified); nil for signatures.
func statementOf(a *attachment, att bool) ([]byte, error) {
	if !att {
		return nil, nil
	}
	if a.bundle != nil {
		env := a.bundle.GetDsseEnvelope()
		if env == nil {
			return nil, errors.New("bundle holds a message signature, not an attestation")
		}
		if env.GetPayloadType() != "application/vnd.in-toto+json" {
			return nil, fmt.Errorf("DSSE payloadType %q is not an in-toto statement", env.GetPayloadType())
		}
		return env.GetPayload(), nil
	}
	p, err := a.classic.Payload()
	if err != nil {
		return nil, err
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := jsonUnmarshalLimited(p, &env); err != nil {
		return nil, fmt.Errorf("malformed DSSE envelope: %w", err)
	}
	if env.PayloadType != "application/vnd.in-toto+json" {
		return nil, fmt.Errorf("DSSE payloadType %q is not an in-toto statement", env.PayloadType)
	}
	st, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("malformed DSSE envelope payload: %w", err)
	}
	if !json.Valid(st) {
		return nil, errors.New("DSSE payload is not JSON")
	}
	return st, nil
}
