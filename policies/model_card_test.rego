package gatehouse.gates.model_card_test

import data.gatehouse.gates.model_card

_all := ["intended_use", "training_data", "evaluation", "limitations", "ethical_considerations"]

_present := {"present": true, "source": "README.md section: x", "excerpt": "text"}

_card(absent, metrics) := {
	"schema": "model_card/v1",
	"found": true,
	"source": "README.md",
	"file": "models/m/README.md",
	"sections": {s: sec |
		some s in _all
		sec := _sec(s, absent)
	},
	"metrics": metrics,
}

_sec(s, absent) := {"present": false, "reason": "heading \"Uses\" holds only a placeholder or too little text"} if s in absent

else := _present

_m := [{"name": "accuracy", "value": 0.9, "source": "README.md front matter: model-index"}]

_in(card, env) := {
	"subject": {"kind": "model", "ref": "models/m"},
	"evidence": {"model_card": card},
	"context": {"environment": env},
}

_rules(set) := {v.rule | some v in set}

test_complete_card_passes_everywhere if {
	every env in ["dev", "prod"] {
		count(model_card.deny) == 0 with input as _in(_card(set(), _m), env)
		count(model_card.warn) == 0 with input as _in(_card(set(), _m), env)
	}
}

test_missing_evidence_denies if {
	_rules(model_card.deny) == {"evidence_missing"} with input as {"subject": {"kind": "model", "ref": "m"}, "evidence": {}, "context": {"environment": "dev"}}
}

test_errored_evidence_denies if {
	inp := _in({"error": "model card: stat models/m: no such file"}, "dev")
	_rules(model_card.deny) == {"evidence_error"} with input as inp
	count(model_card.warn) == 0 with input as inp
}

test_no_card_warns_outside_prod if {
	inp := _in({"schema": "model_card/v1", "found": false, "sections": {}, "metrics": []}, "dev")
	count(model_card.deny) == 0 with input as inp
	_rules(model_card.warn) == {"model_card_missing"} with input as inp
}

test_no_card_denies_in_prod if {
	inp := _in({"schema": "model_card/v1", "found": false, "sections": {}, "metrics": []}, "prod")
	d := model_card.deny with input as inp
	_rules(d) == {"model_card_missing"}
	some v in d
	v.severity == "high"
	count(model_card.warn) == 0 with input as inp
}

test_missing_sections_warn_outside_prod if {
	inp := _in(_card({"intended_use", "ethical_considerations"}, _m), "staging")
	count(model_card.deny) == 0 with input as inp
	w := model_card.warn with input as inp
	count(w) == 2
	_rules(w) == {"model_card_section_missing"}
	msgs := {v.message | some v in w}
	msgs == {
		"README.md has no intended use section (heading \"Uses\" holds only a placeholder or too little text)",
		"README.md has no ethical considerations section (heading \"Uses\" holds only a placeholder or too little text)",
	}
	every v in w { v.location == "models/m/README.md" }
}

test_missing_sections_deny_in_prod if {
	inp := _in(_card({"limitations"}, _m), "prod")
	d := model_card.deny with input as inp
	_rules(d) == {"model_card_section_missing"}
	count(d) == 1
}

test_enforce_param_denies_in_any_environment if {
	inp := _in(_card({"limitations"}, _m), "dev")
	_rules(model_card.deny) == {"model_card_section_missing"} with input as inp with data.gatehouse.config.model_card as {"enforce": true}
}

test_required_param_narrows_the_sections if {
	inp := _in(_card({"ethical_considerations", "training_data"}, _m), "prod")
	cfg := {"required": ["intended_use", "evaluation", "limitations"]}
	count(model_card.deny) == 0 with input as inp with data.gatehouse.config.model_card as cfg
	count(model_card.warn) == 0 with input as inp with data.gatehouse.config.model_card as cfg
}

test_unknown_required_section_fails_closed if {
	inp := _in(_card(set(), _m), "prod")
	d := model_card.deny with input as inp with data.gatehouse.config.model_card as {"required": ["carbon_footprint"]}
	_rules(d) == {"model_card_section_missing"}
}

test_section_without_presence_is_missing if {
	card := object.union(_card(set(), _m), {"sections": {"intended_use": {"present": "yes"}}})
	w := model_card.warn with input as _in(card, "dev")

	# object.union merges nested objects: only intended_use changes.
	{v.message | some v in w} == {"README.md has no intended use section"}
}

test_evaluation_needs_a_metric if {
	inp := _in(_card(set(), []), "prod")
	d := model_card.deny with input as inp
	_rules(d) == {"model_card_no_metrics"}
	w := model_card.warn with input as _in(_card(set(), []), "dev")
	_rules(w) == {"model_card_no_metrics"}
}

test_no_metrics_needed_when_evaluation_not_required if {
	inp := _in(_card(set(), []), "prod")
	count(model_card.deny) == 0 with input as inp with data.gatehouse.config.model_card as {"required": ["intended_use"]}
}

test_missing_evaluation_is_one_finding if {
	d := model_card.deny with input as _in(_card({"evaluation"}, []), "prod")
	_rules(d) == {"model_card_section_missing"}
	count(d) == 1
}

test_location_falls_back_to_the_card_name if {
	card := json.remove(_card({"limitations"}, _m), ["file"])
	w := model_card.warn with input as _in(card, "dev")
	{v.location | some v in w} == {"README.md"}
}

# enforce "true" as a string, or a required that is no list, must not turn
# gaps into warnings or drop every section: the gate denies (bad_param).
test_bad_params_deny if {
	inp := _in(_card(["limitations"], _m), "dev")
	every cfg in [{"enforce": "true"}, {"enforce": 1}, {"required": "intended_use"}] {
		some v in model_card.deny with input as inp with data.gatehouse.config.model_card as cfg
		v.rule == "bad_param"
	}
}
