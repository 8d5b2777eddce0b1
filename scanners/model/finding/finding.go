// Package finding is the vocabulary shared by the model scanner and its
// per-format parsers: severities, findings, "not verified" records, limits
// and the input a format parser is handed. It has no logic of its own
// beyond ordering and naming severities, so every parser can import it
// without importing the scanner that drives them.
package finding

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Severity of a finding; higher is worse.
type Severity int

const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

var severityNames = [...]string{Low: "low", Medium: "medium", High: "high", Critical: "critical"}

func (s Severity) String() string {
	if s >= Low && s <= Critical {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity reads "low", "medium", "high" or "critical" (any case).
func ParseSeverity(s string) (Severity, error) {
	for i := Low; i <= Critical; i++ {
		if strings.EqualFold(s, severityNames[i]) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: want low, medium, high or critical", s)
}

func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *Severity) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseSeverity(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Finding is one thing a scanner judged unsafe or worth review.
type Finding struct {
	Severity Severity `json:"severity"`
	// Location names the file, archive member and offset:
	// "outer.pt:archive/data.pkl@123".
	Location string `json:"location"`
	// Module and Name are the imported global, for pickle-like findings.
	Module string `json:"module,omitempty"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason"`
}

// NotVerified records something that could not be opened or fully read
// (encrypted member, truncated file, a limit reached): never clean.
type NotVerified struct {
	Location string `json:"location"`
	Reason   string `json:"reason"`
}

// Result is what a parser found in one input.
type Result struct {
	Format      string        `json:"format,omitempty"`
	Findings    []Finding     `json:"findings"`
	NotVerified []NotVerified `json:"not_verified"`
	// External lists files beside the input that it names as its own data
	// (ONNX external tensor data): the scanner treats them as that data,
	// not as unrecognised files. Not part of the evidence.
	External []ExternalData `json:"-"`
}

// ExternalData is a file an input reads as raw tensor bytes.
type ExternalData struct {
	Path    string // as written in the model, slash-separated, relative to Input.Dir
	MinSize int64  // the file must hold at least this many bytes
}

// Limits bound the work on hostile input; each is configurable.
type Limits struct {
	MaxFileSize          int64 // bytes of one file read
	MaxDepth             int   // archive nesting depth
	MaxMembers           int   // members of one archive
	MaxDecompressedBytes int64 // total bytes inflated (zip bombs)
	MaxOpcodes           int64 // pickle opcodes per pickle
	MaxMemo              int   // pickle memo entries
	MaxHeaderBytes       int64 // a format's header/metadata (safetensors, GGUF, ...)
}

// DefaultLimits suit real models up to tens of GiB.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:          64 << 30,
		MaxDepth:             8,
		MaxMembers:           100_000,
		MaxDecompressedBytes: 16 << 30,
		MaxOpcodes:           500_000_000,
		MaxMemo:              10_000_000,
		MaxHeaderBytes:       100 << 20,
	}
}

// Input is one file, or one archive member, handed to a format parser.
type Input struct {
	R        io.ReaderAt
	Size     int64
	Location string // for findings, e.g. "outer.zip:model.onnx"
	// Dir is the folder on disk holding the file, "" inside an archive
	// (ONNX external data paths are judged against it).
	Dir    string
	Limits Limits
}
