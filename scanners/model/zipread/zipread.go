// Package zipread reads zip archives tolerantly, the way a scanner must:
// it reads both the central directory and the local headers and returns
// the union of what they describe (a member hidden from one view is still
// found), ignores CRCs and flag bits that strict readers refuse, walks local
// headers when there is no central directory at all, and never reads
// member data unless asked (stored members are sections of the ReaderAt).
package zipread

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Compression methods.
const (
	Store   uint16 = 0
	Deflate uint16 = 8
	BZip2   uint16 = 12
)

// Flag bits of interest.
const (
	FlagEncrypted       uint16 = 0x1
	FlagDataDescriptor  uint16 = 0x8
	FlagPatched         uint16 = 0x20
	FlagStrongEncrypted uint16 = 0x40
)

var (
	// ErrNotZip: neither a central directory nor a local header was found.
	ErrNotZip = errors.New("not a zip archive: no central directory and no local file header")
	// ErrMethod: the member's compression method is not supported.
	ErrMethod = errors.New("unsupported compression method")
	// ErrLimit: a limit stopped the read.
	ErrLimit = errors.New("limit reached")
)

const (
	sigLocal    = 0x04034b50
	sigCentral  = 0x02014b50
	sigEnd      = 0x06054b50
	sigEnd64    = 0x06064b50
	sigLoc64    = 0x07064b50
	sigDataDesc = 0x08074b50
)

// Member is one entry, as seen by the central directory, a local header, or both.
type Member struct {
	Name             string
	Method           uint16
	Flags            uint16
	CRC32            uint32
	CompressedSize   uint64
	UncompressedSize uint64
	HeaderOffset     int64 // local file header
	DataOffset       int64
	// Source is "central+local" when both views agree, else "central" or
	// "local" (each view of a disagreeing member is its own Member).
	Source string
	// Note explains a disagreement, e.g. a name that differs between views.
	Note string
	// LocalName is the local header's name when it differs from Name.
	LocalName string
	// CreatorOS is the high byte of "version made by" (3 = Unix, 19 = OS X)
	// and ExternalAttrs the external file attributes, both from the central
	// directory (zero for members found by local headers only).
	CreatorOS     uint8
	ExternalAttrs uint32
}

// IsSymlink reports a member an unzip tool extracts as a symbolic link: a
// Unix-made entry whose mode (the high 16 bits of the external attributes)
// is S_IFLNK. Its data is the link target.
func (m Member) IsSymlink() bool {
	return (m.CreatorOS == 3 || m.CreatorOS == 19) && (m.ExternalAttrs>>16)&0o170000 == 0o120000
}

// Encrypted reports whether a flag bit says the data is encrypted.
func (m Member) Encrypted() bool { return m.Flags&(FlagEncrypted|FlagStrongEncrypted) != 0 }

// IsDir reports a directory entry (name ends in '/', no data).
func (m Member) IsDir() bool {
	return len(m.Name) > 0 && m.Name[len(m.Name)-1] == '/' && m.CompressedSize == 0
}

// Archive is a read zip.
type Archive struct {
	r       io.ReaderAt
	size    int64
	Members []Member
	// HasCentral is false when no central directory was found and the
	// members come from walking local headers alone.
	HasCentral bool
	// Notes record oddities (truncated directory, prepended data, ...).
	Notes []string
	// Damaged says why the archive is not whole (no or a truncated central
	// directory, a member running past the end): loaders refuse it, so it
	// cannot be verified even when every member found was read.
	Damaged []string
}

// Limits bound a read.
type Limits struct {
	MaxMembers int // members in all views; 0 = no limit
}

type cdEntry struct {
	Member
	localName string
}

