# METADATA
# title: Evaluation thresholds and no regression
# description: A model's evaluation metrics meet the environment's minimums and maximums per dataset slice, and, given the production model's evaluation as a baseline, no metric is worse than production by more than the allowed margin.
# custom:
#   evidence: [evaluation, evaluation_baseline]
#   params:
#     required:
#       type: object
#       description: "metrics that must be in the evidence, by name, each with optional min, max and the slice (default overall), dataset, split or class it is measured on, e.g. {accuracy: {min: 0.9}, f1: {min: 0.8, slice: overall}}"
#       additionalProperties:
#         type: object
#         properties:
#           min: {type: number}
#           max: {type: number}
#           slice: {type: string}
#           dataset: {type: string}
#           split: {type: string}
#           class: {type: string}
#     max_regression:
#       type: object
#       description: "per metric name, how much worse than the baseline it may be: absolute (in the metric's units) and/or relative (a fraction of the baseline value); when both are given the larger allowance holds"
#       additionalProperties:
#         type: object
#         properties:
#           absolute: {type: number, minimum: 0}
#           relative: {type: number, minimum: 0}
#     default_max_regression:
#       type: object
#       description: "the allowance of every baseline metric max_regression does not name (default {absolute: 0.01})"
#       properties:
#         absolute: {type: number, minimum: 0}
#         relative: {type: number, minimum: 0}
#     compare: {type: string, enum: [all, listed], description: "which baseline metrics are compared: all (default) or only those named in max_regression"}
#     lower_is_better:
#       type: array
#       description: "metric names for which lower is better, besides the known ones (loss, log_loss, error, error_rate, fpr, fnr, mse, rmse, mae, mape, wer, cer, perplexity, brier_score, ece, names ending in _loss or _error)"
#       items: {type: string}
#     higher_is_better:
#       type: array
#       description: metric names for which higher is better even if the known list says otherwise
#       items: {type: string}
#     require_baseline: {type: boolean, description: "deny when no evaluation_baseline evidence is given (default false)"}
#     unmatched_baseline: {type: string, enum: [warn, deny], description: "a baseline metric the candidate has no value for on the same dataset, split, slice and class: warn, or deny (default deny in prod, warn elsewhere)"}
#     dataset: {type: string, description: "the dataset name of metrics whose source names none (read by the collector, e.g. from a KFP artifact)"}
#     split: {type: string, description: "the split of metrics whose source names none (read by the collector)"}
package gatehouse.gates.evaluation

import data.gatehouse.lib

# Params (data.gatehouse.config.evaluation), per environment in gatehouse.yaml.
# Object-valued params are read as given, not merged with defaults (a
# max_regression of {accuracy: ...} must not keep a default entry).
_cfg := c if {
	c := data.gatehouse.config.evaluation
} else := {}

_required := object.get(_cfg, "required", {})

_max_regression := object.get(_cfg, "max_regression", {})

_default_margin := object.get(_cfg, "default_max_regression", {"absolute": 0.01})

_compare := object.get(_cfg, "compare", "all")

_lower_param := object.get(_cfg, "lower_is_better", [])

_higher_param := object.get(_cfg, "higher_is_better", [])

_require_baseline := object.get(_cfg, "require_baseline", false)

_env := object.get(input, ["context", "environment"], "environment")

_unmatched_mode := m if {
	m := _cfg.unmatched_baseline
} else := "deny" if {
	_env == "prod"
} else := "warn"

ev := input.evidence.evaluation

base := input.evidence.evaluation_baseline

deny contains v if some v in lib.evidence_denials("evaluation")

# --- params (configuration loading checks them first; this keeps the gate
# fail closed under opa test and with data written by hand) ------------------

deny contains v if {
	not is_object(_required)
	v := lib.bad_param("evaluation", "required", _required, "an object of metric name to {min, max, slice, dataset, split, class}")
}

_requirement_keys := {"min", "max", "slice", "dataset", "split", "class"}

deny contains v if {
	is_object(_required)
	some name, r in _required
	not _good_requirement(r)
	v := lib.bad_param("evaluation", sprintf("required.%s", [name]), r, "{min: number, max: number, slice/dataset/split/class: string}, min not above max")
}

_good_requirement(r) if {
	is_object(r)
	every k, x in r {
		k in _requirement_keys
		_typed(k, x)
	}
	not _min_above_max(r)
}

