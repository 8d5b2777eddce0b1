package model

import (
	"encoding/binary"
	"path/filepath"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/model/gguf"
	"github.com/gatehouse-dev/gatehouse/scanners/model/keras"
	"github.com/gatehouse-dev/gatehouse/scanners/model/onnx"
	"github.com/gatehouse-dev/gatehouse/scanners/model/safetensors"
	"github.com/gatehouse-dev/gatehouse/scanners/model/savedmodel"
)

// formatHandler is a format parsed by one of the sub-packages.
type formatHandler struct {
	name   string
	detect func(head []byte, size int64) bool
	// scan is nil while the format's parser is not wired in: the input is
	// then reported as not verified, never clean.
	scan func(in finding.Input) (finding.Result, error)
}

// formats are tried in order after the archive and pickle magics.
var formats = []*formatHandler{
	{name: "safetensors", detect: isSafetensors, scan: safetensors.Scan},
	{name: "HDF5 (Keras .h5)", detect: func(h []byte, _ int64) bool { return keras.Detect(h) }, scan: keras.ScanH5},
	{name: "GGUF", detect: func(h []byte, _ int64) bool { return gguf.Detect(h) }, scan: gguf.Scan},
	{name: "ONNX", detect: func(h []byte, _ int64) bool { return onnx.Detect(h) }, scan: onnx.Scan},
	{name: "TensorFlow SavedModel", detect: func(h []byte, _ int64) bool { return savedmodel.Detect(h) }, scan: savedmodel.Scan},
	{name: "TensorFlow SavedModel (text format)", detect: func(h []byte, _ int64) bool { return savedmodel.DetectText(h) }, scan: savedmodel.ScanText},
	{name: "TensorFlow Lite", detect: func(h []byte, _ int64) bool { return len(h) >= 8 && string(h[4:8]) == "TFL3" }},
}

func isSafetensors(h []byte, size int64) bool {
	if len(h) < 9 || size < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(h)
	return n > 1 && n <= uint64(size-8) && h[8] == '{'
}

func detectFormat(head []byte, size int64) *formatHandler {
	for _, f := range formats {
		if f.detect(head, size) {
			return f
		}
	}
	return nil
}

func (s *scanner) runFormat(h *formatHandler, in finding.Input) {
	if h.scan == nil {
		s.notVerified(in.Location, "%s file: gatehouse does not parse this format yet, so it is not verified", h.name)
		return
	}
	res, err := h.scan(in)
	s.add(res)
	if in.Dir != "" {
		for _, e := range res.External {
			p := filepath.Clean(filepath.Join(in.Dir, filepath.FromSlash(e.Path)))
			if s.claims == nil {
				s.claims = map[string]int64{}
			}
			s.claims[p] = max(s.claims[p], e.MinSize)
		}
	}
	if err != nil {
		s.notVerified(in.Location, "%s: %v", h.name, err)
	}
}
