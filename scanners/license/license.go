// Package license finds the licences of models, datasets and images:
// LICENSE files (matched against the SPDX License List's texts), Hugging Face card front matter
// (hub ids mapped to SPDX ids), SPDX 2.3 and CycloneDX 1.6 JSON SBOMs. Every
// licence is reported with its SPDX expression in disjunctive normal form
// (any_of), so a policy can judge "MIT OR GPL-3.0-only" without parsing.
package license

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// Schema names the version of the evidence format.
const Schema = "license/v1"

// Kinds of licence statement.
const (
	KindDeclared  = "declared"  // stated by the author: card field, SBOM licenseDeclared
	KindDetected  = "detected"  // found by matching text: LICENSE file, licenseInfoFromFiles
	KindConcluded = "concluded" // concluded by a reviewer or tool: SBOM licenseConcluded
)

// Evidence is the licence evidence of one subject (input.evidence.license).
type Evidence struct {
	Schema string `json:"schema"`
	// Subject names the path scanned, as given; absent when only SBOMs
	// were read (an image's licences).
	Subject     *Subject      `json:"subject,omitempty"`
	Licenses    []License     `json:"licenses"`
	Unknown     []Unknown     `json:"unknown"`
	NotVerified []NotVerified `json:"not_verified"`
}

// Subject names what evidence is about. Digest is kept when evidence that
// carries one is read back; the scanner itself names the path only.
type Subject struct {
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"`
}

// License is one licence statement.
type License struct {
	// ID is the SPDX id or LicenseRef- id when the statement is one licence.
	ID string `json:"id,omitempty"`
	// Expression is the SPDX expression when the statement is one.
	Expression string `json:"expression,omitempty"`
	// AnyOf is the statement in disjunctive normal form: the licence may be
	// used under any one alternative, each of which requires all its ids.
	// A single licence is [[ID]].
	AnyOf [][]string `json:"any_of"`
	// Name is the human name of a LicenseRef- licence, when known.
	Name string `json:"name,omitempty"`
	// Link is a URL or file the statement points to (card license_link).
	Link string `json:"link,omitempty"`
	// Unresolved lists other ids the statement may equally be, when the
	// evidence cannot tell them apart: a GNU licence text without a notice
	// saying "-only" or "-or-later", or SPDX licences that share one text
	// (MPL-2.0 and MPL-2.0-no-copyleft-exception). A policy must judge the
	// strictest reading: allowed only if the id and every unresolved id
	// are allowed, denied if any is denied.
	Unresolved []string `json:"unresolved,omitempty"`
	// Source names the file and field, e.g. "README.md front matter: license".
	Source string `json:"source"`
	// File is the file the statement came from (for SARIF locations).
	File       string  `json:"file,omitempty"`
	Confidence float64 `json:"confidence"`
	Kind       string  `json:"kind"`
}

// Unknown is a place where a licence should be but could not be named.
type Unknown struct {
	Source string `json:"source"`
	File   string `json:"file,omitempty"`
	Reason string `json:"reason"`
}

// NotVerified is a file that could not be read or parsed.
type NotVerified struct {
	Source string `json:"source"`
	File   string `json:"file,omitempty"`
	Reason string `json:"reason"`
}

// Limits bound the work on outside input.
type Limits struct {
	MaxLicenseFileBytes int64 // one LICENSE file
	MaxCardBytes        int64 // README.md
	MaxFrontMatterBytes int   // the YAML front matter of a card
	MaxSBOMBytes        int64 // one SBOM file
	MaxSBOMEntries      int   // packages or components in one SBOM
	MaxEntries          int   // licence and unknown entries in the evidence (each)
}

// DefaultLimits suit real repositories and image SBOMs.
func DefaultLimits() Limits {
	return Limits{
		MaxLicenseFileBytes: 1 << 20,
		MaxCardBytes:        4 << 20,
		MaxFrontMatterBytes: 256 << 10,
		MaxSBOMBytes:        128 << 20,
		MaxSBOMEntries:      200_000,
		MaxEntries:          10_000,
	}
}