_typed(k, x) if {
	k in {"min", "max"}
	is_number(x)
}

_typed(k, x) if {
	not k in {"min", "max"}
	is_string(x)
}

_min_above_max(r) if r.min > r.max

deny contains v if {
	not is_object(_max_regression)
	v := lib.bad_param("evaluation", "max_regression", _max_regression, "an object of metric name to {absolute, relative}")
}

deny contains v if {
	is_object(_max_regression)
	some name, m in _max_regression
	not _good_margin(m)
	v := lib.bad_param("evaluation", sprintf("max_regression.%s", [name]), m, "{absolute: number >= 0, relative: number >= 0}, at least one")
}

# Metric names are compared without case, so two keys that differ only in
# case name one metric twice: which allowance holds would be a guess.
deny contains v if {
	is_object(_max_regression)
	some a, _ in _max_regression
	some b, _ in _max_regression
	a < b
	lower(a) == lower(b)
	v := lib.bad_param("evaluation", "max_regression", sprintf("%v and %v", [a, b]), "one entry per metric (names are compared without case)")
}

deny contains v if {
	not _good_margin(_default_margin)
	v := lib.bad_param("evaluation", "default_max_regression", _default_margin, "{absolute: number >= 0, relative: number >= 0}, at least one")
}

_good_margin(m) if {
	is_object(m)
	count(m) > 0
	every k, x in m {
		k in {"absolute", "relative"}
		is_number(x)
		x >= 0
	}
}

deny contains v if {
	not _compare in {"all", "listed"}
	v := lib.bad_param("evaluation", "compare", _compare, "all or listed")
}

deny contains v if {
	some key, x in {"lower_is_better": _lower_param, "higher_is_better": _higher_param}
	not _string_list(x)
	v := lib.bad_param("evaluation", key, x, "a list of metric names")
}

_string_list(x) if {
	is_array(x)
	every e in x {
		is_string(e)
	}
}

deny contains v if {
	not is_boolean(_require_baseline)
	v := lib.bad_param("evaluation", "require_baseline", _require_baseline, "true or false")
}

deny contains v if {
	not _unmatched_mode in {"warn", "deny"}
	v := lib.bad_param("evaluation", "unmatched_baseline", _unmatched_mode, "warn or deny")
}

# --- evidence shape ----------------------------------------------------------

deny contains v if {
	lib.evidence_ok("evaluation")
	object.get(ev, "schema", "") != "evaluation/v1"
	v := {
		"rule": "evaluation_evidence_schema",
		"severity": "high",
		"message": sprintf("evaluation evidence has schema %v, want \"evaluation/v1\"", [object.get(ev, "schema", null)]),
		"remediation": "produce the evidence with `gatehouse scan evaluation --format json` of this gatehouse version",
	}
}

_metrics := [m |
	some m in object.get(ev, "metrics", [])
	is_object(m)
	is_string(m.name)
	is_number(m.value)
]

deny contains v if {
	lib.evidence_ok("evaluation")
	count(_metrics) == 0
	v := {
		"rule": "evaluation_no_metrics",
		"severity": "high",
		"message": "the evaluation evidence holds no metrics: nothing about the model's quality was checked",
		"remediation": "evaluate the model and put the results beside it (metrics.json, evaluation.json or a KFP executor_output.json), or in its model card's model-index",
	}
}

# --- required metrics ----------------------------------------------------------

# _where describes what a metric was measured on, for messages.
_where(m) := sprintf("%s (%s)", [m.name, concat(", ", _where_parts(m))])

_where_parts(m) := array.concat(
	array.concat(
		[sprintf("class %s", [c]) | c := object.get(m, "class", ""); c != ""],
		array.concat(
			[sprintf("dataset %s", [d]) | d := object.get(m, "dataset", ""); d != ""],
			[sprintf("split %s", [s]) | s := object.get(m, "split", ""); s != ""],
		),
	),
	[sprintf("slice %s", [object.get(m, "slice", "overall")])],
)

_num(x) := sprintf("%.4g", [x]) if is_number(x)

else := sprintf("%v", [x])

# _meets(m, name, r): metric m is what requirement r of name asks about.
_meets(m, name, r) if {
	lower(m.name) == lower(name)
	object.get(m, "slice", "overall") == object.get(r, "slice", "overall")
	object.get(m, "class", "") == object.get(r, "class", "")
	_same_if_set(m, r, "dataset")
	_same_if_set(m, r, "split")
}

