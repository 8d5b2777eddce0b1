package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/sigstore/sigstore/pkg/signature"
)

// RecorderOptions configure a Recorder's checkpoints: with a Signer, a
// signed checkpoint of the log's size and head is written after every
// Every entries this recorder appends and when Interval has passed since
// its last one (checked at each Record). Without a Signer there are none.
type RecorderOptions struct {
	Signer   signature.Signer
	KeyID    string
	Every    int
	Interval time.Duration
}

// Recorder is the gates.Recorder that appends each decision to a Store.
type Recorder struct {
	s Store
	o RecorderOptions

	mu    sync.Mutex
	since int
	last  time.Time
}

var _ gates.Recorder = (*Recorder)(nil)

// NewRecorder records into s.
func NewRecorder(s Store, o RecorderOptions) *Recorder {
	return &Recorder{s: s, o: o, last: time.Now()}
}

// Record appends the decision's entry; it returns only when the entry is
// durable. A checkpoint that fails to be written is logged, not returned:
// the decision itself is recorded, and the next checkpoint covers it.
func (r *Recorder) Record(ctx context.Context, d *gates.Decision) error {
	if d == nil {
		return errors.New("audit record: no decision")
	}
	if _, err := r.s.Append(ctx, NewEntry(ctx, d)); err != nil {
		return err
	}
	if r.o.Signer == nil {
		return nil
	}
	r.mu.Lock()
	r.since++
	due := (r.o.Every > 0 && r.since >= r.o.Every) || (r.o.Interval > 0 && time.Since(r.last) >= r.o.Interval)
	if due {
		r.since, r.last = 0, time.Now()
	}
	r.mu.Unlock()
	if due {
		if _, err := r.Checkpoint(ctx); err != nil {
			slog.WarnContext(ctx, "audit checkpoint not written", "error", err.Error())
		}
	}
	return nil
}

// Checkpoint signs the log's current size and head and stores the
// checkpoint (also at shutdown, so the last entries are covered).
func (r *Recorder) Checkpoint(ctx context.Context) (Checkpoint, error) {
	if r.o.Signer == nil {
		return Checkpoint{}, errors.New("audit checkpoint: no signing key configured")
	}
	return WriteCheckpoint(ctx, r.s, r.o.Signer, r.o.KeyID)
}

// WriteCheckpoint signs s's current size and head with signer and stores
// the checkpoint.
func WriteCheckpoint(ctx context.Context, s Store, signer signature.Signer, keyID string) (Checkpoint, error) {
	size, head, err := s.Head(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	c := Checkpoint{Size: size, Head: head, Time: time.Now().UTC().Truncate(time.Second), KeyID: keyID}
	c.Signature, err = signer.SignMessage(bytes.NewReader(c.SignedMessage()))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit checkpoint: sign: %w", err)
	}
	if err := s.PutCheckpoint(ctx, c); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}
