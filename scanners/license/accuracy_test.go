package license

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/license/internal/shingle"
)

// spdxListVersion is the npm package spdx-license-list that
// scripts/spdx-texts.sh installs (SPDX License List 3.28.0).
const spdxListVersion = "6.12.0"

// commonSet are the licences models, datasets and their dependencies carry
// most; every one must be named exactly.
var commonSet = []string{
	"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC", "0BSD", "MIT-0", "Zlib", "BSL-1.0",
	"Unlicense", "CC0-1.0", "WTFPL", "PSF-2.0", "Python-2.0", "MPL-2.0", "MPL-1.1", "EPL-1.0",
	"EPL-2.0", "CDDL-1.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later",
	"LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later", "AGPL-3.0-only",
	"AGPL-3.0-or-later", "LGPL-2.0-only", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0",
	"CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-NC-ND-4.0", "CC-BY-3.0", "CC-BY-SA-3.0",
	"CC-BY-NC-SA-3.0", "CC-BY-2.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0",
	"ODbL-1.0", "ODC-By-1.0", "PDDL-1.0", "OFL-1.1", "Artistic-2.0", "EUPL-1.2", "BlueOak-1.0.0",
	"NCSA", "PostgreSQL", "X11", "Unicode-3.0", "Unicode-DFS-2016", "SSPL-1.0", "BUSL-1.1",
	"Elastic-2.0", "OpenSSL", "curl", "Ruby", "Vim",
}

// spdxTextsDir finds the folder scripts/spdx-texts.sh fills.
func spdxTextsDir(t *testing.T) string {
	dir := os.Getenv("GATEHOUSE_SPDX_TEXTS")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "gatehouse", "spdx-license-list-"+spdxListVersion, "node_modules", "spdx-license-list")
	}
	if _, err := os.Stat(filepath.Join(dir, "licenses", "MIT.json")); err != nil {
		t.Skipf("SPDX licence texts not installed (%v): run scripts/spdx-texts.sh or set GATEHOUSE_SPDX_TEXTS", err)
	}
	return dir
}

type outcome string

const (
	outExact      outcome = "exact"
	outEquivalent outcome = "equivalent"
	outWrong      outcome = "wrong"
	outUnknown    outcome = "unknown"
)

// policyLists reads the default allow and deny lists from
// policies/license.rego, so "dangerous" means what the shipped gate does.
func policyLists(t *testing.T) (allow, deny []string) {
	b, err := os.ReadFile(filepath.Join("..", "..", "policies", "license.rego"))
	if err != nil {
		t.Fatalf("read the default policy: %v", err)
	}
	list := func(key string) []string {
		m := regexp.MustCompile(`(?s)"` + key + `": \[(.*?)\]`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("policies/license.rego: no default %q list", key)
		}
		var out []string
		for _, q := range regexp.MustCompile(`"([^"]+)"`).FindAllSubmatch(m[1], -1) {
			out = append(out, string(q[1]))
		}
		return out
	}
	return list("allow"), list("deny")
}

func globMatch(patterns []string, id string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(Normalize(p)), strings.ToLower(Normalize(id))); ok {
			return true
		}
	}
	return false
}

// allowedByDefault: what the default gate allows (deny wins).
func allowedByDefault(allow, deny []string, id string) bool {
	base, _, _ := strings.Cut(id, " WITH ")
	return (globMatch(allow, id) || globMatch(allow, base)) && !globMatch(deny, id) && !globMatch(deny, base)
}

type listText struct {
	id, text string
}

