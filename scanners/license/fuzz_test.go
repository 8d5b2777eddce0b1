package license

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzFrontMatter(f *testing.F) {
	for _, s := range []string{
		"---\nlicense: mit\n---\n",
		"---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n# card\n",
		"---\nlicense: [mit, cc-by-4.0]\n---\n",
		"---\r\nlicense: bsd\r\n...\r\n",
		"---\nlicense: [mit\n---\n",
		"---\na: &a [*a]\n---\n",
		"no front matter",
		"---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, ok, err := FrontMatter(data, 64<<10)
		if err != nil {
			return
		}
		if !ok {
			if fm != nil {
				t.Fatalf("no front matter but a mapping %v", fm)
			}
			return
		}
		for _, st := range CardLicenses(fm) {
			if st.Reason == "" && len(st.License.AnyOf) == 0 {
				t.Fatalf("statement without licences or reason: %+v", st)
			}
		}
	})
}

func FuzzSBOM(f *testing.F) {
	f.Add(readFixture(f, "sbom/image.spdx.json"))
	f.Add(readFixture(f, "sbom/model.cdx.json"))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","packages":[{"licenseConcluded":"MIT OR (Apache-2.0 AND Zlib)"}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"licenses":[{"expression":"GPL-2.0-only WITH Classpath-exception-2.0"}]}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","components":[{"components":[{"components":[]}]}]}`))
	limits := DefaultLimits()
	limits.MaxSBOMEntries = 1000
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseSBOM("fuzz.json", data, limits)
		if err != nil {
			return
		}
		for _, l := range ev.Licenses {
			if len(l.AnyOf) == 0 || l.Source == "" {
				t.Fatalf("licence without any_of or source: %+v", l)
			}
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
	})
}

func FuzzDNF(f *testing.F) {
	for _, s := range []string{"MIT", "MIT OR Apache-2.0", "(MIT OR ISC) AND Zlib", "GPL-2.0+ WITH Classpath-exception-2.0", "LicenseRef-x AND (", "((((MIT))))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := DNF(s)
		if err != nil {
			return
		}
		if len(d) == 0 || len(d) > maxDNFTerms {
			t.Fatalf("DNF(%q) has %d alternatives", s, len(d))
		}
		for _, term := range d {
			if len(term) == 0 {
				t.Fatalf("DNF(%q) has an empty alternative", s)
			}
		}
	})
}

// FuzzDetect: any text is named, called unknown or partly unknown, without
// a panic, and every named id is a valid SPDX id.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"", "MIT", "Copyright (c) 2024\n\nPermission is hereby granted, free of charge", "GNU GENERAL PUBLIC LICENSE Version 2 \x00\xff"} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"spdx/MIT.txt", "spdx/BSD-3-Clause-No-Military-License.txt"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, d := range Detect(text, 75) {
			if d.ID == "" && d.Reason == "" {
				t.Fatalf("empty detection for %q", text)
			}
			if d.ID != "" {
				if _, err := DNF(d.ID); err != nil {
					t.Fatalf("named %q, not a valid SPDX term: %v", d.ID, err)
				}
			}
		}
		findNotices(text, "x")
	})
}
