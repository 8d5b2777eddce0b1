package gatehouse.gates.license_test

import data.gatehouse.gates.license

_lic(id) := {"id": id, "any_of": [[id]], "source": "README.md front matter: license", "file": "models/m/README.md", "confidence": 1, "kind": "declared"}

_expr(e, alts) := {"expression": e, "any_of": alts, "source": "sbom.spdx.json packages[0] (x): licenseConcluded", "confidence": 1, "kind": "concluded"}

_in(licenses, unknown, nv) := {
	"subject": {"kind": "model", "ref": "models/m"},
	"evidence": {"license": {"schema": "license/v1", "licenses": licenses, "unknown": unknown, "not_verified": nv}},
	"context": {"environment": "dev"},
}

_rules(set) := {v.rule | some v in set}

test_allowed_licences_pass if {
	inp := _in([_lic("MIT"), _lic("Apache-2.0"), _lic("CC-BY-4.0")], [], [])
	count(license.deny) == 0 with input as inp
	count(license.warn) == 0 with input as inp
}

test_ids_match_case_insensitively if {
	inp := _in([_lic("mit"), _lic("agpl-3.0-only")], [], [])
	_rules(license.deny) == {"license_denied"} with input as inp
	count(license.warn) == 0 with input as inp
}

test_missing_evidence_denies if {
	inp := {"subject": {"kind": "model", "ref": "m"}, "evidence": {}}
	_rules(license.deny) == {"evidence_missing"} with input as inp
}

test_errored_evidence_denies if {
	inp := {"subject": {"kind": "image", "ref": "i"}, "evidence": {"license": {"error": "no SBOM was given for this image"}}}
	_rules(license.deny) == {"evidence_error"} with input as inp
	count(license.warn) == 0 with input as inp
}

test_denied_licences if {
	every id in ["AGPL-3.0-only", "AGPL-3.0-or-later", "SSPL-1.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "LicenseRef-fair-noncommercial-research-license"] {
		d := license.deny with input as _in([_lic(id)], [], [])
		_rules(d) == {"license_denied"}
		some v in d
		v.severity == "high"
		v.location == "models/m/README.md"
		contains(v.message, id)
	}
}

test_or_expression_passes_with_one_allowed_branch if {
	inp := _in([_expr("MIT OR AGPL-3.0-only", [["MIT"], ["AGPL-3.0-only"]])], [], [])
	count(license.deny) == 0 with input as inp
	count(license.warn) == 0 with input as inp
}

test_and_expression_needs_every_licence if {
	inp := _in([_expr("MIT AND AGPL-3.0-only", [["AGPL-3.0-only", "MIT"]])], [], [])
	d := license.deny with input as inp
	_rules(d) == {"license_denied"}
	some v in d
	contains(v.message, "MIT AND AGPL-3.0-only")
	not v.location # SBOM entry without a file
}

test_expression_denied_only_when_every_branch_is if {
	# GPL is unlisted, so the GPL branch avoids the denied licence: warn, not deny.
	inp := _in([_expr("AGPL-3.0-only OR GPL-3.0-only", [["AGPL-3.0-only"], ["GPL-3.0-only"]])], [], [])
	count(license.deny) == 0 with input as inp
	_rules(license.warn) == {"license_unlisted"} with input as inp
}

test_with_exception_judged_by_its_licence if {
	ok := _in([_lic("Apache-2.0 WITH LLVM-exception")], [], [])
	count(license.deny) == 0 with input as ok
	count(license.warn) == 0 with input as ok
	bad := _in([_lic("AGPL-3.0-only WITH Classpath-exception-2.0")], [], [])
	_rules(license.deny) == {"license_denied"} with input as bad
}

test_unlisted_warns_by_default if {
	inp := _in([_lic("LicenseRef-llama3")], [], [])
	count(license.deny) == 0 with input as inp
	w := license.warn with input as inp
	_rules(w) == {"license_unlisted"}
	some v in w
	v.severity == "medium"
	contains(v.message, "LicenseRef-llama3")
}

