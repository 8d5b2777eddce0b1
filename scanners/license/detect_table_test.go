package license

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDetectCheckedInTexts: every checked-in SPDX text (the common set and
// the restricted variants) is named exactly, as it is and as a project
// ships it (perturb), and a restricted variant is never its permissive
// neighbour.
func TestDetectCheckedInTexts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "spdx", "*.txt"))
	if err != nil || len(files) < 60 {
		t.Fatalf("testdata/spdx: %d texts, %v", len(files), err)
	}
	// The permissive neighbour each restricted variant must not become.
	neighbour := map[string]string{
		"BSD-3-Clause-No-Military-License":     "BSD-3-Clause",
		"BSD-3-Clause-No-Nuclear-License":      "BSD-3-Clause",
		"BSD-3-Clause-No-Nuclear-License-2014": "BSD-3-Clause",
		"BSD-3-Clause-No-Nuclear-Warranty":     "BSD-3-Clause",
		"BSD-3-Clause-Clear":                   "BSD-3-Clause",
		"BSD-3-Clause-Attribution":             "BSD-3-Clause",
		"BSD-4-Clause":                         "BSD-3-Clause",
		"BSD-2-Clause-NetBSD":                  "BSD-2-Clause",
		"BSD-2-Clause-Darwin":                  "BSD-2-Clause",
		"AGPL-1.0-only":                        "GPL-2.0-only",
		"CC-BY-NC-4.0":                         "CC-BY-4.0",
		"CC-BY-NC-SA-4.0":                      "CC-BY-SA-4.0",
		"GPL-2.0-with-classpath-exception":     "GPL-2.0-only",
	}
	wantID := map[string]string{"GPL-2.0-with-classpath-exception": "GPL-2.0-only WITH Classpath-exception-2.0"}
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".txt")
		want := Normalize(id)
		if w, ok := wantID[id]; ok {
			want = w
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, variant := range []struct {
			name string
			text string
		}{{"pristine", string(b)}, {"as shipped", perturb(string(b))}} {
			t.Run(id+"/"+variant.name, func(t *testing.T) {
				got := Detect([]byte(variant.text), 75)
				if len(got) != 1 || got[0].ID != want {
					t.Fatalf("Detect = %s, want exactly %s", describe(got), want)
				}
				if n := neighbour[id]; n != "" && (got[0].ID == n || slices.Contains(got[0].Unresolved, n)) {
					t.Fatalf("restricted %s collapsed into %s", id, n)
				}
				if other, ok := OrLaterPair(want); ok && !slices.Contains(got[0].Unresolved, other) {
					t.Errorf("GNU text alone: want %s left unresolved beside %s, got %v", other, want, got[0].Unresolved)
				}
			})
		}
	}
}

// TestDetectRestrictedInsideText: a permissive licence with a restriction
// appended (not on the list) is not named as the permissive licence alone.
func TestDetectRestrictedInsideText(t *testing.T) {
	bsd := readFixture(t, "spdx/BSD-3-Clause.txt")
	extra := "\n\n4. This software may not be used by or for any military organisation, nor in any weapons system, surveillance system or system designed to harm people, and any such use terminates this licence immediately and without notice.\n"
	got := Detect(append(append([]byte{}, bsd...), extra...), 75)
	var reasons []string
	for _, d := range got {
		if d.Reason != "" {
			reasons = append(reasons, d.Reason)
		}
	}
	if len(reasons) == 0 {
		t.Fatalf("BSD-3-Clause with an added restriction: %s; want an unknown part beside it", describe(got))
	}
}

