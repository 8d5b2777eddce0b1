# METADATA
# title: Fairness across groups
# description: A model's predictions show no gap between groups (demographic parity, equalized odds, equal opportunity) clearly past the environment's thresholds; gaps whose interval straddles a threshold warn; groups too small to judge warn (deny in prod).
# custom:
#   evidence: [fairness]
#   params:
#     thresholds:
#       type: object
#       description: "limits per gap: demographic_parity_ratio is a minimum (default 0.8, the four-fifths rule), the differences are maxima (equalized_odds_difference default 0.1)"
#       properties:
#         demographic_parity_ratio: {type: number, minimum: 0, maximum: 1}
#         demographic_parity_difference: {type: number, minimum: 0, maximum: 1}
#         equal_opportunity_difference: {type: number, minimum: 0, maximum: 1}
#         equalized_odds_difference: {type: number, minimum: 0, maximum: 1}
#     min_group_size: {type: integer, minimum: 1, description: "groups with fewer rows are too small to judge (default 30; the collector computes with it, and evidence computed with a smaller one denies)"}
#     required_groups:
#       type: array
#       description: group columns the evidence must have and the gate judges (default none; without any, every group column in the evidence is judged)
#       items: {type: string}
#     small_groups: {type: string, enum: [warn, deny], description: "groups too small to judge, and gaps that cannot be computed: warn, or deny (default deny in prod, warn elsewhere)"}
#     intersectional: {type: boolean, description: "also judge the intersection of the group columns (default false)"}
#     label: {type: string, description: "column of true labels in predictions.* beside the model (read by the collector; default label)"}
#     prediction: {type: string, description: "column of predicted labels (read by the collector; default prediction)"}
#     score: {type: string, description: "column of scores in [0,1] for ROC AUC (read by the collector; optional)"}
#     groups:
#       type: array
#       description: group columns the collector reads besides required_groups
#       items: {type: string}
#     positive: {type: string, description: "the positive label value (read by the collector; default \"1\")"}
#     missing: {type: string, enum: [group, error], description: "empty group values: their own group (default) or an error (read by the collector)"}
package gatehouse.gates.fairness

import data.gatehouse.lib

# Params (data.gatehouse.config.fairness), per environment in gatehouse.yaml:
#   thresholds:      per gap; demographic_parity_ratio is a minimum, the
#                    differences are maxima. Unset gaps are not judged;
#                    defaults: ratio >= 0.8 and equalized odds <= 0.1.
#   min_group_size:  30
#   required_groups: group columns that must be in the evidence (and are
#                    judged); none: every group column in the evidence is.
#   small_groups:    warn or deny; unset: deny in prod, warn elsewhere.
#   intersectional:  judge the intersection of the group columns too.
# A gap denies only when its whole confidence interval is past the
# threshold; an interval that straddles the threshold warns.
defaults := {
	"thresholds": {"demographic_parity_ratio": 0.8, "equalized_odds_difference": 0.1},
	"min_group_size": 30,
	"required_groups": [],
	"intersectional": false,
}

p := lib.params("fairness", defaults)

ev := input.evidence.fairness

_env := object.get(input, ["context", "environment"], "environment")

# The ratio is a minimum; every other gap a maximum.
_minimum_gaps := {"demographic_parity_ratio"}

_known_gaps := {"demographic_parity_ratio", "demographic_parity_difference", "equal_opportunity_difference", "equalized_odds_difference"}

_titles := {
	"demographic_parity_ratio": "demographic parity ratio",
	"demographic_parity_difference": "demographic parity difference",
	"equal_opportunity_difference": "equal opportunity difference",
	"equalized_odds_difference": "equalized odds difference",
}

_rates := {
	"demographic_parity_ratio": "selection rate",
	"demographic_parity_difference": "selection rate",
	"equal_opportunity_difference": "true positive rate",
}

# small_groups: the param, else deny in prod and warn elsewhere.
_small_mode := m if {
	m := data.gatehouse.config.fairness.small_groups
} else := "deny" if {
	_env == "prod"
} else := "warn"

deny contains v if some v in lib.evidence_denials("fairness")

# --- params (configuration loading checks them first; this keeps the gate
# fail closed under opa test and with data written by hand) ------------------

deny contains v if {
	some k, t in p.thresholds
	not _good_threshold(k, t)
	v := lib.bad_param("fairness", sprintf("thresholds.%s", [k]), t, sprintf("a number between 0 and 1 for one of %v", [concat(", ", sort(_known_gaps))]))
}

_good_threshold(k, t) if {
	k in _known_gaps
	is_number(t)
	t >= 0
	t <= 1
}

