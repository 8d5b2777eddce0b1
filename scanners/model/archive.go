package model

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/keras"
	"github.com/gatehouse-dev/gatehouse/scanners/model/pickle"
	"github.com/gatehouse-dev/gatehouse/scanners/model/zipread"
)

// memSpill is the largest decompressed member kept in memory; larger
// ones go to a temporary file.
const memSpill = 32 << 20

func (s *scanner) tooDeep(loc string, depth int) bool {
	if s.lim.MaxDepth > 0 && depth >= s.lim.MaxDepth {
		s.notVerified(loc, "archive nested deeper than %d levels: not opened (raise --max-depth)", s.lim.MaxDepth)
		return true
	}
	return false
}

// scanZip scans every member of a zip (PyTorch, TorchScript, .npz, .keras
// or any zip), from both the central directory and the local headers.
func (s *scanner) scanZip(r io.ReaderAt, size int64, loc string, depth int) {
	if s.tooDeep(loc, depth) {
		return
	}
	a, err := zipread.Read(r, size, zipread.Limits{MaxMembers: s.lim.MaxMembers})
	if err != nil {
		s.notVerified(loc, "zip: %v", err)
		if a == nil || len(a.Members) == 0 {
			return
		}
	}
	for _, d := range a.Damaged {
		s.notVerified(loc, "zip: %s", d)
	}
	files := 0
	for _, m := range a.Members {
		if !m.IsDir() {
			files++
		}
	}
	if files == 0 {
		s.notVerified(loc, "zip holds no files: nothing in it was verified")
		return
	}
	// PyTorch layout: <prefix>/data.pkl with tensor storages under <prefix>/data/.
	storagePrefixes := map[string]bool{}
	codePrefixes := map[string]bool{}
	// Keras v3 layout: config.json beside model.weights.h5 or metadata.json.
	kerasZip := false
	for _, m := range a.Members {
		if m.Name == "model.weights.h5" || m.Name == "metadata.json" {
			kerasZip = true
		}
		if m.Name == "data.pkl" || strings.HasSuffix(m.Name, "/data.pkl") {
			p := strings.TrimSuffix(m.Name, "data.pkl")
			storagePrefixes[p+"data/"] = true
			codePrefixes[p+"code/"] = true
		}
	}
	for _, m := range a.Members {
		if err := s.ctx.Err(); err != nil {
			s.notVerified(loc, "scan interrupted: %v", err)
			return
		}
		mloc := member(loc, m.Name)
		if m.Source == "local" && m.Note != "not listed in the central directory" {
			mloc += " (local header)"
		}
		s.judgeMemberName(mloc, "zip", m.Name)
		if m.LocalName != "" {
			s.judgeMemberName(mloc+" (local header name)", "zip", m.LocalName)
		}
		if m.IsDir() {
			continue
		}
		if m.IsSymlink() && m.DataOffset >= 0 {
			s.judgeZipLink(a, m, mloc)
			continue
		}
		if m.DataOffset < 0 {
			s.notVerified(mloc, "zip member: %s", m.Note)
			continue
		}
		if strings.Contains(m.Note, "size unknown") {
			s.notVerified(mloc, "zip member: %s", m.Note)
		}
		dir, _ := path.Split(m.Name)
		if storagePrefixes[dir] && m.Method == zipread.Store {
			// Tensor bytes: never read, except a peek that would catch a
			// pickle hidden under a storage name.
			if !s.storageHidesPickle(a, m) {
				continue
			}
		}
		s.rep.FilesScanned++
		s.rep.BytesScanned += int64(m.UncompressedSize)
		ra, n, done, ok := s.openMember(a, m, mloc)
		if !ok {
			continue
		}
		if isCode(m.Name, codePrefixes) {
			s.judgeTorchScriptCode(ra, n, mloc)
			done()
			continue
		}
		if kerasZip && m.Name == "config.json" {
			s.judgeKerasConfig(ra, n, mloc)
			done()
			continue
		}
		if m.Encrypted() {
			s.encrypted = mloc
		}
		s.scanInput(ra, n, mloc, path.Base(m.Name), "", depth+1)
		s.encrypted = ""
		done()
	}
}