// Options for Scan.
type Options struct {
	// SBOMs are SPDX 2.3 or CycloneDX 1.6 JSON files to read as well
	// (the only source for images).
	SBOMs []string
	// MinCoverage is the share of a text's words (percent) the named licences must cover; below it a
	// LICENSE file counts as unknown; 0 means 75.
	MinCoverage float64
	// Limits; the zero value means DefaultLimits.
	Limits Limits
}

// ErrNothingToScan is returned when neither a path nor an SBOM is given.
var ErrNothingToScan = errors.New("nothing to scan: give a model or dataset path, or an SBOM file")

// Scan collects the licence evidence of path (a folder, or a file whose
// folder is scanned) and of opts.SBOMs. path may be "" when SBOMs are given.
// It returns an error only when path or an SBOM cannot be read at all;
// unreadable or unclear files inside a folder are reported in the evidence.
func Scan(path string, opts Options) (Evidence, error) {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits()
	}
	if opts.MinCoverage == 0 {
		opts.MinCoverage = 75
	}
	s := &scan{opts: opts, ev: Evidence{Schema: Schema, Licenses: []License{}, Unknown: []Unknown{}, NotVerified: []NotVerified{}}}
	if path == "" && len(opts.SBOMs) == 0 {
		return Evidence{}, ErrNothingToScan
	}
	if path != "" {
		if err := s.scanPath(path); err != nil {
			return Evidence{}, err
		}
		s.ev.Subject = &Subject{Path: path}
	}
	for _, f := range opts.SBOMs {
		data, err := readlimit.File(f, opts.Limits.MaxSBOMBytes)
		if err != nil {
			return Evidence{}, fmt.Errorf("SBOM %s: %w", f, err)
		}
		if err := s.sbom(f, data); err != nil {
			return Evidence{}, fmt.Errorf("SBOM %s: %w", f, err)
		}
	}
	if len(s.ev.Licenses) == 0 && len(s.ev.Unknown) == 0 {
		src := path
		if src == "" {
			src = strings.Join(opts.SBOMs, ", ")
		}
		s.ev.Unknown = append(s.ev.Unknown, Unknown{Source: src, Reason: "no licence found: no LICENSE file, no licence in the card's front matter and none in an SBOM"})
	}
	s.finish()
	return s.ev, nil
}

type scan struct {
	opts Options
	ev   Evidence
	// seen dedupes identical statements: key -> index in ev.Licenses.
	seen      map[string]int
	dups      map[int]int
	truncated int
	// exprs caches parsed expressions: SBOMs repeat a few many times.
	exprs map[string]parsed
	// notices say -only / -or-later for GNU texts (READMEs, LICENSE
	// files, SPDX-License-Identifier lines).
	notices []notice
}

type parsed struct {
	l      License
	reason string
}

// single is the package's single, cached per scan.
func (s *scan) single(expr string) (License, string) {
	if p, ok := s.exprs[expr]; ok {
		return p.l, p.reason
	}
	if s.exprs == nil {
		s.exprs = map[string]parsed{}
	}
	l, reason := single(expr)
	if len(s.exprs) < 10_000 {
		s.exprs[expr] = parsed{l, reason}
	}
	return l, reason
}

// scanPath reads the licence files, card and SBOMs at the top of a folder
// (or of the folder holding a regular file). A FIFO, device or socket is
// refused without being opened for a blocking read: it is no model file,
// and its folder (/dev) is not the model's.
func (s *scan) scanPath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("licence scan: %w", err)
	}
	dir := path
	if !fi.IsDir() {
		f, err := readlimit.Open(path)
		if err != nil {
			return fmt.Errorf("licence scan: %w", err)
		}
		f.Close()
		dir = filepath.Dir(path)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("licence scan: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		name := e.Name()
		full := filepath.Join(dir, name)
		switch classify(name) {
		case fileLicense:
			s.licenseFile(full, name)
		case fileCard:
			s.card(full, name)
		case fileReadme:
			if data, err := readlimit.File(full, s.opts.Limits.MaxCardBytes); err == nil {
				s.readNotices(data, name, full)
			}
		case fileSBOM:
			data, err := readlimit.File(full, s.opts.Limits.MaxSBOMBytes)
			if err == nil {
				err = s.sbom(full, data)
			}
			if err != nil {
				s.notVerified(name, full, err.Error())
			}
		}
	}
	return nil
}

