package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
)

// VerifyResult is what Verify found. OK is true only when every entry
// chains to the one before, the head and every checkpoint agree with the
// entries, and every checkpoint's signature verifies. Otherwise FirstBad
// names the first entry that was changed, removed or reordered when one
// can be named, BadCheckpoint the first checkpoint that fails, and Reason
// says what is wrong in words.
type VerifyResult struct {
	OK          bool   `json:"ok"`
	Entries     int64  `json:"entries"`
	Head        string `json:"head"`
	Checkpoints int    `json:"checkpoints"` // checkpoints that verified
	// SignaturesChecked is false when Verify was given no keys: the
	// checkpoints' sizes and heads were checked, their signatures not.
	SignaturesChecked bool        `json:"signatures_checked"`
	LastCheckpoint    *Checkpoint `json:"last_checkpoint,omitempty"` // the newest that verified
	FirstBad          *int64      `json:"first_bad,omitempty"`
	BadCheckpoint     *Checkpoint `json:"bad_checkpoint,omitempty"`
	Reason            string      `json:"reason,omitempty"`
}

// Verify recomputes s's chain from the first entry, compares it with the
// stored head and checkpoints, and checks each checkpoint's signature with
// verifiers (any one verifying is enough). The error is for a store that
// could not be read; tampering is a result with OK false.
func Verify(ctx context.Context, s Store, verifiers []signature.Verifier) (*VerifyResult, error) {
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	// Checkpoints, then the head, then the entries up to it: the log may
	// grow meanwhile (a serving webhook), and every checkpoint was written
	// for a size the head had reached, so only a truncation makes a
	// checkpoint larger than the head read after it.
	size, head, err := s.Head(ctx)
	if err != nil {
		return nil, err
	}
	v := newChainCheck(cps)
	produce := func(emit func(rawRow) error) error {
		if size == 0 {
			return nil
		}
		if vr, ok := s.(interface {
			verifyRows(context.Context, int64, func(int64, string, []byte, *indexRow) error) error
		}); ok {
			return vr.verifyRows(ctx, size, func(seq int64, hash string, body []byte, cols *indexRow) error {
				return emit(rawRow{seq: seq, hash: hash, body: body, cols: *cols, hasCols: true})
			})
		}
		return rangeRawTo(ctx, s, size, func(seq int64, hash string, body []byte) error {
			return emit(rawRow{seq: seq, hash: hash, body: body})
		})
	}
	if err := digestInParallel(ctx, produce, v.add); err != nil {
		return nil, err
	}
	return v.finish(&size, head, verifiers), nil
}

// rawRow is one stored entry as Verify reads it; digest fills the rest.
type rawRow struct {
	seq     int64
	hash    string
	body    []byte
	cols    indexRow
	hasCols bool

	sum  string   // sha256 of body
	h    bodyHead // body's chain fields and columns
	herr error    // body does not decode
}

func (r *rawRow) digest() {
	r.sum = hashBody(r.body)
	r.herr = json.Unmarshal(r.body, &r.h)
}

