package gatehouse.gates.evaluation_test

import data.gatehouse.gates.evaluation

_m(name, value) := {"name": name, "value": value, "dataset": "tx-2025", "split": "test", "slice": "overall", "source": "metrics.json"}

_ms(name, value, slice) := object.union(_m(name, value), {"slice": slice})

_ev(metrics) := {"schema": "evaluation/v1", "subject": {"path": "models/fraud"}, "sources": [], "metrics": metrics}

_base(metrics) := {"schema": "evaluation_baseline/v1", "model": {"path": "models/fraud-prod"}, "sources": [], "metrics": metrics}

_in(metrics) := {
	"subject": {"kind": "model", "ref": "models/fraud"},
	"evidence": {"evaluation": _ev(metrics)},
	"context": {"environment": "staging"},
}

_with_base(metrics, baseline) := object.union(_in(metrics), {"evidence": {"evaluation_baseline": _base(baseline)}})

_good := [_m("accuracy", 0.93), _m("f1", 0.85), _m("log_loss", 0.21), _ms("recall", 0.9, "card-not-present")]

_rules(set) := {v.rule | some v in set}

_req := {"required": {"accuracy": {"min": 0.9}, "f1": {"min": 0.8, "slice": "overall"}, "log_loss": {"max": 0.3}}}

test_meets_requirements if {
	count(evaluation.deny) == 0 with input as _in(_good) with data.gatehouse.config.evaluation as _req
	count(evaluation.warn) == 0 with input as _in(_good) with data.gatehouse.config.evaluation as _req
}

test_no_config_no_baseline_passes if {
	count(evaluation.deny) == 0 with input as _in(_good)
}

test_below_minimum_denies if {
	inp := _in([_m("accuracy", 0.874), _m("f1", 0.85), _m("log_loss", 0.21)])
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as _req
	_rules(d) == {"evaluation_threshold"}
	some v in d
	v.message == "accuracy (dataset tx-2025, split test, slice overall) is 0.874, below the minimum of 0.9 in staging"
}

test_above_maximum_denies if {
	inp := _in([_m("accuracy", 0.95), _m("f1", 0.85), _m("log_loss", 0.41)])
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as _req
	some v in d
	v.rule == "evaluation_threshold"
	contains(v.message, "log_loss (dataset tx-2025, split test, slice overall) is 0.41, above the maximum of 0.3")
	count(d) == 1
}

test_boundary_values_pass if {
	inp := _in([_m("accuracy", 0.9), _m("f1", 0.8), _m("log_loss", 0.3)])
	count(evaluation.deny) == 0 with input as inp with data.gatehouse.config.evaluation as _req
}

test_missing_required_metric_denies if {
	inp := _in([_m("accuracy", 0.95), _m("log_loss", 0.2)])
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as _req
	_rules(d) == {"evaluation_metric_missing"}
	some v in d
	contains(v.message, "the evaluation has no f1 (slice overall), which staging requires")
}

# a metric on another slice does not satisfy a requirement on "overall"
test_other_slice_does_not_count if {
	inp := _in([_m("accuracy", 0.95), _ms("f1", 0.9, "EU"), _m("log_loss", 0.2)])
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as _req
	some v in d
	v.rule == "evaluation_metric_missing"
	contains(v.message, "(it has f1 (dataset tx-2025, split test, slice EU))")
}

test_slice_requirement if {
	cfg := {"required": {"recall": {"min": 0.95, "slice": "card-not-present"}}}
	d := evaluation.deny with input as _in(_good) with data.gatehouse.config.evaluation as cfg
	some v in d
	contains(v.message, "recall (dataset tx-2025, split test, slice card-not-present) is 0.9, below the minimum of 0.95")
}

# every metric that matches must meet the requirement (two datasets)
test_every_match_judged if {
	other := object.union(_m("accuracy", 0.85), {"dataset": "tx-2024"})
	inp := _in([_m("accuracy", 0.95), other])
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as {"required": {"accuracy": {"min": 0.9}}}
	count(d) == 1
	some v in d
	contains(v.message, "dataset tx-2024")

	# naming the dataset judges that one only
	count(evaluation.deny) == 0 with input as inp with data.gatehouse.config.evaluation as {"required": {"accuracy": {"min": 0.9, "dataset": "tx-2025"}}}
}

