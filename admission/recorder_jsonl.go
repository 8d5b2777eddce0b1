package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// JSONL sync policies: when a JSONLRecorder calls fsync.
const (
	// SyncAlways fsyncs before Record returns: a recorded decision survives
	// a power loss; each record costs a disk flush (milliseconds).
	SyncAlways = "always"
	// SyncInterval fsyncs at most every JSONLOptions.Interval from a
	// background goroutine, and on Close: a crash of the machine loses at
	// most that much; a crash of the process loses nothing (the lines are
	// already written to the kernel). The default.
	SyncInterval = "interval"
	// SyncNever leaves flushing to the kernel (and Close).
	SyncNever = "never"
)

// DefaultMaxLineBytes bounds one JSON line.
const DefaultMaxLineBytes = 256 << 10

// JSONLOptions configure a JSONLRecorder.
type JSONLOptions struct {
	Sync     string        // SyncAlways, SyncInterval (default) or SyncNever
	Interval time.Duration // for SyncInterval [1s]
	// MaxLineBytes bounds a line; a decision whose full record is larger
	// is written as a summary (subject, verdict, digests, counts and the
	// first findings) marked "truncated": true. [DefaultMaxLineBytes]
	MaxLineBytes int
}

// JSONLRecorder appends each decision as one JSON line to a file: the
// gates.Recorder of the webhook until the audit store exists. Each line is
// written by one write(2) on a file opened O_APPEND, so lines from several
// processes sharing the file do not interleave.
type JSONLRecorder struct {
	path string
	opts JSONLOptions

	mu     sync.Mutex
	f      *os.File
	dirty  bool
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// JSONLRecord is one line of the file.
type JSONLRecord struct {
	Time      time.Time            `json:"time"`
	Verdict   string               `json:"verdict"`
	Context   *gates.RecordContext `json:"context,omitempty"`
	Decision  *gates.Decision      `json:"decision"`
	Truncated bool                 `json:"truncated,omitempty"`
}

// OpenJSONL opens (creating, mode 0600) path for appending. A path that
// exists and is not a regular file (a FIFO, a device) is refused.
func OpenJSONL(path string, o JSONLOptions) (*JSONLRecorder, error) {
	switch o.Sync {
	case "":
		o.Sync = SyncInterval
	case SyncAlways, SyncInterval, SyncNever:
	default:
		return nil, fmt.Errorf("audit jsonl: sync %q: want %s, %s or %s", o.Sync, SyncAlways, SyncInterval, SyncNever)
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	// O_NONBLOCK: opening a FIFO nobody reads must not hang the server.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit jsonl: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit jsonl: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("audit jsonl: %s is not a regular file (%s)", path, st.Mode().Type())
	}
	r := &JSONLRecorder{path: path, opts: o, f: f}
	if o.Sync == SyncInterval {
		r.stop, r.done = make(chan struct{}), make(chan struct{})
		go r.syncLoop()
	}
	return r, nil
}

func (r *JSONLRecorder) syncLoop() {
	defer close(r.done)
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			if r.dirty && !r.closed {
				r.f.Sync() // an error here shows again on the next write or Close
				r.dirty = false
			}
			r.mu.Unlock()
		}
	}
}

// Record appends d with the RecordContext of ctx.
func (r *JSONLRecorder) Record(ctx context.Context, d *gates.Decision) error {
	if d == nil {
		return errors.New("audit jsonl: nil decision")
	}
	rec := JSONLRecord{Time: time.Now().UTC(), Verdict: d.Verdict(), Decision: d}
	if rc, ok := gates.RecordContextFrom(ctx); ok {
		rec.Context = &rc
	}
	line, err := marshalLine(rec, r.opts.MaxLineBytes)
	if err != nil {
		return fmt.Errorf("audit jsonl: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("audit jsonl: recorder closed")
	}
	if _, err := r.f.Write(line); err != nil {
		return fmt.Errorf("audit jsonl: write %s: %w", r.path, err)
	}
	if r.opts.Sync == SyncAlways {
		if err := r.f.Sync(); err != nil {
			return fmt.Errorf("audit jsonl: fsync %s: %w", r.path, err)
		}
	} else {
		r.dirty = true
	}
	return nil
}

// marshalLine encodes rec as one line no longer than max bytes; a record
// too long keeps its verdict, subject and digests and drops findings from
// the end until it fits.
func marshalLine(rec JSONLRecord, max int) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if len(b)+1 <= max {
		return append(b, '\n'), nil
	}
	d := *rec.Decision
	rec.Decision, rec.Truncated = &d, true
	d.EvidenceDigests = nil
	d.Waived, d.ExpiredWaivers = nil, nil
	for {
		b, err = json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		if len(b)+1 <= max {
			return append(b, '\n'), nil
		}
		switch {
		case len(d.Warnings) > 0:
			d.Warnings = d.Warnings[:len(d.Warnings)/2]
		case len(d.Violations) > 1:
			d.Violations = d.Violations[:len(d.Violations)/2]
		case len(d.Undecided) > 1:
			d.Undecided = d.Undecided[:len(d.Undecided)/2]
		default:
			// Only outside strings (a subject name, one message) can be
			// this long: cut them, the verdict and digests stay.
			d.Violations, d.Undecided = cutFindings(d.Violations), cutStrings(d.Undecided)
			d.Subject.Ref, d.Subject.Name = cut(d.Subject.Ref), cut(d.Subject.Name)
			d.Subject.Labels = nil
			if rec.Context != nil {
				c := *rec.Context
				c.Name, c.User = cut(c.Name), cut(c.User)
				rec.Context = &c
			}
			if b, err = json.Marshal(rec); err != nil {
				return nil, err
			}
			if len(b)+1 > max {
				return nil, fmt.Errorf("decision record of %d bytes does not fit the line bound of %d even summarised", len(b), max)
			}
			return append(b, '\n'), nil
		}
	}
}

const cutLen = 512

func cut(s string) string {
	if len(s) <= cutLen {
		return s
	}
	return s[:cutLen] + "…"
}

func cutStrings(s []string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = cut(s[i])
	}
	return out
}

func cutFindings(f []gates.Finding) []gates.Finding {
	out := make([]gates.Finding, len(f))
	for i, x := range f {
		x.Message, x.Remediation, x.Location = cut(x.Message), cut(x.Remediation), cut(x.Location)
		out[i] = x
	}
	return out
}

// Close flushes and closes the file.
func (r *JSONLRecorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	if r.stop != nil {
		close(r.stop)
		<-r.done
	}
	err := r.f.Sync()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit jsonl: close %s: %w", r.path, err)
	}
	return nil
}
