package gates

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Evidence is bound to its subject: a document that names a subject (a
// top-level "subject" object with "path", "ref" or "digest", or the
// top-level "path" of model_scan/v1 and "digest" of signatures/v1) only
// ever counts for that subject. Which subject receives a document that
// names none is the caller's choice (the CLI binds it explicitly or to the
// only subject of its kind).

// namedSubject is what an evidence document says it is about.
type namedSubject struct {
	Path   string
	Digest string
}

func (n namedSubject) String() string {
	switch {
	case n.Path != "" && n.Digest != "":
		return n.Path + " (" + n.Digest + ")"
	case n.Path != "":
		return n.Path
	}
	return n.Digest
}

// namedSubjectOf reads the fields with exact key names, as the engine
// does on the parsed document (encoding/json's struct decoding would also
// take "PATH" for "path").
func namedSubjectOf(v any) namedSubject {
	var doc map[string]any
	switch d := v.(type) {
	case json.RawMessage:
		_ = json.Unmarshal(d, &doc) // not an object: names nothing; the engine reports it as bad evidence
	case map[string]any:
		doc = d
	default:
		if b, err := json.Marshal(v); err == nil {
			_ = json.Unmarshal(b, &doc)
		}
	}
	str := func(m map[string]any, key string) string {
		s, _ := m[key].(string)
		return s
	}
	n := namedSubject{Path: str(doc, "path"), Digest: str(doc, "digest")}
	if sub, ok := doc["subject"].(map[string]any); ok {
		if p := firstNonEmpty(str(sub, "path"), str(sub, "ref")); p != "" {
			n.Path = p
		}
		if d := str(sub, "digest"); d != "" {
			n.Digest = d
		}
	}
	return n
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// mismatch is supplied evidence about another subject than the one decided.
type mismatch struct {
	name    string
	about   namedSubject
	subject Subject
}

func (m mismatch) finding(gate string) Finding {
	return Finding{
		Gate:        gate,
		Rule:        "evidence_subject",
		Severity:    SeverityHigh,
		Message:     fmt.Sprintf("%s evidence is about %s, not %s", m.name, m.about, m.subject),
		Remediation: "pass evidence produced for this subject, or let gatehouse collect it (drop --evidence " + m.name + ")",
	}
}

// namedSubjectOfValue reads the named subject from a parsed document
// (the engine parses each document once; this costs a few lookups).
func namedSubjectOfValue(v ast.Value) namedSubject {
	obj, ok := v.(ast.Object)
	if !ok {
		return namedSubject{}
	}
	str := func(o ast.Object, key string) string {
		t := o.Get(ast.StringTerm(key))
		if t == nil {
			return ""
		}
		s, _ := t.Value.(ast.String)
		return string(s)
	}
	n := namedSubject{Path: str(obj, "path"), Digest: str(obj, "digest")}
	if t := obj.Get(ast.StringTerm("subject")); t != nil {
		if sub, ok := t.Value.(ast.Object); ok {
			if p := firstNonEmpty(str(sub, "path"), str(sub, "ref")); p != "" {
				n.Path = p
			}
			if d := str(sub, "digest"); d != "" {
				n.Digest = d
			}
		}
	}
	return n
}

// MatchesSubject reports whether evidence naming path and/or digest is
// about s. A named digest must equal the subject's (an unknown subject
// digest matches nothing); a named path must be the same file as a file
// subject's (cleaned, absolute, symlinks resolved) or equal an image
// subject's reference.
func MatchesSubject(s Subject, path, digest string) bool {
	if digest != "" && !strings.EqualFold(digest, s.Digest) {
		return false
	}
	if path == "" {
		return true
	}
	if !s.Kind.IsFile() {
		return path == s.Ref
	}
	return SamePath(path, s.Ref)
}

// SamePath reports whether two local paths name the same file: equal once
// cleaned, once made absolute, or once symlinks are resolved.
func SamePath(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if a == b {
		return true
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if aa == ab {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(aa)
	rb, err2 := filepath.EvalSymlinks(ab)
	return err1 == nil && err2 == nil && ra == rb
}

// SuppliedEvidence is one pre-collected evidence document.
type SuppliedEvidence struct {
	// Source says where it came from, for errors ("--evidence model_scan=r.json").
	Source string
	// Subject, when set, is the subject it was bound to explicitly.
	Subject *Subject
	Name    string
	Doc     json.RawMessage
}

// BindEvidence decides which requests each supplied document counts for,
// and adds it to their Evidence. A document bound explicitly goes to that
// subject; one that names a subject goes to the requests it names (or,
// naming none of them, to every request that reads it, whose gates then
// deny "evidence is about X, not Y"); one that names nothing goes to the
// only request whose gates read it, and is an error when several do. A
// document no request reads is an error: it would be silently ignored.
func (e *Engine) BindEvidence(reqs []Request, docs []SuppliedEvidence) error {
	give := func(i int, d SuppliedEvidence) error {
		if reqs[i].Evidence == nil {
			reqs[i].Evidence = map[string]any{}
		}
		if _, dup := reqs[i].Evidence[d.Name]; dup {
			return fmt.Errorf("%s: %s already has %s evidence from another document", d.Source, reqs[i].Subject, d.Name)
		}
		reqs[i].Evidence[d.Name] = d.Doc
		return nil
	}
	for _, d := range docs {
		var readers []int
		for i, r := range reqs {
			if e.Reads(r, d.Name) {
				readers = append(readers, i)
			}
		}
		if d.Subject != nil {
			i := slices.IndexFunc(reqs, func(r Request) bool { return sameSubject(r.Subject, *d.Subject) })
			if i < 0 {
				return fmt.Errorf("%s: %s is not one of the subjects checked", d.Source, d.Subject)
			}
			if !slices.Contains(readers, i) {
				return fmt.Errorf("%s: no gate run for %s reads %s evidence", d.Source, d.Subject, d.Name)
			}
			if err := give(i, d); err != nil {
				return err
			}
			continue
		}
		if len(readers) == 0 {
			return fmt.Errorf("%s: no gate run for these subjects reads %s evidence", d.Source, d.Name)
		}
		n := namedSubjectOf(d.Doc)
		if n == (namedSubject{}) {
			if len(readers) > 1 {
				return fmt.Errorf("%s: the document names no subject and %d subjects read %s evidence: bind it to one, as SUBJECT=%s=FILE (e.g. %s=%s=FILE)", d.Source, len(readers), d.Name, d.Name, reqs[readers[0]].Subject, d.Name)
			}
			if err := give(readers[0], d); err != nil {
				return err
			}
			continue
		}
		named := slices.DeleteFunc(slices.Clone(readers), func(i int) bool { return !MatchesSubject(reqs[i].Subject, n.Path, n.Digest) })
		if len(named) == 0 {
			named = readers // Decide denies each: "evidence is about X, not Y"
		}
		for _, i := range named {
			if err := give(i, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameSubject reports whether two spellings name the same subject.
func sameSubject(a, b Subject) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind.IsFile() {
		return SamePath(a.Ref, b.Ref)
	}
	return a.Ref == b.Ref
}
