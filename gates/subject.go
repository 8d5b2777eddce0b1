// Package gates is the policy engine of gatehouse: subjects, evidence,
// the Rego engine, decisions and waivers. It knows nothing of any scanner:
// evidence producers implement Collector and plug in from outside.
package gates

import (
	"fmt"
	"os"
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
//
// A model or dataset REF written without a scheme that is no existing local
// path and reads as an OCI reference pinned by digest,
// REGISTRY/REPO@sha256:…, whose registry host has a dot or a port or is
// localhost, is read as oci://REGISTRY/REPO@sha256:…: Ref gets the scheme,
// Name keeps what was written and Labels[ImplicitOCILabel] says so, so that
// pinning can refuse a manifest that is no model artifact. An existing local
// path always wins.
func ParseSubject(arg string) (Subject, error) {
	kind, ref, ok := strings.Cut(arg, ":")
	if !ok || ref == "" {
		return Subject{}, fmt.Errorf("subject %q: want KIND:REF with KIND one of %s", arg, kindList())
	}
	k := Kind(kind)
	if !k.Valid() {
		return Subject{}, fmt.Errorf("subject %q: unknown kind %q, want one of %s", arg, kind, kindList())
	}
	s := Subject{Kind: k, Ref: ref, Name: ref}
	if (k == KindModel || k == KindDataset) && IsDigestReference(ref) {
		if _, err := os.Lstat(ref); err != nil {
			s.Ref = "oci://" + ref
			s.Labels = map[string]string{ImplicitOCILabel: ref}
		}
	}
	return s, nil
}

// ImplicitOCILabel marks a model or dataset subject written without oci://
// that ParseSubject read as an OCI artifact; its value is the reference as
// written.
const ImplicitOCILabel = "gatehouse.implicit-oci"

// IsDigestReference reports whether ref reads as an OCI reference pinned by
// digest whose registry is unmistakably a host: HOST[:PORT]/REPO@sha256:<64
// lowercase hex>, HOST with a dot or a port or "localhost", REPO one or more
// lowercase path components (the distribution spec's grammar). A tag
// before the digest is not accepted; neither is Docker Hub's short form
// (library/x has no host).
func IsDigestReference(ref string) bool {
	at := strings.LastIndexByte(ref, '@')
	if at < 0 {
		return false
	}
	name, digest := ref[:at], ref[at+1:]
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return false
	}
	host, repo, ok := strings.Cut(name, "/")
	if !ok || !validRegistryHost(host) || repo == "" {
		return false
	}
	for _, c := range strings.Split(repo, "/") {
		if !validRepoComponent(c) {
			return false
		}
	}
	return true
}

// validRegistryHost: a host name (letters, digits, '-' inside labels,
// labels joined by dots) with an optional :PORT, that has a dot or a port or
// is localhost.
func validRegistryHost(h string) bool {
	hostname, port, hasPort := strings.Cut(h, ":")
	if hasPort {
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if hostname == "" || len(hostname) > 253 {
		return false
	}
	for _, label := range strings.Split(hostname, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return hasPort || strings.Contains(hostname, ".") || hostname == "localhost"
}

// validRepoComponent: [a-z0-9]+ joined by ".", "_", "__" or runs of "-".
func validRepoComponent(c string) bool {
	if c == "" {
		return false
	}
	alnum := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	if !alnum(c[0]) || !alnum(c[len(c)-1]) {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if alnum(b) {
			continue
		}
		switch b {
		case '.':
			if !alnum(c[i+1]) {
				return false
			}
		case '_':
			if c[i+1] == '_' {
				i++
			}
			if !alnum(c[i+1]) {
				return false
			}
		case '-':
			for c[i+1] == '-' {
				i++
			}
			if !alnum(c[i+1]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func kindList() string {
	parts := make([]string, len(Kinds))
	for i, k := range Kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}
