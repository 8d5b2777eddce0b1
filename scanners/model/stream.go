package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// fifoWriterWait is how long a named FIFO may go without any writer
// before the scan gives up on it. A producer started before the scan
// (`producer > fifo &`) is already blocked in open(2) and connects at once;
// a FIFO nobody writes to must not hang the scan. Once a writer has been
// seen, reads wait as long as the run's context allows.
const fifoWriterWait = time.Second

// errNoWriter: a FIFO had no writer within fifoWriterWait.
var errNoWriter = errors.New("no process opened it for writing")

// pipeReader reads a pipe or FIFO opened non-blocking. A plain read of a
// FIFO with no writer returns end of file at once, which would make a
// writer that connects a moment later look like an empty stream; this
// reader tells "no writer yet" (read returns 0, no hang-up seen) from "the
// writer closed" (hang-up) and "a writer, no data yet" (EAGAIN), and waits
// through Go's poller, so closing the file (readlimit.CloseOnDone) ends it.
type pipeReader struct {
	f          *os.File
	rc         syscall.RawConn
	writerSeen bool
	deadline   time.Time // a writer must connect before this
}

func newPipeReader(f *os.File) (*pipeReader, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &pipeReader{f: f, rc: rc, deadline: time.Now().Add(fifoWriterWait)}, nil
}

