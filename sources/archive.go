package sources

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// zstdMaxWindow bounds the memory a zstd frame may ask the decoder for
// (a frame declaring a larger window is refused, not allocated).
const zstdMaxWindow = 32 << 20

func decompressor(r io.Reader, compression string) (io.Reader, func(), error) {
	switch compression {
	case "":
		return r, func() {}, nil
	case "gzip":
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return z, func() { z.Close() }, nil
	case "zstd":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return z, z.Close, nil
	}
	return nil, nil, fmt.Errorf("compression %q: %w", compression, ErrUnsupported)
}

// cleanEntry turns an archive entry name or annotation into a tree path:
// slash-separated, relative, without "." or ".." elements. A name that
// would leave the tree ("../x", "/etc/x" is made relative, "a/../../x")
// is refused with ErrUnsafePath.
func cleanEntry(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("entry name %q: %w", textsafe.Escape(name), ErrUnsafePath)
	}
	n := strings.ReplaceAll(name, "\\", "/")
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("entry name %q climbs out with \"..\": %w", textsafe.Escape(name), ErrUnsafePath)
		}
	}
	n = path.Clean("/" + n)[1:]
	if n == "" {
		return "", fmt.Errorf("entry name %q names the root: %w", textsafe.Escape(name), ErrUnsafePath)
	}
	return n, nil
}

// walkTar reads a tar stream and hands its entries to fn. Headers are
// checked against the limits before any content is read.
func walkTar(ctx context.Context, r io.Reader, lp layerPlan, w *walkState, fn func(context.Context, *File) error) error {
	d := lp.desc
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer %s: tar: %w", d.Digest, err)
		}
		if hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		p, err := cleanEntry(hdr.Name)
		if err != nil {
			return fmt.Errorf("layer %s: %w", d.Digest, err)
		}
		if lp.filter != "" && lp.filter != "/" {
			prefix := strings.TrimSuffix(lp.filter, "/") + "/"
			if !strings.HasPrefix(p+"/", prefix) {
				continue
			}
		}
		if err := w.countFile("layer " + d.Digest); err != nil {
			return err
		}
		f := &File{Path: p, Size: hdr.Size, Type: TypeRegular, Layer: d.Digest, LayerMediaType: d.MediaType, LayerPath: hdr.Name}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
			if hdr.Size < 0 || hdr.Size > w.opts.MaxFileBytes {
				return fmt.Errorf("layer %s: %s is %d bytes, over the per-file limit of %d: %w", d.Digest, textsafe.Escape(p), hdr.Size, w.opts.MaxFileBytes, ErrLimit)
			}
			opened := false
			f.open = func(context.Context) (io.ReadCloser, error) {
				if opened {
					return nil, fmt.Errorf("%s: already opened (layer %s is read once)", textsafe.Escape(p), d.Digest)
				}
				opened = true
				return io.NopCloser(tr), nil
			}
		case tar.TypeSymlink:
			f.Type, f.Size, f.Linkname = TypeSymlink, -1, hdr.Linkname
		case tar.TypeLink:
			f.Type, f.Size, f.Linkname = TypeHardlink, -1, hdr.Linkname
		default:
			f.Type, f.Size = TypeOther, -1
		}
		err = fn(ctx, f)
		f.open = nil
		if err != nil {
			return err
		}
	}
}