deny contains v if {
	not is_number(p.min_group_size)
	v := lib.bad_param("fairness", "min_group_size", p.min_group_size, "a whole number of rows, 1 or more")
}

deny contains v if {
	not is_array(p.required_groups)
	v := lib.bad_param("fairness", "required_groups", p.required_groups, "a list of column names")
}

deny contains v if {
	not _small_mode in {"warn", "deny"}
	v := lib.bad_param("fairness", "small_groups", _small_mode, "warn or deny")
}

deny contains v if {
	not is_boolean(p.intersectional)
	v := lib.bad_param("fairness", "intersectional", p.intersectional, "true or false")
}

# --- evidence shape ----------------------------------------------------------

deny contains v if {
	lib.evidence_ok("fairness")
	object.get(ev, "schema", "") != "fairness/v1"
	v := {
		"rule": "fairness_evidence_schema",
		"severity": "high",
		"message": sprintf("fairness evidence has schema %v, want \"fairness/v1\"", [object.get(ev, "schema", null)]),
		"remediation": "produce the evidence with `gatehouse scan fairness --format json` of this gatehouse version",
	}
}

_evidence_min := object.get(ev, ["settings", "min_group_size"], 0)

# Evidence computed with a smaller minimum group size judged groups this
# environment calls too small.
deny contains v if {
	lib.evidence_ok("fairness")
	is_number(p.min_group_size)
	not _evidence_min >= p.min_group_size
	v := {
		"rule": "fairness_min_group_size",
		"severity": "high",
		"message": sprintf("the fairness evidence was computed with a minimum group size of %v; %s requires %v", [_evidence_min, _env, p.min_group_size]),
		"remediation": sprintf("scan again with `gatehouse scan fairness --min-group-size %v`, or let the collector compute it from predictions.* beside the model", [p.min_group_size]),
	}
}

_groupings := [g |
	some g in object.get(ev, "groupings", [])
	is_object(g)
]

_single_columns := {c |
	some g in _groupings
	not g.intersection == true
	count(g.columns) == 1
	c := g.columns[0]
}

deny contains v if {
	lib.evidence_ok("fairness")
	is_array(p.required_groups)
	some c in p.required_groups
	not c in _single_columns
	v := {
		"rule": "fairness_group_missing",
		"severity": "high",
		"message": sprintf("the fairness evidence has no metrics by %q, which %s requires (it has: %s)", [c, _env, concat(", ", sort(_single_columns))]),
		"remediation": sprintf("add the %q column to the predictions file and scan with --group %s (the collector reads params.fairness.required_groups)", [c, c]),
	}
}

# _judged: the groupings the gate judges: those of the required columns
# (every single column when none is required), and the intersection when
# intersectional is set.
_judged contains g if {
	some g in _groupings
	not g.intersection == true
	_required_column(g.columns[0])
}

_judged contains g if {
	p.intersectional == true
	some g in _groupings
	g.intersection == true
}

_required_column(c) if {
	is_array(p.required_groups)
	count(p.required_groups) == 0
	is_string(c)
}

_required_column(c) if {
	is_array(p.required_groups)
	c in p.required_groups
}

# --- gaps ----------------------------------------------------------------------

_thresholds := {k: t | some k, t in p.thresholds; _good_threshold(k, t)}

_gap(g, k) := object.get(g, ["gaps", k], {})

_computed(gap) if {
	is_number(gap.value)
	is_array(gap.ci)
	count(gap.ci) == 2
	is_number(gap.ci[0])
	is_number(gap.ci[1])
}

# _verdict: "deny" when the whole interval is past the threshold, "warn"
# when it straddles it, "pass" when it is wholly on the right side.
_verdict(k, gap, t) := "deny" if {
	k in _minimum_gaps
	gap.ci[1] < t
} else := "warn" if {
	k in _minimum_gaps
	gap.ci[0] < t
} else := "deny" if {
	not k in _minimum_gaps
	gap.ci[0] > t
} else := "warn" if {
	not k in _minimum_gaps
	gap.ci[1] > t
} else := "pass"

_comparison(k) := "below the minimum of" if k in _minimum_gaps

else := "above the maximum of"

_ends(gap) := sprintf(": %s at %s, %s at %s%s", [
	object.get(gap, ["max", "group"], "?"), _num(object.get(gap, ["max", "rate"], "?")),
	object.get(gap, ["min", "group"], "?"), _num(object.get(gap, ["min", "rate"], "?")),
	_basis(gap),
])

_basis(gap) := sprintf(" (%s)", [_rate_name(gap.basis)]) if is_string(gap.basis)

