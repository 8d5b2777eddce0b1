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

// Verdict rates the report against failOn: not verified wins over
// findings (as ModelScan's exit codes do), findings over clean.
func (r *Report) Verdict(failOn finding.Severity) int {
	if len(r.NotVerified) > 0 {
		return VerdictNotVerified
	}
	for _, f := range r.Findings {
		if f.Severity >= failOn {
			return VerdictFindings
		}
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

// Scan scans a file or a folder. The error is for a path that cannot be
// scanned at all (missing, unreadable root); everything else is in the report.
func Scan(ctx context.Context, path string, opts Options) (*Report, error) {
	if opts.Limits == (finding.Limits{}) {
		opts.Limits = finding.DefaultLimits()
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("scan %s: %w: check the path", path, ErrNotFound)
		}
		return nil, fmt.Errorf("scan %s: %w", path, err)
	}
	s := &scanner{ctx: ctx, opts: opts, lim: opts.Limits}
	s.rep = &Report{Schema: Schema, Scanner: "gatehouse", Path: path,
		Findings: []finding.Finding{}, NotVerified: []finding.NotVerified{}}
	if st.IsDir() {
		err = s.scanDir(path)
	} else {
		s.scanPath(path, filepath.Base(path), "", st)
	}
	if err != nil {
		return nil, err
	}
	sortReport(s.rep)
	s.rep.Verified = len(s.rep.NotVerified) == 0
	return s.rep, nil
}

// ScanReader scans one input that is not on disk (name is used in locations).
func ScanReader(ctx context.Context, r io.ReaderAt, size int64, name string, opts Options) *Report {
	if opts.Limits == (finding.Limits{}) {
		opts.Limits = finding.DefaultLimits()
	}
	s := &scanner{ctx: ctx, opts: opts, lim: opts.Limits}
	s.rep = &Report{Schema: Schema, Scanner: "gatehouse", Path: name,
		Findings: []finding.Finding{}, NotVerified: []finding.NotVerified{}}
	s.rep.FilesScanned++
	s.rep.BytesScanned += size
	s.scanInput(r, size, name, name, "", 0)
	sortReport(s.rep)
	s.rep.Verified = len(s.rep.NotVerified) == 0
	return s.rep
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
// file is judged by content. .git folders are git's own storage and skipped.
func (s *scanner) scanDir(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			if p == root {
				return fmt.Errorf("scan %s: %w", root, err)
			}
			s.notVerified(rel, "cannot read: %v", err)
			return nil
		}
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return fmt.Errorf("scan %s: %w", root, ctxErr)
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
		if info.IsDir() {
			s.notVerified(rel, "symlink to a directory: not followed; scan its target separately")
			return nil
		}
		if !info.Mode().IsRegular() {
			s.notVerified(rel, "not a regular file (%s)", info.Mode().Type())
			return nil
		}
		s.scanPath(p, rel, filepath.Dir(p), info)
		return nil
	})
}

func (s *scanner) scanPath(path, loc, dir string, info fs.FileInfo) {
	defer func() {
		if s.opts.Progress != nil {
			s.opts.Progress(info.Size())
		}
	}()
	s.rep.FilesScanned++
	s.rep.BytesScanned += info.Size()
	if info.Size() > s.lim.MaxFileSize && s.lim.MaxFileSize > 0 {
		s.notVerified(loc, "file is %d bytes, above the %d-byte limit (raise --max-file-size)", info.Size(), s.lim.MaxFileSize)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.notVerified(loc, "cannot open: %v", err)
		return
	}
	defer f.Close()
	if dir == "" {
		dir = filepath.Dir(path)
	}
	s.scanInput(f, info.Size(), loc, filepath.Base(path), dir, 0)
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

// WriteText writes a human-readable report.
func WriteText(w io.Writer, r *Report) error {
	bw := &errWriter{w: w}
	for _, f := range r.Findings {
		what := ""
		if f.Module != "" || f.Name != "" {
			what = " " + f.Module + "." + f.Name
		}
		bw.printf("%-8s %s%s: %s\n", strings.ToUpper(f.Severity.String()), f.Location, what, f.Reason)
	}
	for _, n := range r.NotVerified {
		bw.printf("%-8s %s: %s\n", "UNREAD", n.Location, n.Reason)
	}
	state := "verified"
	if !r.Verified {
		state = "NOT verified"
	}
	bw.printf("%s: %d file(s), %d bytes scanned, %d finding(s), %s\n", r.Path, r.FilesScanned, r.BytesScanned, len(r.Findings), state)
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
