package blob

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/digest"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// Errors of Verify. ErrNotVerified means the bundle was read and the
// artifact does not verify (a finding: exit 1); any other error means
// verification could not be carried out (exit 2).
var (
	ErrNotVerified = errors.New("not verified")
	ErrNoBundle    = errors.New("no bundle")
	// ErrContentMismatch: the file or folder is not what was signed.
	ErrContentMismatch = errors.New("content does not match the signed digest")
	// ErrIdentity: a keyless signature by someone else, or not trusted.
	ErrIdentity = errors.New("certificate not trusted")
)

// Identity is a keyless signer: the certificate's SAN and OIDC issuer,
// each exact or as a regular expression.
type Identity struct {
	Subject       string
	SubjectRegexp string
	Issuer        string
	IssuerRegexp  string
}

// VerifyOptions configure Verify: Keys, or Identities with TrustedRoot.
type VerifyOptions struct {
	// BundlePath overrides BundlePath(path).
	BundlePath string
	// Keys that may have signed (any one suffices).
	Keys []signature.Verifier
	// Identities that may have signed keylessly (any one suffices), checked
	// against TrustedRoot's Fulcio CAs and transparency logs, offline.
	Identities  []Identity
	TrustedRoot root.TrustedMaterial
	// IgnoreSCT skips the certificate transparency check of keyless
	// certificates (private Fulcio without a CT log).
	IgnoreSCT bool
}

// Result describes a verified file or folder.
type Result struct {
	Path   string `json:"path"`
	Bundle string `json:"bundle"`
	Kind   string `json:"kind"` // "file" or "folder"
	// Digest is the file's sha256 or the folder's tree digest.
	Digest string `json:"digest"`
	Files  int    `json:"files"`
	// Key is the index in VerifyOptions.Keys of the key that verified.
	Key int `json:"key"`
	// Identity and Issuer of a keyless signer.
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	// Tlog says whether a transparency log entry was verified.
	Tlog bool `json:"tlog"`
}

// LoadTrustedRoot reads a trusted_root.json (Sigstore's trust root: Fulcio
// CAs, Rekor and CT log keys, timestamp authorities).
func LoadTrustedRoot(path string) (root.TrustedMaterial, error) {
	b, err := readLimited(path, 8<<20)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", path, err)
	}
	return tr, nil
}

// Verify checks the bundle of the file or folder at path: the signature
// (by one of o.Keys, or keylessly by one of o.Identities), then the
// content: the file's sha256, or every file of the folder against the
// signed manifest (changed, missing and added files are listed). Errors
// wrap ErrNotVerified when the artifact does not verify.
func Verify(ctx context.Context, path string, o VerifyOptions) (*Result, error) {
	if len(o.Keys) == 0 && len(o.Identities) == 0 {
		return nil, fmt.Errorf("verify %s: %w: give a public key or a certificate identity and issuer", path, attest.ErrNoTrust)
	}
	if len(o.Identities) > 0 && o.TrustedRoot == nil {
		return nil, fmt.Errorf("verify %s: keyless verification needs a trusted root (trusted_root.json)", path)
	}
	st, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	res := &Result{Path: path, Kind: "file", Bundle: o.BundlePath}
	switch {
	case st.IsDir():
		res.Kind = "folder"
	case st.Mode().IsRegular():
	default:
		return nil, fmt.Errorf("verify %s: %w", path, digest.ErrSpecialFile)
	}
	if res.Bundle == "" {
		res.Bundle, _ = BundlePath(path)
	}
	data, err := readLimited(res.Bundle, MaxBundleBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("verify %s: %w: %s does not exist (sign with gatehouse sign, or name the bundle with --bundle)", path, ErrNoBundle, res.Bundle)
	}
	if err != nil {
		return nil, fmt.Errorf("verify %s: read bundle: %w", path, err)
	}
	b, err := ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotVerified, res.Bundle, err)
	}
	if err := verifySignature(ctx, b, o, res); err != nil {
		return nil, fmt.Errorf("%s: %w", res.Bundle, err)
	}
	if err := checkContent(ctx, b, path, res); err != nil {
		return nil, err
	}
	return res, nil
}

