# METADATA
# description: Helpers shared by the default gates. Not a gate itself.
package gatehouse.lib

# params merges a gate's defaults with data.gatehouse.config.<gate>, so the
# gates work with no configuration at all (and under `opa test`).
# (It reads data.gatehouse.config[gate] directly: a lookup through all of
# `data` would make every gate that calls it recursive.)
params(gate, defaults) := p if {
	p := object.union(defaults, data.gatehouse.config[gate])
} else := defaults

# evidence_denials fails closed: a deny when evidence `name` is missing or
# its collector recorded an error. (An else chain, not a union of
# comprehensions: the common case, good evidence, costs one lookup.)
evidence_denials(name) := set() if {
	evidence_ok(name)
} else := {v} if {
	not input.evidence[name]
	v := {
		"rule": "evidence_missing",
		"severity": "high",
		"message": sprintf("no %s evidence was collected for %s:%s", [name, input.subject.kind, input.subject.ref]),
		"remediation": sprintf("run the %s collector or pass --evidence %s=FILE", [name, name]),
	}
} else := {v} if {
	v := {
		"rule": "evidence_error",
		"severity": "high",
		"message": sprintf("%s evidence could not be collected: %v", [name, input.evidence[name].error]),
		"remediation": "fix the cause named in the message and run the check again",
	}
}

# evidence_ok holds when evidence `name` is present and not an error.
evidence_ok(name) if {
	input.evidence[name]
	not input.evidence[name].error
}

# severity_ranks orders the severities.
severity_ranks := {"low": 1, "medium": 2, "high": 3, "critical": 4}

# severity_rank ranks a finding's severity; an unknown one, or one that is
# no string, ranks above critical (fail closed).
severity_rank(s) := r if {
	is_string(s)
	r := object.get(severity_ranks, lower(s), 5)
} else := 5

# bad_param is the denial of a gate whose parameter it cannot use.
# Configuration loading rejects such values first (each gate declares its
# params in METADATA custom.params); this keeps the gate fail closed under
# `opa test` and with data written by hand.
bad_param(gate, key, value, want) := {
	"rule": "bad_param",
	"severity": "high",
	"message": sprintf("params.%s.%s is %v: want %s", [gate, key, value, want]),
	"remediation": sprintf("fix params.%s.%s in gatehouse.yaml", [gate, key]),
}
