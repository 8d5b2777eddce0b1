package license

import (
	"strings"

	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"
)

// gnuFamilies have -only and -or-later ids; their bare (deprecated) ids
// mean -only and "+" means -or-later.
var gnuFamilies = map[string]bool{
	"GPL-1.0": true, "GPL-2.0": true, "GPL-3.0": true,
	"LGPL-2.0": true, "LGPL-2.1": true, "LGPL-3.0": true,
	"AGPL-1.0": true, "AGPL-3.0": true,
	"GFDL-1.1": true, "GFDL-1.2": true, "GFDL-1.3": true,
}

// deprecatedWith maps the deprecated "licence with exception" ids to the
// modern expression.
var deprecatedWith = map[string]string{
	"GPL-2.0-with-GCC-exception":       "GPL-2.0-or-later WITH GCC-exception-2.0",
	"GPL-2.0-with-autoconf-exception":  "GPL-2.0-or-later WITH Autoconf-exception-2.0",
	"GPL-2.0-with-bison-exception":     "GPL-2.0-or-later WITH Bison-exception-2.2",
	"GPL-2.0-with-classpath-exception": "GPL-2.0-only WITH Classpath-exception-2.0",
	"GPL-2.0-with-font-exception":      "GPL-2.0-only WITH Font-exception-2.0",
	"GPL-3.0-with-GCC-exception":       "GPL-3.0-or-later WITH GCC-exception-3.1",
	"GPL-3.0-with-autoconf-exception":  "GPL-3.0-or-later WITH Autoconf-exception-3.0",
	"GPL-3.0-with-bison-exception":     "GPL-3.0-or-later WITH Bison-exception-2.2",
	"eCos-2.0":                         "GPL-2.0-or-later WITH eCos-exception-2.0",
	"wxWindows":                        "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
}

// Normalize returns the modern SPDX spelling of a licence id or "X WITH Y"
// term, so that ids compare equal however they were written: case folded
// to the list's spelling, deprecated GNU ids to -only ("GPL-2.0" →
// "GPL-2.0-only"), "+" to -or-later ("LGPL-2.1+" → "LGPL-2.1-or-later";
// "+" on other licences is kept), deprecated "-with-…-exception" ids to
// their WITH expression. LicenseRef- ids and strings that are no SPDX id
// are returned trimmed and otherwise unchanged. Glob patterns keep their
// "*": only the part before it is folded.
func Normalize(id string) string {
	id = strings.TrimSpace(id)
	if lic, exc, ok := strings.Cut(id, " WITH "); ok {
		lic, exc = Normalize(lic), strings.TrimSpace(exc)
		if ok, canon := spdxlicenses.IsException(exc); ok {
			exc = canon
		}
		return lic + " WITH " + exc
	}
	if strings.ContainsAny(id, "*?[") || hasPrefixFold(id, "LicenseRef-") || hasPrefixFold(id, "DocumentRef-") {
		return id
	}
	c, err := canonicalID(id)
	if err != nil {
		return id
	}
	if e, ok := deprecatedWith[c]; ok {
		return e
	}
	base, plus := strings.CutSuffix(c, "+")
	if gnuFamilies[base] {
		if plus {
			return base + "-or-later"
		}
		return base + "-only"
	}
	return c
}

// OrLaterPair returns the other reading of a GNU -only / -or-later id
// ("GPL-2.0-only" ↔ "GPL-2.0-or-later"), keeping a WITH exception; ok is
// false for other ids.
func OrLaterPair(id string) (string, bool) {
	lic, exc, with := strings.Cut(id, " WITH ")
	var other string
	switch {
	case strings.HasSuffix(lic, "-only") && gnuFamilies[strings.TrimSuffix(lic, "-only")]:
		other = strings.TrimSuffix(lic, "-only") + "-or-later"
	case strings.HasSuffix(lic, "-or-later") && gnuFamilies[strings.TrimSuffix(lic, "-or-later")]:
		other = strings.TrimSuffix(lic, "-or-later") + "-only"
	default:
		return "", false
	}
	if with {
		other += " WITH " + exc
	}
	return other, true
}

// sanitizeRef keeps the characters SPDX allows in a LicenseRef- id
// (letters, digits, "." and "-"); others become "-".
func sanitizeRef(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
		if b.Len() >= 128 {
			break
		}
	}
	return b.String()
}