type fileClass int

const (
	fileOther fileClass = iota
	fileLicense
	fileCard
	fileSBOM
	fileReadme // README, README.txt, README.rst: read for notices only
)

// codeExt are suffixes of files named LICENSE.* that hold code or data,
// not a licence text.
var codeExt = map[string]bool{
	"go": true, "py": true, "js": true, "ts": true, "json": true, "yaml": true, "yml": true,
	"html": true, "htm": true, "css": true, "sh": true, "c": true, "h": true, "java": true,
	"rb": true, "rs": true, "png": true, "jpg": true, "svg": true, "pdf": true, "xml": true,
	"toml": true, "lock": true, "sum": true, "mod": true, "gz": true, "zip": true, "tar": true,
	"bz2": true, "xz": true, "zst": true, "so": true, "exe": true, "bin": true,
}

// isNameWord: letters, digits, ".", "-" and "_" only.
func isNameWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// classify decides what a top-level file is by its name: LICENSE, LICENCE,
// COPYING and UNLICENSE with no extension or .txt/.md/.rst, and variants
// such as LICENSE-MIT, LICENSE.apache, LICENSE.docs, LICENSE.libyaml or
// COPYING.LESSER (any suffix of letters, digits, ".", "-", "_" that is not
// a code or data extension); README.md is the card; README, README.txt and
// README.rst are read for licence notices; *.spdx.json, *.cdx.json,
// bom.json and sbom.json are SBOMs. NOTICE files are not licences and are
// not read.
func classify(name string) fileClass {
	l := strings.ToLower(name)
	switch {
	case l == "readme.md":
		return fileCard
	case l == "readme" || l == "readme.txt" || l == "readme.rst":
		return fileReadme
	case strings.HasSuffix(l, ".spdx.json") || strings.HasSuffix(l, ".cdx.json") || l == "bom.json" || l == "sbom.json":
		return fileSBOM
	}
	for _, p := range []string{"license", "licence", "copying", "unlicense"} {
		rest, ok := strings.CutPrefix(l, p)
		if !ok {
			continue
		}
		switch {
		case rest == "":
			return fileLicense
		case rest[0] == '-' || rest[0] == '_':
			// LICENSE-MIT, LICENSE_APACHE, LICENSE-MIT.txt
			if ext := filepath.Ext(rest); ext == "" || ext == ".txt" || ext == ".md" {
				return fileLicense
			}
		case rest[0] == '.':
			// LICENSE.txt, LICENSE.apache, LICENSE.docs, LICENSE.libyaml,
			// COPYING.LESSER, LICENSE.GPL-2.0.txt; not LICENSE.go or
			// LICENSE.json (code and data about licences).
			ext := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(rest[1:], ".txt"), ".md"), ".rst")
			if ext == "" || len(ext) <= 40 && isNameWord(ext) && !codeExt[ext[strings.LastIndexByte(ext, '.')+1:]] {
				return fileLicense
			}
		}
	}
	return fileOther
}

func (s *scan) licenseFile(full, name string) {
	data, err := readlimit.File(full, s.opts.Limits.MaxLicenseFileBytes)
	if err != nil {
		s.notVerified(name, full, err.Error())
		return
	}
	for _, l := range Detect(data, s.opts.MinCoverage) {
		if l.Reason != "" {
			s.unknown(name, full, l.Reason)
			continue
		}
		s.add(License{ID: l.ID, AnyOf: [][]string{{l.ID}}, Unresolved: l.Unresolved, Source: name + ": licence text", File: full, Confidence: l.Confidence, Kind: KindDetected})
	}
	s.readNotices(data, name, full)
}

