package gates

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// waiverFile is the YAML form: a top-level `waivers:` list.
type waiverFile struct {
	Waivers []yaml.Node `yaml:"waivers"`
}

// ParseWaivers reads a waivers file. Every waiver must name its subject,
// gate, reason, approver and expiry: an ungoverned waiver is an error.
func ParseWaivers(name string, data []byte) ([]Waiver, error) {
	var f waiverFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make([]Waiver, 0, len(f.Waivers))
	for i := range f.Waivers {
		n := &f.Waivers[i]
		var w Waiver
		if err := decodeStrict(n, &w); err != nil {
			return nil, fmt.Errorf("%s: line %d: waiver %d: %w", name, n.Line, i+1, err)
		}
		missing := ""
		switch {
		case w.Subject == "":
			missing = "subject"
		case w.Gate == "":
			missing = "gate"
		case strings.TrimSpace(w.Reason) == "":
			missing = "reason"
		case strings.TrimSpace(w.Approver) == "":
			missing = "approver"
		case w.Expires.IsZero():
			missing = "expires"
		}
		if missing != "" {
			return nil, fmt.Errorf("%s: line %d: waiver %d has no %s (every waiver needs subject, gate, reason, approver and expires)", name, n.Line, i+1, missing)
		}
		if !validGateName(w.Gate) {
			return nil, fmt.Errorf("%s: line %d: waiver %d: gate %q is not a gate name (letters, digits and _ only)", name, n.Line, i+1, w.Gate)
		}
		if _, err := path.Match(w.Subject, ""); err != nil {
			return nil, fmt.Errorf("%s: line %d: waiver %d: subject %q is not a valid glob: %v", name, n.Line, i+1, w.Subject, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// decodeStrict decodes one node refusing unknown fields.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// maxWaiverBytes bounds a waivers file: thousands of waivers fit.
const maxWaiverBytes = 4 << 20

// LoadWaivers reads a waivers file from disk: a regular file (a FIFO or
// device is refused without blocking) of at most 4 MiB.
func LoadWaivers(p string) ([]Waiver, error) {
	b, err := readlimit.File(p, maxWaiverBytes)
	if err != nil {
		return nil, fmt.Errorf("read waivers: %w", err)
	}
	return ParseWaivers(p, b)
}

// ValidateWaivers checks that every waiver names a gate the policy
// defines (gates: the policy's gate names, Engine.Gates). A waiver for a
// gate that does not exist waives nothing, which is almost always a typo
// that would let the real finding through unnoticed later: an error.
func ValidateWaivers(ws []Waiver, gates []string) error {
	known := make(map[string]bool, len(gates))
	for _, g := range gates {
		known[g] = true
	}
	for i, w := range ws {
		if !known[w.Gate] {
			return fmt.Errorf("waiver %d (subject %q): gate %q is not defined by the policy (have %s)", i+1, w.Subject, w.Gate, strings.Join(gates, ", "))
		}
	}
	return nil
}

// subjectForms are the strings a waiver's subject may match for one
// subject: its digest, name, reference and command-line form, and for a
// file subject its path cleaned and made relative to the working folder
// (absolute when it lies outside), so "./m", "m", "m/" and "/abs/m" are
// one subject.
type subjectForms struct {
	kind   Kind
	digest string
	plain  []string
	path   string // "" for subjects that are not files
}

func formsOf(s Subject) subjectForms {
	f := subjectForms{kind: s.Kind, digest: s.Digest}
	for _, v := range []string{s.Name, s.Ref, s.String()} {
		if v != "" {
			f.plain = append(f.plain, v)
		}
	}
	if s.Kind.IsFile() && s.Ref != "" {
		f.path = canonicalPath(s.Ref)
	}
	return f
}

// canonicalPath cleans p and expresses it relative to the working folder
// when it lies inside it, so a relative and an absolute spelling agree
// (and a glob written relative keeps its meaning).
func canonicalPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return filepath.ToSlash(filepath.Clean(p))
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(wd, p)
	}
	p = filepath.Clean(p)
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// matchesSubject reports whether the waiver names this subject: its digest
// exactly, or its name or reference as a glob; for a file subject, also
// its cleaned path (a "KIND:" prefix on the waiver must then be its kind).
func (w Waiver) matchesSubject(f subjectForms) bool {
	if f.digest != "" && w.Subject == f.digest {
		return true
	}
	for _, v := range f.plain {
		if ok, _ := path.Match(w.Subject, v); ok {
			return true
		}
	}
	if f.path == "" {
		return false
	}
	pattern := w.Subject
	if k, rest, ok := strings.Cut(pattern, ":"); ok && Kind(k).Valid() {
		if Kind(k) != f.kind {
			return false
		}
		pattern = rest
	}
	if pattern == "" {
		return false
	}
	ok, _ := path.Match(canonicalPath(pattern), f.path)
	return ok
}

// matchesFinding reports whether the waiver covers the finding's gate and
// rule. A violation that only says the evidence could not be had
// (evidence_error, evidence_missing, not_verified) is covered only by a
// waiver naming that rule: a gate-wide waiver is about what the gate
// found, and must not turn "could not decide" into a pass.
func (w Waiver) matchesFinding(f Finding) bool {
	if w.Gate != f.Gate {
		return false
	}
	if UndecidedRule(f.Rule) {
		return w.Rule == f.Rule
	}
	return w.Rule == "" || w.Rule == "*" || w.Rule == f.Rule
}

// applyWaivers splits violations into those still in force and those a
// live waiver turns off; it also returns matching waivers that expired.
func applyWaivers(s Subject, violations []Finding, waivers []Waiver, now time.Time) (kept []Finding, waived []AppliedWaiver, expired []Waiver) {
	if len(waivers) == 0 || len(violations) == 0 {
		return violations, nil, nil
	}
	seenExpired := map[int]bool{}
	forms := formsOf(s)
	for _, v := range violations {
		applied := false
		for i, w := range waivers {
			if !w.matchesSubject(forms) || !w.matchesFinding(v) {
				continue
			}
			if !now.Before(w.Expires) {
				if !seenExpired[i] {
					seenExpired[i] = true
					expired = append(expired, w)
				}
				continue
			}
			waived = append(waived, AppliedWaiver{Finding: v, Waiver: w})
			applied = true
			break
		}
		if !applied {
			kept = append(kept, v)
		}
	}
	return kept, waived, expired
}
