package gatehouse.gates.max_size_test

import data.gatehouse.gates.max_size

test_small_passes if {
	count(max_size.deny) == 0 with input as {"evidence": {"model_size": {"bytes": 10}}}
}

test_large_denies if {
	some v in max_size.deny with input as {"evidence": {"model_size": {"bytes": 5000}}}
	v.rule == "too_large"
}

test_params_raise_the_limit if {
	count(max_size.deny) == 0 with input as {"evidence": {"model_size": {"bytes": 5000}}}
		with data.gatehouse.config.max_size as {"max_bytes": 10000}
}

test_missing_evidence_denies if {
	some v in max_size.deny with input as {"subject": {"kind": "model", "ref": "m"}, "evidence": {}}
	v.rule == "evidence_missing"
}