// digestInParallel hashes and decodes rows on every core while the store
// is read, and hands them to consume in order: reading and decoding a
// million entries each take seconds, and overlap.
func digestInParallel(ctx context.Context, produce func(emit func(rawRow) error) error, consume func(*rawRow)) error {
	const batchSize = 512
	type batch struct {
		rows []rawRow
		done chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *batch, 2*runtime.GOMAXPROCS(0))
	order := make(chan *batch, cap(work)+runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				for i := range b.rows {
					b.rows[i].digest()
				}
				close(b.done)
			}
		}()
	}
	perr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(work)
		cur := &batch{done: make(chan struct{})}
		flush := func() error {
			if len(cur.rows) == 0 {
				return nil
			}
			select {
			case order <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			work <- cur
			cur = &batch{done: make(chan struct{})}
			return nil
		}
		err := produce(func(r rawRow) error {
			if cur.rows == nil {
				cur.rows = make([]rawRow, 0, batchSize)
			}
			cur.rows = append(cur.rows, r)
			if len(cur.rows) == batchSize {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		perr <- err
	}()
	for b := range order {
		<-b.done
		if ctx.Err() == nil {
			for i := range b.rows {
				consume(&b.rows[i])
			}
		}
	}
	wg.Wait()
	if err := <-perr; err != nil {
		return err
	}
	return ctx.Err()
}

// rangeRaw streams a store's entries as stored bytes: a SQL store hands
// over what it keeps; another Store's entries are re-encoded.
func rangeRaw(ctx context.Context, s Store, fn func(seq int64, hash string, body []byte) error) error {
	return rangeRawTo(ctx, s, 0, fn)
}

// rangeRawTo is rangeRaw up to entry to (0: the end).
func rangeRawTo(ctx context.Context, s Store, to int64, fn func(seq int64, hash string, body []byte) error) error {
	if to < 0 {
		return nil
	}
	if r, ok := s.(interface {
		rangeRaw(ctx context.Context, from, to int64, fn func(int64, string, []byte) error) error
	}); ok {
		return r.rangeRaw(ctx, 1, to, fn)
	}
	return s.Range(ctx, 1, to, func(e Entry) error {
		body, err := entryBody(&e)
		if err != nil {
			return err
		}
		return fn(e.Seq, e.Hash, body)
	})
}

// chainCheck verifies entries fed in order.
type chainCheck struct {
	cps    []Checkpoint
	want   map[int64]bool   // sizes checkpoints name
	hashes map[int64]string // hash of the entry at each such size
	n      int64            // entries seen
	prev   string           // hash of the last entry seen
	r      VerifyResult
}

func newChainCheck(cps []Checkpoint) *chainCheck {
	v := &chainCheck{cps: cps, want: map[int64]bool{}, hashes: map[int64]string{}}
	for _, c := range cps {
		v.want[c.Size] = true
	}
	return v
}

func (v *chainCheck) bad(seq int64, format string, args ...any) {
	if v.r.Reason != "" {
		return // the first problem is the one to name
	}
	v.r.FirstBad = &seq
	v.r.Reason = fmt.Sprintf(format, args...)
}

// bodyHead is the part of an entry body the chain check reads: its place
// in the chain and the fields the stores copy into query columns.
type bodyHead struct {
	Seq      int64     `json:"seq"`
	PrevHash string    `json:"prev_hash"`
	Time     time.Time `json:"time"`
	Door     string    `json:"door"`
	Subject  struct {
		Kind   string `json:"kind"`
		Ref    string `json:"ref"`
		Name   string `json:"name"`
		Digest string `json:"digest"`
	} `json:"subject"`
	Environment  string `json:"environment"`
	Namespace    string `json:"namespace"`
	Verdict      string `json:"verdict"`
	PolicyDigest string `json:"policy_digest"`
}

// columns are the query columns a body's fields give.
func (h *bodyHead) columns() indexRow {
	return indexRow{h.Time.UnixNano(), h.Door, h.Subject.Kind, h.Subject.Ref, h.Subject.Name, h.Subject.Digest,
		h.Environment, h.Namespace, h.Verdict, h.PolicyDigest}
}

// add checks the entry stored at r.seq (its position) with its stated
// hash and body, and its query columns when it has them.
func (v *chainCheck) add(r *rawRow) {
	if r.sum == "" {
		r.digest()
	}
	seq := r.seq
	want := v.n + 1
	if seq != want && v.r.Reason == "" {
		if seq > want {
			v.bad(want, "entry %d is missing (the next stored entry is %d): entries were removed", want, seq)
		} else {
			v.bad(seq, "entry %d appears twice or out of order", seq)
		}
	}
	v.n++
	if r.sum != r.hash {
		v.bad(seq, "entry %d was changed: its content does not match its hash", seq)
	}
	h := &r.h
	if r.herr != nil {
		v.bad(seq, "entry %d does not decode: %v", seq, r.herr)
	} else {
		switch {
		case h.Seq != seq:
			v.bad(seq, "entry %d holds the entry numbered %d: entries were reordered or moved", seq, h.Seq)
		case h.PrevHash != v.prev && seq > 1:
			// This entry's own hash holds, so what it committed to is
			// what it was appended after: the entry before it changed.
			v.bad(seq-1, "entry %d was changed: its hash is not the one entry %d committed to", seq-1, seq)
		case h.PrevHash != "" && seq == 1:
			v.bad(1, "entry 1 names a previous entry: the log's beginning was removed")
		case r.hasCols && r.cols != h.columns():
			v.bad(seq, "entry %d's query columns differ from its content: the index was changed (queries would misreport it)", seq)
		}
	}
	v.prev = r.hash
	if v.want[seq] {
		v.hashes[seq] = r.hash
	}
}

// finish compares the chain with the stored head (when there is one) and
// the checkpoints, and returns the result.
func (v *chainCheck) finish(headSize *int64, head string, verifiers []signature.Verifier) *VerifyResult {
	r := &v.r
	r.Entries, r.Head = v.n, v.prev
	r.SignaturesChecked = len(verifiers) > 0
	if headSize != nil {
		switch {
		case *headSize > v.n:
			v.bad(v.n+1, "the log ends at entry %d but its head says %d entries: entries from %d on were removed", v.n, *headSize, v.n+1)
		case head != v.prev:
			v.bad(v.n, "entry %d's hash is not the log's head: it was changed", v.n)
		}
	}
	var prevGood int64
	for i := range v.cps {
		c := v.cps[i]
		if r.BadCheckpoint != nil {
			break
		}
		fail := func(format string, args ...any) {
			r.BadCheckpoint = &c
			if r.Reason == "" {
				r.Reason = fmt.Sprintf("checkpoint at size %d (%s): ", c.Size, c.Time.Format("2006-01-02T15:04:05Z")) + fmt.Sprintf(format, args...)
			}
		}
		if len(verifiers) > 0 && !verifyAny(verifiers, c) {
			fail("its signature does not verify with any trusted key: it is forged or signed by another key")
			continue
		}
		switch {
		case c.Size > v.n:
			fail("the log has only %d entries: entries %d to %d, covered by this checkpoint, were removed", v.n, v.n+1, c.Size)
			if r.FirstBad == nil {
				first := v.n + 1
				r.FirstBad = &first
			}
		case c.Size > 0 && v.hashes[c.Size] != c.Head:
			fail("entry %d's hash differs from the signed head: entries %d to %d were rewritten", c.Size, prevGood+1, c.Size)
		case c.Size == 0 && c.Head != "":
			fail("an empty log's checkpoint names a head")
		default:
			r.Checkpoints++
			r.LastCheckpoint = &c
			prevGood = c.Size
		}
	}
	r.OK = r.Reason == ""
	return r
}

func verifyAny(vs []signature.Verifier, c Checkpoint) bool {
	msg := c.SignedMessage()
	for _, v := range vs {
		if v.VerifySignature(bytes.NewReader(c.Signature), bytes.NewReader(msg)) == nil {
			return true
		}
	}
	return false
}
