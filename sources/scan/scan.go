// Package scan feeds the files of a sources.Tree (an OCI artifact, a
// bucket prefix, a local folder) to gatehouse's scanners and records, in
// the evidence, which tree was judged (its identity digest and pinned
// reference) and where every finding's bytes came from: the layer digest
// and the entry inside it, or the object and its generation.
//
// It sits between sources and the scanners so that neither learns about
// the other: scanners read files, sources hands out files.
package scan

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/sources"
	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

// Source is the identity of the tree that was scanned, and Origin where a
// file's bytes came from: one definition, in package remote, which the
// evidence readers of scanners/ also use to read them back.
type (
	Source           = remote.Source
	Origin           = remote.Origin
	ArtifactRegistry = remote.ArtifactRegistry
)

// SourceOf returns the identity recorded for id.
func SourceOf(id sources.Identity) Source {
	return Source{
		Kind: string(id.Kind), Ref: id.Ref, Digest: id.Digest, Pinned: id.Pinned,
		Format: string(id.Format), MediaType: id.MediaType, ArtifactType: id.ArtifactType,
		ManifestDigest: id.ManifestDigest, ConfigDigest: id.ConfigDigest,
	}
}

// OriginOf returns where f came from.
func OriginOf(f *sources.File) Origin {
	o := Origin{Path: f.Path, Layer: f.Layer, LayerMediaType: f.LayerMediaType, LayerPath: f.LayerPath,
		Bucket: f.Bucket, Object: f.Object, Generation: f.Generation, Sampled: f.Sampled}
	if f.HasCRC32C {
		o.CRC32C = fmt.Sprintf("%08x", f.CRC32C)
	}
	if len(f.MD5) > 0 {
		o.MD5 = hex.EncodeToString(f.MD5)
	}
	if f.Sampled {
		o.SampleBytes = f.SampleBytes
	}
	return o
}

// suffix is what a location gains so that the gate's message names the
// bytes: " [layer sha256:…, entry NAME]" or " [gs://BUCKET/OBJECT#GEN]".
func suffix(o Origin) string {
	switch {
	case o.Layer != "":
		return fmt.Sprintf(" [layer %s, entry %s]", o.Layer, textsafe.Escape(o.LayerPath))
	case o.Object != "":
		return fmt.Sprintf(" [gs://%s/%s#%d]", o.Bucket, textsafe.Escape(o.Object), o.Generation)
	}
	return ""
}

// Finding is a model finding with the origin of its file.
type Finding struct {
	finding.Finding
	Origin *Origin `json:"origin,omitempty"`
}

// NotVerified is a model not-verified entry with the origin of its file.
type NotVerified struct {
	finding.NotVerified
	Origin *Origin `json:"origin,omitempty"`
}

// ModelReport is model_scan/v1 evidence for a tree: the fields of
// model.Report, plus the tree's identity and each entry's origin. A
// location reads "PATH-IN-TREE[:member][@offset] [layer sha256:…, entry
// NAME]" so that the gate's message names the layer and the entry.
type ModelReport struct {
	Schema       string        `json:"schema"`
	Scanner      string        `json:"scanner"`
	Path         string        `json:"path"`
	Source       Source        `json:"source"`
	Verified     bool          `json:"verified"`
	FilesScanned int           `json:"files_scanned"`
	BytesScanned int64         `json:"bytes_scanned"`
	Findings     []Finding     `json:"findings"`
	NotVerified  []NotVerified `json:"not_verified"`
}

// Hostile reports whether err from Tree.Walk means the tree lied about
// its bytes or tried to escape: the tree is denied, not left undecided.
func Hostile(err error) bool {
	return errors.Is(err, sources.ErrIntegrity) || errors.Is(err, sources.ErrUnsafePath)
}

