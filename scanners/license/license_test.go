package license

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-cmp/cmp"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetect(t *testing.T) {
	tests := []struct {
		file string
		want []Detected
	}{
		{"texts/MIT.txt", []Detected{{ID: "MIT", Confidence: 1}}},
		{"texts/BSD-3-Clause.txt", []Detected{{ID: "BSD-3-Clause", Confidence: 0.99}}},
		{"texts/Apache-2.0.txt", []Detected{{ID: "Apache-2.0", Confidence: 1}}},
		{"texts/prose.txt", []Detected{{Reason: "no licence text of the SPDX License List 3.28.0 matched"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := Detect(readFixture(t, tt.file), 75)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Detect (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("concatenated", func(t *testing.T) {
		text := append(readFixture(t, "texts/MIT.txt"), readFixture(t, "texts/BSD-3-Clause.txt")...)
		got := Detect(text, 75)
		want := []Detected{{ID: "MIT", Confidence: 0.99}, {ID: "BSD-3-Clause", Confidence: 0.99}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Detect (-want +got):\n%s", diff)
		}
	})
	t.Run("partial", func(t *testing.T) {
		got := Detect(readFixture(t, "texts/partial.txt"), 75)
		if len(got) != 1 || got[0].ID != "" || !strings.Contains(got[0].Reason, "below the 75% needed") {
			t.Errorf("Detect(partial) = %+v, want one unknown below 75%%", got)
		}
	})
}

func TestFrontMatter(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]any
		wantOK  bool
		wantErr string
	}{
		{name: "none", in: "# Model\n\ntext\n"},
		{name: "simple", in: "---\nlicense: mit\n---\n# x\n", want: map[string]any{"license": "mit"}, wantOK: true},
		{name: "crlf and bom", in: "\ufeff---\r\nlicense: mit\r\n---\r\n", want: map[string]any{"license": "mit"}, wantOK: true},
		{name: "dots close", in: "---\nlicense: mit\n...\n", want: map[string]any{"license": "mit"}, wantOK: true},
		{name: "empty", in: "---\n---\n", want: map[string]any{}, wantOK: true},
		{name: "unclosed", in: "---\nlicense: mit\n", wantOK: true, wantErr: "no closing --- line"},
		{name: "not yaml", in: "---\nlicense: [mit\n---\n", wantOK: true, wantErr: "not valid YAML"},
		{name: "not a mapping", in: "---\n- a\n- b\n---\n", wantOK: true, wantErr: "must be a YAML mapping"},
		{name: "too large", in: "---\nx: " + strings.Repeat("a", 300) + "\n---\n", wantOK: true, wantErr: "larger than the limit of 100 bytes"},
		{name: "too large unclosed", in: "---\n" + strings.Repeat("x: 1\n", 100), wantOK: true, wantErr: "larger than the limit of 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := FrontMatter([]byte(tt.in), 100)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FrontMatter (-want +got):\n%s", diff)
			}
		})
	}
}

func decl(id string) License {
	return License{ID: id, AnyOf: [][]string{{id}}, Confidence: 1, Kind: KindDeclared}
}

