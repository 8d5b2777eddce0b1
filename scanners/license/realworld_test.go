package license

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestRealWorldLicenseFiles scans every LICENSE/COPYING file under
// $GATEHOUSE_LICENSE_CORPUS (for example the Go module cache, thousands of
// real projects' files) and reports how many were named cleanly, named
// with an unknown part (possibly modified, extra words) and not named,
// with the ids found most. No labels: it measures false "modified"
// alarms and speed on real files, and lists the flagged ones to review.
func TestRealWorldLicenseFiles(t *testing.T) {
	root := os.Getenv("GATEHOUSE_LICENSE_CORPUS")
	if root == "" {
		t.Skip("set GATEHOUSE_LICENSE_CORPUS to a folder of real projects (e.g. $(go env GOMODCACHE)) to run")
	}
	var clean, flagged, unknown int
	ids := map[string]int{}
	var flaggedList []string
	var dur time.Duration
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || classify(d.Name()) != fileLicense || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 1<<20 || seen[string(b)] {
			return nil
		}
		seen[string(b)] = true
		start := time.Now()
		got := Detect(b, 75)
		dur += time.Since(start)
		named, reason := 0, ""
		for _, g := range got {
			if g.ID != "" {
				named++
				ids[g.ID]++
			} else if reason == "" {
				reason = g.Reason
			}
		}
		switch {
		case named == 0:
			unknown++
		case reason != "":
			flagged++
			flaggedList = append(flaggedList, fmt.Sprintf("  %s: %s", p, describe(got)))
		default:
			clean++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := clean + flagged + unknown
	type kv struct {
		id string
		n  int
	}
	var top []kv
	for id, c := range ids {
		top = append(top, kv{id, c})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n })
	var tops []string
	for _, x := range top[:min(len(top), 25)] {
		tops = append(tops, fmt.Sprintf("%s %d", x.id, x.n))
	}
	sort.Strings(flaggedList)
	t.Logf("flagged:\n%s", strings.Join(flaggedList, "\n"))
	t.Logf("%d distinct files: named cleanly %d, named with an unknown part %d, not named %d; %v in Detect (%.2f ms/file)", n, clean, flagged, unknown, dur, float64(dur.Microseconds())/1000/float64(max(n, 1)))
	t.Logf("ids: %s", strings.Join(tops, ", "))
}
