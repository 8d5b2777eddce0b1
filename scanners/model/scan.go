// Package model is gatehouse's native model-security scanner. It judges
// every file by its content, never its name: pickles (protocols 0-5,
// joblib, dill), PyTorch zip and legacy files (every stacked pickle),
// TorchScript archives, numpy .npy/.npz, archives (zip, tar, gzip, bzip2,
// recursively) and whole model folders; the format parsers in its
// sub-packages judge the rest. Whatever cannot be opened or fully read is
// reported as not verified, never as clean.
package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// Schema names the evidence shape this package produces.
const Schema = "model_scan/v1"

// Options configure a scan.
type Options struct {
	Limits finding.Limits
	// Progress, when set, is told the bytes of each input file once that
	// file has been scanned (for a progress bar over the total).
	Progress func(bytes int64)
	// TempDir holds decompressed members too large for memory ("" = os.TempDir()).
	TempDir string
}

// DefaultOptions uses finding.DefaultLimits.
func DefaultOptions() Options { return Options{Limits: finding.DefaultLimits()} }

// Report is the result of scanning one path: the model_scan/v1 evidence.
type Report struct {
	Schema       string                `json:"schema"`
	Scanner      string                `json:"scanner"`
	Path         string                `json:"path"`
	Verified     bool                  `json:"verified"`
	FilesScanned int                   `json:"files_scanned"`
	BytesScanned int64                 `json:"bytes_scanned"`
	Findings     []finding.Finding     `json:"findings"`
	NotVerified  []finding.NotVerified `json:"not_verified"`
}

// Exit codes of a verdict (the CLI's exit status).
const (
	VerdictClean       = 0 // nothing at or above the threshold, everything read
	VerdictFindings    = 1 // a finding at or above the threshold
	VerdictNotVerified = 2 // something could not be read: never clean
)

// Verdict rates the report against failOn: a finding at or above the
// threshold wins over anything that could not be verified (a payload found
// is a payload, whatever else went unread), not verified over clean.
func (r *Report) Verdict(failOn finding.Severity) int {
	for _, f := range r.Findings {
		if f.Severity >= failOn {
			return VerdictFindings
		}
	}
	if len(r.NotVerified) > 0 || !r.Verified {
		return VerdictNotVerified
	}
	return VerdictClean
}

// Max returns the highest finding severity (0 when none).
func (r *Report) Max() finding.Severity {
	var m finding.Severity
	for _, f := range r.Findings {
		m = max(m, f.Severity)
	}
	return m
}

// ErrNotFound is returned when the path to scan does not exist.
var ErrNotFound = errors.New("path not found")

// ErrInterrupted wraps the context's error when a scan was cancelled or
// timed out: nothing about the input was decided.
var ErrInterrupted = errors.New("scan interrupted before it finished: not decided")

// Scan scans a file, a folder, or a pipe or FIFO read as a stream (bounded
// by Limits.MaxFileSize). Devices, sockets and other special files are not
// verified and never opened. The error is for a path that cannot be
// scanned at all (missing, unreadable root) or a scan the context ended
// (ErrInterrupted); everything else is in the report.
func Scan(ctx context.Context, path string, opts Options) (*Report, error) {
	st, err := os.Stat(path) // follows symlinks: /dev/stdin names what fd 0 is
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("scan %s: %w: check the path", textsafe.Escape(path), ErrNotFound)
		}
		return nil, fmt.Errorf("scan %s: %w", textsafe.Escape(path), err)
	}
	s := newScanner(ctx, path, opts)
	name := filepath.Base(path)
	switch mode := st.Mode(); {
	case mode.IsDir():
		if err := s.scanDir(path); err != nil {
			return nil, s.interrupted(path, err)
		}
		if s.rep.FilesScanned == 0 && len(s.rep.NotVerified) == 0 {
			s.notVerified(".", "%s holds no files: nothing was verified", path)
		}
	case mode.IsRegular():
		s.scanFile(path, name, filepath.Dir(path), true)
	case mode&fs.ModeNamedPipe != 0:
		s.scanStream(path, name)
	default:
		// Never opened: opening a device can have effects (a watchdog, a tape).
		s.notVerified(name, "%s is %s, not a regular file, folder or pipe: it cannot be verified", path, readlimit.Describe(mode))
	}
	return s.finish(path)
}

// ScanReader scans one input that is not on disk (name is used in locations).
func ScanReader(ctx context.Context, r io.ReaderAt, size int64, name string, opts Options) *Report {
	s := newScanner(ctx, name, opts)
	s.scanRoot(r, size, name, name, "")
	rep, err := s.finish(name)
	if err != nil {
		// Cancelled: the report says not verified, never clean.
		s.rep.Verified = false
		s.notVerified(name, "%v", err)
		return s.rep
	}
	return rep
}

