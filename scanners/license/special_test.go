package license

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// TestScanRefusesSpecialFiles: a FIFO or device given as the subject is
// refused at once (no blocking open), never judged by its folder (/dev).
func TestScanRefusesSpecialFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{"LICENSE": string(readFixture(t, "texts/MIT.txt"))})
	fifo := filepath.Join(dir, "model.bin")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null", "/dev/zero"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s: %v", path, err)
			}
			ev, err := Scan(path, Options{})
			if !errors.Is(err, readlimit.ErrNotRegular) {
				t.Fatalf("Scan(%s) = %+v, %v; want ErrNotRegular", path, ev, err)
			}
		})
	}
	// The FIFO inside a folder is not opened either: it is no licence file.
	if _, err := Scan(dir, Options{}); err != nil {
		t.Fatalf("Scan(folder holding a FIFO): %v", err)
	}
}

func TestParseEvidenceRefuses(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxSBOMBytes = 4 << 10
	c := &Collector{Options: Options{Limits: limits}}
	for _, tt := range []struct{ name, doc, want string }{
		{"collection error", `{"error":"licence scan: no such file"}`, "collection error"},
		{"error beside schema", `{"schema":"license/v1","licenses":[],"unknown":[],"not_verified":[],"error":"x"}`, "collection error"},
		{"subject without path", `{"schema":"license/v1","subject":{"digest":"sha256:ab"},"licenses":[],"unknown":[],"not_verified":[]}`, `without a "path"`},
		{"lists missing", `{"schema":"license/v1"}`, "needs"},
		{"too large", `{"spdxVersion":"SPDX-2.3","x":"` + strings.Repeat("a", 4<<10) + `"}`, "more than the limit"},
		{"ok", `{"schema":"license/v1","subject":{"path":"models/m"},"licenses":[],"unknown":[],"not_verified":[]}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.ParseEvidence([]byte(tt.doc))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if ev := v.(Evidence); ev.Subject == nil || ev.Subject.Path != "models/m" {
					t.Fatalf("subject lost: %+v", ev.Subject)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func FuzzParseEvidence(f *testing.F) {
	f.Add(readFixture(f, "sbom/image.spdx.json"))
	f.Add(readFixture(f, "sbom/model.cdx.json"))
	for _, s := range []string{
		`{"schema":"license/v1","subject":{"path":"m"},"licenses":[{"id":"MIT","any_of":[["MIT"]],"source":"LICENSE","confidence":1,"kind":"detected"}],"unknown":[],"not_verified":[]}`,
		`{"schema":"license/v1","licenses":null}`,
		`{"error":"x"}`,
		`{"bomFormat":"CycloneDX","components":[]}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	c := &Collector{Options: Options{Limits: Limits{MaxLicenseFileBytes: 1 << 10, MaxCardBytes: 1 << 10, MaxFrontMatterBytes: 1 << 10, MaxSBOMBytes: 1 << 20, MaxSBOMEntries: 1000, MaxEntries: 1000}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.ParseEvidence(data)
		if err != nil {
			return
		}
		ev := v.(Evidence)
		if ev.Schema != Schema || ev.Licenses == nil || ev.Unknown == nil || ev.NotVerified == nil {
			t.Fatalf("accepted %q as %+v", data, ev)
		}
		if len(ev.Licenses) == 0 && len(ev.Unknown) == 0 && len(ev.NotVerified) == 0 && !strings.Contains(string(data), Schema) {
			t.Fatalf("an SBOM %q mapped to evidence that names nothing", data)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
	})
}