// judgeZipLink reads a symlink member's target (its data, at most 4 KiB
// as unzip tools use it) and judges where it points.
func (s *scanner) judgeZipLink(a *zipread.Archive, m zipread.Member, loc string) {
	if m.UncompressedSize > 4096 {
		s.notVerified(loc, "zip symbolic link member with a %d-byte target: not read", m.UncompressedSize)
		return
	}
	ra, n, done, ok := s.openMember(a, m, loc)
	if !ok {
		return
	}
	defer done()
	buf := make([]byte, n)
	if k, err := ra.ReadAt(buf, 0); int64(k) < n {
		s.notVerified(loc, "zip symbolic link member: cannot read its target: %v", err)
		return
	}
	s.rep.FilesScanned++
	s.rep.BytesScanned += n
	s.judgeLink(loc, "zip", m.Name, string(buf), false)
}

func isCode(name string, prefixes map[string]bool) bool {
	for p := range prefixes {
		if strings.HasPrefix(name, p) && strings.HasSuffix(name, ".py") {
			return true
		}
	}
	return false
}

// storageHidesPickle peeks at the first bytes of a tensor storage member.
func (s *scanner) storageHidesPickle(a *zipread.Archive, m zipread.Member) bool {
	sec, err := a.Section(m)
	if err != nil {
		return true // let openMember report it
	}
	peek := make([]byte, min(sec.Size(), 4096))
	if n, _ := sec.ReadAt(peek, 0); n < len(peek) {
		return true
	}
	wl := pickle.LimitsFrom(s.lim)
	wl.Partial = int64(len(peek)) < sec.Size()
	if len(peek) >= 2 && peek[0] == 0x80 && peek[1] >= 2 && peek[1] <= 5 {
		p := pickle.Walk(pickle.Bytes(peek), 0, int64(len(peek)), wl)
		return len(p.Imports) > 0 || p.Err == nil || int64(len(peek)) < sec.Size() && p.End >= int64(len(peek))-16
	}
	p := pickle.Walk(pickle.Bytes(peek), 0, int64(len(peek)), wl)
	return len(p.Imports) > 0
}

var suspiciousCode = regexp.MustCompile(`\b(os|sys|subprocess|builtins|importlib|socket|shutil)\.|__import__|\beval\(|\bexec\(|\bopen\(|torch\.ops\.(?:aten::)?_?load`)

// judgeTorchScriptCode reports TorchScript source for review: it runs as
// TorchScript (not Python) on torch.jit.load, but it is code.
func (s *scanner) judgeTorchScriptCode(r io.ReaderAt, size int64, loc string) {
	buf := make([]byte, min(size, 1<<20))
	n, _ := r.ReadAt(buf, 0)
	if m := suspiciousCode.Find(buf[:n]); m != nil {
		s.finding(finding.Medium, loc, fmt.Sprintf("TorchScript code refers to %q: review what it does on load", m))
		return
	}
	s.finding(finding.Low, loc, "TorchScript code: runs on torch.jit.load; review it")
}

// openMember returns a member's uncompressed bytes as a ReaderAt: a
// section of the archive for stored members, else decompressed under the
// decompressed-bytes budget.
func (s *scanner) openMember(a *zipread.Archive, m zipread.Member, loc string) (io.ReaderAt, int64, func(), bool) {
	if m.Method == zipread.Store {
		sec, err := a.Section(m)
		if err != nil {
			s.notVerified(loc, "zip member: %v", err)
			return nil, 0, nil, false
		}
		return sec, sec.Size(), func() {}, true
	}
	if m.Encrypted() {
		s.notVerified(loc, "zip member is encrypted (flag bits 0x%x) and compressed: its content cannot be read or verified", m.Flags&(zipread.FlagEncrypted|zipread.FlagStrongEncrypted))
		return nil, 0, nil, false
	}
	rd, err := a.Open(m)
	if err != nil {
		s.notVerified(loc, "zip member: %v", err)
		return nil, 0, nil, false
	}
	return s.spill(rd, loc, "zip member")
}

// spill decompresses rd into memory (or a temporary file past memSpill),
// stopping at the decompressed-bytes budget.
func (s *scanner) spill(rd io.Reader, loc, what string) (io.ReaderAt, int64, func(), bool) {
	budget := s.lim.MaxDecompressedBytes - s.decompressed
	if s.lim.MaxDecompressedBytes <= 0 {
		budget = 1 << 62
	}
	if budget <= 0 {
		s.notVerified(loc, "%s not decompressed: the %d-byte decompression limit is used up (zip bomb?)", what, s.lim.MaxDecompressedBytes)
		return nil, 0, nil, false
	}
	ra, n, done, over, err := spool(rd, budget, s.opts.TempDir)
	s.decompressed += n
	switch {
	case err != nil:
		s.notVerified(loc, "%s: decompression failed after %d bytes: %v", what, n, err)
		return nil, 0, nil, false
	case over:
		return s.overBudget(loc, what)
	}
	return ra, n, done, true
}

