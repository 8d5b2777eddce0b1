package oci

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/gates"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

type staticSig = oci.Signature

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o600) }

func cryptoutilsSHA256(b []byte) ([]byte, int64, error) {
	h, n, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return nil, 0, err
	}
	raw, err := hex.DecodeString(h.Hex)
	return raw, n, err
}

func emptyImage() v1.Image { return empty.Image }

func newStaticSignature(payload, sig []byte) (oci.Signature, error) {
	return static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig))
}

func cmpDiff(a, b any) string { return cmp.Diff(a, b) }

// testGates are the gates testConfigDigest's environment requires.
var (
	testGates        = []string{"license", "model_scan", "signature"}
	testConfigDigest = "sha256:" + strings.Repeat("c0", 32)
)

// passedDecision is an attestable decision about subj in env under
// policyDigest: allowed, every required gate evaluated (testGates), with a
// configuration digest and one evidence document.
func passedDecision(subj gates.Subject, env, policyDigest string) *gates.Decision {
	return &gates.Decision{Subject: subj, Environment: env, Allowed: true, Gates: testGates, RequiredGates: testGates,
		PolicyDigest: policyDigest, ConfigDigest: testConfigDigest,
		EvidenceDigests: map[string]string{"signatures": "sha256:" + strings.Repeat("e1", 32)}}
}

// vsaPolicy accepts VSAs signed by p's keys under policyDigest, up to an hour old.
func vsaPolicy(p *Policy, policyDigest string) *attest.VSAPolicy {
	vp := &attest.VSAPolicy{AcceptedPolicyDigests: []string{policyDigest}, MaxAge: time.Hour}
	for _, k := range p.Keys {
		vp.Verifiers = append(vp.Verifiers, k.Verifier)
	}
	return vp
}
