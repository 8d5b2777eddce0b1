package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

func TestParseSampleSize(t *testing.T) {
	good := map[string]int64{
		"64MiB": 64 << 20, "1GiB": 1 << 30, "1048576": 1048576, "64MB": 64e6, "512KiB": 512 << 10,
		"16kB": 16e3, "1": 1, "2gib": 2 << 30,
	}
	for in, want := range good {
		if got, err := parseSampleSize(in); err != nil || got != want {
			t.Errorf("parseSampleSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0MiB", "-1", "64XB", "1.5GiB", "lots", " 64MiB", "64 MiB", "MiB", "99999999999999GiB"} {
		if got, err := parseSampleSize(in); err == nil {
			t.Errorf("parseSampleSize(%q) = %d; want an error", in, got)
		} else if !strings.Contains(err.Error(), "--sample") {
			t.Errorf("parseSampleSize(%q): %v does not name the flag", in, err)
		}
	}
}

func FuzzParseSampleSize(f *testing.F) {
	for _, s := range []string{"64MiB", "1GiB", "1048576", "1.5GiB", "-1", "9223372036854775807", "8EiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSampleSize(s)
		if err == nil && n <= 0 {
			t.Fatalf("parseSampleSize(%q) = %d without an error", s, n)
		}
	})
}

// applySample changes the pii gate's sample_bytes in the environment, so
// the engine's config digest (stated in decisions and VSAs) differs.
func TestApplySampleChangesConfigDigest(t *testing.T) {
	digest := func(sample string) (string, map[string]any) {
		cfg, err := loadConfig("")
		if err != nil {
			t.Fatal(err)
		}
		if err := applySample(cfg, "dev", sample); err != nil {
			t.Fatal(err)
		}
		opts, err := engineOptions(cfg, "dev", nil, false, "")
		if err != nil {
			t.Fatal(err)
		}
		e, err := gates.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		return e.ConfigDigest("dev"), cfg.GateParams("dev", "pii")
	}
	plain, p0 := digest("")
	again, _ := digest("")
	sampled, p1 := digest("64MiB")
	other, _ := digest("1GiB")
	if plain == "" || plain != again {
		t.Fatalf("config digest %q then %q for the same configuration", plain, again)
	}
	if sampled == plain || other == plain || other == sampled {
		t.Errorf("config digests: none %s, 64MiB %s, 1GiB %s; want all different", plain, sampled, other)
	}
	if _, ok := p0["sample_bytes"]; ok {
		t.Errorf("pii params without --sample: %v", p0)
	}
	if p1["sample_bytes"] != int64(64<<20) || p1["default_max"] != p0["default_max"] {
		t.Errorf("pii params with --sample 64MiB: %v (without: %v)", p1, p0)
	}
}

// lateCSV writes a CSV whose first clean rows exceed 16 KiB and whose
// later rows hold e-mail addresses.
func lateCSV(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,note\n")
	for i := 0; b.Len() < 64<<10; i++ {
		fmt.Fprintf(&b, "%d,called about the invoice\n", i)
	}
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "%d,user%d@example.com\n", i, i)
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type checkJSON struct {
	Results []struct {
		Verdict      string `json:"verdict"`
		ConfigDigest string `json:"config_digest"`
		Warnings     []struct {
			Rule string `json:"rule"`
		} `json:"warnings"`
	} `json:"results"`
}

func sampleRun(t *testing.T, env []string, subject string, extra ...string) (runResult, checkJSON) {
	t.Helper()
	r := gatehouse(t, env, append(append([]string{"check", "--env", "dev", "--format", "json"}, extra...), subject)...)
	var out checkJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Results) != 1 {
		t.Fatalf("check %v %s: exit %d, %v\nstdout: %s\nstderr: %s", extra, subject, r.code, err, r.stdout, r.stderr)
	}
	return r, out
}

func hasWarning(out checkJSON, rule string) bool {
	for _, w := range out.Results[0].Warnings {
		if w.Rule == rule {
			return true
		}
	}
	return false
}

