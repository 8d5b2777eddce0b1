package license

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"os/exec"
)

// perturb rewrites a list text the way real LICENSE files differ from it:
// placeholders filled in with a holder and year, lines rewrapped at 72
// columns, typographic quotes and a title line.
func perturb(text string) string {
	text = regexp.MustCompile(`<[^<>\n]{1,60}>`).ReplaceAllString(text, "2024 Example Analytics GmbH")
	text = strings.NewReplacer(`"`, "\u201c", "``", "\u201c", "''", "\u201d").Replace(text)
	var b strings.Builder
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		col := 0
		for _, w := range strings.Fields(para) {
			if col+len(w) > 72 {
				b.WriteString("\n")
				col = 0
			} else if col > 0 {
				b.WriteString(" ")
				col++
			}
			b.WriteString(w)
			col += len(w)
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// TestSPDXListPerturbed: the list's texts as a project would ship them
// (filled-in holder, rewrapped, curly quotes). The index is built from the
// pristine texts, so this, TestUnseenClassifierCorpus and
// TestDebianCommonLicenses are the measurements on text it has not seen
// verbatim.
func TestSPDXListPerturbed(t *testing.T) {
	texts := readSPDXList(t, spdxTextsDir(t))
	allow, deny := policyLists(t)
	all, common := tally{}, tally{}
	var lines, dangerous []string
	for _, lt := range texts {
		got := Detect([]byte(perturb(lt.text)), 75)
		o := judge(lt.id, got, nil)
		all[o]++
		isCommon := false
		for _, c := range commonSet {
			isCommon = isCommon || c == lt.id
		}
		if isCommon {
			common[o]++
			if o != outExact {
				t.Errorf("common licence %s perturbed: %s (%s)", lt.id, o, describe(got))
			}
		}
		if o != outExact {
			lines = append(lines, fmt.Sprintf("  %-40s %-10s %s", lt.id, o, describe(got)))
		}
		if o == outWrong && isDangerous(allow, deny, lt.id, got) {
			dangerous = append(dangerous, lt.id+" as "+describe(got))
		}
	}
	sort.Strings(lines)
	t.Logf("perturbed SPDX texts, outcomes other than exact:\n%s", strings.Join(lines, "\n"))
	t.Logf("all:    %s", all)
	t.Logf("common: %s", common)
	t.Logf("dangerous: %d %v", len(dangerous), dangerous)
	if pct := 100 * float64(all[outExact]) / float64(len(texts)); pct < 98 {
		t.Errorf("exact over the perturbed list: %.1f%%, want >= 98%%", pct)
	}
	if len(dangerous) > 0 {
		t.Errorf("dangerous: %v", dangerous)
	}
}

// isDangerous: a wrong answer every reading of which the default policy
// allows, for a licence it does not allow.
func isDangerous(allow, deny []string, want string, got []Detected) bool {
	if allowedByDefault(allow, deny, want) {
		return false
	}
	named := false
	for _, d := range got {
		if d.ID == "" {
			if d.Reason != "" {
				return false // an unknown part: the gate warns or denies
			}
			continue
		}
		named = true
		if !allowedByDefault(allow, deny, d.ID) {
			return false
		}
		for _, u := range d.Unresolved {
			if !allowedByDefault(allow, deny, u) {
				return false
			}
		}
	}
	return named
}

// TestUnseenClassifierCorpus runs the detector over the licence texts
// google/licenseclassifier v2.0.0 ships (real-world copies: libpcap's,
// Juniper's, Sun's BSD-3-Clause and so on), labelled by their folder, for
// the folders named by an SPDX id.
func TestUnseenClassifierCorpus(t *testing.T) {
	allow, deny := policyLists(t)
	res := tally{}
	var lines, dangerous []string
	fsys := classifierAssets(t)
	err := fs.WalkDir(fsys, "License", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		label := filepath.Base(filepath.Dir(p))
		if _, err := canonicalID(label); err != nil {
			return nil // not an SPDX id (AdColony-SDK, ...)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		got := Detect(b, 75)
		o := judge(label, got, nil)
		res[o]++
		if o != outExact {
			lines = append(lines, fmt.Sprintf("  %-50s %-10s %s", p, o, describe(got)))
		}
		if o == outWrong && isDangerous(allow, deny, label, got) {
			dangerous = append(dangerous, p+" as "+describe(got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("licenseclassifier v2.0.0 corpus, outcomes other than exact:\n%s", strings.Join(lines, "\n"))
	t.Logf("classifier corpus: %s", res)
	t.Logf("dangerous: %d %v", len(dangerous), dangerous)
	if len(dangerous) > 0 {
		t.Errorf("dangerous: %v", dangerous)
	}
}

// classifierAssets finds licenseclassifier v2's assets folder in the
// module cache (go.mod requires the module).
func classifierAssets(t *testing.T) fs.FS {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/google/licenseclassifier/v2").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("licenseclassifier v2 module not in the module cache (go list: %v): run go mod download", err)
	}
	return os.DirFS(filepath.Join(dir, "assets"))
}

// TestDebianCommonLicenses: Debian's /usr/share/common-licenses, when the
// machine has them.
func TestDebianCommonLicenses(t *testing.T) {
	const dir = "/usr/share/common-licenses"
	want := map[string]string{
		"Apache-2.0": "Apache-2.0", "Artistic": "Artistic-1.0-Perl", "BSD": "BSD-3-Clause",
		"CC0-1.0": "CC0-1.0", "GFDL-1.2": "GFDL-1.2-only", "GFDL-1.3": "GFDL-1.3-only",
		"GPL-1": "GPL-1.0-only", "GPL-2": "GPL-2.0-only", "GPL-3": "GPL-3.0-only",
		"LGPL-2": "LGPL-2.0-only", "LGPL-2.1": "LGPL-2.1-only", "LGPL-3": "LGPL-3.0-only",
		"MPL-1.1": "MPL-1.1", "MPL-2.0": "MPL-2.0",
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s: %v (not a Debian machine)", dir, err)
	}
	res := tally{}
	for name, id := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Logf("%s: %v", name, err)
			continue
		}
		got := Detect(b, 75)
		o := judge(id, got, nil)
		res[o]++
		t.Logf("  %-12s %-18s %-10s %s", name, id, o, describe(got))
		if o != outExact {
			t.Errorf("Debian %s: %s, want %s (%s)", name, o, id, describe(got))
		}
	}
	t.Logf("Debian common-licenses: %s", res)
}
