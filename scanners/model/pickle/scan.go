package pickle

import (
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// maxPickles bounds how many pickles one stream may hold (legacy PyTorch
// files hold five; joblib and dill files one).
const maxPickles = 10_000

// Summary describes a scanned stream.
type Summary struct {
	// IsPickle reports whether the stream starts with a pickle: the first
	// walk reached STOP, began with PROTO, or imported a plausible global
	// before failing. When false, Result holds nothing and the caller
	// should try other formats.
	IsPickle bool
	Pickles  int   // pickles walked
	Opcodes  int64 // opcodes walked in all
	End      int64 // offset after the last pickle
	// Trailing is the offset of data after the last pickle that is not a
	// pickle (legacy PyTorch storage bytes, padding), -1 when none.
	Trailing int64
}

// LimitsFrom takes the walker's limits from the shared ones.
func LimitsFrom(l finding.Limits) Limits {
	return Limits{MaxOpcodes: l.MaxOpcodes, MaxMemo: l.MaxMemo}
}

// Scan walks every pickle stacked in r[off:end] (legacy PyTorch files and
// concatenated pickles hold several) and judges each import. loc names the
// stream in findings ("outer.pt:archive/data.pkl"); offsets are appended.
func Scan(r io.ReaderAt, off, end int64, loc string, lim finding.Limits) (finding.Result, Summary) {
	var res finding.Result
	sum := Summary{Trailing: -1}
	wl := LimitsFrom(lim)
	for i := 0; ; i++ {
		if off >= end {
			break
		}
		if i == maxPickles {
			res.NotVerified = append(res.NotVerified, finding.NotVerified{
				Location: at(loc, off),
				Reason:   fmt.Sprintf("more than %d pickles in one stream: the rest was not scanned", maxPickles),
			})
			break
		}
		p := Walk(r, off, end, wl)
		if i == 0 {
			sum.IsPickle = p.Err == nil || startsWithProto(r, off) || plausible(p)
			if !sum.IsPickle {
				return finding.Result{}, sum
			}
		} else if p.Err != nil && !errors.Is(p.Err, ErrLimit) && !plausible(p) && len(p.Builds) == 0 {
			// Data after the last pickle that does not parse as one and
			// imports nothing: the loader never unpickles it.
			sum.Trailing = off
			break
		}
		sum.Pickles++
		sum.Opcodes += p.Opcodes
		sum.End = p.End
		Report(&res, p, loc)
		if p.Err != nil {
			break
		}
		off = p.End
	}
	return res, sum
}

// Report appends the findings and read errors of one walked pickle.
func Report(res *finding.Result, p Pickle, loc string) {
	for _, im := range p.Imports {
		sev, reason := judgeImport(im)
		if sev == 0 {
			continue
		}
		res.Findings = append(res.Findings, finding.Finding{
			Severity: sev, Location: at(loc, im.Offset), Module: im.Module, Name: im.Name,
			Reason: im.Opcode + ": " + reason,
		})
	}
	for _, b := range p.Builds {
		res.Findings = append(res.Findings, finding.Finding{
			Severity: finding.Critical, Location: at(loc, b.Offset), Module: b.Module, Name: b.Name,
			Reason: "BUILD sets attributes on the imported global itself (module or class state is overwritten before later imports use it)",
		})
	}
	if p.Err != nil {
		reason := "pickle could not be read to its end: " + p.Err.Error()
		if len(p.Imports) > 0 {
			reason += fmt.Sprintf(" (after %d import(s), reported as findings: a loader runs what precedes the error)", len(p.Imports))
		}
		res.NotVerified = append(res.NotVerified, finding.NotVerified{Location: at(loc, p.ErrOffset), Reason: reason})
	}
}

func judgeImport(im Import) (finding.Severity, string) {
	if im.Unresolved != "" {
		return finding.Critical, "unknown import: " + im.Unresolved
	}
	return Judge(im.Module, im.Name)
}

func at(loc string, off int64) string { return fmt.Sprintf("%s@%d", loc, off) }

func startsWithProto(r io.ReaderAt, off int64) bool {
	var b [2]byte
	if n, _ := r.ReadAt(b[:], off); n < 2 {
		return false
	}
	return b[0] == opProto && b[1] >= 2 && b[1] <= 5
}

// plausible reports whether a failed walk imported something that looks
// like a real global (or a computed one) before it failed: then the input
// was meant as a pickle, not text that happens to start with 'c'.
func plausible(p Pickle) bool {
	for _, im := range p.Imports {
		if im.Unresolved != "" && im.Opcode != "GLOBAL" && im.Opcode != "INST" {
			return true
		}
		if validName(im.Module) && validName(im.Name) {
			return true
		}
	}
	return false
}
