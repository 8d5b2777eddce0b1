package audit

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Names inside an export bundle.
const (
	BundleEntries     = "entries.jsonl"    // one canonical JSON entry (with "hash") per line, in seq order
	BundleCheckpoints = "checkpoints.json" // the signed checkpoints, a JSON array
	BundlePublicKey   = "public.pem"       // the key that signed them (PEM, PKIX)
)

// Bundle limits for VerifyBundle: a bundle comes from outside.
const (
	maxBundleFiles       = 16
	maxCheckpointsBytes  = 64 << 20
	maxPublicKeyBytes    = 64 << 10
	maxBundleEntriesSize = 64 << 30
)

// Export writes s as a zip bundle to w: its entries, checkpoints and the
// public key pub (PEM) their signatures verify with, for an auditor to
// check offline with VerifyBundle.
func Export(ctx context.Context, s Store, w io.Writer, pub []byte) error {
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		return err
	}
	z := zip.NewWriter(w)
	f, err := z.Create(BundleEntries)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := rangeRaw(ctx, s, func(_ int64, hash string, body []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		bw.Write(entryLine(body, hash))
		return bw.WriteByte('\n')
	}); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if cps == nil {
		cps = []Checkpoint{}
	}
	cj, err := json.MarshalIndent(cps, "", "  ")
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if f, err = z.Create(BundleCheckpoints); err == nil {
		_, err = f.Write(cj)
	}
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if len(pub) > 0 {
		if f, err = z.Create(BundlePublicKey); err == nil {
			_, err = f.Write(pub)
		}
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}

// ErrBundle wraps errors about a bundle that cannot be checked (not a zip,
// a member missing or malformed): "could not verify", not "tampered".
var ErrBundle = errors.New("audit bundle")

// VerifyBundle checks an export bundle offline: the chain of its entries
// and its checkpoints, signed by the bundle's public key. The auditor must
// still compare that key's fingerprint with the one they trust.
func VerifyBundle(ctx context.Context, r io.ReaderAt, size int64) (*VerifyResult, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip file: %v", ErrBundle, err)
	}
	if len(z.File) > maxBundleFiles {
		return nil, fmt.Errorf("%w: %d files, at most %d expected", ErrBundle, len(z.File), maxBundleFiles)
	}
	files := map[string]*zip.File{}
	for _, f := range z.File {
		if files[f.Name] != nil {
			return nil, fmt.Errorf("%w: %s appears twice", ErrBundle, f.Name)
		}
		files[f.Name] = f
	}
	for _, name := range []string{BundleEntries, BundleCheckpoints, BundlePublicKey} {
		if files[name] == nil {
			return nil, fmt.Errorf("%w: no %s", ErrBundle, name)
		}
	}
	pemBytes, err := readMember(files[BundlePublicKey], maxPublicKeyBytes)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, BundlePublicKey, err)
	}
	verifier, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, BundlePublicKey, err)
	}
	cj, err := readMember(files[BundleCheckpoints], maxCheckpointsBytes)
	if err != nil {
		return nil, err
	}
	var cps []Checkpoint
	d := json.NewDecoder(bytes.NewReader(cj))
	d.DisallowUnknownFields()
	if err := d.Decode(&cps); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, BundleCheckpoints, err)
	}
	v := newChainCheck(cps)
	rc, err := files[BundleEntries].Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, BundleEntries, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(io.LimitReader(rc, maxBundleEntriesSize))
	sc.Buffer(make([]byte, 64<<10), MaxEntryBytes+1)
	for seq := int64(1); sc.Scan(); seq++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		body, hash, err := splitHash(sc.Bytes())
		if err != nil {
			// A line that is not an entry is tampering at that place.
			v.bad(seq, "entry %d is not a well-formed entry: %v", seq, err)
			v.add(&rawRow{seq: seq})
			continue
		}
		v.add(&rawRow{seq: seq, hash: hash, body: body})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, BundleEntries, err)
	}
	return v.finish(nil, "", []signature.Verifier{verifier}), nil
}

func readMember(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBundle, f.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrBundle, f.Name, limit)
	}
	return b, nil
}
