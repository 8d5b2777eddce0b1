package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/pickle"
)

// headSize is how much of an input is read to recognise its format.
const headSize = 4096

// Format names reported by detection.
const (
	fmtEmpty   = "empty"
	fmtText    = "text"
	fmtBenign  = "benign data"
	fmtUnknown = "unknown"
)

// scanInput judges one input (a file or an archive member) by its content
// and returns the format it was recognised as. name is its base name (only
// used to decide whether unrecognised content claims to be a model); dir is
// its folder on disk ("" inside an archive); depth its archive nesting.
func (s *scanner) scanInput(r io.ReaderAt, size int64, loc, name, dir string, depth int) string {
	if err := s.ctx.Err(); err != nil {
		s.notVerified(loc, "scan interrupted: %v", err)
		return fmtUnknown
	}
	if size == 0 {
		// An empty __init__.py or .gitkeep runs nothing; an empty file a
		// loader would open as a model holds no model to verify.
		if hasModelExt(name) {
			s.notVerified(loc, "named like a model file but empty (0 bytes): no model to verify")
			return fmtUnknown
		}
		return fmtEmpty
	}
	if _, ok := r.(ctxReaderAt); !ok {
		r = ctxReaderAt{s.ctx, r}
	}
	head := make([]byte, min(size, headSize))
	if n, err := r.ReadAt(head, 0); n < len(head) {
		s.notVerified(loc, "cannot read: %v", err)
		return fmtUnknown
	}
	in := finding.Input{R: r, Size: size, Location: loc, Dir: dir, Limits: s.lim}

	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")),
		bytes.HasPrefix(head, []byte("PK\x07\x08")):
		s.scanZip(r, size, loc, depth)
		return "zip"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		s.scanCompressed(r, size, loc, name, "gzip", depth)
		return "gzip"
	case len(head) >= 10 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9' &&
		bytes.Equal(head[4:10], []byte("1AY&SY")):
		s.scanCompressed(r, size, loc, name, "bzip2", depth)
		return "bzip2"
	case bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		s.notVerified(loc, "7z archive: gatehouse cannot read 7z; extract it and scan the contents")
		s.carve(r, size, loc, "7z archive")
		return "7z"
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		s.notVerified(loc, "xz-compressed data: not supported; decompress it and scan the contents")
		return "xz"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		s.notVerified(loc, "zstd-compressed data: not supported; decompress it and scan the contents")
		return "zstd"
	case bytes.HasPrefix(head, []byte("Rar!\x1a\x07")):
		s.notVerified(loc, "RAR archive: not supported; extract it and scan the contents")
		return "rar"
	case len(head) >= 262 && string(head[257:262]) == "ustar", looksLikeV7Tar(head):
		s.scanTar(r, size, loc, depth)
		return "tar"
	case bytes.HasPrefix(head, []byte("\x93NUMPY")):
		s.scanNpy(r, size, loc)
		return "npy"
	}
	if h := detectFormat(head, size); h != nil {
		s.runFormat(h, in)
		return h.name
	}

	// Pickles, including legacy PyTorch files (several stacked pickles,
	// whatever their magic number says).
	res, sum := pickle.Scan(r, 0, size, loc, s.lim)
	if sum.IsPickle {
		s.add(res)
		if bytes.HasPrefix(head, legacyTorchMagic) && sum.Pickles < 5 && len(res.NotVerified) == 0 {
			// torch.load reads five pickles before the storages; fewer,
			// with data after them, is a file cut short.
			s.notVerified(loc, "legacy PyTorch file holds %d of the 5 pickles torch.load reads (magic, protocol, system info, objects, storage keys): truncated", sum.Pickles)
		}
		// A polyglot: a pickle whose tail is also a zip.
		if hasZipEnd(r, size) {
			s.scanZip(r, size, loc, depth)
		}
		return "pickle"
	}
	if hasZipEnd(r, size) {
		// Data prepended to a zip (self-extracting style): still a zip to loaders.
		s.scanZip(r, size, loc, depth)
		return "zip"
	}
	if kind := benignKind(head, size); kind != "" {
		if hasModelExt(name) {
			why := fmt.Sprintf("named like a model file but the content is %s: no model format recognised", kind)
			if !s.deferUnknown(loc, name, dir, depth, size, why) {
				s.notVerified(loc, "%s", why)
			}
			return fmtUnknown
		}
		if kind == "text" && strings.HasSuffix(strings.ToLower(name), ".py") && depth == 0 {
			s.finding(finding.Low, loc, "Python source shipped with the model: it runs when loaded with trust_remote_code=True; review it")
		}
		if kind == "text" {
			s.judgeTextTemplates(r, size, loc, name)
		}
		return fmtBenign
	}
	if s.encrypted == loc {
		s.notVerified(loc, "zip member is encrypted (flag bit 0): its content is not a readable model format, so it cannot be verified")
		return fmtUnknown
	}
	why := fmt.Sprintf("unrecognised binary format (%s): cannot be verified", describeHead(head))
	if s.deferUnknown(loc, name, dir, depth, size, why) {
		return fmtUnknown
	}
	s.notVerified(loc, "%s", why)
	s.carve(r, size, loc, "unrecognised data")
	return fmtUnknown
}