func readSPDXList(t *testing.T, dir string) []listText {
	entries, err := os.ReadDir(filepath.Join(dir, "licenses"))
	if err != nil {
		t.Fatal(err)
	}
	var out []listText
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "licenses", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			LicenseText string `json:"licenseText"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out = append(out, listText{strings.TrimSuffix(e.Name(), ".json"), doc.LicenseText})
	}
	return out
}

// judge classifies one detection of a text whose true id is want. same
// lists ids whose texts are identical to want's after normalisation (no
// detector can tell them apart).
func judge(want string, got []Detected, same map[string]bool) outcome {
	var ids []string
	for _, d := range got {
		if d.ID != "" {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) == 0 {
		return outUnknown
	}
	wantN := Normalize(want)
	if len(ids) == 1 {
		d := got[0]
		if Normalize(d.ID) == wantN || slices.ContainsFunc(d.Unresolved, func(s string) bool { return Normalize(s) == wantN }) {
			return outExact
		}
	}
	for _, d := range got {
		if d.ID == "" {
			continue
		}
		if Normalize(d.ID) == wantN || same[d.ID] || slices.Contains(d.Unresolved, wantN) {
			return outEquivalent
		}
		base, _, _ := strings.Cut(d.ID, " WITH ")
		if Normalize(base) == wantN && len(ids) == 1 {
			return outWrong // an exception the text does not have
		}
	}
	return outWrong
}

type tally map[outcome]int

func (c tally) String() string {
	n := c[outExact] + c[outEquivalent] + c[outWrong] + c[outUnknown]
	return fmt.Sprintf("%d texts: exact %d (%.1f%%), equivalent %d, wrong %d, unknown %d",
		n, c[outExact], 100*float64(c[outExact])/float64(max(n, 1)), c[outEquivalent], c[outWrong], c[outUnknown])
}

// TestSPDXListAccuracy runs the detector over every full text of the SPDX
// License List and reports exact / equivalent / wrong / unknown per licence.
// Goals: >= 98% exact over the list, 100% exact on the common set, and no
// wrong id that the default policy allows where the true licence is denied
// or unlisted.
func TestSPDXListAccuracy(t *testing.T) {
	dir := spdxTextsDir(t)
	texts := readSPDXList(t, dir)
	allow, deny := policyLists(t)
	byNorm := map[string][]string{}
	for _, lt := range texts {
		k := strings.Join(shingle.Words(lt.text), " ")
		byNorm[k] = append(byNorm[k], lt.id)
	}
	var all, common tally = tally{}, tally{}
	var lines, dangerous []string
	for _, lt := range texts {
		same := map[string]bool{}
		for _, id := range byNorm[strings.Join(shingle.Words(lt.text), " ")] {
			same[id] = true
			same[Normalize(id)] = true
		}
		got := Detect([]byte(lt.text), 75)
		o := judge(lt.id, got, same)
		all[o]++
		if slices.Contains(commonSet, lt.id) {
			common[o]++
			if o != outExact {
				t.Errorf("common licence %s: %s (detected %s)", lt.id, o, describe(got))
			}
		}
		if o != outExact {
			lines = append(lines, fmt.Sprintf("  %-40s %-10s %s", lt.id, o, describe(got)))
		}
		if o == outWrong && !allowedByDefault(allow, deny, lt.id) {
			ok := true
			for _, d := range got {
				if d.ID == "" {
					continue
				}
				ok = ok && allowedByDefault(allow, deny, d.ID)
				for _, u := range d.Unresolved {
					ok = ok && allowedByDefault(allow, deny, u)
				}
			}
			if ok {
				dangerous = append(dangerous, fmt.Sprintf("%s detected as %s", lt.id, describe(got)))
			}
		}
	}
	sort.Strings(lines)
	t.Logf("SPDX License List %s (npm spdx-license-list %s) per-licence outcomes other than exact:\n%s", "3.28.0", spdxListVersion, strings.Join(lines, "\n"))
	t.Logf("all:    %s", all)
	t.Logf("common: %s", common)
	t.Logf("dangerous (wrong, allowed by the default policy, true licence not allowed): %d %v", len(dangerous), dangerous)
	n := len(texts)
	if pct := 100 * float64(all[outExact]) / float64(n); pct < 98 {
		t.Errorf("exact over the list: %.1f%%, want >= 98%%", pct)
	}
	if len(dangerous) > 0 {
		t.Errorf("%d wrong ids the default policy would allow: %v", len(dangerous), dangerous)
	}
}

func describe(got []Detected) string {
	var parts []string
	for _, d := range got {
		switch {
		case d.ID != "" && len(d.Unresolved) > 0:
			parts = append(parts, d.ID+" (or "+strings.Join(d.Unresolved, ", ")+")")
		case d.ID != "":
			parts = append(parts, d.ID)
		default:
			parts = append(parts, "unknown: "+d.Reason)
		}
	}
	return strings.Join(parts, "; ")
}
