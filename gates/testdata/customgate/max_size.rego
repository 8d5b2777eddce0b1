# METADATA
# title: Model size
# description: A model is no larger than the environment allows.
# custom:
#   evidence: [model_size]
#   params:
#     max_bytes: {type: integer, minimum: 0, description: "the largest model allowed, in bytes"}
package gatehouse.gates.max_size

import data.gatehouse.lib

p := lib.params("max_size", {"max_bytes": 1000})

deny contains v if some v in lib.evidence_denials("model_size")

deny contains v if {
	lib.evidence_ok("model_size")
	input.evidence.model_size.bytes > p.max_bytes
	v := {
		"rule": "too_large",
		"severity": "medium",
		"message": sprintf("the model is %d bytes, more than %d", [input.evidence.model_size.bytes, p.max_bytes]),
		"remediation": "quantise or prune the model, or raise params.max_size.max_bytes",
	}
}