// verifySignature verifies the bundle's signature and signer, not yet the
// artifact (checkContent does).
func verifySignature(ctx context.Context, b *sgbundle.Bundle, o VerifyOptions, res *Result) error {
	var artifact verify.ArtifactPolicyOption
	switch {
	case b.GetMessageSignature() != nil:
		md := b.GetMessageSignature().GetMessageDigest()
		if md.GetAlgorithm().String() != "SHA2_256" {
			return fmt.Errorf("%w: message digest algorithm %s is not supported (want SHA2_256)", ErrNotVerified, md.GetAlgorithm())
		}
		artifact = verify.WithArtifactDigest("sha256", md.GetDigest())
	case b.GetDsseEnvelope() != nil:
		artifact = verify.WithoutArtifactUnsafe()
	default:
		return fmt.Errorf("%w: %v", ErrNotVerified, errNoContent)
	}
	var reasons []string
	if b.VerificationMaterial.GetPublicKey() != nil {
		for i, k := range o.Keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			key := root.NewExpiringKey(k, time.Time{}, time.Time{})
			tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
			v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
			if err != nil {
				return err
			}
			if _, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithKey())); err != nil {
				reasons = append(reasons, fmt.Sprintf("key %d: %v", i+1, err))
				continue
			}
			res.Key = i
			return nil
		}
		if len(o.Keys) == 0 {
			return fmt.Errorf("%w: %w: the bundle is signed with a key, and no public key was given", ErrNotVerified, ErrIdentity)
		}
		return fmt.Errorf("%w: %w: the signature does not verify with the %d key(s) given: signed by another key, or the bundle was altered (%s)", ErrNotVerified, attest.ErrSignature, len(o.Keys), strings.Join(reasons, "; "))
	}
	if len(o.Identities) == 0 {
		return fmt.Errorf("%w: %w: the bundle is signed keylessly (certificate), and no certificate identity was given", ErrNotVerified, ErrIdentity)
	}
	vopts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
	if !o.IgnoreSCT {
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(o.TrustedRoot, vopts...)
	if err != nil {
		return fmt.Errorf("keyless verifier: %w", err)
	}
	for _, id := range o.Identities {
		ci, err := verify.NewShortCertificateIdentity(id.Issuer, id.IssuerRegexp, id.Subject, id.SubjectRegexp)
		if err != nil {
			return fmt.Errorf("certificate identity: %w", err)
		}
		r, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithCertificateIdentity(ci)))
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		if r.Signature != nil && r.Signature.Certificate != nil {
			res.Identity = r.Signature.Certificate.SubjectAlternativeName
			res.Issuer = r.Signature.Certificate.Issuer
		}
		res.Tlog = len(r.VerifiedTimestamps) > 0
		return nil
	}
	return fmt.Errorf("%w: %w: %s", ErrNotVerified, ErrIdentity, strings.Join(slices.Compact(reasons), "; "))
}

// checkContent compares the signed digest(s) with the artifact.
func checkContent(ctx context.Context, b *sgbundle.Bundle, path string, res *Result) error {
	if res.Kind == "file" {
		d, _, err := digest.File(ctx, path)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		res.Digest, res.Files = d, 1
		if ms := b.GetMessageSignature(); ms != nil {
			signed := hex.EncodeToString(ms.GetMessageDigest().GetDigest())
			if "sha256:"+signed != d {
				return fmt.Errorf("%w: %w: %s is %s, the bundle signed sha256:%s: the file changed after signing", ErrNotVerified, ErrContentMismatch, path, d, signed)
			}
			return nil
		}
		st, err := statementOf(b)
		if err != nil {
			return err
		}
		if st.PredicateType != SignPredicateType {
			return fmt.Errorf("%w: %s is a file and the bundle's statement is of type %q, not a signature (%s)", ErrNotVerified, path, st.PredicateType, SignPredicateType)
		}
		if _, err := st.MatchDigest(d); err != nil {
			return fmt.Errorf("%w: %w: %s: %v: the file changed after signing", ErrNotVerified, ErrContentMismatch, path, err)
		}
		return nil
	}
	if b.GetDsseEnvelope() == nil {
		return fmt.Errorf("%w: %s is a folder and the bundle holds a message signature (of a single file)", ErrNotVerified, path)
	}
	st, err := statementOf(b)
	if err != nil {
		return err
	}
	if st.PredicateType != FolderPredicateType {
		return fmt.Errorf("%w: %s is a folder and the bundle's statement is of type %q, not a folder manifest (%s)", ErrNotVerified, path, st.PredicateType, FolderPredicateType)
	}
	m, err := digest.Tree(ctx, path, digest.TreeOptions{Exclude: ExcludedNames, MaxFiles: attest.DefaultLimits.MaxSubjects})
	if err != nil {
		if errors.Is(err, digest.ErrSpecialFile) || errors.Is(err, digest.ErrTooManyFiles) {
			return fmt.Errorf("%w: %v", ErrNotVerified, err)
		}
		return fmt.Errorf("verify: %w", err)
	}
	res.Digest, res.Files = m.Digest(), len(m.Files)
	return compareManifest(path, st, m)
}

