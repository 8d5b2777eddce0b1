# METADATA
# title: Model card
# description: A model ships with a card that states its intended use, training data, evaluation (with metrics), limitations and ethical considerations.
# custom:
#   evidence: [model_card]
#   params:
#     required:
#       type: array
#       description: the sections the card must have (default all five)
#       items: {enum: [intended_use, training_data, evaluation, limitations, ethical_considerations]}
#     enforce: {type: boolean, description: "deny gaps in every environment, not only prod (default false)"}
package gatehouse.gates.model_card

import data.gatehouse.lib

# Params (data.gatehouse.config.model_card):
#   required: the sections the card must have (default: all five)
#   enforce:  true denies what is missing in every environment; in "prod"
#             it is always enforced. Elsewhere gaps are warnings.
defaults := {
	"required": ["intended_use", "training_data", "evaluation", "limitations", "ethical_considerations"],
	"enforce": false,
}

p := lib.params("model_card", defaults)

ev := input.evidence.model_card

_enforce if input.context.environment == "prod"

_enforce if p.enforce == true

# A parameter that is not what it should be denies: "true" as a string
# must not mean warn-only, a required list that is no list must not mean
# that no section is required.
deny contains v if {
	not is_boolean(p.enforce)
	v := lib.bad_param("model_card", "enforce", p.enforce, "true or false")
}

deny contains v if {
	not is_array(p.required)
	v := lib.bad_param("model_card", "required", p.required, "a list of sections")
}

_titles := {
	"intended_use": "intended use",
	"training_data": "training data",
	"evaluation": "evaluation",
	"limitations": "limitations",
	"ethical_considerations": "ethical considerations",
}

_title(s) := object.get(_titles, s, s)

deny contains v if some v in lib.evidence_denials("model_card")

_found if ev.found == true

_source := object.get(ev, "source", "the model card")

# _location is the card's path (for SARIF), else its name.
_location := object.get(ev, "file", _source)

_gaps contains v if {
	lib.evidence_ok("model_card")
	not _found
	v := {
		"rule": "model_card_missing",
		"severity": "high",
		"message": sprintf("%s:%s has no model card (README.md or model_card.json)", [input.subject.kind, input.subject.ref]),
		"remediation": "add a model card: a README.md with the Hugging Face card sections, or a Model Card Toolkit model_card.json",
	}
}

_gaps contains v if {
	lib.evidence_ok("model_card")
	_found
	some s in p.required
	not ev.sections[s].present == true
	why := object.get(object.get(ev.sections, s, {}), "reason", "")
	v := {
		"rule": "model_card_section_missing",
		"severity": "medium",
		"message": trim_space(sprintf("%s has no %s section %s", [_source, _title(s), _paren(why)])),
		"remediation": sprintf("write the %s section of the model card", [_title(s)]),
		"location": _location,
	}
}

_gaps contains v if {
	lib.evidence_ok("model_card")
	_found
	"evaluation" in p.required
	ev.sections.evaluation.present == true
	count(object.get(ev, "metrics", [])) == 0
	v := {
		"rule": "model_card_no_metrics",
		"severity": "medium",
		"message": sprintf("%s has an evaluation section but no metric results", [_source]),
		"remediation": "add results: `model-index` in the card's front matter, a `- Metric: value` list under Evaluation, or quantitative_analysis.performance_metrics",
		"location": _location,
	}
}

_paren(s) := sprintf("(%s)", [s]) if s != ""

else := ""

deny contains v if {
	_enforce
	some v in _gaps
}

warn contains v if {
	not _enforce
	some v in _gaps
}
