// Package blob signs and verifies files and folders (models, datasets) as
// Sigstore bundles, the format `cosign sign-blob --new-bundle-format
// --bundle` writes (bundle v0.3 JSON,
// application/vnd.dev.sigstore.bundle.v0.3+json).
//
// What is signed:
//
//   - A file, with an ECDSA or RSA key: a message signature over the
//     file's SHA-256 (messageSignature.messageDigest), exactly as cosign
//     sign-blob writes it; `cosign verify-blob --new-bundle-format` accepts
//     it.
//   - A file, with an Ed25519 key: Ed25519 signs whole messages, not
//     digests, so the file is described by an in-toto statement (subject:
//     the file name and its sha256, predicate type
//     https://sigstore.dev/cosign/sign/v1) in a DSSE envelope.
//   - A folder: an in-toto statement whose subjects are the folder's files
//     (sorted relative paths, sha256 digests; predicate type
//     FolderPredicateType) in a DSSE envelope. Symlinks and special files
//     are refused when signing and verifying.
//
// Key-based bundles carry verificationMaterial.publicKey.hint (base64
// SHA-256 of the PKIX key, as cosign writes it) and no transparency log
// entry. Keyless bundles (Fulcio certificate, Rekor entry) are verified
// offline against a trusted_root.json: chain, identity, issuer,
// certificate validity at the log's integrated time, log inclusion.
//
// Where bundles go: a file's bundle is PATH.sigstore.json; a folder's is
// PATH/.gatehouse.sigstore.json, left out of the folder's manifest. A VSA
// is written beside the subject by WriteVSA (see VSAPath).
package blob

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/attest"
	"github.com/gatehouse-dev/gatehouse/attest/digest"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// Names and types of what this package writes.
const (
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// BundleSuffix is appended to a file's path for its bundle.
	BundleSuffix = ".sigstore.json"
	// FolderBundleName is a folder's bundle, inside the folder.
	FolderBundleName = ".gatehouse.sigstore.json"
	// VSASuffix is appended to a file's path for its VSA.
	VSASuffix = ".vsa.json"
	// FolderVSAName is a folder's VSA, inside the folder.
	FolderVSAName = ".gatehouse.vsa.json"
	// FolderPredicateType is the predicate of a folder manifest statement.
	FolderPredicateType = "https://gatehouse.dev/attestations/folder-manifest/v1"
	// SignPredicateType is the predicate of a file's signature statement
	// (Ed25519 keys), the type cosign uses for signatures as statements.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
)

// MaxBundleBytes bounds a bundle file: a folder manifest of
// attest.DefaultLimits.MaxSubjects files fits.
const MaxBundleBytes = 96 << 20

// ExcludedNames are the root-level files of a folder that its manifest
// leaves out: its own bundle and VSA.
var ExcludedNames = []string{FolderBundleName, FolderVSAName}

// FolderPredicate is the predicate of a folder manifest statement.
type FolderPredicate struct {
	Schema string `json:"schema"` // "folder-manifest/v1"
	// Files and Size count the subjects and their bytes.
	Files int   `json:"files"`
	Size  int64 `json:"size"`
	// TreeDigest is digest.Manifest.Digest: the folder subject's digest.
	TreeDigest string `json:"tree_digest"`
	// Excluded are the root-level names left out of the manifest.
	Excluded []string `json:"excluded"`
}

// BundlePath is where the bundle of path goes by default.
func BundlePath(path string) (string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return filepath.Join(path, FolderBundleName), nil
	}
	return path + BundleSuffix, nil
}

// Digest is the digest of a file or folder subject, "sha256:<hex>": the
// file's plain SHA-256, or the folder's tree digest (digest.Manifest) with
// ExcludedNames left out. VSAs of file subjects are about this digest.
func Digest(ctx context.Context, path string) (string, error) {
	return digest.Path(ctx, path, ExcludedNames...)
}

// SignOptions configure Sign.
type SignOptions struct {
	Signer signature.Signer
	// BundlePath overrides BundlePath(path).
	BundlePath string
}