// Read parses the archive structure (never member data, except to find the
// end of a member whose size only a data descriptor records).
func Read(r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	a := &Archive{r: r, size: size}
	central, base, err := a.readCentral(lim)
	if err != nil && !errors.Is(err, errNoEnd) {
		if errors.Is(err, ErrLimit) {
			return a, err
		}
		a.Notes = append(a.Notes, "central directory unreadable: "+err.Error())
		a.Damaged = append(a.Damaged, "central directory unreadable: "+err.Error())
	}
	a.HasCentral = len(central) > 0 || (err == nil)
	if !a.HasCentral {
		a.Damaged = append(a.Damaged, "no central directory (a truncated zip?): loaders cannot open it; members were found by their local headers only")
	}
	seen := map[[3]int64]bool{} // dataOffset, method, compressed size
	add := func(m Member) error {
		key := [3]int64{m.DataOffset, int64(m.Method), int64(m.CompressedSize)}
		if seen[key] {
			return nil
		}
		seen[key] = true
		if lim.MaxMembers > 0 && len(a.Members) >= lim.MaxMembers {
			return fmt.Errorf("more than %d members: %w", lim.MaxMembers, ErrLimit)
		}
		a.Members = append(a.Members, m)
		return nil
	}
	byOffset := map[int64]*cdEntry{}
	for i := range central {
		e := &central[i]
		byOffset[e.HeaderOffset] = e
		loc, lerr := a.readLocal(e.HeaderOffset)
		if lerr != nil {
			// The central view alone cannot locate the data.
			e.Source = "central"
			e.Note = "local header unreadable: " + lerr.Error()
			e.DataOffset = -1
			if err := add(e.Member); err != nil {
				return a, err
			}
			continue
		}
		cm := e.Member
		cm.DataOffset = loc.DataOffset
		lm := loc
		if lm.Flags&FlagDataDescriptor != 0 && lm.CompressedSize == 0 {
			lm.CompressedSize, lm.UncompressedSize, lm.CRC32 = cm.CompressedSize, cm.UncompressedSize, cm.CRC32
		}
		if lm.Method == cm.Method && lm.CompressedSize == cm.CompressedSize {
			cm.Source = "central+local"
			if lm.Name != cm.Name {
				cm.Note = fmt.Sprintf("local header names it %q", lm.Name)
				cm.LocalName = lm.Name
			}
			if err := add(cm); err != nil {
				return a, err
			}
			continue
		}
		cm.Source = "central"
		cm.Note = fmt.Sprintf("local header disagrees (method %d, size %d, name %q)", lm.Method, lm.CompressedSize, lm.Name)
		lm.Source = "local"
		lm.Note = fmt.Sprintf("central directory disagrees (method %d, size %d, name %q)", cm.Method, cm.CompressedSize, cm.Name)
		if err := add(cm); err != nil {
			return a, err
		}
		if err := add(lm); err != nil {
			return a, err
		}
	}
	// Walk local headers in sequence to find members the central directory
	// does not list (or all of them, when there is none).
	start := int64(0)
	if base > 0 {
		start = base
	}
	if err := a.walkLocal(start, byOffset, add); err != nil {
		return a, err
	}
	if len(a.Members) == 0 && !a.HasCentral {
		return a, ErrNotZip
	}
	return a, nil
}

var errNoEnd = errors.New("no end of central directory record")