func TestNotices(t *testing.T) {
	gpl3 := string(readFixture(t, "spdx/GPL-3.0-only.txt"))
	gpl2 := string(readFixture(t, "spdx/GPL-2.0-only.txt"))
	lgpl3 := string(readFixture(t, "spdx/LGPL-3.0-only.txt"))
	orLater := "This program is free software: you can redistribute it and/or modify\n# it under the terms of the GNU General Public License as published by\n# the Free Software Foundation, either version 3 of the License, or\n# (at your option) any later version.\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // id and unresolved ids of the licence text's statement
	}{
		{"GPL-3.0 text alone: its How to Apply appendix is no notice", map[string]string{"COPYING": gpl3}, []string{"GPL-3.0-only", "GPL-3.0-or-later"}},
		{"GPL-3.0 text with an or-later notice in README", map[string]string{"COPYING": gpl3, "README": "# tool\n" + orLater}, []string{"GPL-3.0-or-later"}},
		{"notice at the top of the LICENSE file", map[string]string{"LICENSE": orLater + "\n" + gpl3}, []string{"GPL-3.0-or-later"}},
		{"GPL-2.0 only notice in README.md", map[string]string{"LICENSE": gpl2, "README.md": "Licensed under the GNU General Public License version 2 as published by the Free Software Foundation.\n"}, []string{"GPL-2.0-only"}},
		{"SPDX-License-Identifier line", map[string]string{"LICENSE": gpl2, "README.md": "<!-- SPDX-License-Identifier: GPL-2.0-or-later -->\n"}, []string{"GPL-2.0-or-later"}},
		{"GPLv2+ shorthand", map[string]string{"LICENSE": gpl2, "README.rst": "License: GPLv2+\n"}, []string{"GPL-2.0-or-later"}},
		{"notices disagree: stays unresolved", map[string]string{"LICENSE": gpl2, "README.md": "License: GPLv2+\n", "README": "GPL-2.0-only\n"}, []string{"GPL-2.0-only", "GPL-2.0-or-later"}},
		{"notice for another version does not apply", map[string]string{"LICENSE": gpl2, "README.md": "License: GPLv3+\n"}, []string{"GPL-2.0-only", "GPL-2.0-or-later"}},
		{"LGPL-3.0 is not GPL-3.0", map[string]string{"COPYING.LESSER": lgpl3}, []string{"LGPL-3.0-only", "LGPL-3.0-or-later"}},
		{"LGPL or-later notice", map[string]string{"COPYING.LESSER": lgpl3, "README": "GNU Lesser General Public License as published by the Free Software Foundation; either version 3 of the License, or (at your option) any later version."}, []string{"LGPL-3.0-or-later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			ev, err := Scan(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ev.Licenses {
				if l.Kind == KindDetected {
					got = append(append(got, l.ID), l.Unresolved...)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("detected statement (-want +got):\n%s\nevidence: %+v", diff, ev)
			}
		})
	}
}

func TestClassifyNames(t *testing.T) {
	for name, want := range map[string]fileClass{
		"LICENSE": fileLicense, "LICENSE.docs": fileLicense, "LICENSE.libyaml": fileLicense,
		"COPYING.LESSER": fileLicense, "LICENSE.GPL-2.0.txt": fileLicense, "LICENSE-MIT": fileLicense,
		"licence.md": fileLicense, "LICENSE.go": fileOther, "LICENSE.json": fileOther,
		"LICENSE.tar.gz": fileOther, "README": fileReadme, "README.md": fileCard, "NOTICE": fileOther,
	} {
		if got := classify(name); got != want {
			t.Errorf("classify(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"GPL-2.0": "GPL-2.0-only", "gpl-2.0+": "GPL-2.0-or-later", "LGPL-2.1+": "LGPL-2.1-or-later",
		"agpl-3.0": "AGPL-3.0-only", "AGPL-3.0-or-later": "AGPL-3.0-or-later", "mit": "MIT",
		"GPL-2.0-with-classpath-exception":     "GPL-2.0-only WITH Classpath-exception-2.0",
		"gpl-2.0 WITH classpath-exception-2.0": "GPL-2.0-only WITH Classpath-exception-2.0",
		"Apache-2.0+":                          "Apache-2.0+", "LicenseRef-x": "LicenseRef-x", "AGPL-*": "AGPL-*", "not-a-licence": "not-a-licence",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDetectHostileInput: a 1 MiB file of licence words in a loop, of
// random bytes, and of one shingle repeated are all judged (bounded work:
// one pass per named licence, at most maxPerText), never a panic.
func TestDetectHostileInput(t *testing.T) {
	mit := readFixture(t, "spdx/MIT.txt")
	big := bytes.Repeat(mit, (1<<20)/len(mit))
	rnd := make([]byte, 1<<20)
	for i := range rnd {
		rnd[i] = byte(i*7919 + i>>3)
	}
	same := bytes.Repeat([]byte("the software is provided as is "), (1<<20)/31)
	for name, text := range map[string][]byte{"MIT repeated": big, "bytes": rnd, "one phrase": same} {
		t.Run(name, func(t *testing.T) {
			got := Detect(text, 75)
			if len(got) == 0 || len(got) > maxPerText+2 {
				t.Fatalf("Detect: %d results", len(got))
			}
			if name == "MIT repeated" && got[0].ID != "MIT" {
				t.Errorf("MIT repeated: %s", describe(got))
			}
			if name != "MIT repeated" && got[0].ID != "" {
				t.Errorf("%s named %s", name, describe(got))
			}
		})
	}
	// Notices: a 1 MiB run of near-matches is searched in linear time and
	// only the first 256 KiB.
	findNotices(bytes.Repeat([]byte("General Public License version 2 of the License, or "), 20000), "x")
}
