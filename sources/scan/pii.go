package scan

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// DatasetReport is pii/v1 evidence for a tree: pii.Evidence (files named
// by their path in the tree, the subject by the tree's reference and
// identity digest) plus the tree's identity and each scanned file's
// origin (layer and entry, or object, generation and checksums).
type DatasetReport struct {
	pii.Evidence
	Source Source   `json:"source"`
	Files  []Origin `json:"files"`
}

// MaxDatasetFiles bounds the origins listed in a DatasetReport (the
// evidence stays a few MiB); the tree's identity digest covers the rest.
const MaxDatasetFiles = 10000

// Dataset walks t and scans every regular file with the PII scanner. The
// PII readers take a file (Parquet needs random access), so each file is
// copied to a temporary file in tmpDir ("" = os.TempDir()), scanned and
// removed before the next one starts on that worker: at most
// Options.Concurrency files are on disk at once. File names keep their
// base name (the format is told by extension and content).
//
// Errors as Model: a hostile tree (Hostile) is returned as an error too,
// since pii/v1 has no finding for it; callers deny on Hostile(err).
func Dataset(ctx context.Context, t sources.Tree, o pii.Options, tmpDir string) (*DatasetReport, error) {
	id := t.Identity()
	rep := &DatasetReport{Source: SourceOf(id), Files: []Origin{}}
	rep.Evidence = pii.Evidence{Schema: pii.Schema, Subject: &pii.Subject{Path: id.Ref, Digest: id.Digest},
		Mode: "full", Findings: []pii.Finding{}, Totals: map[string]int64{}, NotVerified: []pii.NotVerified{}}
	if o.SampleRows > 0 || o.SampleBytes > 0 {
		rep.Mode, rep.SampleRows, rep.SampleBytes = "sample", o.SampleRows, o.SampleBytes
	}
	o.Workers = 1
	var mu sync.Mutex
	err := t.Walk(ctx, func(ctx context.Context, f *sources.File) error {
		if f.Type != sources.TypeRegular {
			mu.Lock()
			defer mu.Unlock()
			rep.Skipped = append(rep.Skipped, pii.NotVerified{Location: f.Path, Reason: fmt.Sprintf("a %s in the tree: not followed", f.Type)})
			return nil
		}
		ev, err := scanOne(ctx, f, o, tmpDir)
		if err != nil {
			return err
		}
		orig := OriginOf(f)
		mu.Lock()
		defer mu.Unlock()
		if f.Sampled && rep.Mode != "sample" {
			rep.Mode = "sample"
		}
		if len(rep.Files) < MaxDatasetFiles {
			rep.Files = append(rep.Files, orig)
		}
		rep.FilesScanned += ev.FilesScanned
		rep.BytesScanned += ev.BytesScanned
		rep.RowsScanned += ev.RowsScanned
		for _, x := range ev.Findings {
			x.File = f.Path
			rep.Findings = append(rep.Findings, x)
		}
		for k, v := range ev.Totals {
			rep.Totals[k] += v
		}
		for _, x := range ev.NotVerified {
			rep.NotVerified = append(rep.NotVerified, pii.NotVerified{Location: f.Path + suffix(orig), Reason: x.Reason})
		}
		for _, x := range ev.Skipped {
			rep.Skipped = append(rep.Skipped, pii.NotVerified{Location: f.Path + suffix(orig), Reason: x.Reason})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id.Ref, err)
	}
	if rep.FilesScanned == 0 && len(rep.NotVerified) == 0 {
		rep.NotVerified = append(rep.NotVerified, pii.NotVerified{Location: id.Ref, Reason: "holds no files to scan: nothing was verified"})
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Entity < b.Entity
	})
	sort.SliceStable(rep.NotVerified, func(i, j int) bool { return rep.NotVerified[i].Location < rep.NotVerified[j].Location })
	sort.SliceStable(rep.Skipped, func(i, j int) bool { return rep.Skipped[i].Location < rep.Skipped[j].Location })
	sort.Slice(rep.Files, func(i, j int) bool { return rep.Files[i].Path < rep.Files[j].Path })
	return rep, nil
}

// scanOne copies f to a temporary file (bounded by o.MaxFileSize when set)
// and scans it.
func scanOne(ctx context.Context, f *sources.File, o pii.Options, tmpDir string) (*pii.Evidence, error) {
	dir, err := os.MkdirTemp(tmpDir, "gatehouse-pii-")
	if err != nil {
		return nil, fmt.Errorf("temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	base := path.Base(f.Path)
	if base == "." || base == "/" || base == ".." || strings.ContainsAny(base, "/\\") {
		base = "file"
	}
	p := filepath.Join(dir, base)
	rc, err := f.Open(ctx)
	if err != nil {
		return nil, err
	}
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		rc.Close()
		return nil, err
	}
	var src io.Reader = rc
	limit := o.MaxFileSize
	if limit <= 0 {
		limit = 64 << 30
	}
	n, err := io.Copy(w, io.LimitReader(src, limit+1))
	rc.Close()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", textsafe.Escape(f.Path), err)
	}
	if n > limit {
		return &pii.Evidence{FilesScanned: 1, NotVerified: []pii.NotVerified{{Location: f.Path,
			Reason: fmt.Sprintf("more than %d bytes: raise the limit or sample", limit)}}}, nil
	}
	return pii.Scan(ctx, p, o)
}