// legacyTorchMagic is the first pickle of a legacy (pre-zip) PyTorch
// file: protocol 2, LONG1 of the magic number 0x1950a86a20f9469cfc6c, STOP.
var legacyTorchMagic = []byte("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")

// benignKind names content that no loader executes: text (JSON, YAML,
// Markdown, tokenizer vocabularies), images, SentencePiece models.
func benignKind(head []byte, size int64) string {
	switch {
	case isText(head, size):
		return "text"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "a PNG image"
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return "a JPEG image"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "a GIF image"
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return "a WebP image"
	case isSentencePiece(head):
		return "a SentencePiece tokenizer model"
	}
	return ""
}

// isText: valid UTF-8 (a rune may be cut at the end of the head), no NUL,
// no control characters other than tab, newline, carriage return, form feed.
func isText(head []byte, size int64) bool {
	b := head
	if int64(len(head)) < size {
		// Drop a rune cut by the head boundary.
		for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
			if r, _ := utf8.DecodeLastRune(b); r != utf8.RuneError {
				break
			}
			b = b[:len(b)-1]
		}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			return false
		}
	}
	return true
}

// isSentencePiece recognises a SentencePiece ModelProto: field 1 (pieces)
// holding a message whose field 1 is the piece string and field 2 its score.
func isSentencePiece(head []byte) bool {
	if len(head) < 8 || head[0] != 0x0a {
		return false
	}
	n, k := binary.Uvarint(head[1:])
	if k <= 0 || n == 0 || n > 1<<20 {
		return false
	}
	p := head[1+k:]
	if len(p) < 2 || p[0] != 0x0a {
		return false
	}
	sl, k2 := binary.Uvarint(p[1:])
	if k2 <= 0 || sl > 1024 || int(sl)+1+k2 >= len(p) {
		return false
	}
	piece := p[1+k2 : 1+k2+int(sl)]
	rest := p[1+k2+int(sl):]
	return utf8.Valid(piece) && len(rest) > 0 && (rest[0] == 0x15 || rest[0] == 0x18)
}

func describeHead(head []byte) string {
	n := min(len(head), 8)
	return fmt.Sprintf("first bytes % x", head[:n])
}

// looksLikeV7Tar recognises a pre-POSIX tar header by its checksum.
func looksLikeV7Tar(head []byte) bool {
	if len(head) < 512 {
		return false
	}
	h := head[:512]
	chk := h[148:156]
	var want int64
	_, err := fmt.Sscanf(strings.Trim(string(chk), " \x00"), "%o", &want)
	if err != nil || want == 0 {
		return false
	}
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want && h[0] != 0
}

// hasZipEnd reports an end-of-central-directory record in the last 64 KiB.
func hasZipEnd(r io.ReaderAt, size int64) bool {
	tail := min(size, 65535+22)
	if tail < 22 {
		return false
	}
	buf := make([]byte, tail)
	if n, _ := r.ReadAt(buf, size-tail); n < len(buf) {
		return false
	}
	return bytes.Contains(buf, []byte("PK\x05\x06"))
}

// carve looks for protocol 2+ pickles inside data gatehouse cannot parse
// (a 7z archive stores members uncompressed with the "copy" method) and
// reports their imports. It adds findings only; the input stays not verified.
func (s *scanner) carve(r io.ReaderAt, size int64, loc, what string) {
	const maxCarve = 64 << 20
	// The first maxCarve bytes are searched a window at a time, and each
	// candidate is walked straight from r: memory stays at a window and
	// the walker's buffer, however many large unknown files are scanned
	// at once (a 64 MiB copy each, before).
	const window = 1 << 20
	n := min(size, maxCarve)
	wl := pickle.LimitsFrom(s.lim)
	wl.Partial = n < size
	buf := make([]byte, min(n, window+1))
	tries := 0
	for base := int64(0); base+2 <= n && tries < 10_000; {
		// One byte of overlap, so a marker split across windows is seen.
		m, _ := r.ReadAt(buf[:min(int64(len(buf)), n-base)], base)
		if int64(m) < min(int64(len(buf)), n-base) {
			return // a short read: the container's own parse reports it
		}
		next := base + int64(m) - 1
		for i := 0; i+2 <= m && tries < 10_000; i++ {
			if buf[i] != 0x80 || buf[i+1] < 2 || buf[i+1] > 5 {
				continue
			}
			if s.ctx.Err() != nil {
				return // Scan reports the interrupt
			}
			tries++
			at := base + int64(i)
			p := pickle.Walk(r, at, n, wl)
			// Random bytes parse as pickles now and then; what CPython
			// could not even resolve is their noise, not a payload.
			p.Imports = slices.DeleteFunc(p.Imports, func(imp pickle.Import) bool { return !pickle.Loadable(imp) })
			p.Builds = slices.DeleteFunc(p.Builds, func(imp pickle.Import) bool { return !pickle.Loadable(imp) })
			if len(p.Imports) == 0 && len(p.Builds) == 0 {
				continue
			}
			var res finding.Result
			p.Err = nil // the read error is the container's, already not verified
			pickle.Report(&res, p, loc)
			for j := range res.Findings {
				res.Findings[j].Reason += " (pickle found inside " + what + ")"
			}
			s.add(res)
			if p.End > at+1 {
				// Carry on after this pickle, wherever it ended.
				next = p.End
				break
			}
		}
		if next <= base {
			break
		}
		base = next
	}
}