func (s *scanner) overBudget(loc, what string) (io.ReaderAt, int64, func(), bool) {
	s.notVerified(loc, "%s inflates past the %d-byte decompression limit: stopped (zip bomb?); raise --max-decompressed to scan it", what, s.lim.MaxDecompressedBytes)
	return nil, 0, nil, false
}

// scanCompressed scans the content of a gzip or bzip2 stream.
func (s *scanner) scanCompressed(r io.ReaderAt, size int64, loc, name, kind string, depth int) {
	if s.tooDeep(loc, depth) {
		return
	}
	sec := io.NewSectionReader(r, 0, size)
	var rd io.Reader
	inner := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".bz2")
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(sec)
		if err != nil {
			s.notVerified(loc, "gzip: %v", err)
			return
		}
		if zr.Name != "" {
			inner = path.Base(zr.Name)
		}
		rd = zr
	default:
		rd = bzip2.NewReader(sec)
	}
	if strings.HasSuffix(inner, ".tgz") {
		inner = strings.TrimSuffix(inner, ".tgz") + ".tar"
	}
	if inner == name || inner == "" {
		inner = "decompressed"
	}
	ra, n, done, ok := s.spill(rd, loc, kind+" stream")
	if !ok {
		return
	}
	defer done()
	s.scanInput(ra, n, member(loc, inner), inner, "", depth+1)
}

// seekCounter lets archive/tar skip member data by seeking (never reading
// it) and tells where each member's data starts.
type seekCounter struct {
	r   *io.SectionReader
	pos int64
}

func (c *seekCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pos += int64(n)
	return n, err
}

func (c *seekCounter) Seek(off int64, whence int) (int64, error) {
	p, err := c.r.Seek(off, whence)
	if err == nil {
		c.pos = p
	}
	return p, err
}

// scanTar scans every regular file of a tar; member data is a section of r.
func (s *scanner) scanTar(r io.ReaderAt, size int64, loc string, depth int) {
	if s.tooDeep(loc, depth) {
		return
	}
	sc := &seekCounter{r: io.NewSectionReader(r, 0, size)}
	tr := tar.NewReader(sc)
	for count := 0; ; count++ {
		if err := s.ctx.Err(); err != nil {
			s.notVerified(loc, "scan interrupted: %v", err)
			return
		}
		if s.lim.MaxMembers > 0 && count >= s.lim.MaxMembers {
			s.notVerified(loc, "tar holds more than %d members: the rest was not scanned (raise --max-members)", s.lim.MaxMembers)
			return
		}
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if errors.Is(err, tar.ErrInsecurePath) && h != nil {
			err = nil // judged below by judgeMemberName
		}
		if err != nil {
			s.notVerified(loc, "tar: %v (after %d members)", err, count)
			return
		}
		mloc := member(loc, h.Name)
		s.judgeMemberName(mloc, "tar", h.Name)
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeSymlink, tar.TypeLink:
			s.judgeLink(mloc, "tar", h.Name, h.Linkname, h.Typeflag == tar.TypeLink)
			continue // no data of their own
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue // no data of their own
		default:
			s.notVerified(mloc, "tar entry of type %q is not read", string(h.Typeflag))
			continue
		}
		start := sc.pos
		if start+h.Size > size || h.Size < 0 {
			s.notVerified(mloc, "tar member of %d bytes runs past the end of the archive: truncated", h.Size)
			return
		}
		s.rep.FilesScanned++
		s.rep.BytesScanned += h.Size
		s.scanInput(io.NewSectionReader(r, start, h.Size), h.Size, mloc, path.Base(h.Name), "", depth+1)
	}
}

// npy header: {'descr': '<f4', 'fortran_order': False, 'shape': (3,), }
var (
	npyDescr  = regexp.MustCompile(`['"]descr['"]\s*:\s*`)
	npyObject = regexp.MustCompile(`['"][|<>=]?O\d*['"]`)
)

