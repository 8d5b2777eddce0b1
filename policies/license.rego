# METADATA
# title: Licences
# description: Models, datasets and images carry only licences the environment allows; unknown licences are flagged.
# custom:
#   evidence: [license]
#   params:
#     allow: {type: array, items: {type: string}, description: "licence ids or glob patterns that pass (replace the defaults)"}
#     deny: {type: array, items: {type: string}, description: "licence ids or glob patterns that deny; deny wins over allow (replace the defaults)"}
#     unknown: {type: string, enum: [warn, deny], description: "licences that could not be named: warn (default) or deny"}
#     unlisted: {type: string, enum: [warn, deny], description: "licences neither allowed nor denied: warn (default) or deny"}
#     sbom: {type: [string, array], items: {type: string}, description: "SBOM file(s) for image subjects, relative to gatehouse.yaml (read by the collector)"}
#     min_coverage: {type: number, minimum: 0, maximum: 100, description: "percent of a licence text's words the named SPDX licences must cover to name it (read by the collector; default 75)"}
package gatehouse.gates.license

import data.gatehouse.lib

# Params (data.gatehouse.config.license):
#   allow:    licence ids or glob patterns that pass (case-insensitive)
#   deny:     licence ids or glob patterns that deny; deny wins over allow
#   unknown:  "warn" (default) or "deny": licences that could not be named
#   unlisted: "warn" (default) or "deny": licences neither allowed nor denied
# Any value other than "warn" denies (fail closed).
defaults := {
	"allow": [
		"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "ISC",
		"Zlib", "PSF-2.0", "Python-2.0", "BSL-1.0", "MPL-2.0", "Unlicense",
		"CC0-1.0", "CC-BY-4.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0",
		"PDDL-1.0", "ODC-By-1.0",
	],
	"deny": [
		"AGPL-*", "SSPL-1.0", "CC-BY-NC-*",
		"LicenseRef-fair-noncommercial-research-license",
		"LicenseRef-deepfloyd-if-license", "LicenseRef-apple-amlr",
		"LicenseRef-h-research", "LicenseRef-intel-research",
	],
	"unknown": "warn",
	"unlisted": "warn",
}

p := lib.params("license", defaults)

ev := input.evidence.license

deny contains v if some v in lib.evidence_denials("license")

# --- matching -------------------------------------------------------------

# Ids are compared in one spelling on both sides (evidence and the allow
# and deny lists): lower case, deprecated GNU ids in their modern form
# ("GPL-2.0" is "gpl-2.0-only", "GPL-2.0+" is "gpl-2.0-or-later"), the
# deprecated "-with-...-exception" ids as "X WITH exception". A deny entry
# written with a bare deprecated GNU id ("AGPL-3.0") denies both the -only
# and the -or-later licence: a list written in either spelling denies the
# same licences.
_gnu := {
	"gpl-1.0", "gpl-2.0", "gpl-3.0", "lgpl-2.0", "lgpl-2.1", "lgpl-3.0",
	"agpl-1.0", "agpl-3.0", "gfdl-1.1", "gfdl-1.2", "gfdl-1.3",
}

_deprecated_with := {
	"gpl-2.0-with-gcc-exception": "gpl-2.0-or-later with gcc-exception-2.0",
	"gpl-2.0-with-autoconf-exception": "gpl-2.0-or-later with autoconf-exception-2.0",
	"gpl-2.0-with-bison-exception": "gpl-2.0-or-later with bison-exception-2.2",
	"gpl-2.0-with-classpath-exception": "gpl-2.0-only with classpath-exception-2.0",
	"gpl-2.0-with-font-exception": "gpl-2.0-only with font-exception-2.0",
	"gpl-3.0-with-gcc-exception": "gpl-3.0-or-later with gcc-exception-3.1",
	"gpl-3.0-with-autoconf-exception": "gpl-3.0-or-later with autoconf-exception-3.0",
	"gpl-3.0-with-bison-exception": "gpl-3.0-or-later with bison-exception-2.2",
	"ecos-2.0": "gpl-2.0-or-later with ecos-exception-2.0",
	"wxwindows": "lgpl-2.0-or-later with wxwindows-exception-3.1",
}

# _norm_one: one licence id (no WITH), lower case, modern spelling.
_norm_one(s) := concat("", [trim_suffix(l, "+"), "-or-later"]) if {
	l := lower(trim_space(s))
	endswith(l, "+")
	_gnu[trim_suffix(l, "+")]
} else := concat("", [l, "-only"]) if {
	l := lower(trim_space(s))
	_gnu[l]
} else := x if {
	x := _deprecated_with[lower(trim_space(s))]
} else := lower(trim_space(s))

# _norm: an id or "X WITH Y" term in the one spelling.
_norm(s) := concat(" with ", [_norm_one(parts[0]), lower(trim_space(parts[1]))]) if {
	parts := split(lower(s), " with ")
	count(parts) == 2
} else := _norm_one(s)

_allow_patterns := {_norm(pat) | some pat in p.allow; is_string(pat)}

_deny_patterns := {_norm(pat) | some pat in p.deny; is_string(pat)} | {concat("", [lower(trim_space(pat)), "-or-later"]) |
	some pat in p.deny
	is_string(pat)
	_gnu[lower(trim_space(pat))]
}

# _matches: the id matches one of the (normalised) patterns ("*" matches
# any run of characters); "X WITH Y" also matches through its licence X.
_matches(id, patterns) if {
	some pat in patterns
	glob.match(pat, null, _norm(id))
}

_matches(id, patterns) if {
	n := _norm(id)
	contains(n, " with ")
	base := split(n, " with ")[0]
	some pat in patterns
	glob.match(pat, null, base)
}

