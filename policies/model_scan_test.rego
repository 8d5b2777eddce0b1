package gatehouse.gates.model_scan_test

import data.gatehouse.gates.model_scan

clean := {
	"schema": "model_scan/v1", "scanner": "gatehouse", "verified": true, "files_scanned": 1,
	"bytes_scanned": 10, "findings": [], "not_verified": [],
}

crit := {"severity": "critical", "location": "m.pt:archive/data.pkl@29", "module": "builtins", "name": "eval", "reason": "evaluates code"}

low := {"severity": "low", "location": "m.pt:archive/code/m.py", "reason": "TorchScript code"}

med := {"severity": "medium", "location": "x.pkl@3", "module": "foo", "name": "bar", "reason": "not allowed"}

inp(ev) := {"subject": {"kind": "model", "ref": "m.pt"}, "evidence": ev, "context": {"environment": "dev"}}

rules(set) := {v.rule | some v in set}

test_clean_passes if {
	count(model_scan.deny) == 0 with input as inp({"model_scan": clean})
	count(model_scan.warn) == 0 with input as inp({"model_scan": clean})
}

test_missing_evidence_denies if {
	rules(model_scan.deny) == {"evidence_missing"} with input as inp({})
}

test_error_evidence_denies if {
	rules(model_scan.deny) == {"evidence_error"} with input as inp({"model_scan": {"error": "boom"}})
}

test_critical_finding_denies if {
	d := model_scan.deny with input as inp({"model_scan": object.union(clean, {"findings": [crit]})})
	count(d) == 1
	some v in d
	v.rule == "finding"
	v.severity == "critical"
	v.location == "m.pt"
	contains(v.message, "builtins.eval")
}

test_low_finding_warns_by_default if {
	ev := object.union(clean, {"findings": [low]})
	count(model_scan.deny) == 0 with input as inp({"model_scan": ev})
	w := model_scan.warn with input as inp({"model_scan": ev})
	count(w) == 1
	some v in w
	v.severity == "low"
}

test_fail_on_param if {
	ev := object.union(clean, {"findings": [low, med]})
	count(model_scan.deny) == 1 with input as inp({"model_scan": ev})
	count(model_scan.deny) == 2 with input as inp({"model_scan": ev})
		with data.gatehouse.config.model_scan as {"fail_on": "low"}
	count(model_scan.deny) == 0 with input as inp({"model_scan": ev})
		with data.gatehouse.config.model_scan as {"fail_on": "critical"}
	count(model_scan.warn) == 2 with input as inp({"model_scan": ev})
		with data.gatehouse.config.model_scan as {"fail_on": "critical"}
}

test_unknown_severity_fails_closed if {
	ev := object.union(clean, {"findings": [object.union(med, {"severity": "bogus"})]})
	count(model_scan.deny) == 1 with input as inp({"model_scan": ev})
		with data.gatehouse.config.model_scan as {"fail_on": "critical"}
}

test_not_verified_denies_each if {
	ev := object.union(clean, {"verified": false, "not_verified": [
		{"location": "a.7z", "reason": "7z archive: cannot read"},
		{"location": "b.zip:x", "reason": "encrypted"},
	]})
	d := model_scan.deny with input as inp({"model_scan": ev})
	count(d) == 2
	{v.location | some v in d} == {"a.7z", "b.zip"}
	rules(d) == {"not_verified"}
}

test_verified_false_without_entries_denies if {
	ev := object.union(clean, {"verified": false})
	rules(model_scan.deny) == {"not_verified"} with input as inp({"model_scan": ev})
}

test_modelscan_evidence_read_too if {
	ms := object.union(clean, {"scanner": "modelscan", "findings": [crit]})
	d := model_scan.deny with input as inp({"model_scan": clean, "modelscan": ms})
	count(d) == 1
	some v in d
	startswith(v.message, "modelscan:")
}

test_modelscan_error_denies if {
	rules(model_scan.deny) == {"evidence_error"} with input as inp({"model_scan": clean, "modelscan": {"error": "no report"}})
}

test_modelscan_alone_is_not_enough if {
	ms := object.union(clean, {"scanner": "modelscan"})
	rules(model_scan.deny) == {"evidence_missing"} with input as inp({"modelscan": ms})
}

test_wrong_schema_denies if {
	ev := object.union(clean, {"schema": "other/v9"})
	rules(model_scan.deny) == {"schema"} with input as inp({"model_scan": ev})
}

# A fail_on that is no severity (a typo, a number) must not rank above
# critical: every finding denies, and bad_param says why.
test_unknown_fail_on_fails_closed if {
	x := inp({"model_scan": object.union(clean, {"findings": [crit, low]})})
	every bad in ["crit", "", 4, null, true] {
		d := model_scan.deny with input as x with data.gatehouse.config.model_scan as {"fail_on": bad}
		rules(d) == {"finding", "bad_param"}
		count([v | some v in d; v.rule == "finding"]) == 2
		count(model_scan.warn) == 0 with input as x with data.gatehouse.config.model_scan as {"fail_on": bad}
	}
}

test_known_fail_on_any_case if {
	x := inp({"model_scan": object.union(clean, {"findings": [crit, low]})})
	rules(model_scan.deny) == {"finding"} with input as x with data.gatehouse.config.model_scan as {"fail_on": "CRITICAL"}
	count(model_scan.warn) == 1 with input as x with data.gatehouse.config.model_scan as {"fail_on": "CRITICAL"}
}

test_finding_severity_not_a_string_denies if {
	odd := object.union(crit, {"severity": 3})
	some v in model_scan.deny with input as inp({"model_scan": object.union(clean, {"findings": [odd]})})
	v.rule == "finding"
}

test_finding_without_fields_denies if {
	some v in model_scan.deny with input as inp({"model_scan": object.union(clean, {"findings": [{}]})})
	v.rule == "finding"
	v.severity == "critical"
}