test_unlisted_denies_when_configured if {
	inp := _in([_lic("GPL-3.0-only")], [], [])
	_rules(license.deny) == {"license_unlisted"} with input as inp with data.gatehouse.config.license as {"unlisted": "deny"}
	count(license.warn) == 0 with input as inp with data.gatehouse.config.license as {"unlisted": "deny"}
}

test_unknown_warns_by_default if {
	inp := _in([], [{"source": "LICENSE", "file": "models/m/LICENSE", "reason": "no known licence text found"}], [])
	count(license.deny) == 0 with input as inp
	w := license.warn with input as inp
	_rules(w) == {"license_unknown"}
	some v in w
	v.location == "models/m/LICENSE"
}

test_unknown_denies_in_prod_config if {
	inp := _in([_lic("MIT")], [{"source": "README.md front matter: license", "reason": "\"bsd\" names a family of licences"}], [])
	_rules(license.deny) == {"license_unknown"} with input as inp with data.gatehouse.config.license as {"unknown": "deny"}
}

test_a_mistyped_mode_fails_closed if {
	inp := _in([_lic("GPL-3.0-only")], [{"source": "x", "reason": "y"}], [])
	_rules(license.deny) == {"license_unlisted", "license_unknown"} with input as inp with data.gatehouse.config.license as {"unknown": "dney", "unlisted": "wran"}
}

test_not_verified_follows_unknown if {
	inp := _in([_lic("MIT")], [], [{"source": "README.md front matter", "file": "m/README.md", "reason": "front matter is not valid YAML"}])
	_rules(license.warn) == {"license_not_verified"} with input as inp
	_rules(license.deny) == {"license_not_verified"} with input as inp with data.gatehouse.config.license as {"unknown": "deny"}
}

test_no_licence_at_all if {
	inp := _in([], [], [])
	_rules(license.warn) == {"license_missing"} with input as inp
	_rules(license.deny) == {"license_missing"} with input as inp with data.gatehouse.config.license as {"unknown": "deny"}
}

test_config_replaces_allow_and_deny if {
	cfg := {"allow": ["GPL-*"], "deny": ["MIT"]}
	inp := _in([_lic("GPL-3.0-only"), _lic("MIT")], [], [])
	d := license.deny with input as inp with data.gatehouse.config.license as cfg
	count(d) == 1
	some v in d
	contains(v.message, "MIT")
	count(license.warn) == 0 with input as inp with data.gatehouse.config.license as cfg
}

test_deny_wins_over_allow if {
	cfg := {"allow": ["*"], "deny": ["CC-BY-NC-*"]}
	inp := _in([_lic("CC-BY-NC-4.0"), _lic("LicenseRef-anything")], [], [])
	_rules(license.deny) == {"license_denied"} with input as inp with data.gatehouse.config.license as cfg
	count(license.deny) == 1 with input as inp with data.gatehouse.config.license as cfg
}

test_hand_written_entry_with_only_an_id if {
	inp := _in([{"id": "AGPL-3.0-only", "source": "hand"}], [], [])
	_rules(license.deny) == {"license_denied"} with input as inp
}

test_entry_without_licences_is_not_a_pass if {
	inp := _in([{"source": "hand"}], [], [])
	_rules(license.warn) == {"license_unlisted"} with input as inp
}

# A deny list given as one string would match nothing: AGPL would only be
# "unlisted" (a warning). It denies as bad_param instead.
test_deny_not_a_list_fails_closed if {
	inp := _in([_lic("AGPL-3.0-only")], [], [])
	some v in license.deny with input as inp with data.gatehouse.config.license as {"deny": "AGPL-*"}
	v.rule == "bad_param"
	contains(v.message, "params.license.deny")
}

test_allow_with_a_non_string_denies if {
	inp := _in([_lic("MIT")], [], [])
	some v in license.deny with input as inp with data.gatehouse.config.license as {"allow": ["MIT", 1]}
	v.rule == "bad_param"
}

