package gatehouse.gates.pii_test

import data.gatehouse.gates.pii

_f(file, column, entity, n) := {"file": file, "column": column, "entity": entity, "count": n, "rate": 0.5, "example": "***", "confidence": 0.9}

_in(findings, nv) := {
	"subject": {"kind": "dataset", "ref": "data/customers"},
	"evidence": {"pii": {
		"schema": "pii/v1", "mode": "full", "files_scanned": 2, "bytes_scanned": 100, "rows_scanned": 10,
		"findings": findings, "totals": _totals(findings), "not_verified": nv,
	}},
	"context": {"environment": "prod"},
}

_totals(findings) := {e: sum([f.count | some f in findings; f.entity == e]) | some g in findings; e := g.entity}

_rules(set) := {v.rule | some v in set}

test_clean_dataset_passes if {
	inp := _in([], [])
	count(pii.deny) == 0 with input as inp
	count(pii.warn) == 0 with input as inp
}

test_any_pii_denies_by_default if {
	inp := _in([_f("data/customers/a.csv", "email", "EMAIL_ADDRESS", 3), _f("data/customers/b.csv", "", "EMAIL_ADDRESS", 1)], [])
	d := pii.deny with input as inp
	_rules(d) == {"email_address"}
	some v in d
	v.severity == "medium"
	v.location == "data/customers/a.csv"
	contains(v.message, "4 EMAIL_ADDRESS")
	contains(v.message, `data/customers/a.csv column "email" (3)`)
}

test_severities if {
	inp := _in([_f("a.csv", "ssn", "US_SSN", 1), _f("a.csv", "cc", "CREDIT_CARD", 1), _f("a.csv", "note", "PRIVATE_KEY", 1), _f("a.csv", "ip", "IP_ADDRESS", 1)], [])
	d := pii.deny with input as inp
	{r: v.severity | some v in d; r := v.rule} == {"us_ssn": "high", "credit_card": "high", "private_key": "critical", "ip_address": "medium"}
}

test_national_ids_are_high_and_dates_of_birth_medium if {
	inp := _in([_f("a.csv", "cpf", "BR_CPF", 1), _f("a.csv", "aadhaar", "IN_AADHAAR", 2), _f("a.csv", "notes", "DATE_OF_BIRTH", 1), _f("a.csv", "mac", "MAC_ADDRESS", 1)], [])
	d := pii.deny with input as inp
	{r: v.severity | some v in d; r := v.rule} == {"br_cpf": "high", "in_aadhaar": "high", "date_of_birth": "medium", "mac_address": "medium"}
}

test_thresholds_per_entity if {
	inp := _in([_f("a.csv", "email", "EMAIL_ADDRESS", 3), _f("a.csv", "phone", "PHONE_NUMBER", 2)], [])
	cfg := {"max": {"EMAIL_ADDRESS": 3}, "default_max": 1}
	d := pii.deny with input as inp with data.gatehouse.config.pii as cfg
	_rules(d) == {"phone_number"}
	some v in d
	contains(v.message, "above the prod threshold of 1")
}

test_threshold_equal_passes if {
	inp := _in([_f("a.csv", "email", "EMAIL_ADDRESS", 3)], [])
	count(pii.deny) == 0 with input as inp with data.gatehouse.config.pii as {"max": {"EMAIL_ADDRESS": 3}}
}

test_bad_threshold_fails_closed if {
	inp := _in([_f("a.csv", "email", "EMAIL_ADDRESS", 1)], [])
	_rules(pii.deny) == {"email_address"} with input as inp with data.gatehouse.config.pii as {"max": {"EMAIL_ADDRESS": "lots"}}
	_rules(pii.deny) == {"email_address"} with input as inp with data.gatehouse.config.pii as {"default_max": -5}
}