test_class_requirement if {
	pc := object.union(_m("precision", 0.7), {"class": "fraud", "derived": true, "from": "confusionMatrix (2 classes, 100 examples)"})
	d := evaluation.deny with input as _in([pc]) with data.gatehouse.config.evaluation as {"required": {"precision": {"min": 0.8, "class": "fraud"}}}
	some v in d
	v.message == "precision (class fraud, dataset tx-2025, split test, slice overall) is 0.7, below the minimum of 0.8 in staging (derived from confusionMatrix (2 classes, 100 examples))"

	# without class, the per-class metric is not the overall precision
	d2 := evaluation.deny with input as _in([pc]) with data.gatehouse.config.evaluation as {"required": {"precision": {"min": 0.8}}}
	_rules(d2) == {"evaluation_metric_missing"}
}

# --- regression ---------------------------------------------------------------

test_no_regression_within_margin if {
	inp := _with_base(_good, [_m("accuracy", 0.935), _m("f1", 0.85), _m("log_loss", 0.205)])
	count(evaluation.deny) == 0 with input as inp
	count(evaluation.warn) == 0 with input as inp
}

test_regression_denies if {
	inp := _with_base(_good, [_m("accuracy", 0.96), _m("f1", 0.85)])
	d := evaluation.deny with input as inp
	_rules(d) == {"evaluation_regression"}
	some v in d
	v.message == "accuracy (dataset tx-2025, split test, slice overall) regressed: 0.93, production 0.96: worse by 0.03 (higher is better), more than the allowed 0.01 absolute"
}

# loss is lower-is-better: higher than production is worse, lower is not
test_lower_is_better_direction if {
	worse := _with_base(_good, [_m("log_loss", 0.15)])
	d := evaluation.deny with input as worse
	some v in d
	contains(v.message, "log_loss (dataset tx-2025, split test, slice overall) regressed: 0.21, production 0.15: worse by 0.06 (lower is better)")
	better := _with_base(_good, [_m("log_loss", 0.5)])
	count(evaluation.deny) == 0 with input as better
}

test_declared_lower_is_better if {
	inp := _with_base([_m("latency_ms", 120)], [_m("latency_ms", 100)])

	# unknown name: higher is better, so 120 is an improvement
	count(evaluation.deny) == 0 with input as inp
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as {"lower_is_better": ["latency_ms"]}
	_rules(d) == {"evaluation_regression"}

	# higher_is_better overrides the known list
	inp2 := _with_base([_m("error", 0.5)], [_m("error", 0.2)])
	count(evaluation.deny) == 1 with input as inp2
	count(evaluation.deny) == 0 with input as inp2 with data.gatehouse.config.evaluation as {"higher_is_better": ["error"]}
}

test_relative_margin if {
	inp := _with_base([_m("rmse", 10.4)], [_m("rmse", 10)])

	# 0.4 worse: within 5% of 10, not within the default 0.01 absolute
	count(evaluation.deny) == 1 with input as inp
	count(evaluation.deny) == 0 with input as inp with data.gatehouse.config.evaluation as {"max_regression": {"rmse": {"relative": 0.05}}}
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as {"max_regression": {"rmse": {"relative": 0.03}}}
	some v in d
	contains(v.message, "more than the allowed 3% relative")

	# both given: the larger allowance holds
	count(evaluation.deny) == 0 with input as inp with data.gatehouse.config.evaluation as {"max_regression": {"rmse": {"relative": 0.01, "absolute": 0.5}}}
}

# Two spellings of one metric in max_regression are a configuration error
# with both names, not an evaluation conflict.
test_max_regression_same_metric_twice if {
	inp := _with_base([_m("rmse", 10.4)], [_m("rmse", 10)])
	cfg := {"max_regression": {"RMSE": {"relative": 0.05}, "rmse": {"relative": 0.01}}}
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as cfg
	some v in d
	v.rule == "bad_param"
	contains(v.message, "RMSE and rmse")
}

test_compare_listed if {
	inp := _with_base(_good, [_m("accuracy", 0.99), _m("f1", 0.99)])
	d := evaluation.deny with input as inp with data.gatehouse.config.evaluation as {"compare": "listed", "max_regression": {"f1": {"absolute": 0.2}}}
	count(d) == 0
	d2 := evaluation.deny with input as inp with data.gatehouse.config.evaluation as {"compare": "listed", "max_regression": {"accuracy": {"absolute": 0.02}}}
	_rules(d2) == {"evaluation_regression"}
	w := evaluation.warn with input as inp with data.gatehouse.config.evaluation as {"compare": "listed"}
	_rules(w) == {"evaluation_baseline_unused"}
}

