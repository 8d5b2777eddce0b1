package gatehouse.gates.sonarqube_test

import data.gatehouse.gates.sonarqube

status(s, conds) := {"subject": {"kind": "image", "ref": "r"}, "context": {"environment": "prod"}, "evidence": {"sonarqube": {"projectStatus": {"status": s, "conditions": conds}}}}

error_cond := {"status": "ERROR", "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "85", "actualValue": "82.5"}

warn_cond := {"status": "WARN", "metricKey": "new_maintainability_rating", "comparator": "GT", "warningThreshold": "1", "errorThreshold": "3", "actualValue": "2"}

test_ok_passes if {
	count(sonarqube.deny) == 0 with input as status("OK", [])
	count(sonarqube.warn) == 0 with input as status("OK", [])
}

test_error_names_each_failing_condition if {
	some v in sonarqube.deny with input as status("ERROR", [error_cond, {"status": "OK", "metricKey": "x", "comparator": "GT", "errorThreshold": "1", "actualValue": "0"}])
	v.rule == "quality_gate"
	contains(v.message, "new_coverage is 82.5, must not be LT 85")
	not contains(v.message, "x is 0")
}

test_error_without_conditions_still_denies if {
	some v in sonarqube.deny with input as status("ERROR", [])
	v.rule == "quality_gate"
	contains(v.message, "names no condition at ERROR")
}

test_error_names_dashboard if {
	inp := {"subject": {"kind": "image", "ref": "r"}, "context": {"environment": "prod"}, "evidence": {"sonarqube": {"dashboardUrl": "https://sonar.example/dashboard?id=api", "projectStatus": {"status": "ERROR", "conditions": [error_cond]}}}}
	some v in sonarqube.deny with input as inp
	contains(v.message, "(https://sonar.example/dashboard?id=api)")
}

test_ok_with_max_new_issues_and_no_issues_passes if {
	inp := with_issues({"total": 0, "by_severity": {}, "by_impact": {}})
	count(sonarqube.deny) == 0 with input as inp with data.gatehouse.config.sonarqube as {"max_new_issues": {"BLOCKER": 0}}
}

test_warn_allowed_by_default if {
	count(sonarqube.deny) == 0 with input as status("WARN", [warn_cond])
	some w in sonarqube.warn with input as status("WARN", [warn_cond])
	contains(w.message, "new_maintainability_rating is 2, must not be GT 1")
}

test_warn_denied_when_not_allowed if {
	some v in sonarqube.deny with input as status("WARN", [warn_cond]) with data.gatehouse.config.sonarqube as {"allow_warn": false}
	v.rule == "quality_gate_warn"
}

test_none_denies if {
	some v in sonarqube.deny with input as status("NONE", [])
	v.rule == "no_quality_gate"
}

test_unknown_status_denies if {
	some v in sonarqube.deny with input as status("MAYBE", [])
	v.rule == "unknown_status"
}

test_missing_evidence_denies if {
	some v in sonarqube.deny with input as {"subject": {"kind": "image", "ref": "r"}, "evidence": {}}
	v.rule == "evidence_missing"
}

test_errored_evidence_denies if {
	some v in sonarqube.deny with input as {"subject": {"kind": "image", "ref": "r"}, "evidence": {"sonarqube": {"error": "401"}}}
	v.rule == "evidence_error"
}

with_issues(counts) := object.union(status("OK", []), {"evidence": {"sonarqube": {"projectStatus": {"status": "OK", "conditions": []}, "issues": counts}}})

test_new_issue_caps if {
	inp := with_issues({"total": 3, "by_severity": {"CRITICAL": 1}, "by_impact": {"HIGH": 2}})
	some v in sonarqube.deny with input as inp with data.gatehouse.config.sonarqube as {"max_new_issues": {"HIGH": 1}}
	v.rule == "new_issues"
	contains(v.message, "2 open HIGH")
	count(sonarqube.deny) == 0 with input as inp with data.gatehouse.config.sonarqube as {"max_new_issues": {"HIGH": 2}}
}

test_new_issue_caps_without_counts_deny if {
	inp := with_issues({"error": "403"})
	some v in sonarqube.deny with input as inp with data.gatehouse.config.sonarqube as {"max_new_issues": {"BLOCKER": 0}}
	v.rule == "new_issues_unknown"
	contains(v.message, "403")
}

test_new_issue_caps_are_case_insensitive if {
	inp := with_issues({"total": 1, "by_severity": {"BLOCKER": 1}, "by_impact": {}})
	some v in sonarqube.deny with input as inp with data.gatehouse.config.sonarqube as {"max_new_issues": {"blocker": 0}}
	v.rule == "new_issues"
}

test_bad_cap_denies if {
	inp := with_issues({"total": 5, "by_severity": {"BLOCKER": 5}, "by_impact": {}})
	some v in sonarqube.deny with input as inp with data.gatehouse.config.sonarqube as {"max_new_issues": {"BLOCKER": "0"}}
	v.rule == "bad_param"
	contains(v.message, "max_new_issues.BLOCKER")
}

# Only the boolean true allows WARN: a string "false" is truthy in Rego.
test_allow_warn_not_a_boolean_denies if {
	every bad in ["false", "true", 0, 1, null] {
		d := sonarqube.deny with input as status("WARN", [warn_cond]) with data.gatehouse.config.sonarqube as {"allow_warn": bad}
		{v.rule | some v in d} == {"quality_gate_warn", "bad_param"}
		count(sonarqube.warn) == 0 with input as status("WARN", [warn_cond]) with data.gatehouse.config.sonarqube as {"allow_warn": bad}
	}
}

test_max_new_issues_not_a_mapping_denies if {
	some v in sonarqube.deny with input as status("OK", []) with data.gatehouse.config.sonarqube as {"max_new_issues": [0]}
	v.rule == "bad_param"
	contains(v.message, "params.sonarqube.max_new_issues is [0]")
}
