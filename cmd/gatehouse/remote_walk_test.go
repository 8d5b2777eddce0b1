package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/evaluation"
	"github.com/gatehouse-dev/gatehouse/scanners/fairness"
	"github.com/gatehouse-dev/gatehouse/scanners/license"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/scanners/modelcard"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

func TestSideFileNames(t *testing.T) {
	tests := []struct {
		base, path                          string
		license, card, fairness, evaluation bool
	}{
		{"", "LICENSE", true, false, false, false},
		{"", "LICENSE-MIT.txt", true, false, false, false},
		{"", "copying.lesser", true, false, false, false},
		{"", "NOTICE", true, false, false, false},
		{"", "README.md", true, true, false, true},
		{"", "readme.md", true, true, false, false}, // evaluation reads README.md by its exact name
		{"", "MODEL_CARD.md", false, true, false, true},
		{"", "model_card.json", false, true, false, false},
		{"", "sbom.json", true, false, false, false},
		{"", "deps.spdx.json", true, false, false, false},
		{"", "predictions.parquet", false, false, true, false},
		{"", "metrics.json", false, false, false, true},
		{"", "executor_output.json", false, false, false, true},
		{"", "model.safetensors", false, false, false, false},
		{"", "sub/LICENSE", false, false, false, false}, // only the top of the model folder
		{"", "sub/predictions.csv", false, false, false, false},
		{"models/", "models/LICENSE", true, false, false, false}, // model-car image
		{"models/", "models/predictions.csv", false, false, true, false},
		{"models/", "LICENSE", false, false, false, false},
		{"models/", "models/x/README.md", false, false, false, false},
	}
	for _, tc := range tests {
		got := [4]bool{licenseSide(tc.base, tc.path), modelCardSide(tc.base, tc.path), fairnessSide(tc.base, tc.path), evaluationSide(tc.base, tc.path)}
		want := [4]bool{tc.license, tc.card, tc.fairness, tc.evaluation}
		if got != want {
			t.Errorf("%q in %q: license, card, fairness, evaluation = %v, want %v", tc.path, tc.base, got, want)
		}
		if isSideFile(tc.base, tc.path) != (tc.license || tc.card || tc.fairness || tc.evaluation) {
			t.Errorf("isSideFile(%q, %q) disagrees", tc.base, tc.path)
		}
	}
}

