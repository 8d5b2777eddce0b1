package audit

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// TestVerifyTamper changes a log behind gatehouse's back in each way an
// insider could and checks that Verify names the first bad entry or the
// checkpoint.
func TestVerifyTamper(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tamper     func(t *testing.T, b *backend, es []Entry)
		firstBad   int64 // 0: none named
		badCP      bool
		wantReason string
	}{
		{"untouched", func(*testing.T, *backend, []Entry) {}, 0, false, ""},
		{"stored field changed", func(t *testing.T, b *backend, es []Entry) {
			b.exec(t, `UPDATE audit_entries SET body = ? WHERE seq = 7`, []byte(strings.Replace(string(bodyOf(t, es[6])), `"environment":"prod"`, `"environment":"dev"`, 1)))
		}, 7, false, "entry 7 was changed"},
		{"field and its hash changed", func(t *testing.T, b *backend, es []Entry) {
			body := []byte(strings.Replace(string(bodyOf(t, es[6])), `"environment":"prod"`, `"environment":"dev"`, 1))
			b.exec(t, `UPDATE audit_entries SET body = ?, hash = ?, environment = 'dev' WHERE seq = 7`, body, hashBody(body))
		}, 7, false, "entry 7 was changed"},
		{"query column changed", func(t *testing.T, b *backend, es []Entry) {
			b.exec(t, `UPDATE audit_entries SET verdict = 'allowed' WHERE seq = 4`)
		}, 4, false, "entry 4's query columns differ"},
		{"row deleted", func(t *testing.T, b *backend, es []Entry) {
			b.exec(t, `DELETE FROM audit_entries WHERE seq = 5`)
		}, 5, true, "entry 5 is missing"},
		{"rows reordered", func(t *testing.T, b *backend, es []Entry) {
			b.exec(t, `UPDATE audit_entries SET seq = -1 WHERE seq = 4`)
			b.exec(t, `UPDATE audit_entries SET seq = 4 WHERE seq = 5`)
			b.exec(t, `UPDATE audit_entries SET seq = 5 WHERE seq = -1`)
		}, 4, false, "reordered"},
		{"truncated after a checkpoint", func(t *testing.T, b *backend, es []Entry) {
			b.exec(t, `DELETE FROM audit_entries WHERE seq > 15`)
			b.exec(t, `UPDATE audit_head SET size = 15, head = ? WHERE id = 1`, es[14].Hash)
		}, 16, true, "entries 16 to 20, covered by this checkpoint, were removed"},
		{"forged checkpoint", func(t *testing.T, b *backend, es []Entry) {
			b.exec(t, `INSERT INTO audit_checkpoints (size, head, ts, key_id, signature) VALUES (?, ?, ?, ?, ?)`, 20, es[19].Hash, int64(1e9), "k", []byte("forged"))
		}, 0, true, "signature does not verify"},
		{"chain rewritten from entry 3 on", func(t *testing.T, b *backend, es []Entry) {
			prev := es[1].Hash
			for _, e := range es[2:] {
				if e.Seq == 3 {
					e.Environment = "dev"
				}
				e.PrevHash = prev
				body, err := entryBody(&e)
				if err != nil {
					t.Fatal(err)
				}
				prev = hashBody(body)
				b.exec(t, `UPDATE audit_entries SET body = ?, hash = ? WHERE seq = ?`, body, prev, e.Seq)
			}
			b.exec(t, `UPDATE audit_entries SET environment = 'dev' WHERE seq = 3`)
			b.exec(t, `UPDATE audit_head SET head = ? WHERE id = 1`, prev)
		}, 0, true, "entries 1 to 10 were rewritten"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b *backend) {
				ctx := context.Background()
				s := b.open(t)
				sv, _ := newSigner(t)
				es := appendN(t, s, 10)
				if _, err := WriteCheckpoint(ctx, s, sv, "k"); err != nil {
					t.Fatal(err)
				}
				es = append(es, appendN(t, s, 10)...)
				if _, err := WriteCheckpoint(ctx, s, sv, "k"); err != nil {
					t.Fatal(err)
				}
				tc.tamper(t, b, es)
				r, err := Verify(ctx, s, []signature.Verifier{sv})
				if err != nil {
					t.Fatal(err)
				}
				if r.OK != (tc.wantReason == "") || !strings.Contains(r.Reason, tc.wantReason) {
					t.Errorf("Verify: ok %v reason %q, want reason containing %q", r.OK, r.Reason, tc.wantReason)
				}
				var fb int64
				if r.FirstBad != nil {
					fb = *r.FirstBad
				}
				if fb != tc.firstBad || (r.BadCheckpoint != nil) != tc.badCP {
					t.Errorf("Verify: first bad %d, bad checkpoint %+v; want %d, %v (reason %q)", fb, r.BadCheckpoint, tc.firstBad, tc.badCP, r.Reason)
				}
				if tc.wantReason == "" && r.Checkpoints != 2 {
					t.Errorf("Verify: %d checkpoints verified, want 2", r.Checkpoints)
				}
			})
		})
	}
}

func bodyOf(t *testing.T, e Entry) []byte {
	t.Helper()
	b, err := entryBody(&e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"environment":"prod"`)) {
		t.Fatalf("entry %d is not a prod entry: %s", e.Seq, b)
	}
	return b
}