func TestCardLicenses(t *testing.T) {
	tests := []struct {
		name string
		fm   map[string]any
		want []CardStatement
	}{
		{"no field", map[string]any{"tags": []any{"x"}}, nil},
		{"spdx lower", map[string]any{"license": "apache-2.0"}, []CardStatement{{Field: "license", License: decl("Apache-2.0")}}},
		{"mit", map[string]any{"license": "mit"}, []CardStatement{{Field: "license", License: decl("MIT")}}},
		{"cc-by-4.0", map[string]any{"license": "cc-by-4.0"}, []CardStatement{{Field: "license", License: decl("CC-BY-4.0")}}},
		{"cc-by-nc-sa-4.0", map[string]any{"license": "cc-by-nc-sa-4.0"}, []CardStatement{{Field: "license", License: decl("CC-BY-NC-SA-4.0")}}},
		{"gnu hub id", map[string]any{"license": "gpl-3.0"}, []CardStatement{{Field: "license", License: decl("GPL-3.0-only")}}},
		{"agpl hub id", map[string]any{"license": "agpl-3.0"}, []CardStatement{{Field: "license", License: decl("AGPL-3.0-only")}}},
		{"llama3", map[string]any{"license": "llama3"}, []CardStatement{{Field: "license", License: decl("LicenseRef-llama3")}}},
		{"llama3.1", map[string]any{"license": "llama3.1"}, []CardStatement{{Field: "license", License: decl("LicenseRef-llama3.1")}}},
		{"gemma", map[string]any{"license": "gemma"}, []CardStatement{{Field: "license", License: decl("LicenseRef-gemma")}}},
		{"openrail++", map[string]any{"license": "openrail++"}, []CardStatement{{Field: "license", License: decl("LicenseRef-openrail-pp")}}},
		{"creativeml", map[string]any{"license": "creativeml-openrail-m"}, []CardStatement{{Field: "license", License: decl("LicenseRef-creativeml-openrail-m")}}},
		{"family bsd", map[string]any{"license": "bsd"}, []CardStatement{{Field: "license", Reason: `"bsd" names a family of licences, not one licence: use a precise id such as bsd-3-clause or cc-by-4.0`}}},
		{"family odbl", map[string]any{"license": "odbl"}, []CardStatement{{Field: "license", Reason: `"odbl" names a family of licences, not one licence: use a precise id such as bsd-3-clause or cc-by-4.0`}}},
		{"unknown", map[string]any{"license": "unknown"}, []CardStatement{{Field: "license", Reason: "the card says the licence is unknown"}}},
		{"other no name", map[string]any{"license": "other"}, []CardStatement{{Field: "license", Reason: "license: other without license_name: name the licence in license_name (and license_link)"}}},
		{"other with name", map[string]any{"license": "other", "license_name": "llama3", "license_link": "LICENSE"},
			[]CardStatement{{Field: "license_name", License: License{ID: "LicenseRef-llama3", AnyOf: [][]string{{"LicenseRef-llama3"}}, Name: "llama3", Link: "LICENSE", Confidence: 1, Kind: KindDeclared}}}},
		{"other with free name", map[string]any{"license": "other", "license_name": "Acme Model License 1.0"},
			[]CardStatement{{Field: "license_name", License: License{ID: "LicenseRef-acme-model-license-1.0", AnyOf: [][]string{{"LicenseRef-acme-model-license-1.0"}}, Name: "Acme Model License 1.0", Confidence: 1, Kind: KindDeclared}}}},
		{"other legacy details", map[string]any{"license": "other", "license_details": "custom-terms"},
			[]CardStatement{{Field: "license_details", License: License{ID: "LicenseRef-custom-terms", AnyOf: [][]string{{"LicenseRef-custom-terms"}}, Name: "custom-terms", Confidence: 1, Kind: KindDeclared}}}},
		{"list", map[string]any{"license": []any{"mit", "cc-by-4.0"}}, []CardStatement{{Field: "license", License: decl("MIT")}, {Field: "license", License: decl("CC-BY-4.0")}}},
		{"expression", map[string]any{"license": "MIT OR Apache-2.0"}, []CardStatement{{Field: "license", License: License{Expression: "MIT OR Apache-2.0", AnyOf: [][]string{{"MIT"}, {"Apache-2.0"}}, Confidence: 1, Kind: KindDeclared}}}},
		{"not an id", map[string]any{"license": "apache"}, []CardStatement{{Field: "license", Reason: `"apache" is neither an SPDX licence id or expression nor a Hugging Face licence id`}}},
		{"empty list", map[string]any{"license": []any{}}, []CardStatement{{Field: "license", Reason: "license is an empty list"}}},
		{"number", map[string]any{"license": 3}, []CardStatement{{Field: "license", Reason: "license must be a string or a list of strings, not int"}}},
		{"list of maps", map[string]any{"license": []any{map[string]any{"a": 1}}}, []CardStatement{{Field: "license", Reason: "license[0] must be a string, not map[string]interface {}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CardLicenses(tt.fm)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CardLicenses (-want +got):\n%s", diff)
			}
		})
	}
}

