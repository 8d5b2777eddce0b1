package gatehouse.gates.fairness_test

import data.gatehouse.gates.fairness

# _gap builds one gap: value, interval and the groups at each end.
_gap(v, lo, hi) := {
	"metric": "selection_rate", "value": v, "ci": [lo, hi],
	"max": {"group": "M", "rate": 0.5}, "min": {"group": "F", "rate": 0.45},
	"groups_judged": 2, "excluded": [],
}

_none := {"metric": "tpr", "value": null, "ci": null, "groups_judged": 1, "excluded": [], "reason": "1 group(s) could be judged for tpr: a gap needs two"}

_ok_gaps := {
	"demographic_parity_difference": _gap(0.02, -0.01, 0.05),
	"demographic_parity_ratio": _gap(0.95, 0.9, 1.02),
	"equal_opportunity_difference": _gap(0.03, -0.02, 0.08),
	"equalized_odds_difference": object.union(_gap(0.04, -0.01, 0.09), {"basis": "fpr"}),
}

_grouping(col, gaps, groups) := {
	"name": col, "columns": [col], "intersection": false,
	"groups": groups, "gaps": gaps,
}

_g(name, n, small) := {"name": name, "values": [name], "count": n, "too_small": small}

_big := [_g("F", 400, false), _g("M", 600, false)]

_in(groupings) := {
	"subject": {"kind": "model", "ref": "models/credit"},
	"evidence": {"fairness": {
		"schema": "fairness/v1",
		"predictions": {"path": "models/credit/predictions.csv", "sha256": "ab", "bytes": 10, "format": "csv"},
		"settings": {"min_group_size": 30, "confidence": 0.95},
		"rows": 1000,
		"groupings": groupings,
	}},
	"context": {"environment": "staging"},
}

_with_gap(k, gap) := _in([_grouping("sex", object.union(_ok_gaps, {k: gap}), _big)])

_rules(set) := {v.rule | some v in set}

test_fair_model_passes if {
	inp := _in([_grouping("sex", _ok_gaps, _big)])
	count(fairness.deny) == 0 with input as inp
	count(fairness.warn) == 0 with input as inp
}

# four-fifths rule: the whole interval below 0.8 denies
test_ratio_clearly_below_denies if {
	inp := _with_gap("demographic_parity_ratio", _gap(0.62, 0.55, 0.7))
	d := fairness.deny with input as inp
	_rules(d) == {"demographic_parity_ratio"}
	some v in d
	contains(v.message, "sex: demographic parity ratio 0.620 (95% interval 0.550 to 0.700) is clearly below the minimum of 0.8 (selection rate): M at 0.500, F at 0.450")
	v.severity == "high"
}

# an interval straddling 0.8 warns, whichever side the estimate is on
test_ratio_straddling_warns if {
	below := _with_gap("demographic_parity_ratio", _gap(0.75, 0.7, 0.9))
	count(fairness.deny) == 0 with input as below
	_rules(fairness.warn) == {"demographic_parity_ratio"} with input as below
	above := _with_gap("demographic_parity_ratio", _gap(0.85, 0.7, 0.9))
	count(fairness.deny) == 0 with input as above
	w := fairness.warn with input as above
	_rules(w) == {"demographic_parity_ratio"}
	some v in w
	contains(v.message, "may be below the minimum of 0.8")
}

test_ratio_at_threshold_passes if {
	inp := _with_gap("demographic_parity_ratio", _gap(0.85, 0.8, 0.9))
	count(fairness.deny) == 0 with input as inp
	count(fairness.warn) == 0 with input as inp
}

test_equalized_odds_clearly_above_denies if {
	inp := _with_gap("equalized_odds_difference", object.union(_gap(0.25, 0.15, 0.35), {"basis": "tpr"}))
	d := fairness.deny with input as inp
	_rules(d) == {"equalized_odds_difference"}
	some v in d
	contains(v.message, "is clearly above the maximum of 0.1")
	contains(v.message, "(true positive rates)")
}

test_equalized_odds_straddling_warns if {
	inp := _with_gap("equalized_odds_difference", _gap(0.08, 0.02, 0.14))
	count(fairness.deny) == 0 with input as inp
	_rules(fairness.warn) == {"equalized_odds_difference"} with input as inp
}

# unset gaps are not judged; a configured one is
test_thresholds_per_metric if {
	inp := _with_gap("equal_opportunity_difference", _gap(0.3, 0.2, 0.4))
	count(fairness.deny) == 0 with input as inp
	cfg := {"thresholds": {"equal_opportunity_difference": 0.1}}
	_rules(fairness.deny) == {"equal_opportunity_difference"} with input as inp with data.gatehouse.config.fairness as cfg

	# defaults stay: a bad ratio still denies next to the new threshold
	inp2 := _with_gap("demographic_parity_ratio", _gap(0.5, 0.4, 0.6))
	_rules(fairness.deny) == {"demographic_parity_ratio"} with input as inp2 with data.gatehouse.config.fairness as cfg

	# a looser ratio threshold passes it
	count(fairness.deny) == 0 with input as inp2 with data.gatehouse.config.fairness as {"thresholds": {"demographic_parity_ratio": 0.3}}
}

test_required_group_missing_denies if {
	inp := _in([_grouping("sex", _ok_gaps, _big)])
	cfg := {"required_groups": ["sex", "age"]}
	d := fairness.deny with input as inp with data.gatehouse.config.fairness as cfg
	_rules(d) == {"fairness_group_missing"}
	some v in d
	contains(v.message, `no metrics by "age"`)
}

