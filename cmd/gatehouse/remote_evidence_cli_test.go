package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Evidence gatehouse wrote for a remote model (with its "remote" object)
// given back with --evidence NAME=FILE is read, and "remote" is kept.
func TestRemoteModelEvidenceRoundTrip(t *testing.T) {
	addr := remoteRegistry(t)
	env := remoteEnv(t)
	config, probe := sideConfig(t)
	pinned := pushModel(t, sideModel(t, "MIT.txt"), "oci://"+addr+"/models/roundtrip:v1")
	subject := "model:" + pinned

	first := rawProbe(t, env, config, probe, subject)
	dir := t.TempDir()
	args := []string{"check", "--config", config, "--policy", probe, "--env", "nosig", "--format", "json"}
	for _, name := range []string{"model_card", "fairness", "evaluation"} {
		if !bytes.Contains(first[name], []byte(`"remote"`)) {
			t.Fatalf("%s evidence of the remote model has no remote object: %s", name, first[name])
		}
		f := writeFile(t, filepath.Join(dir, name+".json"), string(first[name]))
		args = append(args, "--evidence", name+"="+f)
	}
	r := gatehouse(t, env, append(args, subject)...)
	var out sideCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Results) != 1 {
		t.Fatalf("exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if res := out.Results[0]; r.code != 0 || !res.Allowed {
		t.Fatalf("evidence given back: exit %d, violations %+v, undecided %v\n%s", r.code, res.Violations, res.Undecided, r.stderr)
	}
	second := probeDocs(t, out)
	for _, name := range []string{"model_card", "fairness", "evaluation"} {
		a, b := remoteOf(t, first[name]), remoteOf(t, second[name])
		if a == "" || a != b {
			t.Errorf("%s: remote %s given back as %s", name, a, b)
		}
	}

	// An unknown field inside "remote" is still refused.
	bad := strings.Replace(string(first["model_card"]), `"origins":`, `"unexpected":1,"origins":`, 1)
	f := writeFile(t, filepath.Join(dir, "bad.json"), bad)
	r = gatehouse(t, env, "check", "--config", config, "--policy", probe, "--env", "nosig", "--evidence", "model_card="+f, "--format", "json", subject)
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "unexpected") {
		t.Errorf("a remote object with an unknown field: exit %d, want 2 naming the field\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// rawProbe runs check with the probe gate and returns the side evidence
// documents as the probe echoed them.
func rawProbe(t *testing.T, env []string, config, probe, subject string) map[string]json.RawMessage {
	t.Helper()
	r := gatehouse(t, env, "check", "--config", config, "--policy", probe, "--env", "nosig", "--format", "json", subject)
	var out sideCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Results) != 1 || r.code != 0 {
		t.Fatalf("exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	return probeDocs(t, out)
}

func probeDocs(t *testing.T, out sideCheckJSON) map[string]json.RawMessage {
	t.Helper()
	docs := map[string]json.RawMessage{}
	for _, w := range out.Results[0].Warnings {
		if w.Gate == "probe" {
			if err := json.Unmarshal([]byte(w.Message), &docs); err != nil {
				t.Fatalf("probe message: %v\n%s", err, w.Message)
			}
		}
	}
	if len(docs) != 4 {
		t.Fatalf("the probe echoed %d documents, want 4", len(docs))
	}
	return docs
}

// remoteOf is the "remote" object of doc, re-encoded canonically.
func remoteOf(t *testing.T, doc json.RawMessage) string {
	t.Helper()
	var d struct {
		Remote any `json:"remote"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if d.Remote == nil {
		return ""
	}
	b, _ := json.Marshal(d.Remote)
	return string(b)
}