func (p *pipeReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		var n int
		var rerr error
		noWriter := false
		waiting := !p.writerSeen && time.Now().Before(p.deadline)
		if waiting {
			_ = p.f.SetReadDeadline(p.deadline) // wakes the poller for a silent writer
		} else {
			_ = p.f.SetReadDeadline(time.Time{})
		}
		err := p.rc.Read(func(fd uintptr) bool {
			for {
				n, rerr = syscall.Read(int(fd), b)
				if rerr != syscall.EINTR {
					break
				}
			}
			switch {
			case rerr == syscall.EAGAIN: // a writer is connected, no data yet
				p.writerSeen, rerr = true, nil
				return false
			case rerr != nil || n > 0:
				p.writerSeen = p.writerSeen || n > 0
				return true
			case p.writerSeen:
				return true // end of stream
			case hungUp(fd):
				// A writer came and went between the read above and the
				// poll: what it wrote may be waiting. Read once more.
				p.writerSeen = true
				for {
					n, rerr = syscall.Read(int(fd), b)
					if rerr != syscall.EINTR {
						break
					}
				}
				if rerr == syscall.EAGAIN { // another writer, no data yet
					rerr = nil
					return false
				}
				return true
			case time.Now().Before(p.deadline):
				return false // no writer yet: wait for one
			}
			noWriter = true
			return true
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // look once more, without the deadline
		case err != nil:
			return 0, err
		case noWriter:
			return 0, fmt.Errorf("waited %v: %w", fifoWriterWait, errNoWriter)
		case rerr != nil:
			return 0, rerr
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// hungUp reports POLLHUP: Linux raises it on a FIFO only once a writer has
// connected and every writer has gone, so it marks a real end of stream.
func hungUp(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&unix.POLLHUP != 0
}

// readStream reads a pipe or FIFO whole, bounded by limit bytes, into
// memory or a temporary file; ctx ending closes f so a waiting read ends.
// ok is false when a not-verified entry was recorded instead.
func (s *scanner) readStream(f *os.File, loc string) (io.ReaderAt, int64, func(), bool) {
	stop := readlimit.CloseOnDone(s.ctx, f)
	defer stop()
	pr, err := newPipeReader(f)
	if err != nil {
		s.notVerified(loc, "cannot read the stream: %v", err)
		return nil, 0, nil, false
	}
	limit := s.lim.MaxFileSize
	if limit <= 0 {
		limit = 1 << 62
	}
	ra, n, done, over, err := spool(pr, limit, s.opts.TempDir)
	switch {
	case s.ctx.Err() != nil:
		s.notVerified(loc, "scan interrupted while reading the stream: %v", s.ctx.Err())
	case errors.Is(err, errNoWriter):
		s.notVerified(loc, "a FIFO (named pipe) that %v: nothing was read, so nothing is verified; start the writer first", err)
	case err != nil:
		s.notVerified(loc, "stream unreadable after %d bytes: %v", n, err)
	case over:
		s.notVerified(loc, "stream is longer than the %d-byte limit: not read whole, so not verified (raise --max-file-size)", limit)
	default:
		return ra, n, done, true
	}
	if done != nil {
		done()
	}
	return nil, 0, nil, false
}

// memSpool is the largest copy of a streamed model file (ScanMember)
// kept in memory; a longer one goes to a temporary file. Small (config,
// tokenizer, template files), so that four layers read in parallel cost a
// few MiB, not four growing buffers of tens of MiB.
const memSpool = 4 << 20

// spoolCopyBuf is the buffer of the copy to the temporary file.
const spoolCopyBuf = 256 << 10

// spool copies rd into memory, or a temporary file in dir past memSpill
// bytes, reading at most limit bytes; over reports that rd held more.
// done releases the copy.
func spool(rd io.Reader, limit int64, dir string) (ra io.ReaderAt, n int64, done func(), over bool, err error) {
	return spoolSized(rd, limit, dir, -1, memSpill)
}

// spoolSized is spool keeping at most mem bytes in memory. sizeHint is the
// length the source states (-1 when unknown): a stream said to be longer
// than mem goes straight to the file, a shorter one into a buffer of
// exactly its size (one byte more, to see a longer stream). The hint only
// sizes buffers; n is what rd held.
func spoolSized(rd io.Reader, limit int64, dir string, sizeHint, mem int64) (ra io.ReaderAt, n int64, done func(), over bool, err error) {
	lr := &io.LimitedReader{R: rd, N: limit + 1}
	var buf []byte
	if sizeHint < mem {
		if sizeHint >= 0 {
			mem = sizeHint + 1
		}
		buf, err = fillUpTo(lr, mem, sizeHint >= 0)
		n = int64(len(buf))
		switch {
		case err == io.EOF:
			if lr.N <= 0 {
				return nil, n, nil, true, nil
			}
			return bytes.NewReader(buf), n, func() {}, false, nil
		case err != nil:
			return nil, n, nil, false, err
		}
		// mem bytes and more to come, or more than the hint said.
	}
	f, err := os.CreateTemp(dir, "gatehouse-model-*")
	if err != nil {
		return nil, n, nil, false, fmt.Errorf("no room for a temporary copy: %w", err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := f.Write(buf); err != nil {
		cleanup()
		return nil, n, nil, false, fmt.Errorf("write temporary file: %w", err)
	}
	buf = nil
	// Neither side's ReadFrom/WriteTo: *os.File.ReadFrom would copy a
	// non-file source 32 KiB at a time.
	m, err := io.CopyBuffer(struct{ io.Writer }{f}, lr, make([]byte, spoolCopyBuf))
	n += m
	if err != nil {
		cleanup()
		return nil, n, nil, false, err
	}
	if lr.N <= 0 {
		cleanup()
		return nil, n, nil, true, nil
	}
	return f, n, cleanup, false, nil
}

// fillUpTo reads r into a buffer until max bytes or an error, returning
// the reader's own error (io.EOF when the stream ended; nil when max bytes
// were read). exact allocates max at once (its size is known); otherwise
// the buffer grows from 64 KiB by doubling, so a 3-byte file costs 64 KiB.
func fillUpTo(r io.Reader, max int64, exact bool) ([]byte, error) {
	c := min(max, 64<<10)
	if exact {
		c = max
	}
	buf := make([]byte, 0, c)
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(2*int64(cap(buf)), max))
			copy(nb, buf)
			buf = nb
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
