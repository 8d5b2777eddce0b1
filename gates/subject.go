// Package gates is the policy engine of gatehouse: subjects, evidence,
// the Rego engine, decisions and waivers. It knows nothing of any scanner:
// evidence producers implement Collector and plug in from outside.
package gates

import (
	"fmt"
	"strings"
)

// Kind is the kind of artifact a decision is about.
type Kind string

const (
	KindImage    Kind = "image"
	KindModel    Kind = "model"
	KindDataset  Kind = "dataset"
	KindScore    Kind = "score"
	KindPipeline Kind = "pipeline"
)

// Kinds lists every subject kind, in a stable order.
var Kinds = []Kind{KindImage, KindModel, KindDataset, KindScore, KindPipeline}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// IsFile reports whether subjects of this kind are local files or folders.
func (k Kind) IsFile() bool { return k != KindImage }

// Subject is the artifact a decision is about.
type Subject struct {
	Kind Kind `json:"kind"`
	// Ref is what the user named: an image reference or a local path.
	Ref string `json:"ref"`
	// Digest ("sha256:...") when known; every image decision is about a digest.
	Digest string            `json:"digest,omitempty"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// String renders the subject in its command-line form, e.g. "model:models/fraud".
func (s Subject) String() string { return string(s.Kind) + ":" + s.Ref }

// ParseSubject reads the command-line form KIND:REF (image:REF, model:PATH,
// dataset:PATH, score:FILE, pipeline:FILE).
func ParseSubject(arg string) (Subject, error) {
	kind, ref, ok := strings.Cut(arg, ":")
	if !ok || ref == "" {
		return Subject{}, fmt.Errorf("subject %q: want KIND:REF with KIND one of %s", arg, kindList())
	}
	k := Kind(kind)
	if !k.Valid() {
		return Subject{}, fmt.Errorf("subject %q: unknown kind %q, want one of %s", arg, kind, kindList())
	}
	return Subject{Kind: k, Ref: ref, Name: ref}, nil
}

func kindList() string {
	parts := make([]string, len(Kinds))
	for i, k := range Kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}
