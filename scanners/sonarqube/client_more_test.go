package sonarqube

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// TestNewCodeIssuesForms checks which api/issues/search form each kind of
// server is asked, and that the counts survive the fallbacks.
func TestNewCodeIssuesForms(t *testing.T) {
	tests := []struct {
		name          string
		noImpacts     bool
		serverVersion string
		org           string
		wantQs        []string
		wantImpact    map[string]int
	}{
		{name: "10.2+ answers the first form", serverVersion: "10.6.0.92116",
			wantQs: []string{"inNewCodePeriod severities,impactSeverities"}, wantImpact: map[string]int{"HIGH": 2, "MEDIUM": 2}},
		{name: "9.4 to 10.1 reject the impact facet", noImpacts: true, serverVersion: "9.9.4.87374",
			wantQs: []string{"inNewCodePeriod severities,impactSeverities", "inNewCodePeriod severities"}, wantImpact: map[string]int{}},
		{name: "before 9.4 uses sinceLeakPeriod", noImpacts: true, serverVersion: "8.9.10.61524",
			wantQs: []string{"sinceLeakPeriod severities"}, wantImpact: map[string]int{}},
		{name: "SonarCloud's version is not a SonarQube version", serverVersion: "8.0.0.56246", org: "cyber-dojo",
			wantQs: []string{"inNewCodePeriod severities,impactSeverities"}, wantImpact: map[string]int{"HIGH": 2, "MEDIUM": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{taskStatuses: []string{"SUCCESS"}, noImpacts: tt.noImpacts}
			ts := httptest.NewServer(f)
			defer ts.Close()
			c := &Client{BaseURL: ts.URL, Organization: tt.org, ServerVersion: tt.serverVersion}
			got, err := c.NewCodeIssues(context.Background(), "acme_api", "", "")
			if err != nil {
				t.Fatal(err)
			}
			want := &IssueCounts{Total: 4, BySeverity: map[string]int{"CRITICAL": 1, "MAJOR": 3}, ByImpact: tt.wantImpact}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantQs, f.issueQs); diff != "" {
				t.Errorf("queries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewCodeIssuesBadAnswers(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"no paging", `{"issues":[]}`, "no paging.total"},
		{"negative total", `{"paging":{"total":-1}}`, "negative paging.total"},
		{"negative facet count", `{"paging":{"total":1},"facets":[{"property":"severities","values":[{"val":"MAJOR","count":-3}]}]}`, "negative count"},
		{"not JSON", `<html>`, "invalid JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(&fakeServer{body: tt.body})
			defer ts.Close()
			_, err := (&Client{BaseURL: ts.URL}).NewCodeIssues(context.Background(), "k", "", "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// After one 401 to Bearer the client keeps to basic auth: one wasted
// request per collection, not one per call.
func TestBasicFallbackIsSticky(t *testing.T) {
	f := &fakeServer{taskStatuses: []string{"PENDING", "SUCCESS"}, token: "s3cret", basicOnly: true}
	ts := httptest.NewServer(f)
	defer ts.Close()
	c := &Collector{Dir: writeReportTask(t, ts.URL, ""), Token: "s3cret", PollInterval: time.Millisecond, Timeout: 5 * time.Second}
	if _, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage}); err != nil {
		t.Fatal(err)
	}
	if n := f.bearers.Load(); n != 1 {
		t.Errorf("Bearer sent %d times, want 1 (then basic auth only)", n)
	}
}

// The engine's deadline (ctx) bounds collection even when Timeout is longer.
func TestContextDeadlineBoundsCollect(t *testing.T) {
	ts := httptest.NewServer(&fakeServer{taskStatuses: []string{"SUCCESS"}, delay: 10 * time.Second})
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c := &Collector{Dir: writeReportTask(t, ts.URL, ""), Timeout: time.Minute}
	start := time.Now()
	_, err := c.Collect(ctx, gates.Subject{Kind: gates.KindImage})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("returned after %v, long past the 200ms deadline", el)
	}
}

func TestRootCert(t *testing.T) {
	ts := httptest.NewUnstartedServer(&fakeServer{taskStatuses: []string{"SUCCESS"}})
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case's handshake error is expected
	ts.StartTLS()
	defer ts.Close()
	dir := t.TempDir()
	certFile := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(certFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "junk.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o644)

	tests := []struct {
		name, rootCert, wantErr string
	}{
		{name: "trusted with SONAR_ROOT_CERT", rootCert: certFile},
		{name: "untrusted without it", wantErr: "certificate"},
		{name: "missing file", rootCert: filepath.Join(dir, "nope.pem"), wantErr: "SONAR_ROOT_CERT"},
		{name: "not PEM", rootCert: notPEM, wantErr: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc, err := NewHTTPClient(tt.rootCert)
			if err == nil {
				c := &Collector{Dir: writeReportTask(t, ts.URL, ""), HTTP: hc, PollInterval: time.Millisecond, Timeout: 5 * time.Second}
				_, err = c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage})
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// ParseEvidence is what `--evidence sonarqube=FILE` calls: the file's
// projectStatus comes through with the schema added.
func TestParseEvidenceKeepsProjectStatus(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/sonarqube/error.json")
	if err != nil {
		t.Fatal(err)
	}
	var p gates.EvidenceParser = &Collector{}
	ev, err := p.ParseEvidence(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	json.Unmarshal(out, &got)
	json.Unmarshal(raw, &want)
	if got["schema"] != Schema {
		t.Errorf("schema = %v", got["schema"])
	}
	if diff := cmp.Diff(want["projectStatus"], got["projectStatus"]); diff != "" {
		t.Errorf("projectStatus changed (-file +evidence):\n%s", diff)
	}
}

func TestApplies(t *testing.T) {
	c := &Collector{}
	for kind, want := range map[gates.Kind]bool{gates.KindImage: true, gates.KindModel: false, gates.KindDataset: false} {
		if got := c.Applies(gates.Subject{Kind: kind}); got != want {
			t.Errorf("Applies(%s) = %v, want %v", kind, got, want)
		}
	}
	if c.Name() != "sonarqube" {
		t.Errorf("Name() = %q", c.Name())
	}
}

func TestVersionBefore(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"9.3.0.51899", true}, {"9.4", false}, {"10.0.0.1", false}, {"8.9.10.61524", true}, {"", false}, {"x.y", false}, {"2025.1.0", false}} {
		if got := versionBefore(tt.v, 9, 4); got != tt.want {
			t.Errorf("versionBefore(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestBadHostURL(t *testing.T) {
	for _, host := range []string{"sonar.example.com", "ftp://sonar.example.com", "https://"} {
		c := &Collector{Dir: writeReportTask(t, "https://sonar.example.com", ""), HostURL: host}
		_, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindImage})
		if err == nil || !strings.Contains(err.Error(), "SONAR_HOST_URL") {
			t.Errorf("HostURL %q: err = %v, want one naming SONAR_HOST_URL", host, err)
		}
	}
}
