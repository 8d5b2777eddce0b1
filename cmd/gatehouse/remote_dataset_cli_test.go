package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The license gate for remote datasets, through the built binary: the
// licence files of a dataset in a registry or a bucket come from the one
// walk the pii collector makes, and the evidence names the remote subject
// and where each licence file's bytes came from.

// licensedDataset writes a dataset folder with no personal data, a
// LICENSE (licenseFile from the SPDX texts) and a dataset card.
func licensedDataset(t *testing.T, licenseFile string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repo, "scanners/license/testdata/spdx", licenseFile))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "LICENSE"), string(b))
	writeFile(t, filepath.Join(dir, "README.md"), "# transactions\n\nSynthetic card transactions for the test suite.\n")
	var csv strings.Builder
	csv.WriteString("id,amount,country\n")
	for i := range 500 {
		fmt.Fprintf(&csv, "%d,%d.%02d,%s\n", i, i*7%1000, i%100, []string{"DE", "FR", "NL"}[i%3])
	}
	writeFile(t, filepath.Join(dir, "transactions.csv"), csv.String())
	return dir
}

// datasetConfig has an environment with the pii and license gates for
// datasets and a probe gate echoing both evidence documents.
func datasetConfig(t *testing.T) (config, probe string) {
	t.Helper()
	dir := t.TempDir()
	config = writeFile(t, filepath.Join(dir, "gatehouse.yaml"), `default_environment: ds
params:
  license: {unknown: deny}
environments:
  ds:
    gates:
      dataset: [pii, license, probe]
`)
	probe = writeFile(t, filepath.Join(dir, "probe", "probe.rego"), `# METADATA
# title: Probe
# description: Echoes the license and pii evidence of a dataset as one warning, for the test.
# custom:
#   evidence: [license, pii]
package gatehouse.gates.probe

warn contains {"rule": "probe", "severity": "low", "message": json.marshal(docs)} if {
	docs := {n: object.get(input.evidence, n, null) | some n in ["license", "pii"]}
}
`)
	return config, filepath.Dir(probe)
}

type datasetDocs struct {
	License struct {
		sideDoc
	} `json:"license"`
	PII struct {
		Mode  string `json:"mode"`
		Files []struct {
			Path    string `json:"path"`
			Sampled bool   `json:"sampled"`
		} `json:"files"`
	} `json:"pii"`
}

