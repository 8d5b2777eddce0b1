package sources

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A layer whose bytes were changed so that its archive no longer reads is
// tampering (ErrIntegrity), found by hashing the rest of the layer after
// the reader failed; a layer that is broken as published (its digest
// matches) is ErrMalformed, which is a hostile tree (ErrUnsafePath).
func TestOCIBrokenArchive(t *testing.T) {
	reg := newFakeRegistry(t)
	two := makeTar(t, []tarEntry{{name: "a.bin", body: []byte("aaaa")}, {name: "b.bin", body: []byte("bbbb")}})
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x20
		return c
	}
	// tamper serves other bytes for a layer whose descriptor keeps the
	// digest and size of the original: what a proxy or a bad mirror does.
	tamper := func(tag, mediaType string, orig, served []byte) string {
		d := reg.add(mediaType, orig, nil)
		reg.blobs[d.Digest] = served
		reg.modelPack(tag, []descriptor{d})
		return d.Digest
	}
	// publish stores bytes under their own digest: broken as published.
	publish := func(tag, mediaType string, b []byte) string {
		d := reg.add(mediaType, b, nil)
		reg.modelPack(tag, []descriptor{d})
		return d.Digest
	}
	const tarType = "application/vnd.cncf.model.weight.v1.tar"
	const gzType = "application/vnd.cncf.model.weight.v1.tar+gzip"
	const zstType = "application/vnd.cncf.model.weight.v1.tar+zstd"
	zipped := gz(t, two)
	zstded := zst(t, two)

	// Truncated content: the header promises 1000 bytes, 4 follow.
	trunc := makeTar(t, []tarEntry{{name: "a.bin", body: []byte("aaaa")}})
	short := bytes.Clone(trunc[:512+4])
	copy(short[124:136], []byte("00000001750\x00")) // size field: 1000 (octal 1750)
	fixChecksum(short[:512])

	tests := []struct {
		tag     string
		digest  string
		is      error
		notIs   error
		mention []string
	}{
		// The first header's mode field: the header checksum fails.
		{"hdr-first", tamper("hdr-first", tarType, two, flip(two, 100)), ErrIntegrity, ErrMalformed, []string{"content hashes to", "invalid tar header"}},
		// The second entry's header: a.bin was handed out, then the tar broke.
		{"hdr-second", tamper("hdr-second", tarType, two, flip(two, 1024+100)), ErrIntegrity, ErrMalformed, []string{"content hashes to"}},
		// A flipped byte in compressed data: gzip fails (checksum or flate).
		{"gzip-body", tamper("gzip-body", gzType, zipped, flip(zipped, len(zipped)/2)), ErrIntegrity, ErrMalformed, []string{"content hashes to"}},
		{"gzip-magic", tamper("gzip-magic", gzType, zipped, flip(zipped, 0)), ErrIntegrity, ErrMalformed, []string{"content hashes to", "gzip"}},
		{"zstd-body", tamper("zstd-body", zstType, zstded, flip(zstded, len(zstded)/2)), ErrIntegrity, ErrMalformed, []string{"content hashes to"}},
		// Broken as published: the digest matches, the archive does not read.
		{"pub-hdr", publish("pub-hdr", tarType, flip(two, 1024+100)), ErrMalformed, ErrIntegrity, []string{"bytes match the manifest", `after entry "a.bin"`, "invalid tar header"}},
		{"pub-first", publish("pub-first", tarType, flip(two, 100)), ErrMalformed, ErrIntegrity, []string{"at its first entry"}},
		{"pub-gzip", publish("pub-gzip", gzType, []byte("not gzip at all")), ErrMalformed, ErrIntegrity, []string{"at its first entry", "gzip"}},
		{"pub-trunc", publish("pub-trunc", tarType, short), ErrMalformed, ErrIntegrity, []string{`in the content of entry "a.bin"`, "unexpected EOF"}},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tree, err := Open(ctx, "oci://"+reg.addr()+"/broken/m:"+tc.tag, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = walkAll(t, tree)
			if !errors.Is(err, tc.is) || errors.Is(err, tc.notIs) {
				t.Fatalf("walk: %v; want %v and not %v", err, tc.is, tc.notIs)
			}
			// Both are a hostile tree: denied, never "not decided".
			if !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrUnsafePath) {
				t.Errorf("walk: %v is neither ErrIntegrity nor ErrUnsafePath", err)
			}
			for _, w := range append(tc.mention, tc.digest) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("walk: %v; does not mention %q", err, w)
				}
			}
		})
	}
}

// A callback that fails on its own is not blamed on the archive, and a
// limit stays a limit (not decided), once the layer is found intact.
func TestOCIBrokenArchiveKeepsOtherErrors(t *testing.T) {
	reg := newFakeRegistry(t)
	d := reg.add("application/vnd.cncf.model.weight.v1.tar", makeTar(t, []tarEntry{{name: "a.bin", body: []byte("aaaa")}}), nil)
	reg.modelPack("ok", []descriptor{d})
	tree, err := Open(context.Background(), "oci://"+reg.addr()+"/broken/m:ok", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mine := errors.New("scanner gave up")
	err = tree.Walk(context.Background(), func(ctx context.Context, f *File) error { return mine })
	if !errors.Is(err, mine) || errors.Is(err, ErrUnsafePath) || errors.Is(err, ErrIntegrity) {
		t.Errorf("walk: %v; want the callback's own error", err)
	}
	// The same callback error on a tampered layer is tampering.
	bad := reg.add("application/vnd.cncf.model.weight.v1.tar", makeTar(t, []tarEntry{{name: "b.bin", body: []byte("bbbb")}}), nil)
	reg.blobs[bad.Digest] = makeTar(t, []tarEntry{{name: "b.bin", body: []byte("BBBB")}})
	reg.modelPack("bad", []descriptor{bad})
	tree, err = Open(context.Background(), "oci://"+reg.addr()+"/broken/m:bad", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	err = tree.Walk(context.Background(), func(ctx context.Context, f *File) error { return mine })
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), bad.Digest) {
		t.Errorf("walk of a tampered layer: %v; want ErrIntegrity naming %s", err, bad.Digest)
	}
	// A per-file limit on an intact layer stays ErrLimit.
	opts := testOptions()
	opts.MaxFileBytes = 2
	tree, err = Open(context.Background(), "oci://"+reg.addr()+"/broken/m:ok", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = walkAll(t, tree)
	if !errors.Is(err, ErrLimit) || errors.Is(err, ErrUnsafePath) {
		t.Errorf("walk over the limit: %v; want ErrLimit only", err)
	}
}

// fixChecksum recomputes a tar header block's checksum.
func fixChecksum(h []byte) {
	copy(h[148:156], []byte("        "))
	var sum int64
	for _, c := range h[:512] {
		sum += int64(c)
	}
	copy(h[148:156], []byte(formatOctal(sum, 7)+"\x00"))
}

func formatOctal(n int64, width int) string {
	s := strings.Repeat("0", width) + strconv.FormatInt(n, 8)
	return s[len(s)-width:]
}