// Sign signs the file or folder at path and writes its bundle; it returns
// the bundle's path.
func Sign(ctx context.Context, path string, o SignOptions) (string, error) {
	if o.Signer == nil {
		return "", fmt.Errorf("sign %s: %w: no signing key", path, attest.ErrNoTrust)
	}
	st, err := os.Lstat(path)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	var b []byte
	switch {
	case st.IsDir():
		b, err = SignFolder(ctx, o.Signer, path)
	case st.Mode().IsRegular():
		b, err = SignFile(ctx, o.Signer, path)
	default:
		return "", fmt.Errorf("sign %s: %w: only regular files and folders are signed", path, digest.ErrSpecialFile)
	}
	if err != nil {
		return "", err
	}
	out := o.BundlePath
	if out == "" {
		if out, err = BundlePath(path); err != nil {
			return "", err
		}
	}
	if err := atomicfile.WriteBytes(out, b); err != nil {
		return "", fmt.Errorf("write bundle: %w", err)
	}
	return out, nil
}

// SignFile signs one file into a bundle (JSON).
func SignFile(ctx context.Context, s signature.Signer, path string) ([]byte, error) {
	d, _, err := digest.File(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	raw, _ := hex.DecodeString(strings.TrimPrefix(d, "sha256:"))
	pub, err := s.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("sign %s: public key: %w", path, err)
	}
	if _, ok := pub.(ed25519.PublicKey); ok {
		st, err := attest.NewStatement(SignPredicateType, map[string]any{}, attest.Subject{Name: filepath.Base(path), Digest: map[string]string{"sha256": hex.EncodeToString(raw)}})
		if err != nil {
			return nil, err
		}
		return dsseBundle(ctx, s, st)
	}
	sig, err := s.SignMessage(strings.NewReader(""), options.WithDigest(raw), options.WithCryptoSignerOpts(crypto.SHA256), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", path, err)
	}
	pb, err := keyBundle(s)
	if err != nil {
		return nil, err
	}
	pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: raw},
		Signature:     sig,
	}}
	return protojson.Marshal(pb)
}

// FolderStatement is the in-toto statement of a folder's manifest.
func FolderStatement(ctx context.Context, dir string) (*attest.Statement, *digest.Manifest, error) {
	m, err := digest.Tree(ctx, dir, digest.TreeOptions{Exclude: ExcludedNames, MaxFiles: attest.DefaultLimits.MaxSubjects})
	if err != nil {
		return nil, nil, err
	}
	if len(m.Files) == 0 {
		return nil, nil, fmt.Errorf("folder %s has no files to sign", dir)
	}
	subjects := make([]attest.Subject, len(m.Files))
	for i, f := range m.Files {
		subjects[i] = attest.Subject{Name: f.Path, Digest: map[string]string{"sha256": f.SHA256}}
	}
	st, err := attest.NewStatement(FolderPredicateType, FolderPredicate{
		Schema: "folder-manifest/v1", Files: len(m.Files), Size: m.Size(), TreeDigest: m.Digest(), Excluded: ExcludedNames,
	}, subjects...)
	return st, m, err
}

// SignFolder signs a folder's manifest into a bundle (JSON).
func SignFolder(ctx context.Context, s signature.Signer, dir string) ([]byte, error) {
	st, _, err := FolderStatement(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return dsseBundle(ctx, s, st)
}

func dsseBundle(ctx context.Context, s signature.Signer, st *attest.Statement) ([]byte, error) {
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	env, err := attest.SignEnvelope(ctx, s, attest.PayloadTypeInToto, payload)
	if err != nil {
		return nil, err
	}
	pb, err := keyBundle(s)
	if err != nil {
		return nil, err
	}
	pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
		Payload: env.Payload, PayloadType: env.PayloadType,
		Signatures: []*protodsse.Signature{{Sig: env.Signatures[0].Sig}},
	}}
	return protojson.Marshal(pb)
}

// keyBundle is the skeleton of a key-based bundle: the public key's hint
// (base64 SHA-256 of its PKIX form, as cosign writes it), no log entries.
func keyBundle(s signature.Signer) (*protobundle.Bundle, error) {
	pub, err := s.PublicKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(der)
	return &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(h[:])}},
		},
	}, nil
}

// readLimited reads a regular file of at most max bytes, opened without
// blocking (a FIFO given as a bundle or trusted root is refused, not
// waited on).
func readLimited(path string, max int64) ([]byte, error) {
	return readlimit.File(path, max)
}

var errNoContent = errors.New("the bundle holds neither a message signature nor a DSSE envelope")