func newScanner(ctx context.Context, path string, opts Options) *scanner {
	if opts.Limits == (finding.Limits{}) {
		opts.Limits = finding.DefaultLimits()
	}
	s := &scanner{ctx: ctx, opts: opts, lim: opts.Limits}
	s.rep = &Report{Schema: Schema, Scanner: "gatehouse", Path: path,
		Findings: []finding.Finding{}, NotVerified: []finding.NotVerified{}}
	return s
}

// finish returns the sorted report, or ErrInterrupted when the context
// ended: a cancelled scan decides nothing, whatever it found so far.
func (s *scanner) finish(path string) (*Report, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, s.interrupted(path, err)
	}
	sortReport(s.rep)
	s.rep.Verified = len(s.rep.NotVerified) == 0
	return s.rep, nil
}

func (s *scanner) interrupted(path string, err error) error {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("scan %s: %w (%w)", textsafe.Escape(path), ErrInterrupted, ctxErr)
	}
	return err
}

func sortReport(r *Report) {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		if r.Findings[i].Severity != r.Findings[j].Severity {
			return r.Findings[i].Severity > r.Findings[j].Severity
		}
		return r.Findings[i].Location < r.Findings[j].Location
	})
	sort.SliceStable(r.NotVerified, func(i, j int) bool { return r.NotVerified[i].Location < r.NotVerified[j].Location })
}

type scanner struct {
	ctx          context.Context
	opts         Options
	lim          finding.Limits
	rep          *Report
	decompressed int64  // bytes inflated so far, against MaxDecompressedBytes
	encrypted    string // location of the zip member being scanned whose encryption flag is set
	// claims are files on disk a model names as its raw tensor data (ONNX
	// external data), by cleaned path: the bytes each must hold at least.
	claims map[string]int64
	// pending are files of a folder scan whose content no format claims;
	// judged when the walk ends (a model may claim them as its data).
	pending []pendingFile
}

// pendingFile is a folder file not recognised by content.
type pendingFile struct {
	path, loc, reason string
	size              int64
}

func (s *scanner) add(res finding.Result) {
	s.rep.Findings = append(s.rep.Findings, res.Findings...)
	s.rep.NotVerified = append(s.rep.NotVerified, res.NotVerified...)
}

func (s *scanner) finding(sev finding.Severity, loc, reason string) {
	s.rep.Findings = append(s.rep.Findings, finding.Finding{Severity: sev, Location: loc, Reason: reason})
}

func (s *scanner) notVerified(loc, format string, args ...any) {
	s.rep.NotVerified = append(s.rep.NotVerified, finding.NotVerified{Location: loc, Reason: fmt.Sprintf(format, args...)})
}

// scanDir walks a model folder (a Hugging Face repository layout); every
// file is judged by content. .git folders are git's own storage and
// skipped. FIFOs, devices and sockets are not verified and never opened.
func (s *scanner) scanDir(root string) error {
	s.pending = []pendingFile{}
	defer func() { s.pending = nil }()
	if err := s.walkDir(root); err != nil {
		return err
	}
	s.settlePending()
	return nil
}

// settlePending judges the unrecognised files of a folder once every model
// in it was read: a file a model names as its external tensor data is that
// data (it must be long enough); any other is not verified.
func (s *scanner) settlePending() {
	for _, f := range s.pending {
		need, ok := s.claims[filepath.Clean(f.path)]
		switch {
		case ok && f.size >= need:
			// Raw tensor bytes the model reads by offset: nothing runs.
		case ok:
			s.notVerified(f.loc, "external tensor data file holds %d bytes but the model reads up to byte %d: truncated, the model cannot load", f.size, need)
		default:
			s.notVerified(f.loc, "%s", f.reason)
			if rf, err := readlimit.Open(f.path); err == nil {
				s.carve(ctxReaderAt{s.ctx, rf}, f.size, f.loc, "unrecognised data")
				rf.Close()
			}
		}
	}
}

// deferUnknown records a folder file no format recognised; false when the
// caller must report it now (not in a folder scan, or inside an archive).
func (s *scanner) deferUnknown(loc, name, dir string, depth int, size int64, reason string) bool {
	if s.pending == nil || depth != 0 || dir == "" {
		return false
	}
	s.pending = append(s.pending, pendingFile{path: filepath.Join(dir, name), loc: loc, reason: reason, size: size})
	return true
}

