package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
)

func TestRecorderExportVerifyBundle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.open(t)
		sv, pub := newSigner(t)
		rec := NewRecorder(s, RecorderOptions{Signer: sv, KeyID: "k", Every: 5, Interval: time.Hour})
		for i := 0; i < 12; i++ {
			if err := rec.Record(ctx, sampleDecision(i)); err != nil {
				t.Fatal(err)
			}
		}
		cps, err := s.Checkpoints(ctx)
		if err != nil || len(cps) != 2 || cps[0].Size != 5 || cps[1].Size != 10 {
			t.Fatalf("checkpoints after 12 records every 5: %+v %v", cps, err)
		}
		r, err := Verify(ctx, s, []signature.Verifier{sv})
		if err != nil || !r.OK || r.Checkpoints != 2 || r.Entries != 12 {
			t.Fatalf("Verify = %+v %v", r, err)
		}
		var buf bytes.Buffer
		if err := Export(ctx, s, &buf, pub); err != nil {
			t.Fatal(err)
		}
		r, err = VerifyBundle(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil || !r.OK || r.Entries != 12 || r.Checkpoints != 2 {
			t.Fatalf("VerifyBundle = %+v %v", r, err)
		}
		// An edited line in the bundle is named.
		bad := rewriteMember(t, buf.Bytes(), BundleEntries, func(s string) string {
			lines := strings.Split(s, "\n")
			if !strings.Contains(lines[2], `"environment":"prod"`) {
				t.Fatalf("entry 3 is not a prod entry: %s", lines[2])
			}
			lines[2] = strings.Replace(lines[2], `"environment":"prod"`, `"environment":"dev"`, 1)
			return strings.Join(lines, "\n")
		})
		r, err = VerifyBundle(ctx, bytes.NewReader(bad), int64(len(bad)))
		if err != nil || r.OK || r.FirstBad == nil || *r.FirstBad != 3 {
			t.Fatalf("VerifyBundle of an edited entry 3 = %+v %v", r, err)
		}
		// Another key's bundle does not verify the checkpoints.
		_, otherPub := newSigner(t)
		bad = rewriteMember(t, buf.Bytes(), BundlePublicKey, func(string) string { return string(otherPub) })
		r, err = VerifyBundle(ctx, bytes.NewReader(bad), int64(len(bad)))
		if err != nil || r.OK || r.BadCheckpoint == nil {
			t.Fatalf("VerifyBundle with another key = %+v %v", r, err)
		}
		for _, junk := range [][]byte{nil, []byte("not a zip"), rewriteMember(t, buf.Bytes(), BundleCheckpoints, func(string) string { return "{" })} {
			if _, err := VerifyBundle(ctx, bytes.NewReader(junk), int64(len(junk))); !errors.Is(err, ErrBundle) {
				t.Errorf("VerifyBundle(junk) error = %v, want ErrBundle", err)
			}
		}
	})
}

// rewriteMember returns the zip z with member name's text changed by f.
func rewriteMember(t testing.TB, z []byte, name string, f func(string) string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, m := range zr.File {
		b, err := readMember(m, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name == name {
			b = []byte(f(string(b)))
		}
		w, _ := zw.Create(m.Name)
		w.Write(b)
	}
	zw.Close()
	return out.Bytes()
}

func FuzzVerifyBundle(f *testing.F) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+f.TempDir()+"/a.db")
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	sv, pub := newSigner(f)
	appendN(f, s, 3)
	if _, err := WriteCheckpoint(ctx, s, sv, "k"); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Export(ctx, s, &buf, pub); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(rewriteMember(f, buf.Bytes(), BundleEntries, func(s string) string { return s + "{}\n" }))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, z []byte) {
		r, err := VerifyBundle(ctx, bytes.NewReader(z), int64(len(z)))
		if err == nil && r == nil {
			t.Fatal("no result and no error")
		}
		if err == nil && r.OK && r.Reason != "" {
			t.Fatalf("OK with a reason: %+v", r)
		}
	})
}