// readCentral finds the end record and parses the central directory. base
// is the offset of the first byte of the archive proper (data prepended to
// a zip shifts every offset).
func (a *Archive) readCentral(lim Limits) ([]cdEntry, int64, error) {
	tail := int64(65535 + 22)
	if tail > a.size {
		tail = a.size
	}
	buf := make([]byte, tail)
	if _, err := a.r.ReadAt(buf, a.size-tail); err != nil && err != io.EOF {
		return nil, 0, err
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	for i >= 0 && len(buf)-i < 22 {
		i = bytes.LastIndex(buf[:i], []byte("PK\x05\x06"))
	}
	if i < 0 {
		return nil, 0, errNoEnd
	}
	endOff := a.size - tail + int64(i)
	e := buf[i:]
	count := uint64(binary.LittleEndian.Uint16(e[10:]))
	cdSize := uint64(binary.LittleEndian.Uint32(e[12:]))
	cdOff := uint64(binary.LittleEndian.Uint32(e[16:]))
	// zip64: a locator 20 bytes before the end record points at the zip64 end record.
	if endOff >= 20 {
		var loc [20]byte
		if _, err := a.r.ReadAt(loc[:], endOff-20); err == nil && binary.LittleEndian.Uint32(loc[:]) == sigLoc64 {
			off := int64(binary.LittleEndian.Uint64(loc[8:]))
			var rec [56]byte
			if off >= 0 && off < a.size {
				if _, err := a.r.ReadAt(rec[:], off); err == nil && binary.LittleEndian.Uint32(rec[:]) == sigEnd64 {
					count = binary.LittleEndian.Uint64(rec[32:])
					cdSize = binary.LittleEndian.Uint64(rec[40:])
					cdOff = binary.LittleEndian.Uint64(rec[48:])
					endOff = off
				}
			}
		}
	}
	// Prepended data: the directory really sits just before the end record.
	base := int64(0)
	if cdSize <= uint64(endOff) && cdOff+cdSize != uint64(endOff) {
		base = endOff - int64(cdSize) - int64(cdOff)
		if base < 0 {
			base = 0
		} else {
			a.Notes = append(a.Notes, fmt.Sprintf("%d bytes precede the archive", base))
		}
	}
	pos := int64(cdOff) + base
	if pos < 0 || pos > a.size {
		return nil, 0, fmt.Errorf("central directory offset %d is outside the file", cdOff)
	}
	var out []cdEntry
	var hdr [46]byte
	for n := uint64(0); n < count || count == 0xffff; n++ {
		if lim.MaxMembers > 0 && len(out) >= lim.MaxMembers {
			return out, base, fmt.Errorf("central directory lists more than %d members: %w", lim.MaxMembers, ErrLimit)
		}
		if _, err := a.r.ReadAt(hdr[:], pos); err != nil || binary.LittleEndian.Uint32(hdr[:]) != sigCentral {
			if uint64(len(out)) < count && count != 0xffff {
				a.Notes = append(a.Notes, fmt.Sprintf("central directory holds %d of %d entries", len(out), count))
				a.Damaged = append(a.Damaged, fmt.Sprintf("central directory holds %d of the %d entries its end record declares", len(out), count))
			}
			break
		}
		nameLen := int64(binary.LittleEndian.Uint16(hdr[28:]))
		extraLen := int64(binary.LittleEndian.Uint16(hdr[30:]))
		commentLen := int64(binary.LittleEndian.Uint16(hdr[32:]))
		vb := make([]byte, nameLen+extraLen)
		if _, err := a.r.ReadAt(vb, pos+46); err != nil {
			return out, base, fmt.Errorf("central directory entry at offset %d: %w", pos, io.ErrUnexpectedEOF)
		}
		m := Member{
			Name:             string(vb[:nameLen]),
			Flags:            binary.LittleEndian.Uint16(hdr[8:]),
			Method:           binary.LittleEndian.Uint16(hdr[10:]),
			CRC32:            binary.LittleEndian.Uint32(hdr[16:]),
			CompressedSize:   uint64(binary.LittleEndian.Uint32(hdr[20:])),
			UncompressedSize: uint64(binary.LittleEndian.Uint32(hdr[24:])),
			HeaderOffset:     int64(binary.LittleEndian.Uint32(hdr[42:])),
			CreatorOS:        hdr[5],
			ExternalAttrs:    binary.LittleEndian.Uint32(hdr[38:]),
		}
		zip64Extra(vb[nameLen:], &m.UncompressedSize, &m.CompressedSize, &m.HeaderOffset)
		m.HeaderOffset += base
		out = append(out, cdEntry{Member: m})
		pos += 46 + nameLen + extraLen + commentLen
	}
	return out, base, nil
}

// zip64Extra replaces saturated 32-bit fields with the zip64 extra field's values.
func zip64Extra(extra []byte, usize, csize *uint64, off *int64) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+n > len(extra) {
			return
		}
		field := extra[4 : 4+n]
		if id == 0x0001 {
			next := func() (uint64, bool) {
				if len(field) < 8 {
					return 0, false
				}
				v := binary.LittleEndian.Uint64(field)
				field = field[8:]
				return v, true
			}
			if *usize == 0xffffffff {
				if v, ok := next(); ok {
					*usize = v
				}
			}
			if *csize == 0xffffffff {
				if v, ok := next(); ok {
					*csize = v
				}
			}
			if off != nil && *off == 0xffffffff {
				if v, ok := next(); ok {
					*off = int64(v)
				}
			}
			return
		}
		extra = extra[4+n:]
	}
}

// readLocal parses the local header at off.
func (a *Archive) readLocal(off int64) (Member, error) {
	var h [30]byte
	if off < 0 || off+30 > a.size {
		return Member{}, fmt.Errorf("local header offset %d is outside the file", off)
	}
	if _, err := a.r.ReadAt(h[:], off); err != nil {
		return Member{}, err
	}
	if binary.LittleEndian.Uint32(h[:]) != sigLocal {
		return Member{}, fmt.Errorf("no local header signature at offset %d", off)
	}
	nameLen := int64(binary.LittleEndian.Uint16(h[26:]))
	extraLen := int64(binary.LittleEndian.Uint16(h[28:]))
	vb := make([]byte, nameLen+extraLen)
	if _, err := a.r.ReadAt(vb, off+30); err != nil {
		return Member{}, fmt.Errorf("local header at offset %d: %w", off, io.ErrUnexpectedEOF)
	}
	m := Member{
		Name:             string(vb[:nameLen]),
		Flags:            binary.LittleEndian.Uint16(h[6:]),
		Method:           binary.LittleEndian.Uint16(h[8:]),
		CRC32:            binary.LittleEndian.Uint32(h[14:]),
		CompressedSize:   uint64(binary.LittleEndian.Uint32(h[18:])),
		UncompressedSize: uint64(binary.LittleEndian.Uint32(h[22:])),
		HeaderOffset:     off,
		DataOffset:       off + 30 + nameLen + extraLen,
		Source:           "local",
	}
	zip64Extra(vb[nameLen:], &m.UncompressedSize, &m.CompressedSize, nil)
	return m, nil
}