func (s *scanner) walkDir(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			if p == root {
				return fmt.Errorf("scan %s: %w", textsafe.Escape(root), err)
			}
			s.notVerified(rel, "cannot read: %v", err)
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != root {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Stat(p) // follows symlinks (Hugging Face cache snapshots are symlinks)
		if err != nil {
			s.notVerified(rel, "cannot stat (broken symlink?): %v", err)
			return nil
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			s.notVerified(rel, "symlink to a directory: not followed; scan its target separately")
		case !mode.IsRegular():
			s.notVerified(rel, "%s, not a regular file: not opened, so not verified", readlimit.Describe(mode))
		default:
			s.scanFile(p, rel, filepath.Dir(p), false)
		}
		return nil
	})
}

// scanFile scans one regular file; root says it is the whole scan (then
// an empty file is not verified: nothing was read).
func (s *scanner) scanFile(path, loc, dir string, root bool) {
	// Non-blocking, and the type is checked on the open descriptor: a file
	// swapped for a FIFO after the walk looked at it is refused, not waited on.
	f, err := readlimit.Open(path)
	if err != nil {
		s.notVerified(loc, "cannot open: %v", err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		s.notVerified(loc, "cannot stat: %v", err)
		return
	}
	defer func() {
		if s.opts.Progress != nil {
			s.opts.Progress(info.Size())
		}
	}()
	if info.Size() > s.lim.MaxFileSize && s.lim.MaxFileSize > 0 {
		s.rep.FilesScanned++
		s.notVerified(loc, "file is %d bytes, above the %d-byte limit (raise --max-file-size)", info.Size(), s.lim.MaxFileSize)
		return
	}
	if root {
		s.scanRoot(f, info.Size(), loc, filepath.Base(path), dir)
		return
	}
	s.rep.FilesScanned++
	s.rep.BytesScanned += info.Size()
	s.scanInput(f, info.Size(), loc, filepath.Base(path), dir, 0)
}

// scanStream reads a pipe or FIFO whole (bounded) and scans the copy.
func (s *scanner) scanStream(path, loc string) {
	f, _, err := readlimit.OpenStream(path)
	if err != nil {
		s.notVerified(loc, "cannot open: %v", err)
		return
	}
	defer f.Close()
	ra, n, done, ok := s.readStream(f, loc)
	if !ok {
		return
	}
	defer done()
	s.scanRoot(ra, n, loc, filepath.Base(path), "")
}

// scanRoot scans the one input a scan was given: 0 bytes is not verified.
func (s *scanner) scanRoot(r io.ReaderAt, size int64, loc, name, dir string) {
	s.rep.FilesScanned++
	s.rep.BytesScanned += size
	if size == 0 {
		s.notVerified(loc, "empty (0 bytes): there is nothing to verify")
		return
	}
	s.scanInput(r, size, loc, name, dir, 0)
}

// ctxReaderAt fails every read once the scan's context has ended, so every
// parser loop that reads input stops promptly on cancel or deadline.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// loc helpers: members are "outer.zip:inner/member".
func member(loc, name string) string { return loc + ":" + name }

// hasModelExt reports names that loaders open as models; content that is
// not a model under such a name cannot be verified (a loader would try it).
func hasModelExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".joblib", ".dill", ".dat", ".data",
		".h5", ".hdf5", ".keras", ".onnx", ".safetensors", ".gguf", ".ggml", ".npy", ".npz",
		".pb", ".tflite", ".msgpack", ".mar", ".nemo", ".llamafile", ".torchscript", ".ptl":
		return true
	}
	return false
}

// TotalSize is the bytes of a file, or of every file under a folder (for progress).
func TotalSize(path string) (int64, error) {
	var total int64
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" && p != path {
			return filepath.SkipDir
		}
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	return total, err
}

// WriteText writes a human-readable report. Every string from the input
// (file and member names, pickle globals, reasons quoting them) goes
// through textsafe.Escape: one line per entry, whatever the input holds.
func WriteText(w io.Writer, r *Report) error {
	bw := &errWriter{w: w}
	for _, f := range r.Findings {
		what := ""
		if f.Module != "" || f.Name != "" {
			what = " " + textsafe.Escape(f.Module+"."+f.Name)
		}
		bw.printf("%-8s %s%s: %s\n", strings.ToUpper(f.Severity.String()), textsafe.Escape(f.Location), what, textsafe.Escape(f.Reason))
	}
	for _, n := range r.NotVerified {
		bw.printf("%-8s %s: %s\n", "UNREAD", textsafe.Escape(n.Location), textsafe.Escape(n.Reason))
	}
	state := "verified"
	if !r.Verified {
		state = "NOT verified"
	}
	bw.printf("%s: %d file(s), %d bytes scanned, %d finding(s), %d not verified, %s\n", textsafe.Escape(r.Path), r.FilesScanned, r.BytesScanned, len(r.Findings), len(r.NotVerified), state)
	return bw.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