_same_if_set(_, r, k) if not r[k]

_same_if_set(m, r, k) if object.get(m, k, "") == r[k]

_requirement_text(name, r) := sprintf("%s (%s)", [name, concat(", ", [sprintf("%s %v", [k, r[k]]) |
	some k in ["class", "dataset", "split", "slice"]
	r[k]
])]) if {
	count({k | some k in ["class", "dataset", "split", "slice"]; r[k]}) > 0
} else := sprintf("%s (slice overall)", [name])

_has_name(name) := sort({_where(m) | some m in _metrics; lower(m.name) == lower(name)})

deny contains v if {
	lib.evidence_ok("evaluation")
	is_object(_required)
	some name, r in _required
	_good_requirement(r)
	count([m | some m in _metrics; _meets(m, name, r)]) == 0
	v := {
		"rule": "evaluation_metric_missing",
		"severity": "high",
		"message": sprintf("the evaluation has no %s, which %s requires%s", [_requirement_text(name, r), _env, _has_text(name)]),
		"remediation": sprintf("report %s on the slice named (a metric's slice is \"overall\" unless its source names one), or fix params.evaluation.required.%s", [name, name]),
	}
}

_has_text(name) := sprintf(" (it has %s%s)", [concat("; ", array.slice(_has_name(name), 0, 10)), _more(count(_has_name(name)))]) if count(_has_name(name)) > 0

else := ""

deny contains v if {
	lib.evidence_ok("evaluation")
	is_object(_required)
	some name, r in _required
	_good_requirement(r)
	some m in _metrics
	_meets(m, name, r)
	is_number(r.min)
	m.value < r.min
	v := _threshold_finding(m, "below the minimum", r.min, name)
}

deny contains v if {
	lib.evidence_ok("evaluation")
	is_object(_required)
	some name, r in _required
	_good_requirement(r)
	some m in _metrics
	_meets(m, name, r)
	is_number(r.max)
	m.value > r.max
	v := _threshold_finding(m, "above the maximum", r.max, name)
}

_threshold_finding(m, what, limit, name) := {
	"rule": "evaluation_threshold",
	"severity": "high",
	"message": sprintf("%s is %s, %s of %s in %s%s", [_where(m), _num(m.value), what, _num(limit), _env, _derived_text(m)]),
	"remediation": sprintf("improve the model and evaluate it again; a different params.evaluation.required.%s needs the model owner's and compliance officer's approval", [name]),
}

_derived_text(m) := sprintf(" (derived from %s)", [m.from]) if {
	m.derived == true
	is_string(m.from)
} else := ""

# --- no regression against the production model ----------------------------------

deny contains v if {
	input.evidence.evaluation_baseline.error
	v := {
		"rule": "evaluation_baseline_error",
		"severity": "high",
		"message": sprintf("the production model's evaluation (evaluation_baseline) could not be read: %v", [base.error]),
		"remediation": "pass --evidence evaluation_baseline=FILE with the production model's evaluation (the output of `gatehouse scan evaluation --format json`, or its metrics file)",
	}
}

_baseline_ok if {
	base
	not base.error
}

deny contains v if {
	_baseline_ok
	object.get(base, "schema", "") != "evaluation_baseline/v1"
	v := {
		"rule": "evaluation_baseline_schema",
		"severity": "high",
		"message": sprintf("evaluation_baseline evidence has schema %v, want \"evaluation_baseline/v1\"", [object.get(base, "schema", null)]),
		"remediation": "pass the production model's evaluation with --evidence evaluation_baseline=FILE: gatehouse reads it as evaluation_baseline/v1",
	}
}

deny contains v if {
	_require_baseline == true
	not input.evidence.evaluation_baseline
	v := {
		"rule": "evaluation_baseline_missing",
		"severity": "high",
		"message": sprintf("%s requires comparing the model with the production model's evaluation, and none was given", [_env]),
		"remediation": "pass --evidence evaluation_baseline=FILE with the production model's evaluation (the output of `gatehouse scan evaluation --format json` for it)",
	}
}

_base_metrics := [m |
	_baseline_ok
	object.get(base, "schema", "") == "evaluation_baseline/v1"
	some m in object.get(base, "metrics", [])
	is_object(m)
	is_string(m.name)
	is_number(m.value)
]

