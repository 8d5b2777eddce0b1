package oci

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
)

// VSAPredicateType is SLSA's Verification Summary Attestation v1.
const VSAPredicateType = "https://slsa.dev/verification_summary/v1"

// VerifierID names gatehouse as the VSA's verifier.
const VerifierID = "https://github.com/gatehouse-dev/gatehouse"

// VSA is the predicate of a SLSA verification summary.
type VSA struct {
	Verifier struct {
		ID string `json:"id"`
	} `json:"verifier"`
	TimeVerified time.Time `json:"timeVerified"`
	ResourceURI  string    `json:"resourceUri"`
	Policy       struct {
		URI    string            `json:"uri,omitempty"`
		Digest map[string]string `json:"digest,omitempty"`
	} `json:"policy"`
	VerificationResult string   `json:"verificationResult"`
	VerifiedLevels     []string `json:"verifiedLevels"`
}

// NewVSA builds the summary of a passed decision about digest d.
// policyDigest is "sha256:<hex>" of the policy bundle; environment names
// the level verified (GATEHOUSE_<ENV>).
func NewVSA(d name.Digest, policyDigest, environment string, at time.Time) VSA {
	var v VSA
	v.Verifier.ID = VerifierID
	v.TimeVerified = at.UTC().Truncate(time.Second)
	v.ResourceURI = d.String()
	if alg, hex, ok := strings.Cut(policyDigest, ":"); ok {
		v.Policy.Digest = map[string]string{alg: hex}
	}
	v.VerificationResult = "PASSED"
	v.VerifiedLevels = []string{"GATEHOUSE_" + strings.ToUpper(environment)}
	return v
}

// SignVSA signs v about d into a DSSE envelope (an in-toto v1 statement).
// It is the registry side's own signer, the same DSSE that cosign writes.
func SignVSA(d name.Digest, v VSA, s signature.Signer) ([]byte, error) {
	h, err := hashOf(d)
	if err != nil {
		return nil, err
	}
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": h.Hex}}},
		"predicateType": VSAPredicateType,
		"predicate":     v,
	}
	stmt, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	env, err := sigdsse.WrapSigner(s, "application/vnd.in-toto+json").SignMessage(bytes.NewReader(stmt))
	if err != nil {
		return nil, fmt.Errorf("sign VSA for %s: %w", d, err)
	}
	return env, nil
}

// LoadSigner reads a private key: PEM PKCS#8/EC/PKCS#1 (unencrypted) or a
// cosign-encrypted key, whose password is read from COSIGN_PASSWORD.
func LoadSigner(path string) (signature.SignerVerifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if bytes.Contains(data, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) || bytes.Contains(data, []byte("ENCRYPTED COSIGN PRIVATE KEY")) {
		sv, err := cosign.LoadPrivateKey(data, []byte(os.Getenv("COSIGN_PASSWORD")), nil)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w (set COSIGN_PASSWORD)", path, err)
		}
		return sv, nil
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.SkipPassword)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: not a PEM private key: %w", path, err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return sv, nil
}

// AttachVSA signs a VSA for d and attaches it as a cosign attestation.
func (c *Client) AttachVSA(ctx context.Context, d name.Digest, v VSA, s signature.Signer) (string, error) {
	env, err := SignVSA(d, v, s)
	if err != nil {
		return "", err
	}
	return c.AttachAttestation(ctx, d, env, VSAPredicateType)
}

// VSAPolicy is what an admission check asks of an image's VSA.
type VSAPolicy struct {
	// Policy holds the keys (or identities) that may sign VSAs.
	Policy *Policy
	// Level, when set, must be among verifiedLevels (e.g. GATEHOUSE_PROD).
	Level string
	// MaxAge, when set, rejects VSAs verified longer ago than this.
	MaxAge time.Duration
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// ErrNoValidVSA is returned (wrapped) when no VSA of the image verifies.
var ErrNoValidVSA = errors.New("no valid gatehouse VSA")

// VerifiedVSA is a VSA that verified, with where it was found.
type VerifiedVSA struct {
	Digest   string `json:"digest"`
	Format   string `json:"format"`
	Location string `json:"location"`
	Key      string `json:"key,omitempty"`
	Identity string `json:"identity,omitempty"`
	VSA      VSA    `json:"vsa"`
}

// VerifyImageVSA fetches the VSAs of ref (both formats), verifies their
// signatures under p.Policy and checks that one PASSED for the image's
// digest (and level and age, when asked). To check the image's signatures
// too, call VerifyImage: it fetches what both need at once.
func (c *Client) VerifyImageVSA(ctx context.Context, ref string, p VSAPolicy) (*VerifiedVSA, error) {
	res, err := c.VerifyImage(ctx, ref, ImagePolicy{VSA: &p})
	if err != nil {
		return nil, err
	}
	return res.VSA, nil
}

// checkVSAs returns the first VSA among atts that verified and passes p.
func checkVSAs(d name.Digest, atts []Attestation, p VSAPolicy) (*VerifiedVSA, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	var reasons []string
	for _, a := range atts {
		if !a.Verified {
			reasons = append(reasons, fmt.Sprintf("%s: %s", a.Location, a.Error))
			continue
		}
		v, err := parseVSA(a.Statement)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", a.Location, err))
			continue
		}
		if err := v.check(d, p, now()); err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", a.Location, err))
			continue
		}
		return &VerifiedVSA{Digest: d.DigestStr(), Format: a.Format, Location: a.Location, Key: a.Key, Identity: a.Identity, VSA: *v}, nil
	}
	if len(reasons) == 0 {
		return nil, fmt.Errorf("%s: %w: the image has no VSA attestation (run gatehouse check --attest)", d, ErrNoValidVSA)
	}
	return nil, fmt.Errorf("%s: %w: %s", d, ErrNoValidVSA, strings.Join(reasons, "; "))
}

func parseVSA(stmt []byte) (*VSA, error) {
	st, err := ParseStatement(stmt)
	if err != nil {
		return nil, err
	}
	if st.PredicateType != VSAPredicateType {
		return nil, fmt.Errorf("predicateType %q is not a VSA", st.PredicateType)
	}
	var v VSA
	if err := json.Unmarshal(st.Predicate, &v); err != nil {
		return nil, fmt.Errorf("VSA predicate: %w", err)
	}
	return &v, nil
}

func (v *VSA) check(d name.Digest, p VSAPolicy, now time.Time) error {
	if v.VerificationResult != "PASSED" {
		return fmt.Errorf("VSA verificationResult is %q, not PASSED", v.VerificationResult)
	}
	if v.Verifier.ID != VerifierID {
		return fmt.Errorf("VSA verifier %q is not gatehouse", v.Verifier.ID)
	}
	if !strings.HasSuffix(v.ResourceURI, "@"+d.DigestStr()) {
		return fmt.Errorf("VSA resourceUri %q is not about %s", v.ResourceURI, d.DigestStr())
	}
	if p.Level != "" {
		found := false
		for _, l := range v.VerifiedLevels {
			found = found || l == p.Level
		}
		if !found {
			return fmt.Errorf("VSA levels %v do not include %s", v.VerifiedLevels, p.Level)
		}
	}
	if p.MaxAge > 0 && now.Sub(v.TimeVerified) > p.MaxAge {
		return fmt.Errorf("VSA verified at %s is older than %s", v.TimeVerified.Format(time.RFC3339), p.MaxAge)
	}
	return nil
}