// sideCollectors are the four wrapped collectors, as check registers them.
func sideCollectors(t *testing.T, cache *remoteCache) map[string]gates.Collector {
	t.Helper()
	lic, err := license.NewCollector(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fair, err := fairness.NewCollector(map[string]any{"required_groups": []any{"group"}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evaluation.NewCollector(nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]gates.Collector{
		"license":    newRemoteSide(lic, licenseSide, cache),
		"model_card": newRemoteSide(&modelcard.Collector{}, modelCardSide, cache),
		"fairness":   newRemoteSide(fair, fairnessSide, cache),
		"evaluation": newRemoteSide(ev, evaluationSide, cache),
		"model_scan": newModelCollector(model.DefaultOptions(), cache),
	}
}

// A side file over a limit is an error for the gates that read it (not
// decided), never a file left out; the others, and the model scan, go on.
func TestRemoteSideLimits(t *testing.T) {
	addr := remoteRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := sideModel(t, "MIT.txt")
	// predictions.csv is the largest side file; everything else fits.
	fi, err := os.Stat(dir + "/predictions.csv")
	if err != nil {
		t.Fatal(err)
	}
	saved := sideLimits
	t.Cleanup(func() { sideLimits = saved })
	sideLimits = scan.SideLimits{MaxFileBytes: fi.Size() - 1}

	pinned := pushModel(t, dir, "oci://"+addr+"/models/side-limits:v1")
	s := gates.Subject{Kind: gates.KindModel, Ref: "oci://" + addr + "/models/side-limits:v1"}
	ctx := context.Background()
	if err := pinRemote(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if s.Labels[pinnedLabel] != pinned {
		t.Fatalf("pinned %q, push said %q", s.Labels[pinnedLabel], pinned)
	}
	cache := newRemoteCache()
	cols := sideCollectors(t, cache)
	// Concurrently, as the engine calls them: one walk for all.
	type result struct {
		v   any
		err error
	}
	results := map[string]result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, c := range cols {
		wg.Go(func() {
			v, err := c.Collect(ctx, s)
			mu.Lock()
			results[name] = result{v, err}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(cache.walks) != 1 {
		t.Errorf("%d walks for one subject, want 1", len(cache.walks))
	}
	for name, r := range results {
		v, err := r.v, r.err
		switch name {
		case "fairness":
			if err == nil || !errors.Is(err, scan.ErrSideFile) || !strings.Contains(err.Error(), "predictions.csv") || !strings.Contains(err.Error(), "side-file limit") {
				t.Errorf("fairness: %v, %v; want an error naming predictions.csv over the side-file limit", v, err)
			}
		case "model_scan":
			rep, ok := v.(*scan.ModelReport)
			if err != nil || !ok || rep.FilesScanned != 5 {
				t.Errorf("model_scan: %+v, %v; want all five files scanned", v, err)
			}
		default:
			m, ok := v.(map[string]any)
			if err != nil || !ok {
				t.Errorf("%s: %v, %v; want evidence", name, v, err)
				continue
			}
			sub, _ := m["subject"].(map[string]any)
			if sub["path"] != s.Ref || sub["digest"] != s.Digest {
				t.Errorf("%s: subject %v, want %s %s", name, sub, s.Ref, s.Digest)
			}
		}
	}
	// Closing removes the side files; the cache then refuses new walks.
	root := cache.dir
	if root == "" {
		t.Fatal("no side folder was made")
	}
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("side folder %s: %v, %v; want mode 0700", root, fi, err)
	}
	if err := cache.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("side folder %s still there after Close (%v)", root, err)
	}
	if _, err := cols["license"].Collect(ctx, s); err == nil {
		t.Error("a closed cache walked again")
	}
}

// Without a run's cache (serve's decision API) each collector walks and
// cleans up on its own.
func TestRemoteSideWithoutCache(t *testing.T) {
	addr := remoteRegistry(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("TMPDIR", t.TempDir())
	pushModel(t, sideModel(t, "MIT.txt"), "oci://"+addr+"/models/side-nocache:v1")
	s := gates.Subject{Kind: gates.KindModel, Ref: "oci://" + addr + "/models/side-nocache:v1"}
	if err := pinRemote(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	for name, c := range sideCollectors(t, nil) {
		if _, err := c.Collect(context.Background(), s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	entries, _ := os.ReadDir(os.Getenv("TMPDIR"))
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// A file named like a licence but larger than a side file may be is
// sampled like data under --sample (the sample's bound holds), and the
// licence gate, which cannot read it whole, is not decided.
func TestRemoteDatasetHugeLicenceStaysSampled(t *testing.T) {
	data := t.TempDir()
	writeFile(t, filepath.Join(data, "datasets", "big-readme", "README.md"), strings.Repeat("MIT License. ", 400))
	writeFile(t, filepath.Join(data, "datasets", "big-readme", "rows.csv"), "id,email\n1,a@example.com\n")
	t.Setenv("STORAGE_EMULATOR_HOST", fakeGCS(t, data))
	saved := sideLimits
	t.Cleanup(func() { sideLimits = saved })
	sideLimits = scan.SideLimits{MaxFileBytes: 1024}

	s := gates.Subject{Kind: gates.KindDataset, Ref: "gs://datasets/big-readme/"}
	ctx := context.Background()
	if err := pinRemote(ctx, &s); err != nil {
		t.Fatal(err)
	}
	cache := newRemoteCache()
	defer cache.Close()
	lic, err := license.NewCollector(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := piiWalkOptions(map[string]any{"sample_bytes": 64})
	licence := newRemoteSide(lic, licenseSide, cache).forDatasets(opts)
	if _, err := licence.Collect(ctx, s); err == nil || !strings.Contains(err.Error(), "README.md") {
		t.Errorf("licence gate on a 5 KiB README with 1 KiB side files: %v; want an error naming README.md", err)
	}
	w, err := cache.walkDataset(ctx, s, opts)
	if err != nil || w.dataset == nil {
		t.Fatalf("walk: %v %+v", err, w)
	}
	for _, f := range w.dataset.Files {
		if f.Path == "README.md" && (!f.Sampled || f.SampleBytes != 64) {
			t.Errorf("README.md read %+v; want sampled to 64 bytes", f)
		}
	}
}