func TestCheckSampleFlag(t *testing.T) {
	for _, bad := range []string{"lots", "0", "1.5GiB", "64XB", "-3"} {
		r := gatehouse(t, nil, "check", "--env", "dev", "--sample", bad, "dataset:testdata/datasets/customers.csv")
		if r.code != 2 || !strings.Contains(r.stderr, "--sample") || !strings.Contains(r.stderr, strconv.Quote(bad)) {
			t.Errorf("--sample %s: exit %d, stderr %q; want 2 naming the value", bad, r.code, r.stderr)
		}
	}
	csv := filepath.Join(t.TempDir(), "late.csv")
	lateCSV(t, csv)
	full, fo := sampleRun(t, nil, "dataset:"+csv)
	sampled, so := sampleRun(t, nil, "dataset:"+csv, "--sample", "16KiB")
	whole, wo := sampleRun(t, nil, "dataset:"+csv, "--sample", "1048576")
	if full.code != 1 || whole.code != 1 {
		t.Errorf("the e-mail rows past 64 KiB: exit %d in full, %d with --sample 1048576; want 1", full.code, whole.code)
	}
	if sampled.code != 0 || !hasWarning(so, "pii_sampled") {
		t.Errorf("--sample 16KiB: exit %d, warnings %+v; want 0 with pii_sampled\n%s", sampled.code, so.Results[0].Warnings, sampled.stdout)
	}
	if hasWarning(fo, "pii_sampled") {
		t.Errorf("a full scan warns pii_sampled")
	}
	d0, d1, d2 := fo.Results[0].ConfigDigest, so.Results[0].ConfigDigest, wo.Results[0].ConfigDigest
	if d0 == "" || d0 == d1 || d0 == d2 || d1 == d2 {
		t.Errorf("config digests: full %q, 16KiB %q, 1048576 %q; want three different", d0, d1, d2)
	}
}

// check dataset:gs://… --sample reads only the sample of each object, and
// the evidence says so.
func TestCheckSampleGCS(t *testing.T) {
	data := t.TempDir()
	lateCSV(t, filepath.Join(data, "datasets", "late", "late.csv"))
	host := fakeGCS(t, data)
	env := append(remoteEnv(t), "STORAGE_EMULATOR_HOST="+host)
	const subject = "dataset:gs://datasets/late/late.csv"
	full, _ := sampleRun(t, env, subject)
	sampled, so := sampleRun(t, env, subject, "--sample", "16KiB")
	if full.code != 1 {
		t.Errorf("full: exit %d, want 1\n%s", full.code, full.stdout)
	}
	if sampled.code != 0 || !hasWarning(so, "pii_sampled") {
		t.Errorf("--sample 16KiB: exit %d, want 0 with pii_sampled\n%s%s", sampled.code, sampled.stdout, sampled.stderr)
	}

	// The evidence itself, from the collector check builds.
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	cfg, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if err := applySample(cfg, "dev", "16KiB"); err != nil {
		t.Fatal(err)
	}
	col, err := newPIICollector(cfg.GateParams("dev", "pii"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gates.ParseSubject(subject)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ev, err := col.Collect(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	rep, ok := ev.(*scan.DatasetReport)
	if !ok {
		t.Fatalf("evidence is %T", ev)
	}
	b, _ := json.Marshal(rep)
	var doc struct {
		Mode        string `json:"mode"`
		SampleBytes int64  `json:"sample_bytes"`
		Files       []struct {
			Sampled     bool  `json:"sampled"`
			SampleBytes int64 `json:"sample_bytes"`
		} `json:"files"`
		Findings []any `json:"findings"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Mode != "sample" || doc.SampleBytes != 16<<10 || len(doc.Files) != 1 || !doc.Files[0].Sampled || doc.Files[0].SampleBytes != 16<<10 || len(doc.Findings) != 0 {
		t.Errorf("evidence: %s\nwant mode sample, sample_bytes 16384, the one file sampled at 16384, no findings", b)
	}
}

// The case: a 1 GiB CSV in a bucket, sampled at 64 MiB. Opt-in
// (GATEHOUSE_SAMPLE_GIB=1): it writes the object to disk and loads it into
// fake-gcs-server's memory.
func TestCheckSampleGCSLarge(t *testing.T) {
	gib, _ := strconv.ParseInt(os.Getenv("GATEHOUSE_SAMPLE_GIB"), 10, 64)
	if gib <= 0 {
		t.Skip("set GATEHOUSE_SAMPLE_GIB=1 to time check --sample 64MiB on a 1 GiB object (slow to seed)")
	}
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "big"), 0o755)
	f, err := os.Create(filepath.Join(data, "big", "1GiB.csv"))
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString("id,amount,comment\n")
	var written int64
	for i := 0; written < gib<<30; i++ {
		n, _ := fmt.Fprintf(bw, "%d,%d.%02d,order %d shipped on time\n", i, i%9973, i%100, i*7919)
		written += int64(n)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	host := fakeGCS(t, data)
	env := append(remoteEnv(t), "STORAGE_EMULATOR_HOST="+host)
	start := time.Now()
	r, out := sampleRun(t, env, "dataset:gs://big/1GiB.csv", "--sample", "64MiB")
	took := time.Since(start)
	t.Logf("check dataset:gs://big/1GiB.csv (%d bytes) --sample 64MiB: %v, exit %d", written, took, r.code)
	if r.code != 0 || !hasWarning(out, "pii_sampled") {
		t.Errorf("exit %d, want 0 with pii_sampled\n%s%s", r.code, r.stdout, r.stderr)
	}
	if took > 5*time.Second {
		t.Errorf("took %v, the target is 5 s", took)
	}
}