_key(m) := [lower(m.name), object.get(m, "dataset", ""), object.get(m, "split", ""), object.get(m, "slice", "overall"), object.get(m, "class", "")]

_candidate := {_key(m): m.value | some m in _metrics}

# _margin(name): the allowance of a metric, or undefined when it is not compared.
_margin(name) := _max_regression[k] if {
	# The first spelling in order: two keys naming the same metric in
	# different case are refused below, but must not make this conflict.
	keys := sort([k | some k, _ in _max_regression; lower(k) == name])
	count(keys) > 0
	k := keys[0]
} else := _default_margin if {
	_compare == "all"
}

_known_lower := {
	"loss", "log_loss", "logloss", "error", "error_rate", "fpr", "false_positive_rate",
	"fnr", "false_negative_rate", "mse", "rmse", "mae", "mape", "smape", "wer", "cer",
	"perplexity", "brier_score", "ece", "expected_calibration_error",
}

_lower_names := {lower(n) | some n in _lower_param}

_higher_names := {lower(n) | some n in _higher_param}

_lower_is_better(name) if name in _lower_names

_lower_is_better(name) if {
	not name in _higher_names
	name in _known_lower
}

_lower_is_better(name) if {
	not name in _higher_names
	endswith(name, "_loss")
}

_lower_is_better(name) if {
	not name in _higher_names
	endswith(name, "_error")
}

# _worse(name, cand, prod): how much worse cand is than prod (negative when better).
_worse(name, cand, prod) := cand - prod if _lower_is_better(name)

else := prod - cand

_allowed(margin, prod) := max([
	object.get(margin, "absolute", 0),
	object.get(margin, "relative", 0) * abs(prod),
])

_allowance_text(margin) := concat(" or ", array.concat(
	[sprintf("%v absolute", [a]) | a := margin.absolute],
	[sprintf("%v%% relative", [r * 100]) | r := margin.relative],
))

_direction(name) := "lower is better" if _lower_is_better(name)

else := "higher is better"

deny contains v if {
	some b in _base_metrics
	name := lower(b.name)
	margin := _margin(name)
	_good_margin(margin)
	cand := _candidate[_key(b)]
	worse := _worse(name, cand, b.value)
	worse > _allowed(margin, b.value)
	v := {
		"rule": "evaluation_regression",
		"severity": "high",
		"message": sprintf("%s regressed: %s, production %s: worse by %s (%s), more than the allowed %s", [
			_where(b), _num(cand), _num(b.value), _num(worse), _direction(name), _allowance_text(margin),
		]),
		"remediation": sprintf("improve the model until it is no worse than production, or raise params.evaluation.max_regression.%s with the model owner's approval", [name]),
	}
}

# Baseline metrics with no counterpart in the candidate's evaluation (a
# different dataset, split, slice or class, or not reported): not compared,
# and never silently.
_unmatched := sort([_where(b) |
	some b in _base_metrics
	_good_margin(_margin(lower(b.name)))
	not _candidate[_key(b)]
])

_unmatched_finding := {
	"rule": "evaluation_baseline_unmatched",
	"severity": _unmatched_severity,
	"message": sprintf("%d production metric(s) have no value on the same dataset, split, slice and class in this model's evaluation and were not compared: %s%s", [
		count(_unmatched), concat("; ", array.slice(_unmatched, 0, 10)), _more(count(_unmatched)),
	]),
	"remediation": "evaluate the model on the production model's datasets and slices (name them the same), or compare only the metrics both have with params.evaluation.compare: listed",
}

_more(n) := sprintf("; and %d more", [n - 10]) if n > 10

else := ""

_unmatched_severity := "high" if _unmatched_mode == "deny"

else := "medium"

deny contains _unmatched_finding if {
	_unmatched_mode == "deny"
	count(_unmatched) > 0
}

warn contains _unmatched_finding if {
	_unmatched_mode == "warn"
	count(_unmatched) > 0
}

# A baseline none of whose metrics is compared judged nothing.
warn contains v if {
	_baseline_ok
	count(_base_metrics) > 0
	count([b | some b in _base_metrics; _good_margin(_margin(lower(b.name)))]) == 0
	v := {
		"rule": "evaluation_baseline_unused",
		"severity": "medium",
		"message": "no metric of the production model's evaluation is named in params.evaluation.max_regression (compare: listed): nothing was compared",
		"remediation": "name the metrics to compare in params.evaluation.max_regression, or set compare: all",
	}
}
