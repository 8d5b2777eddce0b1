package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/attest/blob"
	"github.com/gatehouse-dev/gatehouse/attest/digest"
	"github.com/gatehouse-dev/gatehouse/gates"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestResolveFiles: files get their plain SHA-256, folders their tree
// digest (sha256sum-format manifest of their files) without the bundle
// stored inside; what cannot be hashed is an error naming the path.
func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(model, []byte("weights"), 0o600); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "dataset")
	if err := os.MkdirAll(filepath.Join(folder, "part"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"a.csv": "x,y\n1,2\n", "part/b.jsonl": "{}\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(folder, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	treeDigest := "sha256:" + sha256Hex([]byte(sha256Hex([]byte(files["a.csv"]))+"  a.csv\n"+sha256Hex([]byte(files["part/b.jsonl"]))+"  part/b.jsonl\n"))
	linked := filepath.Join(dir, "linked")
	if err := os.MkdirAll(linked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(model, filepath.Join(linked, "model")); err != nil {
		t.Fatal(err)
	}

	r := &Resolver{Client: New(Options{})}
	tests := []struct {
		name    string
		subj    gates.Subject
		setup   func()
		want    string
		wantErr string
		is      error
	}{
		{name: "file", subj: gates.Subject{Kind: gates.KindModel, Ref: model}, want: "sha256:" + sha256Hex([]byte("weights"))},
		{name: "folder", subj: gates.Subject{Kind: gates.KindDataset, Ref: folder}, want: treeDigest},
		{name: "folder with its bundle inside", subj: gates.Subject{Kind: gates.KindDataset, Ref: folder}, want: treeDigest, setup: func() {
			if err := os.WriteFile(filepath.Join(folder, blob.FolderBundleName), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "digest already known", subj: gates.Subject{Kind: gates.KindModel, Ref: model, Digest: "sha256:" + strings.Repeat("0", 64)}, want: "sha256:" + strings.Repeat("0", 64)},
		{name: "missing", subj: gates.Subject{Kind: gates.KindModel, Ref: filepath.Join(dir, "nope")}, wantErr: "nope", is: os.ErrNotExist},
		{name: "folder with a symlink", subj: gates.Subject{Kind: gates.KindModel, Ref: linked}, wantErr: "model", is: digest.ErrSpecialFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			s := tc.subj
			err := r.Resolve(context.Background(), &s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, tc.is) {
					t.Fatalf("want error with %q (is %v), got %v (digest %s)", tc.wantErr, tc.is, err, s.Digest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Digest != tc.want {
				t.Errorf("digest %s, want %s", s.Digest, tc.want)
			}
		})
	}
}
