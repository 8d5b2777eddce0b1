package oci

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Key is a trusted public key.
type Key struct {
	// Ref says where the key came from: a file path or "inline[N]".
	Ref string
	// Fingerprint is "sha256:<hex>" of the key's PKIX (DER) encoding.
	Fingerprint string
	Public      crypto.PublicKey
	Verifier    signature.Verifier
}

// Identity is a trusted keyless signer: the OIDC issuer and the certificate
// subject (e-mail or URI SAN), each matched exactly or by a regexp (RE2,
// anchored by the caller: write ^...$).
type Identity struct {
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegexp  string `json:"issuer_regexp,omitempty"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegexp string `json:"subject_regexp,omitempty"`
}

func (id Identity) cosign() cosign.Identity {
	return cosign.Identity{Issuer: id.Issuer, IssuerRegExp: id.IssuerRegexp, Subject: id.Subject, SubjectRegExp: id.SubjectRegexp}
}

func (id Identity) validate() error {
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return errors.New("needs issuer or issuer_regexp")
	}
	if id.Subject == "" && id.SubjectRegexp == "" {
		return errors.New("needs subject or subject_regexp")
	}
	for _, re := range []string{id.IssuerRegexp, id.SubjectRegexp} {
		if re != "" {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("regexp %q: %w", re, err)
			}
		}
	}
	return nil
}

// Policy is who may sign: keys, keyless identities, and the trust root
// that keyless signatures are checked against.
type Policy struct {
	Keys       []Key
	Identities []Identity
	// TrustedRoot holds the Fulcio CAs, Rekor logs (and CT logs, TSAs) that
	// keyless verification trusts; required when Identities are set.
	TrustedRoot root.TrustedMaterial
	// RequireTlog asks key-based signatures, too, to carry a transparency-log
	// inclusion promise (checked offline against TrustedRoot).
	RequireTlog bool
	// IgnoreSCT skips the certificate-transparency check of keyless
	// certificates (only for private CAs that do not log certificates).
	IgnoreSCT bool
}

// Empty reports whether the policy trusts no one.
func (p *Policy) Empty() bool { return p == nil || len(p.Keys) == 0 && len(p.Identities) == 0 }

// ErrNoTrust is returned when a policy names neither keys nor identities.
var ErrNoTrust = errors.New("no keys or identities are configured: set keys (PEM paths or inline) or identities (issuer, subject) in the gate's params")

// Validate checks that the policy can verify anything at all.
func (p *Policy) Validate() error {
	if p.Empty() {
		return ErrNoTrust
	}
	if len(p.Identities) > 0 && p.TrustedRoot == nil {
		return errors.New("keyless identities are configured but no trusted_root: set trusted_root to a Sigstore trusted_root.json")
	}
	if p.RequireTlog && p.TrustedRoot == nil {
		return errors.New("require_tlog is set but no trusted_root: set trusted_root to a Sigstore trusted_root.json")
	}
	return nil
}

// ParseKey reads one PEM public key (ECDSA P-256/P-384, Ed25519 or RSA >= 2048 bits).
func ParseKey(ref string, pemBytes []byte) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: not a PEM public key: %w", ref, err)
	}
	hash := crypto.SHA256
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
		case elliptic.P384():
			hash = crypto.SHA384
		default:
			return Key{}, fmt.Errorf("key %s: ECDSA curve %s is not supported (use P-256 or P-384)", ref, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return Key{}, fmt.Errorf("key %s: RSA key of %d bits is too small (need at least 2048)", ref, k.N.BitLen())
		}
	default:
		return Key{}, fmt.Errorf("key %s: key type %T is not supported (use ECDSA, Ed25519 or RSA)", ref, pub)
	}
	v, err := signature.LoadVerifier(pub, hash)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", ref, err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", ref, err)
	}
	sum := sha256.Sum256(der)
	return Key{Ref: ref, Fingerprint: "sha256:" + hex.EncodeToString(sum[:]), Public: pub, Verifier: v}, nil
}

// LoadKey reads a key given as a file path or as inline PEM text.
func LoadKey(ref string) (Key, error) {
	if strings.Contains(ref, "-----BEGIN") {
		return ParseKey("inline", []byte(ref))
	}
	data, err := attest.ReadKeyFile(ref)
	if err != nil {
		return Key{}, err
	}
	return ParseKey(ref, data)
}

// PolicyFromParams builds a Policy from a gate's parameters
// (data.gatehouse.config.<gate>):
//
//	keys:         [PEM file paths or inline PEM]
//	identities:   [{issuer|issuer_regexp, subject|subject_regexp}]
//	trusted_root: path to a Sigstore trusted_root.json (for identities)
//	require_tlog: bool (key signatures must carry a log inclusion promise)
//	ignore_sct:   bool
//
// path resolves relative file names (the configuration file's folder).
func PolicyFromParams(params map[string]any, path func(string) string) (*Policy, error) {
	if path == nil {
		path = func(s string) string { return s }
	}
	p := &Policy{}
	keys, err := stringList(params, "keys")
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		ref := k
		if !strings.Contains(k, "-----BEGIN") {
			ref = path(k)
		}
		key, err := LoadKey(ref)
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		if key.Ref == "inline" {
			key.Ref = fmt.Sprintf("inline[%d]", i)
		}
		p.Keys = append(p.Keys, key)
	}
	if raw, ok := params["identities"]; ok && raw != nil {
		list, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("identities: want a list of {issuer, subject} objects, got %T", raw)
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("identities[%d]: want an object with issuer and subject, got %T", i, item)
			}
			var id Identity
			for k, v := range m {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("identities[%d].%s: want a string, got %T", i, k, v)
				}
				switch k {
				case "issuer":
					id.Issuer = s
				case "issuer_regexp":
					id.IssuerRegexp = s
				case "subject":
					id.Subject = s
				case "subject_regexp":
					id.SubjectRegexp = s
				default:
					return nil, fmt.Errorf("identities[%d]: unknown field %q (want issuer, issuer_regexp, subject, subject_regexp)", i, k)
				}
			}
			if err := id.validate(); err != nil {
				return nil, fmt.Errorf("identities[%d]: %w", i, err)
			}
			p.Identities = append(p.Identities, id)
		}
	}
	if tr, ok := params["trusted_root"].(string); ok && tr != "" {
		trp := path(tr)
		root, err := blob.LoadTrustedRoot(trp)
		if err != nil {
			return nil, fmt.Errorf("trusted_root: %w", err)
		}
		p.TrustedRoot = root
	}
	if p.RequireTlog, err = boolParam(params, "require_tlog"); err != nil {
		return nil, err
	}
	if p.IgnoreSCT, err = boolParam(params, "ignore_sct"); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func stringList(params map[string]any, key string) ([]string, error) {
	raw, ok := params[key]
	if !ok || raw == nil {
		return nil, nil
	}
	switch v := raw.(type) {
	case string:
		return []string{v}, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%s[%d]: want a string, got %T", key, i, x)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: want a list of strings, got %T", key, raw)
}

func boolParam(params map[string]any, key string) (bool, error) {
	raw, ok := params[key]
	if !ok || raw == nil {
		return false, nil
	}
	b, ok := raw.(bool)
	if !ok {
		return false, fmt.Errorf("%s: want true or false, got %T", key, raw)
	}
	return b, nil
}
