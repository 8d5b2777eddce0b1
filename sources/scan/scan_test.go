package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// evilPickle is a protocol-2 pickle calling posix.system("id").
var evilPickle = []byte("\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")

func writeTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for p, b := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func scanDir(t *testing.T, dir string) (*ModelReport, error) {
	t.Helper()
	tree, err := sources.Open(context.Background(), dir, sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	return Model(context.Background(), tree, model.DefaultOptions())
}

func TestModelLocalTrees(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string][]byte
		verdict     int
		findingAt   []string
		notVerified []string
	}{
		{"clean", map[string][]byte{"README.md": []byte("# m\n"), "sub/__init__.py": {}}, model.VerdictClean, nil, nil},
		{"evil in a sub-folder", map[string][]byte{"README.md": []byte("# m\n"), "sub/model.pkl": evilPickle}, model.VerdictFindings, []string{"sub/model.pkl"}, nil},
		{"empty file named like a model", map[string][]byte{"model.safetensors": {}}, model.VerdictNotVerified, nil, []string{"model.safetensors"}},
		{"nothing", map[string][]byte{}, model.VerdictNotVerified, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, tc.files)
			rep, err := scanDir(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Verdict(finding.Medium); got != tc.verdict {
				t.Errorf("verdict %d, want %d: %+v", got, tc.verdict, rep)
			}
			var at []string
			for _, f := range rep.Findings {
				if f.Origin == nil {
					t.Errorf("finding %q has no origin", f.Location)
					continue
				}
				at = append(at, f.Origin.Path)
				if !strings.HasPrefix(f.Location, f.Origin.Path) {
					t.Errorf("finding location %q does not start with its file %q", f.Location, f.Origin.Path)
				}
			}
			if tc.findingAt != nil {
				if diff := cmp.Diff(tc.findingAt, at); diff != "" {
					t.Errorf("findings (-want +got):\n%s", diff)
				}
			}
			for _, nv := range tc.notVerified {
				if !strings.Contains(fmt.Sprint(rep.NotVerified), nv) {
					t.Errorf("not_verified lacks %s: %+v", nv, rep.NotVerified)
				}
			}
			if rep.Schema != model.Schema || rep.Source.Kind != "local" {
				t.Errorf("schema %q, source %+v", rep.Schema, rep.Source)
			}
		})
	}
}

func TestModelSpecialEntriesNotVerified(t *testing.T) {
	dir := writeTree(t, map[string][]byte{"model.safetensors": []byte("x")})
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := scanDir(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, nv := range rep.NotVerified {
		got[nv.Location] = true
	}
	for _, want := range []string{"link.bin", "fifo"} {
		if !got[want] {
			t.Errorf("%s is not reported as not verified: %+v", want, rep.NotVerified)
		}
	}
	if rep.Verified {
		t.Error("a tree with a symlink and a FIFO is verified")
	}
}

// fakeTree fails its walk with err.
type fakeTree struct{ err error }

func (f fakeTree) Identity() sources.Identity {
	return sources.Identity{Kind: sources.KindOCI, Ref: "oci://r.example/m:v1", Digest: "sha256:" + strings.Repeat("a", 64),
		Pinned: "oci://r.example/m@sha256:" + strings.Repeat("a", 64)}
}
func (f fakeTree) Walk(context.Context, func(context.Context, *sources.File) error) error {
	return f.err
}
func (f fakeTree) Close() error { return nil }

func TestModelWalkErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		hostile bool
	}{
		{"digest mismatch", fmt.Errorf("oci://r.example/m@sha256:%s: layer sha256:bb: %w", strings.Repeat("a", 64), sources.ErrIntegrity), true},
		{"escaping entry", fmt.Errorf("layer sha256:bb: ../x: %w", sources.ErrUnsafePath), true},
		{"limit", fmt.Errorf("layers: %w", sources.ErrLimit), false},
		{"credentials", fmt.Errorf("401: %w", sources.ErrCredentials), false},
		{"network", errors.New("connection reset"), false},
		{"cancelled", context.Canceled, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Model(context.Background(), fakeTree{tc.err}, model.DefaultOptions())
			if !tc.hostile {
				if err == nil || !errors.Is(err, tc.err) {
					t.Fatalf("got report %+v, err %v; want the walk's error (not decided)", rep, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict(finding.Critical) != model.VerdictFindings || rep.Verified {
				t.Fatalf("hostile tree not denied: %+v", rep)
			}
			f := rep.Findings[0]
			if len(rep.Findings) != 1 || f.Location != "oci://r.example/m:v1" || strings.Contains(f.Reason, "oci://r.example/m@") {
				t.Errorf("finding %+v: want one at the reference, reason without the repeated reference", f)
			}
			if rep.Source.Digest == "" || rep.Source.Pinned == "" {
				t.Errorf("evidence does not name the tree: %+v", rep.Source)
			}
			b, _ := json.Marshal(rep)
			if !strings.Contains(string(b), `"severity":"critical"`) {
				t.Errorf("JSON %s lacks the critical severity the gate reads", b)
			}
		})
	}
}

func TestScanMemberLimit(t *testing.T) {
	opts := model.DefaultOptions()
	opts.Limits.MaxFileSize = 16
	rep := model.ScanMember(context.Background(), strings.NewReader(strings.Repeat("x", 17)), "big.bin", opts)
	if rep.Verdict(finding.Medium) != model.VerdictNotVerified || !strings.Contains(fmt.Sprint(rep.NotVerified), "limit") {
		t.Errorf("a file over the limit: %+v", rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep = model.ScanMember(ctx, strings.NewReader(string(evilPickle)), "m.pkl", model.DefaultOptions())
	if rep.Verdict(finding.Medium) == model.VerdictClean {
		t.Errorf("a cancelled scan is clean: %+v", rep)
	}
}

func TestDatasetLocalTree(t *testing.T) {
	csv, err := os.ReadFile("../../testdata/datasets/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string][]byte{"a/customers.csv": csv, "b/empty.csv": {}})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := sources.Open(context.Background(), dir, sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	tmp := t.TempDir()
	rep, err := Dataset(context.Background(), tree, pii.Options{}, tmp)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, f := range rep.Findings {
		files[f.File] = true
	}
	if diff := cmp.Diff(map[string]bool{"a/customers.csv": true}, files); diff != "" {
		t.Errorf("finding files (-want +got):\n%s", diff)
	}
	if rep.Totals["EMAIL_ADDRESS"] != 2 {
		t.Errorf("totals %v, want 2 EMAIL_ADDRESS", rep.Totals)
	}
	if !strings.Contains(fmt.Sprint(rep.NotVerified), "b/empty.csv") {
		t.Errorf("an empty file is not reported not verified: %+v", rep.NotVerified)
	}
	if !strings.Contains(fmt.Sprint(rep.Skipped), "fifo") {
		t.Errorf("the FIFO is not skipped: %+v", rep.Skipped)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary copies left behind: %v", left)
	}
	if len(rep.Files) != 2 || rep.Subject == nil || rep.Subject.Path != dir {
		t.Errorf("files %+v, subject %+v", rep.Files, rep.Subject)
	}
}

func TestDatasetWalkErrors(t *testing.T) {
	for _, werr := range []error{fmt.Errorf("x: %w", sources.ErrIntegrity), fmt.Errorf("x: %w", sources.ErrLimit), context.DeadlineExceeded} {
		rep, err := Dataset(context.Background(), fakeTree{werr}, pii.Options{}, t.TempDir())
		if rep != nil || !errors.Is(err, werr) {
			t.Errorf("walk error %v: got %+v, %v; want the error, no evidence", werr, rep, err)
		}
	}
}
