// Package pii finds personal data and secrets in datasets: CSV/TSV, JSON
// Lines, JSON, Parquet and plain text files, gzip-compressed or not, one
// file or a folder tree. It reports per file and column which entities it
// found (Presidio's names: EMAIL_ADDRESS, US_SSN, ...), how often, and a
// redacted example, as the evidence "pii" (schema pii/v1) that the pii
// gate judges. Values are never reported unredacted.
package pii

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/scanners/pii/tabular"
)

// Schema is the version of the evidence format.
const Schema = "pii/v1"

// Options control a scan. The zero Options scan everything with the
// default limits.
type Options struct {
	// SampleRows > 0 scans only the first SampleRows records of each file.
	SampleRows int64
	// SampleBytes > 0 stops each file after about SampleBytes bytes (of
	// decompressed content; the readers buffer 256 KiB ahead).
	SampleBytes int64
	// MaxFileSize is the largest file scanned, in bytes, counted after
	// decompression; larger files are not verified. Default 64 GiB.
	MaxFileSize int64
	// MaxFiles is the most files a folder may hold. Default 100000.
	MaxFiles int
	// MaxJSONDocument is the largest .json document read whole (JSON that
	// is not JSON Lines). Default 256 MiB.
	MaxJSONDocument int64
	// Limits bound the readers (record size, columns, JSON depth).
	Limits tabular.Limits
	// Workers scan files in parallel. Default GOMAXPROCS.
	Workers int
}

func (o Options) withDefaults() Options {
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 64 << 30
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 100000
	}
	if o.MaxJSONDocument <= 0 {
		o.MaxJSONDocument = 256 << 20
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Evidence is what a scan found: the evidence "pii", schema pii/v1.
type Evidence struct {
	Schema string `json:"schema"`
	// Subject names what was scanned: the path as given to Scan.
	Subject *Subject `json:"subject,omitempty"`
	// Mode is "full" or "sample".
	Mode         string `json:"mode"`
	SampleRows   int64  `json:"sample_rows,omitempty"`
	SampleBytes  int64  `json:"sample_bytes,omitempty"`
	FilesScanned int    `json:"files_scanned"`
	BytesScanned int64  `json:"bytes_scanned"`
	RowsScanned  int64  `json:"rows_scanned"`
	// Findings, sorted by file, column and entity.
	Findings []Finding `json:"findings"`
	// Totals counts matches per entity over all files.
	Totals map[string]int64 `json:"totals"`
	// NotVerified lists files (or folders) that could not be scanned to
	// the end: the pii gate denies on them.
	NotVerified []NotVerified `json:"not_verified"`
	// Skipped lists files that are no text format (images, archives, model
	// weights): the PII scanner has nothing to say about them.
	Skipped []NotVerified `json:"skipped,omitempty"`
}

// Subject names what evidence is about. Digest is kept when evidence that
// carries one is read back; the scanner itself names the path only.
type Subject struct {
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
}

// Finding is one entity in one column of one file.
type Finding struct {
	File string `json:"file"`
	// Column is the CSV header field, the JSON key path ("user.email") or
	// the Parquet column; "" for plain text.
	Column string `json:"column"`
	Entity string `json:"entity"`
	Count  int64  `json:"count"`
	// Rate is Count divided by the records scanned in the file (it may
	// exceed 1 in free text, where a line can hold several matches).
	Rate float64 `json:"rate"`
	// Example is the first match, redacted.
	Example string `json:"example"`
	// Confidence is the highest confidence of the matches, in [0,1].
	Confidence float64 `json:"confidence"`
	// Secret is true for credentials (keys, tokens) rather than personal data.
	Secret bool `json:"secret,omitempty"`
}

// NotVerified names a location the scan could not finish and why.
type NotVerified struct {
	Location string `json:"location"`
	Reason   string `json:"reason"`
}

// Found reports whether the scan found any entity.
func (e *Evidence) Found() bool { return len(e.Findings) > 0 }

// Scan scans the file or folder at path (folders recursively; symbolic
// links are not followed). Files that cannot be read or parsed are listed in
// NotVerified, and so are an empty file (no records) and a folder with no
// file to scan: nothing was verified there. Scan itself fails only when
// path cannot be read at all (a FIFO, device or socket is refused, without
// blocking) or ctx ends: every reader checks ctx per record, so a cancelled
// scan returns promptly with ctx's error, never with partial evidence.
func Scan(ctx context.Context, path string, o Options) (*Evidence, error) {
	o = o.withDefaults()
	ev := &Evidence{Schema: Schema, Subject: &Subject{Path: path}, Mode: "full", Totals: map[string]int64{}, Findings: []Finding{}, NotVerified: []NotVerified{}}
	if o.SampleRows > 0 || o.SampleBytes > 0 {
		ev.Mode, ev.SampleRows, ev.SampleBytes = "sample", o.SampleRows, o.SampleBytes
	}
	st, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	var files []string
	switch {
	case st.IsDir():
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err != nil {
				ev.NotVerified = append(ev.NotVerified, NotVerified{p, err.Error()})
				return nil
			}
			if d.IsDir() {
				if n := d.Name(); p != path && (n == ".git" || n == ".cache" || n == ".hg") {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				ev.Skipped = append(ev.Skipped, NotVerified{p, "not a regular file (symbolic link or device): not followed"})
				return nil
			}
			if len(files) >= o.MaxFiles {
				return errTooManyFiles
			}
			files = append(files, p)
			return nil
		})
		if errors.Is(err, errTooManyFiles) {
			ev.NotVerified = append(ev.NotVerified, NotVerified{path, fmt.Sprintf("more than %d files: scan a smaller folder or raise the file limit", o.MaxFiles)})
		} else if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", path, err)
		}
	default:
		// Refuse a FIFO, device or socket here, with a message naming it;
		// the open does not block.
		f, err := readlimit.Open(path)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		f.Close()
		files = []string{path}
	}

	results := make([]fileResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(o.Workers, max(len(files), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = scanFile(ctx, files[i], o)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	for _, r := range results {
		switch {
		case r.skipped != "":
			ev.Skipped = append(ev.Skipped, NotVerified{r.file, r.skipped})
			continue
		case r.err != nil:
			ev.NotVerified = append(ev.NotVerified, NotVerified{r.file, r.err.Error()})
		}
		ev.FilesScanned++
		ev.BytesScanned += r.bytes
		ev.RowsScanned += r.rows
		for _, f := range r.findings {
			ev.Findings = append(ev.Findings, f)
			ev.Totals[f.Entity] += f.Count
		}
	}
	if ev.FilesScanned == 0 && len(ev.NotVerified) == 0 {
		ev.NotVerified = append(ev.NotVerified, NotVerified{path, "no dataset file to scan in the folder: nothing was verified"})
	}
	sort.SliceStable(ev.Findings, func(i, j int) bool {
		a, b := ev.Findings[i], ev.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Entity < b.Entity
	})
	return ev, nil
}

var errTooManyFiles = errors.New("too many files")
