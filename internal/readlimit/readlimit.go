// Package readlimit opens and reads files of outside input safely: without
// blocking (a FIFO with no writer would hang open(2) forever), refusing what
// is not a regular file unless a stream is wanted on purpose, and with a
// size bound, so a huge or endless input (/dev/zero) is refused, not read.
package readlimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is returned for a FIFO, device, socket or other file that
// is not a regular file (or, for OpenStream, not a regular file or pipe).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned when a file is larger than the limit.
var ErrTooLarge = errors.New("larger than the limit")

// Open opens path for reading, refusing anything but a regular file. It
// never blocks: the open is non-blocking and the type is checked on the
// open descriptor (no check-then-open race).
func Open(path string) (*os.File, error) {
	f, mode, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	if !mode.IsRegular() {
		f.Close()
		return nil, notRegular(path, mode)
	}
	return f, nil
}

// OpenStream opens path for reading as a regular file or a pipe (a FIFO,
// /dev/stdin fed by a pipe): a stream read on purpose. Devices, sockets
// and folders are refused. The bool reports whether it is a stream.
// Reads from a pipe go through Go's poller: closing the file (see
// CloseOnDone) ends a read that waits for a writer.
func OpenStream(path string) (*os.File, bool, error) {
	f, mode, err := openNonBlocking(path)
	if err != nil {
		return nil, false, err
	}
	switch {
	case mode.IsRegular():
		return f, false, nil
	case mode&fs.ModeNamedPipe != 0:
		return f, true, nil
	}
	f.Close()
	return nil, false, notRegular(path, mode)
}

// CloseOnDone closes f when ctx ends, so a read blocked on a pipe returns.
// Call the returned stop once the file is no longer read.
func CloseOnDone(ctx context.Context, f *os.File) (stop func() bool) {
	return context.AfterFunc(ctx, func() { f.Close() })
}

func openNonBlocking(path string) (*os.File, fs.FileMode, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Mode(), nil
}

func notRegular(path string, mode fs.FileMode) error {
	return fmt.Errorf("%s is %s: %w; give a regular file", path, Describe(mode), ErrNotRegular)
}

// Describe names the type of a file that is not a regular file, for
// messages: "a FIFO (named pipe)", "a character device", ...
func Describe(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a folder"
	case mode&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a block device"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return fmt.Sprintf("a special file (%s)", mode.Type())
}

// File reads path whole, refusing a file that is not regular or is larger
// than limit bytes.
func File(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(path, f, limit)
}

// Read reads r whole, refusing more than limit bytes; name is for errors.
func Read(name string, r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is %w of %d bytes", name, ErrTooLarge, limit)
	}
	return data, nil
}
