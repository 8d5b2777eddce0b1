package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates/report"
)

const apiToken = "api-token-0123456789abcdef0123456789"

// apiConfig gates pipelines with the kfp gate and images with sonarqube
// (whose evidence the API cannot be given: the image is denied for it).
const apiConfig = `default_environment: dev
admission:
  vsa: {require: false}
params:
  signature: {keys: [cosign.pub]}
environments:
  dev:
    gates:
      image: [sonarqube]
      pipeline: [kfp]
  prod:
    gates:
      image: [sonarqube, signature]
      pipeline: [kfp]
`

// apiPipeline is a compiled pipeline with one pinned image and one tag.
const apiPipeline = `pipelineInfo: {name: api-test}
schemaVersion: 2.1.0
sdkVersion: kfp-2.7.0
root:
  dag:
    tasks:
      train: {componentRef: {name: comp-train}, taskInfo: {name: train}}
      eval: {componentRef: {name: comp-eval}, taskInfo: {name: eval}}
components:
  comp-train: {executorLabel: exec-train}
  comp-eval: {executorLabel: exec-eval}
deploymentSpec:
  executors:
    exec-train: {container: {image: "127.0.0.1:5999/ml/train@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945", command: [python]}}
    exec-eval: {container: {image: "127.0.0.1:5999/ml/eval:1.0", command: [python]}}
`

type apiServer struct {
	*servedProcess
	dir string
}