func statementOf(b *sgbundle.Bundle) (*attest.Statement, error) {
	env := b.GetDsseEnvelope()
	if env.GetPayloadType() != attest.PayloadTypeInToto {
		return nil, fmt.Errorf("%w: DSSE payloadType %q is not an in-toto statement", ErrNotVerified, env.GetPayloadType())
	}
	st, err := attest.ParseStatement(env.GetPayload())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotVerified, err)
	}
	return st, nil
}

// compareManifest lists what differs between the signed manifest and the
// folder: changed, missing and added files (the first few of each).
func compareManifest(dir string, st *attest.Statement, m *digest.Manifest) error {
	signed := make(map[string]string, len(st.Subject))
	for _, s := range st.Subject {
		if _, dup := signed[s.Name]; dup {
			return fmt.Errorf("%w: the manifest lists %q twice", ErrNotVerified, s.Name)
		}
		signed[s.Name] = s.Digest["sha256"]
	}
	var changed, added, missing []string
	for _, f := range m.Files {
		want, ok := signed[f.Path]
		switch {
		case !ok:
			added = append(added, f.Path)
		case want != f.SHA256:
			changed = append(changed, f.Path)
		}
		delete(signed, f.Path)
	}
	for name := range signed {
		missing = append(missing, name)
	}
	if len(changed)+len(added)+len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	var parts []string
	for _, c := range []struct {
		what  string
		files []string
	}{{"changed", changed}, {"missing", missing}, {"not signed (added)", added}} {
		if len(c.files) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s: %s", len(c.files), c.what, list(c.files)))
		}
	}
	return fmt.Errorf("%w: %w: folder %s differs from its signed manifest: %s", ErrNotVerified, ErrContentMismatch, dir, strings.Join(parts, "; "))
}

func list(files []string) string {
	const show = 5
	if len(files) <= show {
		return strings.Join(files, ", ")
	}
	return strings.Join(files[:show], ", ") + fmt.Sprintf(" and %d more", len(files)-show)
}

// VSAPath is where the VSA of a file or folder subject goes: PATH.vsa.json
// beside a file, PATH/.gatehouse.vsa.json inside a folder (left out of the
// folder's manifest and digest).
func VSAPath(path string) (string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return filepath.Join(path, FolderVSAName), nil
	}
	return path + VSASuffix, nil
}

// ErrNoVSA is wrapped when a subject has no VSA file.
var ErrNoVSA = errors.New("no VSA")

// WriteVSA writes a VSA (a DSSE envelope, as attest.SignVSA returns it)
// beside the file or folder at path, atomically; it returns where.
func WriteVSA(path string, envelope []byte) (string, error) {
	if _, err := attest.ParseEnvelopeLimits(envelope, attest.VSALimits); err != nil {
		return "", fmt.Errorf("write VSA for %s: %w", path, err)
	}
	out, err := VSAPath(path)
	if err != nil {
		return "", fmt.Errorf("write VSA: %w", err)
	}
	if err := atomicfile.WriteBytes(out, envelope); err != nil {
		return "", fmt.Errorf("write VSA: %w", err)
	}
	return out, nil
}

// ReadVSA reads the VSA of the file or folder at path: the DSSE envelope
// JSON, to pass to attest.VerifyVSA. A Sigstore bundle holding a DSSE
// envelope is also accepted (its envelope is returned).
func ReadVSA(path string) ([]byte, error) {
	p, err := VSAPath(path)
	if err != nil {
		return nil, fmt.Errorf("read VSA: %w", err)
	}
	data, err := readLimited(p, int64(attest.VSALimits.MaxBytes)*2)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist (gatehouse check --attest writes it)", ErrNoVSA, p)
	}
	if err != nil {
		return nil, fmt.Errorf("read VSA: %w", err)
	}
	if bytes.Contains(data, []byte(`"mediaType"`)) && bytes.Contains(data, []byte("application/vnd.dev.sigstore.bundle")) {
		b := &sgbundle.Bundle{}
		if err := b.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("read VSA %s: %w", p, err)
		}
		env := b.GetDsseEnvelope()
		if env == nil {
			return nil, fmt.Errorf("read VSA %s: the bundle holds no DSSE envelope", p)
		}
		e := &attest.Envelope{PayloadType: env.GetPayloadType(), Payload: env.GetPayload()}
		for _, s := range env.GetSignatures() {
			e.Signatures = append(e.Signatures, attest.Signature{KeyID: s.GetKeyid(), Sig: s.GetSig()})
		}
		return e.MarshalJSON()
	}
	return data, nil
}