// readNotices records the GNU version notices of a LICENSE file or README
// and adds each SPDX-License-Identifier expression as a declared licence.
func (s *scan) readNotices(data []byte, name, full string) {
	ns, exprs := findNotices(data, name)
	s.notices = append(s.notices, ns...)
	for _, e := range exprs {
		src := name + ": SPDX-License-Identifier"
		l, reason := s.single(e)
		if reason != "" {
			s.unknown(src, full, reason)
			continue
		}
		l.Source, l.File, l.Kind, l.Confidence = src, full, KindDeclared, 1
		s.add(l)
		for _, alt := range l.AnyOf {
			s.notices = append(s.notices, noticesFromIDs(alt, name)...)
		}
	}
}

func (s *scan) card(full, name string) {
	data, err := readlimit.File(full, s.opts.Limits.MaxCardBytes)
	if err != nil {
		s.notVerified(name, full, err.Error())
		return
	}
	fm, ok, err := FrontMatter(data, s.opts.Limits.MaxFrontMatterBytes)
	if err != nil {
		s.notVerified(name+" front matter", full, err.Error())
		return
	}
	s.readNotices(data, name, full)
	if !ok {
		return
	}
	for _, st := range CardLicenses(fm) {
		src := name + " front matter: " + st.Field
		if st.Reason != "" {
			s.unknown(src, full, st.Reason)
			continue
		}
		st.License.Source = src
		st.License.File = full
		s.add(st.License)
	}
}

// add records a licence statement, folding identical statements (same
// licences and kind) into the first, whose source then says how many more.
func (s *scan) add(l License) {
	if s.seen == nil {
		s.seen, s.dups = map[string]int{}, map[int]int{}
	}
	key := l.Kind + "\x00" + fmt.Sprint(l.AnyOf) + fmt.Sprint(l.Unresolved)
	if i, ok := s.seen[key]; ok {
		s.dups[i]++
		return
	}
	if len(s.ev.Licenses) >= s.opts.Limits.MaxEntries {
		s.truncated++
		return
	}
	s.seen[key] = len(s.ev.Licenses)
	s.ev.Licenses = append(s.ev.Licenses, l)
}

func (s *scan) unknown(src, file, reason string) {
	if len(s.ev.Unknown) >= s.opts.Limits.MaxEntries {
		s.truncated++
		return
	}
	s.ev.Unknown = append(s.ev.Unknown, Unknown{Source: src, File: file, Reason: reason})
}

func (s *scan) notVerified(src, file, reason string) {
	s.ev.NotVerified = append(s.ev.NotVerified, NotVerified{Source: src, File: file, Reason: reason})
}

func (s *scan) finish() {
	for i := range s.ev.Licenses {
		if s.ev.Licenses[i].Kind == KindDetected {
			resolveGNU(&s.ev.Licenses[i], s.notices)
		}
	}
	for i, n := range s.dups {
		s.ev.Licenses[i].Source += fmt.Sprintf(" (and %d more with the same licence)", n)
	}
	if s.truncated > 0 {
		s.notVerified("evidence", "", fmt.Sprintf("%d more entries were dropped: more than %d distinct licences or unknowns", s.truncated, s.opts.Limits.MaxEntries))
	}
	sort.SliceStable(s.ev.NotVerified, func(i, j int) bool { return s.ev.NotVerified[i].Source < s.ev.NotVerified[j].Source })
}

// single returns the statement for one licence id or expression, with its
// DNF; reason is set when the text is not a valid SPDX expression.
func single(expr string) (l License, reason string) {
	d, err := DNF(expr)
	if err != nil {
		return License{}, fmt.Sprintf("%q: %v", expr, err)
	}
	if len(d) == 1 && len(d[0]) == 1 && !strings.ContainsAny(strings.TrimSpace(expr), " ()") {
		return License{ID: d[0][0], AnyOf: d}, ""
	}
	return License{Expression: expr, AnyOf: d}, ""
}

// IDs lists every licence id in the evidence, sorted, for tests and tools.
func (e Evidence) IDs() []string {
	var out []string
	for _, l := range e.Licenses {
		for _, t := range l.AnyOf {
			out = append(out, t...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
