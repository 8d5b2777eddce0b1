package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestScanFairnessExitCodes runs the binary: 0 when the metrics are
// computed (whatever they say), 2 for input it cannot judge.
func TestScanFairnessExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("p.csv", "y,yhat,sex\n1,1,F\n0,1,M\n1,0,\x1b[31mX\n")
	fifo := filepath.Join(dir, "fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cols := []string{"--label", "y", "--prediction", "yhat", "--group", "sex"}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"computed", append([]string{"scan", "fairness", good}, cols...), 0, "demographic parity difference"},
		{"unknown column", []string{"scan", "fairness", good, "--label", "y", "--prediction", "yhat", "--group", "race"}, exitUndecided, `no group column "race"`},
		{"no group", []string{"scan", "fairness", good, "--label", "y", "--prediction", "yhat"}, exitUndecided, "--group"},
		{"FIFO", append([]string{"scan", "fairness", fifo}, cols...), exitUndecided, "FIFO"},
		{"/dev/zero", append([]string{"scan", "fairness", "/dev/zero"}, cols...), exitUndecided, "character device"},
		{"empty", append([]string{"scan", "fairness", write("e.csv", "")}, cols...), exitUndecided, "empty file"},
		{"bad format flag", append([]string{"scan", "fairness", good, "--format", "xml"}, cols...), exitUndecided, "--format"},
		{"bad missing flag", append([]string{"scan", "fairness", good, "--missing", "drop"}, cols...), exitUndecided, "--missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runTimed(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("exit %d (want %d), output:\n%s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("an escape sequence from the file reached stdout:\n%q", r.stdout)
			}
		})
	}
	r := runTimed(t, append([]string{"scan", "fairness", good, "--format", "json", "--model", "models/m"}, cols...)...)
	var ev struct {
		Schema      string
		Subject     struct{ Path string }
		Predictions struct{ Path, SHA256 string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ev) != nil || ev.Schema != "fairness/v1" || ev.Subject.Path != "models/m" || ev.Predictions.Path != good || len(ev.Predictions.SHA256) != 64 {
		t.Fatalf("json: exit %d %+v\n%s", r.code, ev, r.stderr)
	}
}
