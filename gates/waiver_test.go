package gates

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWaiverSubjectPaths(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	outside := filepath.Join(filepath.Dir(wd), "elsewhere", "m")
	tests := []struct {
		waiver  string
		kind    Kind
		ref     string
		matches bool
	}{
		// One path, every spelling, both ways round.
		{"m", KindModel, "m", true},
		{"m", KindModel, "./m", true},
		{"m", KindModel, "m/", true},
		{"m", KindModel, filepath.Join(wd, "m"), true},
		{"./m", KindModel, "m", true},
		{"m/", KindModel, "m", true},
		{filepath.Join(wd, "m"), KindModel, "m", true},
		{filepath.Join(wd, "m") + "/", KindModel, "./m", true},
		{"models/../m", KindDataset, "m", true},
		{"models/fraud-*", KindModel, "./models/fraud-v3", true},
		{"./models/fraud-*", KindModel, filepath.Join(wd, "models", "fraud-v3"), true},
		{"model:m", KindModel, "./m", true},
		{outside, KindModel, "../elsewhere/m", true},
		// Not the same subject.
		{"m", KindModel, "mm", false},
		{"m", KindModel, "sub/m", false},
		{"m", KindModel, outside, false},
		{"models/fraud-*", KindModel, "./models/other", false},
		{"dataset:m", KindModel, "./m", false},
		{"model:", KindModel, "m", false},
		// Images are references, not paths: no cleaning.
		{"ghcr.io/acme/*", KindImage, "ghcr.io/acme/api", true},
		{"./ghcr.io/acme/api", KindImage, "ghcr.io/acme/api", false},
	}
	for _, tt := range tests {
		t.Run(tt.waiver+" vs "+tt.ref, func(t *testing.T) {
			w := Waiver{Subject: tt.waiver, Gate: "g"}
			s := Subject{Kind: tt.kind, Ref: tt.ref, Name: tt.ref}
			if got := w.matchesSubject(formsOf(s)); got != tt.matches {
				t.Fatalf("waiver %q matches %s = %v, want %v", tt.waiver, s, got, tt.matches)
			}
		})
	}
}

func TestWaiverSubjectDigest(t *testing.T) {
	w := Waiver{Subject: "sha256:abcd", Gate: "g"}
	if !w.matchesSubject(formsOf(Subject{Kind: KindImage, Ref: "x", Digest: "sha256:abcd"})) {
		t.Error("digest does not match")
	}
	if w.matchesSubject(formsOf(Subject{Kind: KindImage, Ref: "x", Digest: "sha256:abce"})) {
		t.Error("another digest matches")
	}
}

func TestValidateWaivers(t *testing.T) {
	gates := []string{"model_scan", "sonarqube"}
	ok := []Waiver{{Subject: "m", Gate: "model_scan"}, {Subject: "i", Gate: "sonarqube"}}
	if err := ValidateWaivers(ok, gates); err != nil {
		t.Fatalf("known gates: %v", err)
	}
	if err := ValidateWaivers(nil, gates); err != nil {
		t.Fatalf("no waivers: %v", err)
	}
	bad := append(ok, Waiver{Subject: "m", Gate: "model_scna"})
	err := ValidateWaivers(bad, gates)
	if err == nil {
		t.Fatal("a waiver for an undefined gate was accepted")
	}
	for _, want := range []string{"waiver 3", `"model_scna"`, "not defined by the policy", "model_scan, sonarqube"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// waiverYAML is a valid waiver with one line replaced or dropped.
func waiverYAML(replace map[string]string) string {
	lines := []string{
		"subject: models/m",
		"gate: model_scan",
		"reason: fixture",
		"approver: alice@example.com",
		"expires: 2027-01-01",
	}
	var b strings.Builder
	b.WriteString("waivers:\n")
	for i, l := range lines {
		key, _, _ := strings.Cut(l, ":")
		if r, ok := replace[key]; ok {
			l = r
		}
		if l == "" {
			continue
		}
		if i == 0 {
			b.WriteString("  - " + l + "\n")
		} else {
			b.WriteString("    " + l + "\n")
		}
	}
	if extra, ok := replace["+"]; ok {
		b.WriteString("    " + extra + "\n")
	}
	return b.String()
}

func TestParseWaiversGoverned(t *testing.T) {
	if ws, err := ParseWaivers("w.yaml", []byte(waiverYAML(nil))); err != nil || len(ws) != 1 {
		t.Fatalf("valid waiver: %v, %v", ws, err)
	}
	tests := []struct {
		name    string
		replace map[string]string
		want    string
	}{
		{"no expiry", map[string]string{"expires": ""}, "has no expires"},
		{"no reason", map[string]string{"reason": ""}, "has no reason"},
		{"blank reason", map[string]string{"reason": `reason: "  "`}, "has no reason"},
		{"no approver", map[string]string{"approver": ""}, "has no approver"},
		{"no gate", map[string]string{"gate": ""}, "has no gate"},
		{"unknown field", map[string]string{"+": "expiry: 2027-01-01"}, "field expiry not found"},
		{"gate not a name", map[string]string{"gate": "gate: model scan"}, "not a gate name"},
		{"expiry not a time", map[string]string{"expires": "expires: next week"}, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := waiverYAML(tt.replace)
			_, err := ParseWaivers("w.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "w.yaml") {
				t.Fatalf("err = %v, want it to name w.yaml and say %q\n%s", err, tt.want, src)
			}
		})
	}
	if _, err := ParseWaivers("w.yaml", []byte("waiver:\n  - subject: m\n")); err == nil {
		t.Fatal("unknown top-level key accepted")
	}
}

func TestLoadWaiversRefusesFIFOAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "waivers.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadWaivers(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "FIFO") {
			t.Fatalf("FIFO: err = %v, want it refused", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("LoadWaivers blocked on a FIFO")
	}

	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxWaiverBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := LoadWaivers(big); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("huge file: err = %v, want too large", err)
	}

	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(waiverYAML(nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	if ws, err := LoadWaivers(good); err != nil || len(ws) != 1 {
		t.Fatalf("regular file: %v, %v", ws, err)
	}
}

func FuzzParseWaivers(f *testing.F) {
	f.Add([]byte(waiverYAML(nil)))
	f.Add([]byte(waiverYAML(map[string]string{"subject": `subject: "["`})))
	f.Add([]byte("waivers: []\n"))
	f.Add([]byte("waivers:\n  - &a {subject: *a}\n"))
	f.Add([]byte("waivers: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := ParseWaivers("fuzz.yaml", data)
		if err != nil {
			return
		}
		// Whatever is accepted is governed and matchable without panicking.
		for _, w := range ws {
			if w.Subject == "" || w.Gate == "" || strings.TrimSpace(w.Reason) == "" || strings.TrimSpace(w.Approver) == "" || w.Expires.IsZero() {
				t.Fatalf("ungoverned waiver accepted: %+v", w)
			}
			w.matchesSubject(formsOf(Subject{Kind: KindModel, Ref: "./models/m", Name: "models/m"}))
		}
	})
}