# a baseline measured on another dataset is not compared silently
test_baseline_other_dataset_warns_in_staging if {
	other := object.union(_m("accuracy", 0.99), {"dataset": "tx-2024"})
	inp := _with_base(_good, [other])
	count(evaluation.deny) == 0 with input as inp
	w := evaluation.warn with input as inp
	_rules(w) == {"evaluation_baseline_unmatched"}
	some v in w
	contains(v.message, "1 production metric(s) have no value on the same dataset, split, slice and class in this model's evaluation and were not compared: accuracy (dataset tx-2024, split test, slice overall)")
}

test_baseline_unmatched_denies_in_prod if {
	inp := object.union(_with_base(_good, [_ms("accuracy", 0.9, "EU")]), {"context": {"environment": "prod"}})
	d := evaluation.deny with input as inp
	_rules(d) == {"evaluation_baseline_unmatched"}

	# and warns when configured so
	count(evaluation.deny) == 0 with input as inp with data.gatehouse.config.evaluation as {"unmatched_baseline": "warn"}
}

test_require_baseline if {
	d := evaluation.deny with input as _in(_good) with data.gatehouse.config.evaluation as {"require_baseline": true}
	_rules(d) == {"evaluation_baseline_missing"}
	count(evaluation.deny) == 0 with input as _with_base(_good, [_m("f1", 0.85)]) with data.gatehouse.config.evaluation as {"require_baseline": true}
}

test_baseline_error_and_schema_deny if {
	inp := object.union(_in(_good), {"evidence": {"evaluation_baseline": {"error": "boom"}}})
	_rules(evaluation.deny) == {"evaluation_baseline_error"} with input as inp
	inp2 := object.union(_in(_good), {"evidence": {"evaluation_baseline": _ev([_m("accuracy", 0.99)])}})
	_rules(evaluation.deny) == {"evaluation_baseline_schema"} with input as inp2
}

# --- evidence and params ----------------------------------------------------------

test_missing_evidence_denies if {
	inp := {"subject": {"kind": "model", "ref": "m"}, "evidence": {}, "context": {}}
	_rules(evaluation.deny) == {"evidence_missing"} with input as inp
}

test_collector_error_denies if {
	inp := {"subject": {"kind": "model", "ref": "m"}, "evidence": {"evaluation": {"error": "no evaluation metrics in m"}}, "context": {}}
	_rules(evaluation.deny) == {"evidence_error"} with input as inp
}

test_no_metrics_and_schema_deny if {
	_rules(evaluation.deny) == {"evaluation_no_metrics"} with input as _in([])
	inp := object.union(_in(_good), {"evidence": {"evaluation": {"schema": "evaluation/v0"}}})

	# object.union merges: the metrics stay, the schema is wrong
	_rules(evaluation.deny) == {"evaluation_evidence_schema"} with input as inp
}

test_bad_params_deny if {
	some cfg in [
		{"required": {"accuracy": {"min": "0.9"}}},
		{"required": {"accuracy": {"minimum": 0.9}}},
		{"required": {"accuracy": {"min": 0.9, "max": 0.5}}},
		{"required": ["accuracy"]},
		{"max_regression": {"accuracy": {"absolute": -1}}},
		{"max_regression": {"accuracy": {}}},
		{"default_max_regression": {"percent": 1}},
		{"compare": "some"},
		{"lower_is_better": "loss"},
		{"require_baseline": "true"},
		{"unmatched_baseline": "ignore"},
	]
	d := evaluation.deny with input as _in(_good) with data.gatehouse.config.evaluation as cfg
	"bad_param" in _rules(d)
}

# the bad-param test above must not pass vacuously: a good config has none
test_good_params_no_bad_param if {
	cfg := {
		"required": {"accuracy": {"min": 0.9, "max": 1, "slice": "overall", "dataset": "tx-2025", "split": "test"}},
		"max_regression": {"accuracy": {"absolute": 0.01, "relative": 0.02}},
		"default_max_regression": {"relative": 0.05},
		"compare": "all", "lower_is_better": ["latency"], "higher_is_better": [],
		"require_baseline": false, "unmatched_baseline": "warn", "dataset": "tx", "split": "test",
	}
	d := evaluation.deny with input as _in(_good) with data.gatehouse.config.evaluation as cfg
	not "bad_param" in _rules(d)
}

# a name with many per-class values lists ten of them
test_missing_lists_at_most_ten if {
	per := [object.union(_m("precision", 0.9), {"class": sprintf("c%02d", [i])}) | some i in numbers.range(1, 12)]
	d := evaluation.deny with input as _in(per) with data.gatehouse.config.evaluation as {"required": {"precision": {"min": 0.5}}}
	some v in d
	v.rule == "evaluation_metric_missing"
	contains(v.message, "precision (class c10, dataset tx-2025, split test, slice overall); and 2 more)")
	not contains(v.message, "c11")
}