test_secrets_deny_whatever_the_thresholds if {
	inp := _in([_f("keys.txt", "", "AWS_ACCESS_KEY", 1)], [])
	cfg := {"max": {"AWS_ACCESS_KEY": 100}, "default_max": 100, "warn_only": ["AWS_ACCESS_KEY"]}
	d := pii.deny with input as inp with data.gatehouse.config.pii as cfg
	_rules(d) == {"aws_access_key"}
	some v in d
	v.severity == "critical"
	count(pii.warn) == 0 with input as inp with data.gatehouse.config.pii as cfg
}

test_secrets_follow_thresholds_when_deny_secrets_is_false if {
	inp := _in([_f("keys.txt", "", "AWS_ACCESS_KEY", 1)], [])
	count(pii.deny) == 0 with input as inp with data.gatehouse.config.pii as {"deny_secrets": false, "max": {"AWS_ACCESS_KEY": 1}}
	_rules(pii.warn) == {"aws_access_key"} with input as inp with data.gatehouse.config.pii as {"deny_secrets": false, "warn_only": ["AWS_ACCESS_KEY"]}
}

test_warn_only if {
	inp := _in([_f("a.csv", "ip", "IP_ADDRESS", 7), _f("a.csv", "email", "EMAIL_ADDRESS", 1)], [])
	cfg := {"warn_only": ["IP_ADDRESS"]}
	_rules(pii.deny) == {"email_address"} with input as inp with data.gatehouse.config.pii as cfg
	_rules(pii.warn) == {"ip_address"} with input as inp with data.gatehouse.config.pii as cfg
}

test_totals_without_findings_count if {
	inp := {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {"pii": {"schema": "pii/v1", "mode": "full", "findings": [], "totals": {"US_SSN": 2}, "not_verified": []}}}
	_rules(pii.deny) == {"us_ssn"} with input as inp
}

test_not_verified_denies if {
	inp := _in([], [{"location": "data/customers/blob.bin", "reason": "binary file of unknown format"}])
	d := pii.deny with input as inp
	_rules(d) == {"pii_not_verified"}
	some v in d
	v.location == "data/customers/blob.bin"
	contains(v.message, "binary file of unknown format")
}

test_missing_evidence_denies if {
	inp := {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {}}
	_rules(pii.deny) == {"evidence_missing"} with input as inp
}

test_errored_evidence_denies if {
	inp := {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {"pii": {"error": "open d: no such file or directory"}}}
	_rules(pii.deny) == {"evidence_error"} with input as inp
}

test_wrong_schema_denies if {
	inp := {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {"pii": {"schema": "pii/v0", "findings": [], "not_verified": []}}}
	_rules(pii.deny) == {"pii_evidence_schema"} with input as inp
}

test_sample_mode_warns if {
	inp := json.patch(_in([], []), [{"op": "replace", "path": "/evidence/pii/mode", "value": "sample"}])
	count(pii.deny) == 0 with input as inp
	_rules(pii.warn) == {"pii_sampled"} with input as inp
}

test_non_numeric_count_fails_closed if {
	inp := _in([{"file": "a.csv", "column": "c", "entity": "PHONE_NUMBER", "count": "many"}], [])
	_rules(pii.deny) == {"phone_number"} with input as inp
}

skipped_input := {"subject": {"kind": "dataset", "ref": "d"}, "evidence": {"pii": {"schema": "pii/v1", "mode": "full", "findings": [], "totals": {}, "not_verified": [], "skipped": [{"location": "d/images.zip", "reason": "archive"}]}}}

test_skipped_warns_by_default if {
	count(pii.deny) == 0 with input as skipped_input
	some w in pii.warn with input as skipped_input
	w.rule == "pii_skipped"
	w.location == "d/images.zip"
}

test_skipped_denies_when_configured if {
	some v in pii.deny with input as skipped_input with data.gatehouse.config.pii as {"skipped": "deny"}
	v.rule == "pii_skipped"
	some v2 in pii.deny with input as skipped_input with data.gatehouse.config.pii as {"skipped": "typo"}
	v2.rule == "pii_skipped"
}
