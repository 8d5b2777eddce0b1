# METADATA
# title: Demo gate
# description: Denies evidence marked bad; a fixture for the engine's tests.
# custom:
#   evidence: [demo, extra]
#   params:
#     limit: {type: integer, minimum: 0}
package gatehouse.gates.demo

import data.gatehouse.lib

deny contains v if some v in lib.evidence_denials("demo")

deny contains v if {
	some item in input.evidence.demo.bad
	v := {
		"rule": "bad_item",
		"severity": "high",
		"message": sprintf("item %s is bad (limit %d)", [item, lib.params("demo", {"limit": 1}).limit]),
		"remediation": "remove it",
		"location": "data/items.txt:3",
	}
}

warn contains v if {
	input.evidence.demo.note
	v := {"rule": "note", "severity": "low", "message": input.evidence.demo.note}
}