else := ""

_rate_name(b) := "true positive rates" if b == "tpr"

else := "false positive rates" if b == "fpr"

else := b

_rate_of(k) := sprintf(" (%s)", [_rates[k]]) if _rates[k]

else := ""

_finding(g, k, gap, t, verdict) := {
	"rule": k,
	"severity": _severity(verdict),
	"message": sprintf("%s: %s %s (%v%% interval %s to %s) %s %s %v%s%s", [
		g.name, _titles[k], _num(gap.value), _confidence, _num(gap.ci[0]), _num(gap.ci[1]),
		_is_or_may_be(verdict), _comparison(k), t, _rate_of(k), _ends(gap),
	]),
	"remediation": _remediation(verdict, k),
}

# _num: three decimals for messages. OPA keeps a whole number (a ratio of
# exactly 1) as an integer, which %.3f cannot print.
_num(x) := sprintf("%v.000", [floor(x)]) if {
	is_number(x)
	x == floor(x)
}

else := sprintf("%.3f", [x]) if is_number(x)

else := sprintf("%v", [x])

_confidence := round(object.get(ev, ["settings", "confidence"], 0.95) * 100)

_is_or_may_be("deny") := "is clearly"

_is_or_may_be("warn") := "may be"

_severity("deny") := "high"

_severity("warn") := "medium"

_remediation("deny", k) := sprintf("mitigate the disparity (reweigh or resample the training data, adjust per-group thresholds, or retrain) and measure again; a different params.fairness.thresholds.%s needs the compliance officer's approval", [k])

_remediation("warn", k) := "the data cannot tell whether the threshold is met: evaluate on more examples of the groups named (a narrower interval), or mitigate the disparity"

deny contains v if {
	lib.evidence_ok("fairness")
	some g in _judged
	some k, t in _thresholds
	gap := _gap(g, k)
	_computed(gap)
	_verdict(k, gap, t) == "deny"
	v := _finding(g, k, gap, t, "deny")
}

warn contains v if {
	lib.evidence_ok("fairness")
	some g in _judged
	some k, t in _thresholds
	gap := _gap(g, k)
	_computed(gap)
	_verdict(k, gap, t) == "warn"
	v := _finding(g, k, gap, t, "warn")
}

# --- what could not be judged ----------------------------------------------------

_small(g) := sort([sprintf("%s (%v rows)", [x.name, x.count]) |
	some x in object.get(g, "groups", [])
	x.too_small == true
])

_small_finding(g) := {
	"rule": "fairness_small_groups",
	"severity": "medium",
	"message": sprintf("%s: group(s) too small to judge (fewer than %v rows), left out of every gap: %s", [g.name, _evidence_min, concat(", ", _small(g))]),
	"remediation": "evaluate on more examples of these groups, or merge them into larger groups; a gate that cannot see a group cannot protect it",
}

_uncomputed(g) := sort([sprintf("%s (%s)", [_titles[k], object.get(gap, "reason", "no value")]) |
	some k, _ in _thresholds
	gap := _gap(g, k)
	not _computed(gap)
])

_uncomputed_finding(g) := {
	"rule": "fairness_not_computed",
	"severity": "medium",
	"message": sprintf("%s: gap(s) with a threshold could not be computed: %s", [g.name, concat("; ", _uncomputed(g))]),
	"remediation": "evaluate on predictions where at least two groups have enough rows, positives and negatives",
}

deny contains v if {
	lib.evidence_ok("fairness")
	_small_mode == "deny"
	some g in _judged
	count(_small(g)) > 0
	v := _small_finding(g)
}

warn contains v if {
	lib.evidence_ok("fairness")
	_small_mode == "warn"
	some g in _judged
	count(_small(g)) > 0
	v := _small_finding(g)
}

deny contains v if {
	lib.evidence_ok("fairness")
	_small_mode == "deny"
	some g in _judged
	count(_uncomputed(g)) > 0
	v := _uncomputed_finding(g)
}

warn contains v if {
	lib.evidence_ok("fairness")
	_small_mode == "warn"
	some g in _judged
	count(_uncomputed(g)) > 0
	v := _uncomputed_finding(g)
}

# No grouping judged at all (evidence without groupings): nothing was checked.
deny contains v if {
	lib.evidence_ok("fairness")
	count(_judged) == 0
	v := {
		"rule": "fairness_nothing_judged",
		"severity": "high",
		"message": "the fairness evidence has no grouping this gate judges: nothing about the model's fairness was checked",
		"remediation": "scan with --group COL for each sensitive feature (and set params.fairness.required_groups)",
	}
}