// writeTree creates files (name -> content) in a temporary folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScanFolder(t *testing.T) {
	mit := string(readFixture(t, "texts/MIT.txt"))
	apache := string(readFixture(t, "texts/Apache-2.0.txt"))
	tests := []struct {
		name  string
		files map[string]string
		// want is built from the folder, as sources name it.
		want func(dir string) Evidence
	}{
		{
			name:  "card and LICENSE agree",
			files: map[string]string{"README.md": "---\nlicense: mit\n---\n# m\n", "LICENSE": mit, "model.safetensors": "x"},
			want: func(dir string) Evidence {
				return Evidence{Schema: Schema, Licenses: []License{
					{ID: "MIT", AnyOf: [][]string{{"MIT"}}, Source: "LICENSE: licence text", File: filepath.Join(dir, "LICENSE"), Confidence: 1, Kind: KindDetected},
					{ID: "MIT", AnyOf: [][]string{{"MIT"}}, Source: "README.md front matter: license", File: filepath.Join(dir, "README.md"), Confidence: 1, Kind: KindDeclared},
				}, Unknown: []Unknown{}, NotVerified: []NotVerified{}}
			},
		},
		{
			name:  "dual LICENSE files",
			files: map[string]string{"LICENSE-APACHE": apache, "license-mit.txt": mit, "NOTICE": "Copyright Example", "LICENSE.py": "print(1)"},
			want: func(dir string) Evidence {
				return Evidence{Schema: Schema, Licenses: []License{
					{ID: "Apache-2.0", AnyOf: [][]string{{"Apache-2.0"}}, Source: "LICENSE-APACHE: licence text", File: filepath.Join(dir, "LICENSE-APACHE"), Confidence: 1, Kind: KindDetected},
					{ID: "MIT", AnyOf: [][]string{{"MIT"}}, Source: "license-mit.txt: licence text", File: filepath.Join(dir, "license-mit.txt"), Confidence: 1, Kind: KindDetected},
				}, Unknown: []Unknown{}, NotVerified: []NotVerified{}}
			},
		},
		{
			name:  "llama card with custom licence text",
			files: map[string]string{"README.md": "---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\n---\n", "LICENSE": "META LLAMA 3 COMMUNITY LICENSE AGREEMENT\nYou may use the Llama Materials under these terms.\n"},
			want: func(dir string) Evidence {
				return Evidence{Schema: Schema, Licenses: []License{
					{ID: "LicenseRef-llama3", AnyOf: [][]string{{"LicenseRef-llama3"}}, Name: "llama3", Link: "LICENSE", Source: "README.md front matter: license_name", File: filepath.Join(dir, "README.md"), Confidence: 1, Kind: KindDeclared},
				}, Unknown: []Unknown{
					{Source: "LICENSE", File: filepath.Join(dir, "LICENSE"), Reason: "no licence text of the SPDX License List 3.28.0 matched"},
				}, NotVerified: []NotVerified{}}
			},
		},
		{
			name:  "nothing at all",
			files: map[string]string{"model.bin": "x", "README.md": "# no front matter\n"},
			want: func(dir string) Evidence {
				return Evidence{Schema: Schema, Licenses: []License{}, Unknown: []Unknown{
					{Source: dir, Reason: "no licence found: no LICENSE file, no licence in the card's front matter and none in an SBOM"},
				}, NotVerified: []NotVerified{}}
			},
		},
		{
			name:  "broken card and SBOM",
			files: map[string]string{"README.md": "---\nlicense: [mit\n---\n", "bom.json": "{not json", "LICENSE.md": mit},
			want: func(dir string) Evidence {
				return Evidence{Schema: Schema, Licenses: []License{
					{ID: "MIT", AnyOf: [][]string{{"MIT"}}, Source: "LICENSE.md: licence text", File: filepath.Join(dir, "LICENSE.md"), Confidence: 1, Kind: KindDetected},
				}, Unknown: []Unknown{}, NotVerified: []NotVerified{
					{Source: "README.md front matter", File: filepath.Join(dir, "README.md"), Reason: "front matter is not valid YAML: yaml: line 1: did not find expected ',' or ']'"},
					{Source: "bom.json", File: filepath.Join(dir, "bom.json"), Reason: "not a JSON SBOM: invalid character 'n' looking for beginning of object key string"},
				}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			got, err := Scan(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(dir)
			want.Subject = &Subject{Path: dir} // the path as given
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
			// A file subject is judged by the folder it is in.
			if _, ok := tt.files["model.bin"]; ok {
				got2, err := Scan(filepath.Join(dir, "model.bin"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(got.Licenses, got2.Licenses); diff != "" {
					t.Errorf("Scan(file) differs from Scan(folder):\n%s", diff)
				}
			}
		})
	}
}

func TestScanLimitsAndErrors(t *testing.T) {
	dir := writeTree(t, map[string]string{"LICENSE": strings.Repeat("x ", 100)})
	got, err := Scan(dir, Options{Limits: Limits{MaxLicenseFileBytes: 10, MaxCardBytes: 10, MaxFrontMatterBytes: 10, MaxSBOMBytes: 10, MaxSBOMEntries: 1, MaxEntries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := []NotVerified{{Source: "LICENSE", File: filepath.Join(dir, "LICENSE"), Reason: filepath.Join(dir, "LICENSE") + " is larger than the limit of 10 bytes"}}
	if diff := cmp.Diff(want, got.NotVerified); diff != "" {
		t.Errorf("not_verified (-want +got):\n%s", diff)
	}
	if _, err := Scan(filepath.Join(dir, "missing"), Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Scan(missing path) error = %v, want one naming the path", err)
	}
	if _, err := Scan("", Options{}); !errors.Is(err, ErrNothingToScan) {
		t.Errorf("Scan(\"\") error = %v, want ErrNothingToScan", err)
	}
	if _, err := Scan("", Options{SBOMs: []string{filepath.Join(dir, "LICENSE")}}); err == nil || !strings.Contains(err.Error(), "not a JSON SBOM") {
		t.Errorf("Scan(bad SBOM) error = %v, want not a JSON SBOM", err)
	}
}

func TestParseSPDX(t *testing.T) {
	const f = "sbom.spdx.json"
	got, err := ParseSBOM(f, readFixture(t, "sbom/image.spdx.json"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := Evidence{Schema: Schema, Licenses: []License{
		{ID: "Apache-2.0", AnyOf: [][]string{{"Apache-2.0"}}, Source: f + " packages[0] (openssl@3.0.13): licenseConcluded", File: f, Confidence: 1, Kind: KindConcluded},
		{ID: "Zlib", AnyOf: [][]string{{"Zlib"}}, Source: f + " packages[1] (zlib@1.3): licenseDeclared (and 1 more with the same licence)", File: f, Confidence: 1, Kind: KindDeclared},
		{ID: "GPL-3.0-or-later", AnyOf: [][]string{{"GPL-3.0-or-later"}}, Source: f + " packages[2] (bash@5.2): licenseInfoFromFiles[0]", File: f, Confidence: 1, Kind: KindDetected},
		{Expression: "(MIT OR Apache-2.0) AND BSD-3-Clause", AnyOf: [][]string{{"BSD-3-Clause", "MIT"}, {"Apache-2.0", "BSD-3-Clause"}}, Source: f + " packages[3] (libfoo@2.0): licenseConcluded", File: f, Confidence: 1, Kind: KindConcluded},
		{ID: "LicenseRef-Example-EULA", AnyOf: [][]string{{"LicenseRef-Example-EULA"}}, Name: "Example Labs EULA", Source: f + " packages[6] (inhouse@1): licenseConcluded", File: f, Confidence: 1, Kind: KindConcluded},
	}, Unknown: []Unknown{
		{Source: f + " packages[4] (vendor-blob)", File: f, Reason: "licenseDeclared is NONE: the package grants no licence"},
		{Source: f + " packages[5] (mystery)", File: f, Reason: "no licence: licenseConcluded and licenseDeclared are absent or NOASSERTION"},
		{Source: f + " packages[7] (typo@1): licenseConcluded", File: f, Reason: `"Apache2": "Apache2" is not an SPDX licence id (use LicenseRef-<name> for other licences)`},
	}, NotVerified: []NotVerified{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseSBOM (-want +got):\n%s", diff)
	}
}

func TestParseCycloneDX(t *testing.T) {
	const f = "bom.cdx.json"
	got, err := ParseSBOM(f, readFixture(t, "sbom/model.cdx.json"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := Evidence{Schema: Schema, Licenses: []License{
		{ID: "Apache-2.0", AnyOf: [][]string{{"Apache-2.0"}}, Source: f + " metadata.component (fraud-detector@3): licenses[0].license.id", File: f, Confidence: 1, Kind: KindDeclared},
		{ID: "CC-BY-NC-4.0", AnyOf: [][]string{{"CC-BY-NC-4.0"}}, Source: f + " components[0] (transactions-2025@1): licenses[0].license.id", File: f, Confidence: 1, Kind: KindConcluded},
		{Expression: "Apache-2.0 OR MIT", AnyOf: [][]string{{"Apache-2.0"}, {"MIT"}}, Source: f + " components[1] (tokenizers@0.20.0): licenses[0].expression", File: f, Confidence: 1, Kind: KindDeclared},
		{ID: "BSD-2-Clause", AnyOf: [][]string{{"BSD-2-Clause"}}, Source: f + " components[1].components[0] (onig@6.9): licenses[0].license.name", File: f, Confidence: 1, Kind: KindDeclared},
		{ID: "LicenseRef-Vendor-SDK-Terms-v2", AnyOf: [][]string{{"LicenseRef-Vendor-SDK-Terms-v2"}}, Name: "Vendor SDK Terms v2", Source: f + " components[2] (vendor-sdk@9): licenses[0].license.name", File: f, Confidence: 1, Kind: KindDeclared},
	}, Unknown: []Unknown{
		{Source: f + " components[3] (nolicence@0.1)", File: f, Reason: "component has no licenses and no evidence.licenses"},
		{Source: f + " components[4] (badexpr@1): licenses[0].expression", File: f, Reason: `"MIT AND OR GPL": unexpected "OR" where a licence was expected`},
		{Source: f + " components[5] (empty-entry@1): licenses[0]", File: f, Reason: "licence entry has neither expression, license.id nor license.name"},
	}, NotVerified: []NotVerified{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseSBOM (-want +got):\n%s", diff)
	}
}

func TestParseSBOMErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		limits            Limits
	}{
		{name: "not json", in: "nope", wantErr: "not a JSON SBOM"},
		{name: "neither format", in: `{"a":1}`, wantErr: `neither an SPDX JSON document`},
		{name: "spdx 3", in: `{"spdxVersion":"SPDX-3.0"}`, wantErr: `only SPDX 2.x JSON is read`},
		{name: "packages wrong type", in: `{"spdxVersion":"SPDX-2.3","packages":{}}`, wantErr: "field packages: want []license.spdxPackage, found JSON object"},
		{name: "licence wrong type", in: `{"spdxVersion":"SPDX-2.3","packages":[{"licenseConcluded":1}]}`, wantErr: "field packages.licenseConcluded: want string"},
		{name: "trailing data", in: `{"bomFormat":"CycloneDX"} {}`, wantErr: "after top-level value"},
		{name: "too many packages", in: `{"spdxVersion":"SPDX-2.3","packages":[{},{}]}`, limits: Limits{MaxSBOMBytes: 1 << 20, MaxSBOMEntries: 1, MaxEntries: 10}, wantErr: "packages has 2 entries, more than the limit of 1"},
		{name: "too many components", in: `{"bomFormat":"CycloneDX","components":[{"components":[{}]}]}`, limits: Limits{MaxSBOMBytes: 1 << 20, MaxSBOMEntries: 1, MaxEntries: 10}, wantErr: "more than 1 components"},
		{name: "too deep", in: `{"bomFormat":"CycloneDX","components":` + strings.Repeat(`[{"components":`, 70) + "[]" + strings.Repeat("}]", 70) + "}", wantErr: "nested deeper than 64"},
		{name: "too large", in: `{"bomFormat":"CycloneDX"}`, limits: Limits{MaxSBOMBytes: 5, MaxSBOMEntries: 1, MaxEntries: 1}, wantErr: "larger than the limit of 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSBOM("x.json", []byte(tt.in), tt.limits)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCollector(t *testing.T) {
	ctx := context.Background()
	sbom := filepath.Join("testdata", "sbom", "image.spdx.json")

	c, err := NewCollector(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range gates.Kinds {
		want := k == gates.KindModel || k == gates.KindDataset || k == gates.KindImage
		if got := c.Applies(gates.Subject{Kind: k, Ref: "x"}); got != want {
			t.Errorf("Applies(%s) = %v, want %v", k, got, want)
		}
	}
	if _, err := c.Collect(ctx, gates.Subject{Kind: gates.KindImage, Ref: "registry.example/api:1"}); !errors.Is(err, ErrNoSBOM) {
		t.Errorf("image without SBOM: error %v, want ErrNoSBOM", err)
	}

	c, err = NewCollector(map[string]any{"sbom": "image.spdx.json", "min_coverage": 90}, func(p string) string { return filepath.Join("testdata", "sbom", p) })
	if err != nil {
		t.Fatal(err)
	}
	if c.Options.MinCoverage != 90 {
		t.Errorf("MinCoverage = %v, want 90", c.Options.MinCoverage)
	}
	v, err := c.Collect(ctx, gates.Subject{Kind: gates.KindImage, Ref: "registry.example/api:1"})
	if err != nil {
		t.Fatal(err)
	}
	ev := v.(Evidence)
	wantIDs := []string{"Apache-2.0", "BSD-3-Clause", "GPL-3.0-or-later", "LicenseRef-Example-EULA", "MIT", "Zlib"}
	if diff := cmp.Diff(wantIDs, ev.IDs()); diff != "" {
		t.Errorf("image licences (-want +got):\n%s", diff)
	}
	if ev.Licenses[0].Source != sbom+" packages[0] (openssl@3.0.13): licenseConcluded" {
		t.Errorf("source = %q, want it to name the SBOM path", ev.Licenses[0].Source)
	}

	dir := writeTree(t, map[string]string{"README.md": "---\nlicense: gemma\n---\n"})
	v, err = c.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: dir})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"LicenseRef-gemma"}, v.(Evidence).IDs()); diff != "" {
		t.Errorf("model licences (-want +got):\n%s", diff)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Collect(cctx, gates.Subject{Kind: gates.KindModel, Ref: dir}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v, want context.Canceled", err)
	}
}

func TestNewCollectorErrors(t *testing.T) {
	tests := []struct {
		params  map[string]any
		wantErr string
	}{
		{map[string]any{"sbom": 3}, "params.license.sbom: want a file path or a list of paths"},
		{map[string]any{"sbom": []any{"a.json", 2}}, "params.license.sbom[1]: want a file path"},
		{map[string]any{"min_coverage": "high"}, "params.license.min_coverage: want a percentage"},
		{map[string]any{"min_coverage": 120.0}, "not a percentage between 0 and 100"},
	}
	for _, tt := range tests {
		if _, err := NewCollector(tt.params, nil); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewCollector(%v) error = %v, want %q", tt.params, err, tt.wantErr)
		}
	}
	c, err := NewCollector(map[string]any{"sbom": []any{"a.json", "b.json"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.json", "b.json"}, c.SBOMs); diff != "" {
		t.Errorf("SBOMs (-want +got):\n%s", diff)
	}
}

func TestParseEvidence(t *testing.T) {
	c := &Collector{}
	v, err := c.ParseEvidence(readFixture(t, "sbom/model.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(v.(Evidence).Licenses); got != 5 {
		t.Errorf("licences from CycloneDX = %d, want 5", got)
	}
	v, err = c.ParseEvidence([]byte(`{"schema":"license/v1","licenses":[{"id":"MIT","any_of":[["MIT"]],"source":"x","confidence":1,"kind":"declared"}],"unknown":[],"not_verified":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"MIT"}, v.(Evidence).IDs()); diff != "" {
		t.Errorf("pass-through (-want +got):\n%s", diff)
	}
	v, err = c.ParseEvidence([]byte(`{"spdxVersion":"SPDX-2.3","packages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(Evidence).Unknown; len(got) != 1 || got[0].Reason != "the SBOM names no packages or components" {
		t.Errorf("empty SBOM unknown = %+v", got)
	}
	for in, wantErr := range map[string]string{
		`{"schema":"model_card/v1"}`:             `schema "model_card/v1": want "license/v1"`,
		`{"schema":"license/v1","licenses":[]}`:  `needs "licenses", "unknown" and "not_verified" lists`,
		`{"schema":"license/v1","licenses":"x"}`: "field licenses",
		`[1,2]`:                                  "not a JSON SBOM",
	} {
		if _, err := c.ParseEvidence([]byte(in)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseEvidence(%s) error = %v, want %q", in, err, wantErr)
		}
	}
}

// TestRealGeneratorSBOMs: SBOMs written by real generators
// (testdata/sbom/real/SOURCES.md) name every component's licence.
func TestRealGeneratorSBOMs(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string // source prefix -> licence id or expression
		kind string
		// unknown: the sources the SBOM gives no licence for. syft lists
		// the module itself (it has no LICENSE) and the go.mod it read
		// (a CycloneDX "file" component, an SPDX FILE package): unknown,
		// as they should be, never a silent pass.
		unknown []string
	}{
		{"sbom/real/cyclonedx-gomod-sbomdemo.cdx.json", map[string]string{
			"components[0] (github.com/google/go-cmp@v0.7.0)": "BSD-3-Clause",
			"components[1] (gopkg.in/yaml.v3@v3.0.1)":         "Apache-2.0",
		}, KindDetected, nil},
		{"sbom/real/syft-sbomdemo.cdx.json", map[string]string{
			"components[1] (github.com/google/go-cmp@v0.7.0)":      "BSD-3-Clause",
			"components[2] (gopkg.in/yaml.v3@v3.0.1): licenses[0]": "Apache-2.0",
			"components[2] (gopkg.in/yaml.v3@v3.0.1): licenses[2]": "MIT",
		}, KindDeclared, []string{"components[0] (example.com/sbomdemo@UNKNOWN)", "components[3] (/go.mod)"}},
		{"sbom/real/syft-sbomdemo.spdx.json", map[string]string{
			"packages[1] (github.com/google/go-cmp@v0.7.0)": "BSD-3-Clause",
			"packages[2] (gopkg.in/yaml.v3@v3.0.1)":         "Apache-2.0 AND MIT",
		}, KindConcluded, []string{"packages[0] (example.com/sbomdemo@UNKNOWN)", "packages[3] (.)"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := ParseSBOM("sbom", readFixture(t, tt.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var unknown []string
			for _, u := range ev.Unknown {
				for _, want := range tt.unknown {
					if strings.Contains(u.Source, want) {
						unknown = append(unknown, want)
					}
				}
			}
			if len(unknown) != len(ev.Unknown) || !slices.Equal(unknown, tt.unknown) {
				t.Errorf("unknown: %+v, want exactly %v", ev.Unknown, tt.unknown)
			}
			got := map[string]string{}
			for _, l := range ev.Licenses {
				if l.Kind != tt.kind {
					t.Errorf("%s: kind %q, want %q", l.Source, l.Kind, tt.kind)
				}
				for prefix := range tt.want {
					if strings.Contains(l.Source, prefix) {
						got[prefix] = l.ID
						if got[prefix] == "" {
							got[prefix] = l.Expression
						}
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("licences (-want +got):\n%s", diff)
			}
		})
	}
}