// probedDataset runs check with the probe gate on a dataset.
func probedDataset(t *testing.T, env []string, config, probe, subject string, extra ...string) (sideCheckJSON, datasetDocs, runResult) {
	t.Helper()
	args := append([]string{"check", "--config", config, "--policy", probe, "--env", "ds", "--format", "json"}, extra...)
	r := gatehouse(t, env, append(args, subject)...)
	var out sideCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Results) != 1 {
		t.Fatalf("check --format json: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	var docs datasetDocs
	found := false
	for _, w := range out.Results[0].Warnings {
		if w.Gate != "probe" {
			continue
		}
		if strings.Contains(w.Message, "gatehouse-remote-") {
			t.Errorf("the evidence names the private copy: %s", w.Message)
		}
		if err := json.Unmarshal([]byte(w.Message), &docs); err != nil {
			t.Fatalf("probe message: %v\n%s", err, w.Message)
		}
		found = true
	}
	if !found {
		t.Fatalf("the probe echoed nothing: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	return out, docs, r
}

func TestRemoteDatasetLicenseOCI(t *testing.T) {
	addr := remoteRegistry(t)
	env, tmp := tmpEnv(t, remoteEnv(t))
	config, probe := datasetConfig(t)
	counter := countingProxy(t, addr)

	pinned, layers, viaTag := pushCounted(t, addr, counter, licensedDataset(t, "MIT.txt"), "datasets/licensed",
		"LICENSE", "README.md", "transactions.csv")
	digest := pinned[strings.LastIndex(pinned, "@")+1:]

	out, docs, r := probedDataset(t, env, config, probe, "dataset:"+viaTag)
	res := out.Results[0]
	if r.code != 0 || !res.Allowed {
		t.Fatalf("exit %d, allowed %v: violations %+v undecided %v\n%s", r.code, res.Allowed, res.Violations, res.Undecided, r.stderr)
	}
	assertTmpEmpty(t, tmp)
	// One walk for the pii and license collectors: every layer once.
	counter.fetchedOnce(t, layers, "in one run")
	d := docs.License
	if d.Subject.Path != viaTag || d.Subject.Digest != digest {
		t.Errorf("license evidence is about %s (%s), want %s (%s)", d.Subject.Path, d.Subject.Digest, viaTag, digest)
	}
	if d.Remote.Source.Kind != "oci" || d.Remote.Source.Digest != digest || !strings.HasSuffix(d.Remote.Source.Pinned, "@"+digest) {
		t.Errorf("license evidence source %+v, want the pinned tree %s", d.Remote.Source, digest)
	}
	var got []string
	for _, o := range d.Remote.Origins {
		got = append(got, o.Path)
		if o.Layer != layers[o.Path] || o.LayerPath == "" {
			t.Errorf("origin of %s is layer %s entry %q, want layer %s", o.Path, o.Layer, o.LayerPath, layers[o.Path])
		}
	}
	if strings.Join(got, ",") != "LICENSE,README.md" {
		t.Errorf("license evidence origins %v, want LICENSE, README.md", got)
	}
	if l := d.Licenses; len(l) == 0 || l[0].ID != "MIT" || l[0].File != "LICENSE" {
		t.Errorf("license evidence licences %+v, want MIT from LICENSE", l)
	}
	if len(docs.PII.Files) != 3 {
		t.Errorf("pii evidence lists %d files, want all 3 of the tree: %+v", len(docs.PII.Files), docs.PII.Files)
	}
}

func TestRemoteDatasetLicenseDenied(t *testing.T) {
	addr := remoteRegistry(t)
	config, probe := datasetConfig(t)
	pinned := pushModel(t, licensedDataset(t, "AGPL-3.0-only.txt"), "oci://"+addr+"/datasets/licensed-agpl:v1")
	out, docs, r := probedDataset(t, remoteEnv(t), config, probe, "dataset:"+pinned)
	res := out.Results[0]
	if r.code != 1 || res.Allowed || len(res.Undecided) != 0 || len(res.Violations) == 0 {
		t.Fatalf("exit %d, allowed %v, undecided %v; want denied\n%s", r.code, res.Allowed, res.Undecided, r.stderr)
	}
	for _, v := range res.Violations {
		if v.Gate != "license" || !strings.Contains(v.Message, "AGPL") {
			t.Errorf("violation of %s (%s: %s); only license should deny, naming the AGPL", v.Gate, v.Rule, v.Message)
		}
	}
	if l := docs.License.Licenses; len(l) == 0 || !strings.HasPrefix(l[0].ID, "AGPL-3.0") || docs.License.Subject.Path != pinned {
		t.Errorf("license evidence %+v, want AGPL-3.0 about %s", docs.License, pinned)
	}
}

// A bucket dataset checked with --sample smaller than its LICENSE: the
// data objects are sampled, the LICENSE is read whole and judged; the
// objects are each fetched once.
func TestRemoteDatasetLicenseGCSSampled(t *testing.T) {
	data := t.TempDir()
	src := licensedDataset(t, "MIT.txt")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(data, "datasets", "licensed", e.Name()), string(b))
	}
	gcs := fakeGCS(t, data)
	counter := countingGCSProxy(t, gcs)
	env, tmp := tmpEnv(t, append(remoteEnv(t), "STORAGE_EMULATOR_HOST="+counter.host))
	config, probe := datasetConfig(t)
	counter.take()
	out, docs, r := probedDataset(t, env, config, probe, "dataset:gs://datasets/licensed/", "--sample", "256")
	res := out.Results[0]
	if r.code != 0 || !res.Allowed {
		t.Fatalf("exit %d, allowed %v: violations %+v undecided %v\n%s", r.code, res.Allowed, res.Violations, res.Undecided, r.stderr)
	}
	assertTmpEmpty(t, tmp)
	d := docs.License
	if l := d.Licenses; len(l) == 0 || l[0].ID != "MIT" || l[0].File != "LICENSE" {
		t.Errorf("license evidence licences %+v, want MIT from LICENSE (read whole under --sample 256)", l)
	}
	if d.Subject.Path != "gs://datasets/licensed/" || !strings.HasPrefix(d.Subject.Digest, "sha256:") || d.Remote.Source.Kind != "gs" {
		t.Errorf("license evidence subject %+v source %+v", d.Subject, d.Remote.Source)
	}
	for _, o := range d.Remote.Origins {
		if o.Bucket != "datasets" || o.Object != "licensed/"+o.Path || o.Generation == 0 || len(o.CRC32C) != 8 {
			t.Errorf("origin %+v, want object licensed/%s with generation and crc32c", o, o.Path)
		}
	}
	if docs.PII.Mode != "sample" {
		t.Errorf("pii mode %q, want sample", docs.PII.Mode)
	}
	sampled := map[string]bool{}
	for _, f := range docs.PII.Files {
		sampled[f.Path] = f.Sampled
	}
	if !sampled["transactions.csv"] || sampled["LICENSE"] {
		t.Errorf("pii files sampled %v: want transactions.csv sampled, LICENSE whole", sampled)
	}
	gets := counter.take()
	for _, f := range []string{"LICENSE", "README.md", "transactions.csv"} {
		if n := gets["licensed/"+f]; n != 1 {
			t.Errorf("object licensed/%s read %d times in one run, want 1 (%v)", f, n, gets)
		}
	}
}

// countingGCSProxy is a proxy to fake-gcs-server that counts object reads
// (media downloads, by object name); listings and metadata are not counted.
func countingGCSProxy(t *testing.T, host string) *blobCounter {
	t.Helper()
	c := &blobCounter{gets: map[string]int{}}
	u, _ := url.Parse("http://" + host)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorLog = log.New(io.Discard, "", 0)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			obj := ""
			switch path := r.URL.Path; {
			case strings.HasPrefix(path, "/download/storage/v1/b/"): // JSON API media
				if _, o, ok := strings.Cut(strings.TrimPrefix(path, "/download/storage/v1/b/"), "/o/"); ok {
					obj = o
				}
			case strings.HasPrefix(path, "/storage/v1/"): // listing, metadata
			case r.URL.Query().Get("alt") == "json":
			default: // XML API: /BUCKET/OBJECT
				if _, o, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/"); ok {
					obj = o
				}
			}
			if obj != "" {
				c.mu.Lock()
				c.gets[obj]++
				c.mu.Unlock()
			}
		}
		r.Host = u.Host // fake-gcs-server tells buckets by the host it was told it serves
		p.ServeHTTP(w, r)
	})
	c.host = strings.TrimPrefix(serveLoopback(t, h), "http://")
	return c
}