// Model walks t and scans every regular file with the model scanner.
//
// A walk that fails because the tree is hostile (sources.ErrIntegrity,
// sources.ErrUnsafePath) returns a report with one critical finding naming
// the cause and nothing else: what the scanner saw before the failure is
// thrown away, since those bytes were not what the manifest promised. Any
// other walk failure (limits, credentials, network, a cancelled context)
// is returned as the error: nothing was decided.
func Model(ctx context.Context, t sources.Tree, opts model.Options) (*ModelReport, error) {
	id := t.Identity()
	rep := &ModelReport{Schema: model.Schema, Scanner: "gatehouse", Path: id.Ref, Source: SourceOf(id),
		Findings: []Finding{}, NotVerified: []NotVerified{}}
	var mu sync.Mutex
	err := t.Walk(ctx, func(ctx context.Context, f *sources.File) error {
		o := OriginOf(f)
		if f.Type != sources.TypeRegular {
			mu.Lock()
			defer mu.Unlock()
			rep.NotVerified = append(rep.NotVerified, NotVerified{
				NotVerified: finding.NotVerified{Location: f.Path + suffix(o), Reason: linkReason(f)},
				Origin:      &o,
			})
			return nil
		}
		rc, err := f.Open(ctx)
		if err != nil {
			return err
		}
		// The stated size lets safetensors and GGUF be judged as they
		// stream past and sizes the copy of other files; a sample is
		// shorter than its object, so its size is not stated.
		size := f.Size
		if f.Sampled {
			size = -1
		}
		r := model.ScanMemberSized(ctx, rc, f.Path, size, opts)
		rc.Close()
		if err := ctx.Err(); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		rep.FilesScanned += r.FilesScanned
		rep.BytesScanned += r.BytesScanned
		for _, x := range r.Findings {
			x.Location += suffix(o)
			rep.Findings = append(rep.Findings, Finding{Finding: x, Origin: &o})
		}
		for _, x := range r.NotVerified {
			x.Location += suffix(o)
			rep.NotVerified = append(rep.NotVerified, NotVerified{NotVerified: x, Origin: &o})
		}
		return nil
	})
	if err != nil {
		if !Hostile(err) {
			return nil, fmt.Errorf("%s: %w", id.Ref, err)
		}
		return HostileReport(rep.Source, err), nil
	}
	if rep.FilesScanned == 0 && len(rep.NotVerified) == 0 {
		rep.NotVerified = append(rep.NotVerified, NotVerified{NotVerified: finding.NotVerified{
			Location: id.Ref, Reason: "holds no files: nothing was verified"}})
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		return a.Location < b.Location
	})
	sort.SliceStable(rep.NotVerified, func(i, j int) bool { return rep.NotVerified[i].Location < rep.NotVerified[j].Location })
	rep.Verified = len(rep.NotVerified) == 0
	return rep, nil
}

// HostileReport is model_scan evidence for a tree that lied about its
// bytes or tried to escape (see Hostile): one critical finding naming the
// cause, verified false, nothing else judged.
func HostileReport(src Source, err error) *ModelReport {
	msg := err.Error()
	for _, p := range []string{src.Ref, src.Pinned} {
		for p != "" && strings.HasPrefix(msg, p+": ") {
			msg = strings.TrimPrefix(msg, p+": ")
		}
	}
	return &ModelReport{Schema: model.Schema, Scanner: "gatehouse", Path: src.Ref, Source: src,
		Findings: []Finding{{Finding: finding.Finding{Severity: finding.Critical, Location: src.Ref,
			Reason: textsafe.Escape(msg) + ": the artifact is corrupt or was tampered with; nothing in it was judged"}}},
		NotVerified: []NotVerified{}}
}

func linkReason(f *sources.File) string {
	switch f.Type {
	case sources.TypeSymlink, sources.TypeHardlink:
		return fmt.Sprintf("%s to %q: links inside an artifact are not followed, so what a loader would read through it is not verified", f.Type, textsafe.Escape(f.Linkname))
	}
	return "a device, FIFO or other special entry: never opened, so not verified"
}

// Verdict rates r as model.Report.Verdict does.
func (r *ModelReport) Verdict(failOn finding.Severity) int {
	for _, f := range r.Findings {
		if f.Severity >= failOn {
			return model.VerdictFindings
		}
	}
	if len(r.NotVerified) > 0 || !r.Verified {
		return model.VerdictNotVerified
	}
	return model.VerdictClean
}
