package license

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// A notice says which version of a GNU licence applies and whether later
// versions may be chosen: "either version 2 of the License, or (at your
// option) any later version", "GPLv3+", "version 2 only", or an
// SPDX-License-Identifier line. The licence text alone cannot say it.
type notice struct {
	family  string // "GPL", "LGPL", "AGPL"; "" when the notice names none
	version string // "2.0", "2.1", "3.0"
	orLater bool
	where   string // file the notice is in
}

// The notice patterns are compiled on first use (not at start-up: every
// gatehouse command would pay for them).
var (
	// "... GNU Lesser General Public License as published by the Free
	// Software Foundation; either version 2.1 of the License, or (at your
	// option) any later version."
	reEither = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:(lesser|library|affero)\s+)?general\s+public\s+license[^.;]{0,120}?[.;,]?\s*(?:either\s+)?version\s+(\d(?:\.\d)?)(?:\s+of\s+the\s+license)?[,;]?\s+or\s+\(?\s*at\s+your\s+option\s*\)?\s*(?:any\s+)?later\s+version`)
	})
	// "... General Public License version 2 as published by the Free
	// Software Foundation." (no "or later" follows), "version 2 only".
	reOnly = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:(lesser|library|affero)\s+)?general\s+public\s+license,?\s+(?:as\s+published\s+by\s+the\s+free\s+software\s+foundation,?\s+)?version\s+(\d(?:\.\d)?)(?:\s+only\b|\s+as\s+published\s+by\s+the\s+free\s+software\s+foundation\s*[.;)])`)
	})
	// "GPLv2+", "LGPL-2.1+", "GPL-3.0-or-later", "AGPLv3 or later", "GPL-2.0-only".
	reShort = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(L|A)?GPL\s?-?v?(\d(?:\.\d)?)(\+|-or-later\b|\s+or\s+(?:any\s+)?later\b|-only\b|\s+only\b)`)
	})
	// "SPDX-License-Identifier: GPL-2.0-or-later WITH Linux-syscall-note"
	reSPDXLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`SPDX-License-Identifier:\s*([A-Za-z0-9.+:() -]{1,400})`)
	})
	// The GNU texts' appendix holds a sample notice that is no notice.
	reHowToApply = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)how\s+to\s+apply\s+these\s+terms\s+to\s+your\s+new`)
	})
	reSpace = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)(?:^[ \t]*(?:#|//|\*|;|--|%|!|dnl\b)*[ \t]*|[ \t]*\r?\n[ \t]*(?:#|//|\*|;|--|%|!)*[ \t]*|[ \t]+)`)
	})
)

// maxNoticeScan bounds the bytes of one file searched for notices.
const maxNoticeScan = 256 << 10

// findNotices returns the GNU version notices of a file's text (the part
// before a GNU text's "How to Apply These Terms" appendix) and its
// SPDX-License-Identifier expressions.
func findNotices(text []byte, where string) (ns []notice, spdxExprs []string) {
	if len(text) > maxNoticeScan {
		text = text[:maxNoticeScan]
	}
	s := string(text)
	for _, m := range reSPDXLine().FindAllStringSubmatch(s, 16) {
		e := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[1]), "*/"))
		if e != "" {
			spdxExprs = append(spdxExprs, e)
		}
	}
	if loc := reHowToApply().FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	flat := reSpace().ReplaceAllString(s, " ")
	for _, m := range reEither().FindAllStringSubmatch(flat, 16) {
		ns = append(ns, notice{family: gnuFamily(m[1], "GPL"), version: fullVersion(m[2]), orLater: true, where: where})
	}
	for _, m := range reOnly().FindAllStringSubmatch(flat, 16) {
		ns = append(ns, notice{family: gnuFamily(m[1], "GPL"), version: fullVersion(m[2]), where: where})
	}
	for _, m := range reShort().FindAllStringSubmatch(flat, 16) {
		suffix := strings.ToLower(strings.TrimSpace(m[3]))
		ns = append(ns, notice{family: strings.ToUpper(m[1]) + "GPL", version: fullVersion(m[2]), orLater: !strings.Contains(suffix, "only"), where: where})
	}
	return ns, spdxExprs
}

func gnuFamily(qualifier, def string) string {
	switch strings.ToLower(qualifier) {
	case "lesser", "library":
		return "LGPL"
	case "affero":
		return "AGPL"
	}
	return def
}

func fullVersion(v string) string {
	if !strings.Contains(v, ".") {
		return v + ".0"
	}
	return v
}

// noticesFromIDs turns the GNU ids of SPDX expressions into notices.
func noticesFromIDs(ids []string, where string) []notice {
	var ns []notice
	for _, id := range ids {
		lic, _, _ := strings.Cut(id, " WITH ")
		for _, suffix := range []string{"-only", "-or-later"} {
			base, ok := strings.CutSuffix(lic, suffix)
			if !ok || !gnuFamilies[base] || strings.HasPrefix(base, "GFDL") {
				continue
			}
			fam, ver, _ := strings.Cut(base, "-")
			ns = append(ns, notice{family: fam, version: ver, orLater: suffix == "-or-later", where: where})
		}
	}
	return ns
}

// resolve settles a detected GNU licence whose text left -only /
// -or-later open, from the notices of the same folder: when every notice
// about its family and version agrees, the id becomes that reading.
// Notices that disagree leave it unresolved (the policy takes the
// stricter reading) and say so.
func resolveGNU(l *License, ns []notice) {
	if len(l.Unresolved) == 0 || l.ID == "" {
		return
	}
	lic, exc, with := strings.Cut(l.ID, " WITH ")
	other, ok := OrLaterPair(lic)
	if !ok || !slices.Contains(l.Unresolved, joinWith(other, exc, with)) {
		return
	}
	base := strings.TrimSuffix(strings.TrimSuffix(lic, "-only"), "-or-later")
	fam, ver, _ := strings.Cut(base, "-")
	var only, later []string
	for _, n := range ns {
		if n.version != ver || (n.family != "" && n.family != fam) {
			continue
		}
		if n.orLater {
			later = append(later, n.where)
		} else {
			only = append(only, n.where)
		}
	}
	switch {
	case len(later) > 0 && len(only) == 0:
		l.ID = joinWith(base+"-or-later", exc, with)
		l.Source += fmt.Sprintf(" (or later, per the notice in %s)", later[0])
	case len(only) > 0 && len(later) == 0:
		l.ID = joinWith(base+"-only", exc, with)
		l.Source += fmt.Sprintf(" (only, per the notice in %s)", only[0])
	case len(only) > 0:
		l.Source += fmt.Sprintf(" (notices disagree: %s says only, %s says or later)", only[0], later[0])
		return
	default:
		return
	}
	l.AnyOf = [][]string{{l.ID}}
	var rest []string
	for _, u := range l.Unresolved {
		if u != joinWith(base+"-only", exc, with) && u != joinWith(base+"-or-later", exc, with) {
			rest = append(rest, u)
		}
	}
	l.Unresolved = rest
}

func joinWith(lic, exc string, with bool) string {
	if with {
		return lic + " WITH " + exc
	}
	return lic
}