// walkLocal follows local headers one after another from off.
func (a *Archive) walkLocal(off int64, central map[int64]*cdEntry, add func(Member) error) error {
	for off+30 <= a.size {
		m, err := a.readLocal(off)
		if err != nil {
			return nil // end of the local header chain
		}
		ce := central[off]
		size := m.CompressedSize
		if m.Flags&FlagDataDescriptor != 0 && size == 0 {
			if ce != nil {
				size = ce.CompressedSize
				m.CompressedSize, m.UncompressedSize, m.CRC32 = ce.CompressedSize, ce.UncompressedSize, ce.CRC32
			} else {
				n, err := a.findEnd(m)
				if err != nil {
					m.Note = "size unknown: " + err.Error()
					m.CompressedSize = uint64(a.size - m.DataOffset)
					return add(m)
				}
				size = uint64(n)
				m.CompressedSize = size
			}
		}
		if ce == nil {
			m.Note = "not listed in the central directory"
			if err := add(m); err != nil {
				return err
			}
		}
		next := m.DataOffset + int64(size)
		if next < off || next > a.size {
			a.Damaged = append(a.Damaged, fmt.Sprintf("member %q at offset %d runs past the end of the file (truncated)", m.Name, off))
			return nil
		}
		if m.Flags&FlagDataDescriptor != 0 {
			next = a.skipDescriptor(next)
		}
		off = next
	}
	return nil
}

// skipDescriptor steps over a data descriptor (with or without its
// signature, 32- or 64-bit sizes) to the next header.
func (a *Archive) skipDescriptor(off int64) int64 {
	for _, n := range []int64{16, 24, 12, 20} {
		var b [4]byte
		if _, err := a.r.ReadAt(b[:], off+n); err == nil {
			s := binary.LittleEndian.Uint32(b[:])
			if s == sigLocal || s == sigCentral || s == sigEnd {
				return off + n
			}
		}
	}
	return off + 16
}

// findEnd finds where a member of unknown size ends: by inflating a
// deflated member, or by searching a stored one for its data descriptor.
func (a *Archive) findEnd(m Member) (int64, error) {
	sec := io.NewSectionReader(a.r, m.DataOffset, a.size-m.DataOffset)
	if m.Method == Deflate {
		cr := &countingReader{r: bufio.NewReaderSize(sec, 64<<10)}
		fr := flate.NewReader(cr)
		if _, err := io.Copy(io.Discard, fr); err != nil {
			return 0, fmt.Errorf("inflate: %w", err)
		}
		return cr.n, nil
	}
	buf := make([]byte, 64<<10)
	var pos int64
	for {
		n, err := sec.ReadAt(buf, pos)
		if i := bytes.Index(buf[:n], []byte("PK\x07\x08")); i >= 0 {
			return pos + int64(i), nil
		}
		if err != nil {
			return 0, errors.New("no data descriptor found")
		}
		pos += int64(n) - 3
	}
}

// countingReader is an io.ByteReader, so flate reads no further than the
// end of the stream and n is exactly the compressed size.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// Section returns a stored member's bytes as a section of the archive
// (no copy, no read). It fails for a member whose data lies outside the file.
func (a *Archive) Section(m Member) (*io.SectionReader, error) {
	if m.DataOffset < 0 {
		return nil, errors.New("data offset unknown (local header unreadable)")
	}
	end := m.DataOffset + int64(m.CompressedSize)
	if m.CompressedSize > uint64(a.size) || end > a.size {
		return nil, fmt.Errorf("member data (%d bytes at offset %d) runs past the end of the archive (%d bytes): truncated", m.CompressedSize, m.DataOffset, a.size)
	}
	return io.NewSectionReader(a.r, m.DataOffset, int64(m.CompressedSize)), nil
}

// Open returns a reader of the member's uncompressed bytes. CRCs are not
// checked (a bad CRC is a known way to make strict scanners skip a member
// that loaders read anyway). Encryption flags are not honoured either: the
// caller decides what an encrypted member means.
func (a *Archive) Open(m Member) (io.Reader, error) {
	sec, err := a.Section(m)
	if err != nil {
		return nil, err
	}
	switch m.Method {
	case Store:
		return sec, nil
	case Deflate:
		return flate.NewReader(sec), nil
	case BZip2:
		return bzip2.NewReader(sec), nil
	}
	return nil, fmt.Errorf("%w %d (only store, deflate and bzip2 are read)", ErrMethod, m.Method)
}
