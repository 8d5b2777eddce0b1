package license

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkScanFolder scans a model folder with a card, the full
// Apache-2.0 text and an MIT text (the index is loaded once, before).
func BenchmarkScanFolder(b *testing.B) {
	dir := b.TempDir()
	for name, src := range map[string]string{"LICENSE": "texts/Apache-2.0.txt", "LICENSE-MIT": "texts/MIT.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), readFixture(b, src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("---\nlicense: apache-2.0\n---\n# m\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	Detect([]byte("warm up"), 75) // the index is parsed once per process
	b.ResetTimer()
	for b.Loop() {
		if _, err := Scan(dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSPDX reads an image SBOM of 10,000 packages.
func BenchmarkParseSPDX(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"spdxVersion":"SPDX-2.3","packages":[`)
	exprs := []string{"MIT", "Apache-2.0", "(MIT OR Apache-2.0) AND BSD-3-Clause", "GPL-2.0-only WITH Classpath-exception-2.0", "NOASSERTION"}
	for i := range 10_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"name":"pkg%d","versionInfo":"1.%d","licenseConcluded":%q,"licenseDeclared":"NOASSERTION"}`, i, i, exprs[i%len(exprs)])
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseSBOM("bench.spdx.json", data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDNF(b *testing.B) {
	for b.Loop() {
		if _, err := DNF("(MIT OR Apache-2.0) AND (BSD-3-Clause OR ISC) AND Zlib"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadIndex is the first-use cost of the embedded index in a new
// process (parse the entry table; the hashes stay in the embedded bytes).
func BenchmarkLoadIndex(b *testing.B) {
	for b.Loop() {
		if _, err := parseIndex(spdxIndex); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetect names one text of each size.
func BenchmarkDetect(b *testing.B) {
	for _, f := range []string{"spdx/MIT.txt", "spdx/Apache-2.0.txt", "spdx/GPL-3.0-only.txt", "spdx/BSD-3-Clause-No-Military-License.txt"} {
		text := readFixture(b, f)
		b.Run(f, func(b *testing.B) {
			Detect(text, 75)
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				Detect(text, 75)
			}
		})
	}
}
