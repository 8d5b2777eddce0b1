package oci

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/sigstore/sigstore/pkg/signature"
)

// VerifyFileSignature verifies the Sigstore bundle of a file or folder
// subject (PATH.sigstore.json beside a file, PATH/.gatehouse.sigstore.json
// in a folder) under the policy, with attest/blob. Like VerifySignatures,
// a missing or non-verifying bundle is not an error: Verified is false and
// the signature says why. An error means verification could not be done.
func VerifyFileSignature(ctx context.Context, path string, p *Policy) (*SignaturesEvidence, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o := blob.VerifyOptions{TrustedRoot: p.TrustedRoot, IgnoreSCT: p.IgnoreSCT}
	for _, k := range p.Keys {
		o.Keys = append(o.Keys, k.Verifier)
	}
	for _, id := range p.Identities {
		o.Identities = append(o.Identities, blob.Identity{Subject: id.Subject, SubjectRegexp: id.SubjectRegexp, Issuer: id.Issuer, IssuerRegexp: id.IssuerRegexp})
	}
	bundle, err := blob.BundlePath(path)
	if err != nil {
		return nil, fmt.Errorf("signature of %s: %w", path, err)
	}
	dg, err := blob.Digest(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("signature of %s: %w", path, err)
	}
	ev := &SignaturesEvidence{Schema: SignaturesSchema, Digest: dg, Signatures: []SignatureResult{}}
	res, err := blob.Verify(ctx, path, o)
	switch {
	case errors.Is(err, blob.ErrNoBundle):
		return ev, nil // unsigned
	case errors.Is(err, blob.ErrNotVerified):
		ev.Signatures = append(ev.Signatures, SignatureResult{Format: FormatBlobBundle, Location: bundle, Error: err.Error()})
		return ev, nil
	case err != nil:
		return nil, err
	}
	r := SignatureResult{Format: FormatBlobBundle, Verified: true, Identity: res.Identity, Issuer: res.Issuer, Tlog: res.Tlog, Location: res.Bundle}
	if res.Identity == "" && res.Key >= 0 && res.Key < len(p.Keys) {
		r.Key, r.Fingerprint = p.Keys[res.Key].Ref, p.Keys[res.Key].Fingerprint
	}
	if p.RequireTlog && !res.Tlog {
		r.Verified, r.Error = false, "require_tlog is set but the bundle carries no verified transparency-log entry"
	}
	if res.Digest != dg {
		// Changed between hashing and verifying: report what was verified.
		r.Verified, r.Error = false, fmt.Sprintf("%s changed while it was verified (digest %s, then %s)", path, dg, res.Digest)
	}
	ev.Verified = r.Verified
	ev.Signatures = append(ev.Signatures, r)
	return ev, nil
}

// attestFile signs the VSA of a passed decision about a file or folder and
// writes it beside the subject (blob.WriteVSA: PATH.vsa.json, or
// PATH/.gatehouse.vsa.json in a folder); it returns where.
func attestFile(ctx context.Context, d *gates.Decision, s signature.Signer, o attest.VSAOptions) (string, error) {
	cur, err := blob.Digest(ctx, d.Subject.Ref)
	if err != nil {
		return "", fmt.Errorf("VSA for %s: %w", d.Subject.Ref, err)
	}
	if cur != d.Subject.Digest {
		return "", fmt.Errorf("VSA for %s: it changed since the decision (digest %s, decided on %s): check it again", d.Subject.Ref, cur, d.Subject.Digest)
	}
	o.SubjectName = filepath.Base(filepath.Clean(d.Subject.Ref))
	o.Digest = d.Subject.Digest
	env, err := attest.SignVSA(ctx, s, o)
	if err != nil {
		return "", fmt.Errorf("VSA for %s: %w", d.Subject.Ref, err)
	}
	return blob.WriteVSA(d.Subject.Ref, env)
}