// scanNpy reads a numpy .npy header; an object array holds a pickle after it.
func (s *scanner) scanNpy(r io.ReaderAt, size int64, loc string) {
	var pre [12]byte
	if n, _ := r.ReadAt(pre[:], 0); n < 10 {
		s.notVerified(loc, "npy: truncated header")
		return
	}
	major := pre[6]
	var hlen, start int64
	switch major {
	case 1:
		hlen, start = int64(pre[8])|int64(pre[9])<<8, 10
	case 2, 3:
		hlen, start = int64(pre[8])|int64(pre[9])<<8|int64(pre[10])<<16|int64(pre[11])<<24, 12
	default:
		s.notVerified(loc, "npy: unknown format version %d", major)
		return
	}
	if hlen > min(s.lim.MaxHeaderBytes, 1<<20) || start+hlen > size {
		s.notVerified(loc, "npy: header of %d bytes is larger than the file or the limit", hlen)
		return
	}
	hdr := make([]byte, hlen)
	if n, _ := r.ReadAt(hdr, start); int64(n) < hlen {
		s.notVerified(loc, "npy: truncated header")
		return
	}
	i := npyDescr.FindIndex(hdr)
	if i == nil || !bytes.HasPrefix(bytes.TrimSpace(hdr), []byte("{")) {
		s.notVerified(loc, "npy: header has no 'descr' entry: %s", strconv.Quote(string(hdr[:min(len(hdr), 80)])))
		return
	}
	descr := hdr[i[1]:]
	if end := bytes.Index(descr, []byte("'fortran_order'")); end >= 0 {
		descr = descr[:end]
	} else if end := bytes.Index(descr, []byte("'shape'")); end >= 0 {
		descr = descr[:end]
	}
	dataOff := start + hlen
	if !npyObject.Match(descr) {
		// Plain data: nothing runs on load, but the file must hold what the
		// header promises, or a loader fails on it.
		s.checkNpyLength(hdr, descr, size-dataOff, loc)
		return
	}
	res, sum := pickle.Scan(r, dataOff, size, loc, s.lim)
	if !sum.IsPickle {
		s.notVerified(loc, "npy object array: the data after the header is not a valid pickle")
		return
	}
	s.add(res)
}

var (
	npyShape     = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
	npySimpleDty = regexp.MustCompile(`^\s*['"]([<>|=]?)([a-zA-Z])(\d*)(\[[a-zA-Z]+\])?['"]`)
)

// checkNpyLength compares a plain .npy's data length with shape times item
// size: shorter is a truncated file (not verified), longer hides bytes a
// loader never reads (not verified either: they are not what was judged).
func (s *scanner) checkNpyLength(hdr, descr []byte, have int64, loc string) {
	m := npyShape.FindSubmatch(hdr)
	if m == nil {
		s.notVerified(loc, "npy: header has no 'shape' tuple")
		return
	}
	count := uint64(1)
	for _, d := range strings.Split(string(m[1]), ",") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue // "(3,)" and "()"
		}
		v, err := strconv.ParseUint(d, 10, 63)
		if err != nil {
			s.notVerified(loc, "npy: shape dimension %s is not a non-negative integer", strconv.Quote(d))
			return
		}
		hi, lo := bits.Mul64(count, v)
		if hi != 0 || lo > 1<<62 {
			s.notVerified(loc, "npy: shape (%s) overflows: no file can hold it", m[1])
			return
		}
		count = lo
	}
	dt := npySimpleDty.FindSubmatch(descr)
	if dt == nil {
		s.notVerified(loc, "npy: structured dtype %s: its data length is not checked, so the file is not verified", strconv.Quote(string(bytes.TrimSpace(descr))))
		return
	}
	item, err := strconv.ParseUint(string(dt[3]), 10, 32)
	switch kind := dt[2][0]; {
	case kind == '?' || kind == 'b' && len(dt[3]) == 0:
		item, err = 1, nil
	case kind == 'U':
		item *= 4 // UCS-4
	case err != nil:
		s.notVerified(loc, "npy: dtype %q has no item size", dt[0])
		return
	}
	hi, want := bits.Mul64(count, item)
	if hi != 0 || want > 1<<62 {
		s.notVerified(loc, "npy: shape (%s) of %s overflows: no file can hold it", m[1], dt[0])
		return
	}
	switch {
	case uint64(have) < want:
		s.notVerified(loc, "npy: shape (%s) of %s needs %d data bytes but the file holds %d: truncated, a loader fails on it", m[1], dt[0], want, have)
	case uint64(have) > want:
		s.notVerified(loc, "npy: %d bytes after the array data that np.load never reads: not verified", uint64(have)-want)
	}
}

// judgeKerasConfig reads a .keras archive's config.json (bounded by the
// header limit) and judges its layers: Lambda layers carry Python code.
func (s *scanner) judgeKerasConfig(r io.ReaderAt, size int64, loc string) {
	if size > s.lim.MaxHeaderBytes {
		s.notVerified(loc, "Keras config.json is %d bytes, over the %d-byte limit", size, s.lim.MaxHeaderBytes)
		return
	}
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); n != len(data) {
		s.notVerified(loc, "read Keras config.json: %v", err)
		return
	}
	s.add(keras.ScanConfig(data, loc))
}
