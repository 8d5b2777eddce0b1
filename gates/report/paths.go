package report

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// RepoRoot is the folder that SARIF and annotation paths are relative to:
// $GITHUB_WORKSPACE when set, else the nearest folder at or above the
// working directory that holds .git, else the working directory.
func RepoRoot() string {
	if ws := os.Getenv("GITHUB_WORKSPACE"); ws != "" {
		if abs, err := filepath.Abs(ws); err == nil {
			return abs
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := cwd; ; {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return cwd
		}
		dir = up
	}
}

// places turns finding locations into repository-relative files.
type places struct {
	root string // absolute, symlinks resolved
	cwd  string // what relative subject refs and locations are relative to
}

func newPlaces() places {
	cwd, _ := os.Getwd()
	return places{root: canonical(RepoRoot()), cwd: canonical(cwd)}
}

func canonical(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// file names the file a finding is about and its line: the finding's own
// location (its outer file for archive members, "outer.pt:archive/data.pkl@12"
// → outer.pt; "path:line" → path, line), else the subject's own file. rel is
// slash-separated and relative to the repository root; ok is false when there
// is no such file inside the repository (an image, a file elsewhere).
func (p places) file(loc string, s gates.Subject) (rel string, line int, ok bool) {
	line = 1
	var f string
	switch {
	case loc != "":
		f, line = p.locationFile(loc, s)
	case s.Kind.IsFile() && s.Ref != "":
		f = s.Ref
	default:
		return "", line, false
	}
	f = p.abs(f)
	// The folder's links are resolved, not the file's own: a model file
	// linked into the repository (a Hugging Face snapshot) is named where it
	// is linked.
	f = filepath.Join(canonical(filepath.Dir(f)), filepath.Base(f))
	r, err := filepath.Rel(p.root, f)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", line, false
	}
	return filepath.ToSlash(r), line, true
}

func (p places) abs(f string) string {
	if filepath.IsAbs(f) {
		return filepath.Clean(f)
	}
	return filepath.Join(p.cwd, f)
}

// locationFile splits a location into its file and line. Scanners name
// archive members "outer:member" and offsets "@N"; a model scan names files
// relative to the model it scanned (a folder, or the file's base name).
func (p places) locationFile(loc string, s gates.Subject) (string, int) {
	if s.Kind.IsFile() && s.Ref != "" {
		// The subject's own name may hold ':' or '@': match it whole first.
		for _, name := range []string{s.Ref, filepath.Base(s.Ref)} {
			if rest, found := strings.CutPrefix(loc, name); found && (rest == "" || rest[0] == ':' || rest[0] == '@') {
				return s.Ref, lineOf(rest)
			}
		}
	}
	file, rest, _ := strings.Cut(loc, ":")
	line := lineOf(":" + rest)
	file, _, _ = strings.Cut(file, "@")
	if s.Kind.IsFile() && s.Ref != "" && !filepath.IsAbs(file) && !strings.HasPrefix(file, filepath.ToSlash(filepath.Clean(s.Ref))+"/") {
		if st, err := os.Stat(p.abs(s.Ref)); err == nil && st.IsDir() {
			return filepath.Join(s.Ref, file), line
		}
	}
	return file, line
}

// lineOf reads the line of ":N" (1 when there is none).
func lineOf(rest string) int {
	if n, err := strconv.Atoi(strings.TrimPrefix(rest, ":")); err == nil && n > 0 && strings.HasPrefix(rest, ":") {
		return n
	}
	return 1
}
