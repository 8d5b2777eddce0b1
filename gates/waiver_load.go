package gates

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"go.yaml.in/yaml/v3"
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
		case w.Reason == "":
			missing = "reason"
		case w.Approver == "":
			missing = "approver"
		case w.Expires.IsZero():
			missing = "expires"
		}
		if missing != "" {
			return nil, fmt.Errorf("%s: line %d: waiver %d has no %s (every waiver needs subject, gate, reason, approver and expires)", name, n.Line, i+1, missing)
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

// LoadWaivers reads a waivers file from disk.
func LoadWaivers(p string) ([]Waiver, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read waivers: %w", err)
	}
	return ParseWaivers(p, b)
}

// matchesSubject reports whether the waiver names this subject: its digest
// exactly, or its name or reference as a glob.
func (w Waiver) matchesSubject(s Subject) bool {
	if s.Digest != "" && w.Subject == s.Digest {
		return true
	}
	for _, v := range []string{s.Name, s.Ref, s.String()} {
		if v == "" {
			continue
		}
		if ok, _ := path.Match(w.Subject, v); ok {
			return true
		}
	}
	return false
}

// matchesFinding reports whether the waiver covers the finding's gate and rule.
func (w Waiver) matchesFinding(f Finding) bool {
	return w.Gate == f.Gate && (w.Rule == "" || w.Rule == "*" || w.Rule == f.Rule)
}

// applyWaivers splits violations into those still in force and those a
// live waiver turns off; it also returns matching waivers that expired.
func applyWaivers(s Subject, violations []Finding, waivers []Waiver, now time.Time) (kept []Finding, waived []AppliedWaiver, expired []Waiver) {
	seenExpired := map[int]bool{}
	for _, v := range violations {
		applied := false
		for i, w := range waivers {
			if !w.matchesSubject(s) || !w.matchesFinding(v) {
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
