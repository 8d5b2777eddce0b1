package modelcard

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

// TestScanRefusesSpecialFiles: a FIFO (even one named README.md) or a
// device is refused at once, never read (blocking) nor judged by /dev.
func TestScanRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifoCard := filepath.Join(dir, "README.md")
	fifoModel := filepath.Join(t.TempDir(), "model.bin")
	for _, p := range []string{fifoCard, fifoModel} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{fifoCard, dir, fifoModel, "/dev/null", "/dev/zero"} {
		t.Run(path, func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s: %v", path, err)
			}
			ev, err := Scan(path, Limits{})
			if !errors.Is(err, readlimit.ErrNotRegular) {
				t.Fatalf("Scan(%s) = %+v, %v; want ErrNotRegular", path, ev, err)
			}
		})
	}
}

func TestParseEvidenceRefuses(t *testing.T) {
	c := &Collector{Limits: Limits{MaxCardBytes: 4 << 10, MaxFrontMatterBytes: 1 << 10, MaxMetrics: 10, ExcerptBytes: 50}}
	for _, tt := range []struct{ name, doc, want string }{
		{"collection error", `{"error":"model card: stat x: no such file"}`, "collection error"},
		{"subject without path", `{"schema":"model_card/v1","subject":{},"found":false,"sections":{},"metrics":[]}`, `without a "path"`},
		{"too large", "# card\n" + strings.Repeat("text ", 1<<10), "more than the limit"},
		{"unknown field", `{"schema":"model_card/v1","found":true,"sections":{},"verdict":"ok"}`, "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ParseEvidence([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
	v, err := c.ParseEvidence([]byte(`{"schema":"model_card/v1","subject":{"path":"models/m","digest":"sha256:ab"},"found":false,"sections":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := v.(Evidence).Subject; s == nil || s.Path != "models/m" || s.Digest != "sha256:ab" {
		t.Fatalf("subject lost: %+v", s)
	}
}

func FuzzParseEvidence(f *testing.F) {
	seed(f, "testdata/full/README.md")
	seed(f, "testdata/mct/model_card.json")
	for _, s := range []string{
		`{"schema":"model_card/v1","subject":{"path":"m"},"found":true,"source":"README.md","format":"huggingface","sections":{"evaluation":{"present":true,"source":"x"}},"metrics":[{"name":"a","value":1,"source":"x"}]}`,
		`{"schema":"model_card/v1","found":false}`,
		`{"error":"x"}`,
		"---\nlicense: mit\n---\n## Limitations\nNone known for this use.\n",
		``,
	} {
		f.Add([]byte(s))
	}
	c := &Collector{Limits: Limits{MaxCardBytes: 1 << 20, MaxFrontMatterBytes: 64 << 10, MaxMetrics: 100, ExcerptBytes: 200}}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.ParseEvidence(data)
		if err != nil {
			return
		}
		ev := v.(Evidence)
		if ev.Schema != Schema || ev.Sections == nil || ev.Metrics == nil {
			t.Fatalf("accepted %q as %+v", data, ev)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
	})
}
