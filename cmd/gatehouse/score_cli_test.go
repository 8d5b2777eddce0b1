package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const scoreData = "scanners/score/testdata/"

func TestScanScore(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.score.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	hostile := filepath.Join(dir, "hostile.score.yaml")
	os.WriteFile(hostile, []byte("apiVersion: score.dev/v1b1\nmetadata: {name: app}\ncontainers:\n  main:\n    image: \"busybox\\e[2J\"\n"+
		"    variables: {\"X\\e]0;pwned\\a\": \"${resources.db.host}\"}\nresources: {db: {type: postgres}}\n"), 0o644)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		notInOut []string
	}{
		{"web service", []string{scoreData + "web.score.yaml"}, 0,
			[]string{"workload: checkout", "(pinned)", "limits     cpu=1 memory=512Mi", "variable   DB_PASSWORD (placeholders)", "resource db type=postgres", "route route host unresolved", "literal secrets: 0"}, nil, nil},
		{"worker", []string{scoreData + "worker.score.yaml"}, 0,
			[]string{"workload: order-worker", "probes     liveness=exec readiness=none", "file       /etc/worker/config.yaml mode=0440 inline"}, nil, nil},
		{"batch", []string{scoreData + "batch.score.yaml"}, 0,
			[]string{"requests   cpu=none memory=none", "volume     /scratch <- ${resources.scratch}"}, nil, []string{"\nport "}},
		{"upstream with upgrades and a build placeholder", []string{scoreData + "upstream/score-go-full/score.yaml"}, 0,
			[]string{"upgraded: containers.container-one1.files: migrated to object", "(build placeholder)", "build placeholders (no image subject): container-two2"}, nil, nil},
		{"literal secret flagged, value never printed", []string{scoreData + "deny/literal-password.score.yaml"}, 0,
			[]string{"DB_PASSWORD LITERAL SECRET", "literal secrets: 1"}, nil, []string{"hunter2"}},
		{"invalid spec", []string{scoreData + "invalid/bad-port.score.yaml"}, 2, nil,
			[]string{"invalid/bad-port.score.yaml", "at '/service/ports/web/port': must be <= 65535 but found 70000"}, nil},
		{"placeholder to a missing resource", []string{scoreData + "invalid/missing-resource.score.yaml"}, 2, nil,
			[]string{"missing-resource.score.yaml", `no resource with name "nope"`}, nil},
		{"file source outside the folder", []string{scoreData + "invalid/escape.score.yaml"}, 2, nil,
			[]string{"escape.score.yaml", "leaves the spec's folder"}, nil},
		{"fifo", []string{fifo}, 2, nil, []string{"fifo.score.yaml"}, nil},
		{"dev zero", []string{"/dev/zero"}, 2, nil, []string{"/dev/zero"}, nil},
		{"missing", []string{"nope.score.yaml"}, 2, nil, []string{"nope.score.yaml"}, nil},
		{"bad format", []string{"--format", "xml", scoreData + "web.score.yaml"}, 2, nil, []string{"--format"}, nil},
		{"hostile strings escaped", []string{hostile}, 0, []string{"busybox"}, nil, []string{"\x1b", "\a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTimed(t, append([]string{"scan", "score"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			for _, s := range tt.notInOut {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("output carries %q:\n%s%s", s, r.stdout, r.stderr)
				}
			}
		})
	}
}

func TestScanScoreJSON(t *testing.T) {
	r := runTimed(t, "scan", "score", "--format", "json", scoreData+"deny/literal-password.score.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var ev struct {
		Schema     string `json:"schema"`
		Workload   string `json:"workload"`
		Containers []struct {
			Image  string `json:"image"`
			Pinned bool   `json:"pinned"`
		} `json:"containers"`
		Secrets []struct {
			Container, Kind, Name, Reason string
		} `json:"secrets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	if ev.Schema != "score/v1" || ev.Workload != "leaky" || len(ev.Containers) != 1 || !ev.Containers[0].Pinned ||
		len(ev.Secrets) != 1 || ev.Secrets[0].Name != "DB_PASSWORD" || ev.Secrets[0].Kind != "variable" {
		t.Errorf("evidence: %+v", ev)
	}
	if strings.Contains(r.stdout, "hunter2") {
		t.Error("JSON carries the password")
	}
}

// The shipped gatehouse.yaml gates score subjects with the score gate in
// every environment.
func TestCheckScore(t *testing.T) {
	// A spec's pinned image is judged too, by the image gates (sonarqube in
	// dev): evidence for it is given where the spec has one.
	sonar := []string{"--evidence", "sonarqube=testdata/sonarqube/ok.json"}
	tests := []struct {
		name, file string
		code       int
		rules      []string
		evidence   []string
	}{
		{"good worker", "worker.score.yaml", 0, []string{"image:ghcr.io/acme/order-worker@sha256:9b2a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809: allowed", "part of score:" + scoreData + "worker.score.yaml (containers worker)"}, sonar},
		{"unpinned image", "deny/unpinned.score.yaml", 1, []string{"score/score_image_not_pinned", "image:ghcr.io/acme/api:1.2.3: NOT DECIDED"}, nil},
		{"literal password", "deny/literal-password.score.yaml", 1, []string{"score/score_literal_secret"}, sonar},
		{"route host the spec does not fix", "web.score.yaml", 1, []string{"score/score_route_host_unresolved"}, sonar},
		{"invalid spec", "invalid/bad-port.score.yaml", 2, []string{"must be <= 65535 but found 70000"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := "score:" + scoreData + tt.file
			r := runTimed(t, append(append([]string{"check", "--env", "dev"}, tt.evidence...), subject)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, rule := range tt.rules {
				if !strings.Contains(r.stdout, rule) {
					t.Errorf("stdout lacks %q:\n%s", rule, r.stdout)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "hunter2") {
				t.Error("output carries the password")
			}
			// The score subject's own verdict, whatever else the run judges.
			j := runTimed(t, append(append([]string{"check", "--env", "dev", "--format", "json"}, tt.evidence...), subject)...)
			var out struct {
				Results []struct {
					Subject struct{ Kind, Ref string } `json:"subject"`
					Verdict string                     `json:"verdict"`
					Gates   []string                   `json:"gates"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(j.stdout), &out); err != nil {
				t.Fatalf("json: %v\n%s", err, j.stdout)
			}
			want := map[int]string{0: "allowed", 1: "denied", 2: "not decided"}[tt.code]
			found := false
			for _, res := range out.Results {
				if res.Subject.Kind == "score" {
					found = true
					// A spec that cannot be read is not decided before any gate runs.
					ran := tt.code == 2 || (len(res.Gates) == 1 && res.Gates[0] == "score")
					if res.Verdict != want || !ran {
						t.Errorf("score result: verdict %q gates %v, want %s by [score]", res.Verdict, res.Gates, want)
					}
				}
			}
			if !found {
				t.Errorf("no score result in %s", j.stdout)
			}
		})
	}
}
