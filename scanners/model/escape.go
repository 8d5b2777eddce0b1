package model

import (
	"path"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// Archive members that escape the folder they are extracted to are
// findings whatever they hold: tar and unzip tools (and Python's tarfile
// and zipfile before their filters, torch.hub, Keras' get_file) write
// "../../.bashrc" where the name says, create links to the host's files,
// and a later member written through such a link lands outside too.

// memberNameEscape says why an archive member name leaves the extraction
// folder, "" when it stays inside. Backslashes count as separators
// (Windows tools and Python's zipfile on Windows split on them).
func memberNameEscape(name string) string {
	if name == "" {
		return ""
	}
	if strings.ContainsRune(name, 0) {
		return "contains a NUL byte (tools truncate the name there)"
	}
	slash := strings.ReplaceAll(name, `\`, "/")
	switch {
	case strings.HasPrefix(slash, "/"):
		return "is an absolute path: extracting it writes outside the target folder"
	case len(slash) >= 2 && slash[1] == ':' && isASCIILetter(slash[0]):
		return "starts with a drive letter: extracting it on Windows writes outside the target folder"
	}
	depth := 0
	for _, part := range strings.Split(slash, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return `climbs out of the target folder with "..": extracting it writes outside (path traversal)`
			}
		default:
			depth++
		}
	}
	return ""
}

// linkEscape says why a link member named name with target target points
// outside the extraction folder; hard says a hard link (its target is a
// path from the archive root, not from the link's folder).
func linkEscape(name, target string, hard bool) string {
	if target == "" {
		return ""
	}
	if strings.ContainsRune(target, 0) {
		return "link target contains a NUL byte"
	}
	t := strings.ReplaceAll(target, `\`, "/")
	if strings.HasPrefix(t, "/") || len(t) >= 2 && t[1] == ':' && isASCIILetter(t[0]) {
		return "points to the absolute path " + quote(target) + " outside the archive"
	}
	base := ""
	if !hard {
		base, _ = path.Split(strings.ReplaceAll(name, `\`, "/"))
	}
	depth := 0
	for _, part := range strings.Split(base+t, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "points to " + quote(target) + ", outside the archive"
			}
		default:
			depth++
		}
	}
	return ""
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func quote(s string) string { return `"` + s + `"` }

// judgeMemberName reports a member whose name escapes (critical: extraction
// overwrites any file the user can write, e.g. shell start-up files).
func (s *scanner) judgeMemberName(loc, kind, name string) {
	if why := memberNameEscape(name); why != "" {
		s.finding(finding.Critical, loc, kind+" member name "+quote(name)+" "+why+"; a file written there (shell start-up files, site-packages) runs code")
	}
}

// judgeLink reports a symbolic or hard link member leading outside the
// archive (high: extracting it exposes or overwrites a host file, and later
// members written through it land outside).
func (s *scanner) judgeLink(loc, kind, name, target string, hard bool) {
	what := "symbolic link"
	if hard {
		what = "hard link"
	}
	if why := linkEscape(name, target, hard); why != "" {
		s.finding(finding.High, loc, kind+" member is a "+what+" that "+why+": extracting it exposes or overwrites a host file, and members written through it land outside the target folder")
	}
}
