package gatehouse.lib_test

import data.gatehouse.lib

test_missing_evidence_denies if {
	d := lib.evidence_denials("pii") with input as {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {}}
	count(d) == 1
	some v in d
	v.rule == "evidence_missing"
}

test_errored_evidence_denies if {
	d := lib.evidence_denials("pii") with input as {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {"pii": {"error": "boom"}}}
	some v in d
	v.rule == "evidence_error"
	contains(v.message, "boom")
}

test_good_evidence_passes if {
	d := lib.evidence_denials("pii") with input as {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {"pii": {"findings": []}}}
	count(d) == 0
	lib.evidence_ok("pii") with input as {"evidence": {"pii": {"findings": []}}}
}

test_params_defaults_and_override if {
	lib.params("pii", {"a": 1, "b": 2}) == {"a": 1, "b": 2}
	lib.params("pii", {"a": 1, "b": 2}) == {"a": 1, "b": 3} with data.gatehouse.config.pii as {"b": 3}
}

test_severity_rank if {
	lib.severity_rank("LOW") < lib.severity_rank("critical")
	lib.severity_rank("bogus") > lib.severity_rank("critical")
}

test_severity_rank_not_a_string_ranks_highest if {
	every s in [null, 3, true, {}] {
		lib.severity_rank(s) > lib.severity_rank("critical")
	}
}