func startAPI(t *testing.T) apiServer {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.yaml")
	tokens := filepath.Join(dir, "tokens")
	must(t, os.WriteFile(cfg, []byte(apiConfig), 0o600))
	must(t, os.WriteFile(tokens, []byte(apiToken+" checker Humanitec pipeline\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(apiPipeline), 0o600))
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "cosign.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	return apiServer{startServe(t, "--config", cfg, "--check-tokens", tokens, "--check-timeout", "30s"), dir}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (s apiServer) post(t *testing.T, token, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", "https://"+s.addr+"/v1/check", strings.NewReader(body))
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := s.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, resp.Header, b
}

// comparable drops what differs between two runs of the same decision:
// the time, and the place the pipeline file was read from.
func comparable(t *testing.T, raw []byte, pipelinePath string) report.Document {
	t.Helper()
	var doc report.Document
	must(t, json.Unmarshal(raw, &doc))
	for i := range doc.Results {
		r := &doc.Results[i]
		r.Time = nil
		r.Subject.Ref = strings.Replace(r.Subject.Ref, pipelinePath, "pipeline.yaml", 1)
		if from := r.Subject.Labels["gatehouse.from"]; from != "" {
			r.Subject.Labels["gatehouse.from"] = strings.Replace(from, pipelinePath, "pipeline.yaml", 1)
		}
		if r.Subject.Name == pipelinePath {
			r.Subject.Name = "pipeline.yaml"
		}
		// The evidence digest of the kfp document names its file.
		delete(r.EvidenceDigests, "kfp")
	}
	return doc
}

// TestDecisionAPISameAsCheck: POST /v1/check answers what `check --format
// json` prints for the same subjects and environment — the pipeline, its
// pinned and unpinned images — from the same engine and gates.
func TestDecisionAPISameAsCheck(t *testing.T) {
	s := startAPI(t)
	pipelinePath := filepath.Join(s.dir, "pipeline.yaml")
	image := "image:127.0.0.1:5999/ml/serve@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
	body, _ := json.Marshal(map[string]any{
		"environment": "dev",
		"subjects":    []string{image},
		"documents":   []map[string]string{{"kind": "pipeline", "name": "pipeline.yaml", "content": apiPipeline}},
	})
	status, hdr, got := s.post(t, apiToken, "application/json", string(body))
	if status != 200 {
		t.Fatalf("status %d: %s", status, got)
	}
	if v := hdr.Get("X-Gatehouse-Verdict"); v != "denied" {
		t.Errorf("X-Gatehouse-Verdict = %q, want denied (the pipeline runs a tag; a denial beats the image not decided)", v)
	}
	cli := gatehouse(t, nil, "check", "--config", filepath.Join(s.dir, "gatehouse.yaml"), "--env", "dev", "--format", "json", "--timeout", "30s", image, "pipeline:"+pipelinePath)
	if cli.code != 1 {
		t.Fatalf("check exit %d, want 1 (the pipeline denied); stderr:\n%s", cli.code, cli.stderr)
	}
	want := comparable(t, []byte(cli.stdout), pipelinePath)
	gotDoc := comparable(t, got, pipelinePath)
	// The unresolvable tag's error names the registry's answer, which
	// may differ between two dials; keep its first words.
	for _, d := range []*report.Document{&want, &gotDoc} {
		for i := range d.Results {
			if r := &d.Results[i]; strings.Contains(r.Error, "127.0.0.1:5999/ml/eval:1.0") {
				r.Error, r.Undecided = "unresolvable", []string{"unresolvable"}
			}
		}
	}
	if diff := cmp.Diff(want, gotDoc); diff != "" {
		t.Errorf("API answer differs from check --format json (-check +api):\n%s", diff)
	}
	if len(gotDoc.Results) != 4 {
		t.Fatalf("want 4 results (image, pipeline, its 2 images), got %d", len(gotDoc.Results))
	}
	verdicts := map[string]string{}
	for _, r := range gotDoc.Results {
		verdicts[r.Subject.String()] = r.Verdict
	}
	if v := verdicts["pipeline:pipeline.yaml"]; v != "denied" {
		t.Errorf("pipeline verdict %q, want denied (an unpinned image)", v)
	}
	if bytes.Contains(got, []byte(s.dir)) {
		t.Error("the answer names the server's private folder")
	}
	if strings.Contains(s.logs.String(), apiToken) {
		t.Error("the token is in the server's log")
	}
}

// TestDecisionAPIRefuses: the API opens only to a checker token over
// JSON, reads no local paths, and bounds what it is sent.
func TestDecisionAPIRefuses(t *testing.T) {
	s := startAPI(t)
	good := `{"environment":"dev","subjects":["image:127.0.0.1:5999/a@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"]}`
	for _, tc := range []struct {
		name, token, ctype, body string
		status                   int
		want                     string
	}{
		{"no token", "", "application/json", good, 401, "a valid token is required"},
		{"wrong token", apiToken + "x", "application/json", good, 401, "a valid token is required"},
		{"form post", apiToken, "application/x-www-form-urlencoded", good, 415, "application/json"},
		{"unknown field", apiToken, "application/json", `{"enviroment":"prod","subjects":["image:a"]}`, 400, `unknown field \"enviroment\"`},
		{"two objects", apiToken, "application/json", good + good, 400, "more after it"},
		{"no subjects", apiToken, "application/json", `{"environment":"dev"}`, 400, "no subjects"},
		{"unknown environment", apiToken, "application/json", `{"environment":"qa","subjects":["image:a@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"]}`, 400, "qa"},
		{"local model path", apiToken, "application/json", `{"subjects":["model:/etc"]}`, 400, "reads no local paths"},
		{"file URL", apiToken, "application/json", `{"subjects":["model:file:///etc"]}`, 400, "reads no local paths"},
		{"score path", apiToken, "application/json", `{"subjects":["score:/etc/passwd"]}`, 400, "reads no local paths"},
		{"document name escapes", apiToken, "application/json", `{"documents":[{"kind":"score","name":"../../x.yaml","content":"a: b"}]}`, 400, "plain file name"},
		{"document kind", apiToken, "application/json", `{"documents":[{"kind":"model","name":"m","content":"x"}]}`, 400, "want score or pipeline"},
		{"bad subject", apiToken, "application/json", `{"subjects":["nope"]}`, 400, "KIND:REF"},
		{"too big", apiToken, "application/json", `{"subjects":["image:` + strings.Repeat("a", 10<<20) + `"]}`, 413, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := s.post(t, tc.token, tc.ctype, tc.body)
			if status != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("status %d body %s; want %d containing %q", status, body, tc.status, tc.want)
			}
		})
	}
	resp, err := s.client.Get("https://" + s.addr + "/v1/check")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