# only required columns are judged when some are required
test_only_required_groups_judged if {
	bad := object.union(_ok_gaps, {"demographic_parity_ratio": _gap(0.5, 0.4, 0.6)})
	inp := _in([_grouping("sex", _ok_gaps, _big), _grouping("region", bad, _big)])
	_rules(fairness.deny) == {"demographic_parity_ratio"} with input as inp
	count(fairness.deny) == 0 with input as inp with data.gatehouse.config.fairness as {"required_groups": ["sex"]}
}

test_intersection_judged_when_asked if {
	bad := object.union(_ok_gaps, {"demographic_parity_ratio": _gap(0.5, 0.4, 0.6)})
	inter := object.union(_grouping("sex & age", bad, _big), {"columns": ["sex", "age"], "intersection": true})
	inp := _in([_grouping("sex", _ok_gaps, _big), _grouping("age", _ok_gaps, _big), inter])
	count(fairness.deny) == 0 with input as inp
	d := fairness.deny with input as inp with data.gatehouse.config.fairness as {"intersectional": true}
	_rules(d) == {"demographic_parity_ratio"}
	some v in d
	startswith(v.message, "sex & age:")
}

test_small_groups_warn_outside_prod_deny_in_prod if {
	groups := array.concat(_big, [_g("X", 4, true)])
	inp := _in([_grouping("sex", _ok_gaps, groups)])
	count(fairness.deny) == 0 with input as inp
	w := fairness.warn with input as inp
	_rules(w) == {"fairness_small_groups"}
	some v in w
	contains(v.message, "X (4 rows)")
	prod := json.patch(inp, [{"op": "replace", "path": "/context/environment", "value": "prod"}])
	_rules(fairness.deny) == {"fairness_small_groups"} with input as prod
	count(fairness.deny) == 0 with input as prod with data.gatehouse.config.fairness as {"small_groups": "warn"}
	_rules(fairness.deny) == {"fairness_small_groups"} with input as inp with data.gatehouse.config.fairness as {"small_groups": "deny"}
}

test_uncomputed_gap if {
	inp := _with_gap("equalized_odds_difference", _none)
	count(fairness.deny) == 0 with input as inp
	_rules(fairness.warn) == {"fairness_not_computed"} with input as inp
	prod := json.patch(inp, [{"op": "replace", "path": "/context/environment", "value": "prod"}])
	_rules(fairness.deny) == {"fairness_not_computed"} with input as prod
}

test_evidence_errors_deny if {
	inp := {"subject": {"kind": "model", "ref": "m"}, "evidence": {"fairness": {"error": "no predictions file beside the model"}}, "context": {"environment": "dev"}}
	d := fairness.deny with input as inp
	_rules(d) == {"evidence_error"}
	some v in d
	contains(v.message, "no predictions file")
	_rules(fairness.deny) == {"evidence_missing"} with input as {"subject": {"kind": "model", "ref": "m"}, "evidence": {}}
}

test_wrong_schema_denies if {
	inp := json.patch(_in([_grouping("sex", _ok_gaps, _big)]), [{"op": "replace", "path": "/evidence/fairness/schema", "value": "fairness/v0"}])
	"fairness_evidence_schema" in _rules(fairness.deny) with input as inp
}

test_smaller_min_group_size_in_evidence_denies if {
	inp := json.patch(_in([_grouping("sex", _ok_gaps, _big)]), [{"op": "replace", "path": "/evidence/fairness/settings/min_group_size", "value": 5}])
	_rules(fairness.deny) == {"fairness_min_group_size"} with input as inp
	count(fairness.deny) == 0 with input as inp with data.gatehouse.config.fairness as {"min_group_size": 5}
}

test_no_groupings_denies if {
	_rules(fairness.deny) == {"fairness_nothing_judged"} with input as _in([])
}

test_bad_params_fail_closed if {
	inp := _in([_grouping("sex", _ok_gaps, _big)])
	"bad_param" in _rules(fairness.deny) with input as inp with data.gatehouse.config.fairness as {"thresholds": {"demographic_parity_ratio": "0.8"}}
	"bad_param" in _rules(fairness.deny) with input as inp with data.gatehouse.config.fairness as {"thresholds": {"accuracy": 0.9}}
	"bad_param" in _rules(fairness.deny) with input as inp with data.gatehouse.config.fairness as {"small_groups": "ignore"}
	"bad_param" in _rules(fairness.deny) with input as inp with data.gatehouse.config.fairness as {"intersectional": "yes"}
	"bad_param" in _rules(fairness.deny) with input as inp with data.gatehouse.config.fairness as {"required_groups": "sex"}
	"bad_param" in _rules(fairness.deny) with input as inp with data.gatehouse.config.fairness as {"min_group_size": "30"}
}

# A whole-number value or bound (a ratio of exactly 1, an interval ending
# at 0) is printed with three decimals like any other.
test_whole_numbers_print_as_decimals if {
	inp := _with_gap("demographic_parity_ratio", _gap(1, 0, 1))
	w := fairness.warn with input as inp
	some v in w
	contains(v.message, "demographic parity ratio 1.000 (95% interval 0.000 to 1.000) may be below the minimum of 0.8")
	not contains(v.message, "%!")
}