# --- one spelling on both sides (deprecated <-> modern, + <-> -or-later, case)

_modern_deny := {"allow": ["MIT"], "deny": ["AGPL-3.0-only", "AGPL-3.0-or-later"]}

_deprecated_deny := {"allow": ["MIT"], "deny": ["AGPL-3.0", "agpl-3.0+"]}

test_deny_list_in_either_spelling_denies_either_spelling if {
	every cfg in [_modern_deny, _deprecated_deny] {
		every id in ["AGPL-3.0", "AGPL-3.0+", "agpl-3.0-only", "AGPL-3.0-or-later", "AGPL-3.0-only WITH Classpath-exception-2.0"] {
			_rules(license.deny) == {"license_denied"} with input as _in([_lic(id)], [], []) with data.gatehouse.config.license as cfg
		}
	}
}

test_bare_deprecated_deny_covers_or_later if {
	cfg := {"allow": ["MIT"], "deny": ["GPL-3.0"]}
	every id in ["GPL-3.0-only", "GPL-3.0-or-later", "GPL-3.0+"] {
		_rules(license.deny) == {"license_denied"} with input as _in([_lic(id)], [], []) with data.gatehouse.config.license as cfg
	}
}

test_allow_list_in_either_spelling if {
	every pair in [
		[["GPL-2.0"], "GPL-2.0-only"],
		[["GPL-2.0-only"], "GPL-2.0"],
		[["LGPL-2.1+"], "LGPL-2.1-or-later"],
		[["LGPL-2.1-or-later"], "lgpl-2.1+"],
		[["GPL-2.0-only WITH Classpath-exception-2.0"], "GPL-2.0-with-classpath-exception"],
	] {
		cfg := {"allow": pair[0], "deny": [], "unlisted": "deny"}
		count(license.deny) == 0 with input as _in([_lic(pair[1])], [], []) with data.gatehouse.config.license as cfg
	}
}

# An allow entry in the deprecated bare spelling allows -only, not -or-later.
test_bare_deprecated_allow_is_only if {
	cfg := {"allow": ["GPL-2.0"], "deny": [], "unlisted": "deny"}
	_rules(license.deny) == {"license_unlisted"} with input as _in([_lic("GPL-2.0-or-later")], [], []) with data.gatehouse.config.license as cfg
}

_unres(id, others) := object.union(_lic(id), {"unresolved": others, "kind": "detected", "source": "COPYING: licence text"})

test_unresolved_reading_must_be_allowed_too if {
	l := _unres("GPL-2.0-only", ["GPL-2.0-or-later"])

	# only one reading allowed: unlisted, with the reason
	w := license.warn with input as _in([l], [], []) with data.gatehouse.config.license as {"allow": ["GPL-2.0-only"], "deny": []}
	_rules(w) == {"license_unlisted"}
	some v in w
	contains(v.message, "it may also be GPL-2.0-or-later")

	# both allowed: passes
	count(license.warn) == 0 with input as _in([l], [], []) with data.gatehouse.config.license as {"allow": ["GPL-2.0-*"], "deny": []}
	count(license.deny) == 0 with input as _in([l], [], []) with data.gatehouse.config.license as {"allow": ["GPL-2.0-*"], "deny": []}

	# either reading denied: denied
	_rules(license.deny) == {"license_denied"} with input as _in([l], [], []) with data.gatehouse.config.license as {"allow": ["GPL-2.0-only"], "deny": ["GPL-2.0-or-later"]}
}

test_default_policy_shared_text_is_unlisted if {
	l := _unres("MPL-2.0", ["MPL-2.0-no-copyleft-exception"])
	_rules(license.warn) == {"license_unlisted"} with input as _in([l], [], [])
	count(license.deny) == 0 with input as _in([l], [], [])
}

test_default_policy_denies_detected_agpl_either_reading if {
	l := _unres("AGPL-3.0-only", ["AGPL-3.0-or-later"])
	_rules(license.deny) == {"license_denied"} with input as _in([l], [], [])
}