_denied_id(id) if _matches(id, _deny_patterns)

# allow and deny must be lists of strings: a single string would match
# nothing, and a denied licence would only be "unlisted" (fail open).
deny contains v if {
	some key in ["allow", "deny"]
	not _string_list(p[key])
	v := lib.bad_param("license", key, p[key], "a list of licence ids or glob patterns")
}

_string_list(x) if {
	is_array(x)
	every e in x { is_string(e) }
}

_allowed_id(id) if {
	_matches(id, _allow_patterns)
	not _denied_id(id)
}

# _unresolved: other ids the statement may equally be (a GNU text with no
# notice saying -only or -or-later; licences sharing one text). The
# strictest reading decides: allowed only when every reading is allowed,
# denied when any reading is denied.
_unresolved(l) := [u | some u in l.unresolved; is_string(u)] if is_array(l.unresolved)

else := []

# Each licence statement carries its SPDX expression in disjunctive normal
# form (any_of): it may be used under any one alternative, each of which
# needs all its licences. A hand-written statement with only an id is [[id]].
_alternatives(l) := l.any_of if {
	is_array(l.any_of)
	count(l.any_of) > 0
} else := [[l.id]] if {
	is_string(l.id)
	l.id != ""
} else := []

_label(l) := l.expression if {
	is_string(l.expression)
	l.expression != ""
} else := l.id if {
	is_string(l.id)
	l.id != ""
} else := "(no id)"

# _ok: some alternative has only allowed licences, and so has every
# unresolved reading.
_ok(l) if {
	some alt in _alternatives(l)
	count(alt) > 0
	every id in alt { _allowed_id(id) }
	every u in _unresolved(l) { _allowed_id(u) }
}

# _denied: every alternative needs a denied licence, or an unresolved
# reading is denied.
_denied(l) if {
	alts := _alternatives(l)
	count(alts) > 0
	every alt in alts {
		some id in alt
		_denied_id(id)
	}
}

_denied(l) if {
	some u in _unresolved(l)
	_denied_id(u)
}

_denied_ids(l) := sort({id | some alt in _alternatives(l); some id in alt; _denied_id(id)} | {u | some u in _unresolved(l); _denied_id(u)})

# _finding adds "location" (the file, for SARIF) when the entry names one.
_finding(v, x) := object.union(v, {"location": x.file}) if {
	is_string(x.file)
	x.file != ""
} else := v

_src(x) := object.get(x, "source", "(no source)")

_unresolved_note(l) := sprintf(" (it may also be %s; every reading must be allowed)", [concat(", ", _unresolved(l))]) if {
	count(_unresolved(l)) > 0
} else := ""

_reason(x) := object.get(x, "reason", "(no reason given)")

_mode(name) := "warn" if p[name] == "warn"

else := "deny"

_env := object.get(input, ["context", "environment"], "")

# --- rules ------------------------------------------------------------------

# license_denied: a licence the environment denies.
deny contains v if {
	lib.evidence_ok("license")
	some l in object.get(ev, "licenses", [])
	_denied(l)
	v := _finding(
		{
			"rule": "license_denied",
			"severity": "high",
			"message": sprintf("%s from %s is denied (%s)", [_label(l), _src(l), concat(", ", _denied_ids(l))]),
			"remediation": "use an artifact under an allowed licence, or record a waiver with the legal team's approval",
		},
		l,
	)
}

_unlisted contains v if {
	lib.evidence_ok("license")
	some l in object.get(ev, "licenses", [])
	not _ok(l)
	not _denied(l)
	v := _finding(
		{
			"rule": "license_unlisted",
			"severity": "medium",
			"message": sprintf("%s from %s is neither allowed nor denied in %s%s", [_label(l), _src(l), _env, _unresolved_note(l)]),
			"remediation": "have the licence reviewed, then add it to params.license.allow or params.license.deny",
		},
		l,
	)
}

_unknown contains v if {
	lib.evidence_ok("license")
	some u in object.get(ev, "unknown", [])
	v := _finding(
		{
			"rule": "license_unknown",
			"severity": "medium",
			"message": sprintf("licence unknown at %s: %s", [_src(u), _reason(u)]),
			"remediation": "declare the licence (a LICENSE file, `license:` in the card's front matter, or the SBOM) with an SPDX id",
		},
		u,
	)
}

_unknown contains v if {
	lib.evidence_ok("license")
	some u in object.get(ev, "not_verified", [])
	v := _finding(
		{
			"rule": "license_not_verified",
			"severity": "medium",
			"message": sprintf("could not read %s: %s", [_src(u), _reason(u)]),
			"remediation": "fix or remove the file named in the message and check again",
		},
		u,
	)
}

# license_missing: evidence that names no licence and no unknown (only
# hand-written evidence; the collector records "no licence found").
_unknown contains v if {
	lib.evidence_ok("license")
	count(object.get(ev, "licenses", [])) == 0
	count(object.get(ev, "unknown", [])) == 0
	v := {
		"rule": "license_missing",
		"severity": "medium",
		"message": sprintf("no licence was found for %s:%s", [input.subject.kind, input.subject.ref]),
		"remediation": "add a LICENSE file or a `license:` field to the card, or give an SBOM",
	}
}

deny contains v if {
	_mode("unlisted") == "deny"
	some v in _unlisted
}

warn contains v if {
	_mode("unlisted") == "warn"
	some v in _unlisted
}

deny contains v if {
	_mode("unknown") == "deny"
	some v in _unknown
}

warn contains v if {
	_mode("unknown") == "warn"
	some v in _unknown
}
