# METADATA
# title: Model scan
# description: The model holds no code that runs on load (pickle gadgets, Lambda layers, ...) and every file of it was read.
# custom:
#   evidence: [model_scan, modelscan]
#   params:
#     fail_on:
#       type: string
#       enum: [low, medium, high, critical]
#       description: the lowest finding severity that denies; lower ones warn (default medium)
#   evidence_params:
#     modelscan:
#       report: {type: string, description: "a Protect AI ModelScan JSON report for every model subject, relative to gatehouse.yaml"}
package gatehouse.gates.model_scan

import data.gatehouse.lib

# fail_on: the lowest finding severity that denies; lower ones warn.
params := lib.params("model_scan", {"fail_on": "medium"})

# threshold: a fail_on that is no severity ranks 0, so every finding
# denies (fail closed) and bad_param says why; never above critical.
threshold := r if {
	is_string(params.fail_on)
	r := lib.severity_ranks[lower(params.fail_on)]
} else := 0

deny contains v if {
	threshold == 0
	v := lib.bad_param("model_scan", "fail_on", params.fail_on, "one of low, medium, high, critical")
}

# The native scan is required; a ModelScan report (same shape) is read too when present.
deny contains v if some v in lib.evidence_denials("model_scan")

deny contains v if {
	input.evidence.modelscan.error
	v := {
		"rule": "evidence_error",
		"severity": "high",
		"message": sprintf("modelscan evidence could not be collected: %v", [input.evidence.modelscan.error]),
		"remediation": "fix the cause named in the message or drop the modelscan evidence",
	}
}

# sources are the usable scan reports, by evidence key.
sources[name] := ev if {
	some name in ["model_scan", "modelscan"]
	lib.evidence_ok(name)
	ev := input.evidence[name]
}

deny contains v if {
	some name, ev in sources
	not startswith(object.get(ev, "schema", ""), "model_scan/")
	v := {
		"rule": "schema",
		"severity": "high",
		"message": sprintf("%s evidence has schema %v, this gate reads model_scan/v1", [name, object.get(ev, "schema", null)]),
		"remediation": "collect the evidence with a matching gatehouse version",
	}
}

deny contains v if {
	some name, ev in sources
	some f in object.get(ev, "findings", [])
	lib.severity_rank(object.get(f, "severity", null)) >= threshold
	v := finding_violation(name, ev, f)
}

warn contains v if {
	some name, ev in sources
	some f in object.get(ev, "findings", [])
	lib.severity_rank(object.get(f, "severity", null)) < threshold
	v := finding_violation(name, ev, f)
}

deny contains v if {
	some name, ev in sources
	some nv in object.get(ev, "not_verified", [])
	v := {
		"rule": "not_verified",
		"severity": "high",
		"message": sprintf("%s could not verify %s: %s", [scanner(name, ev), nv.location, nv.reason]),
		"remediation": "make the file readable by the scanner (extract, decrypt, convert to safetensors) or remove it",
		"location": file_of(nv.location),
	}
}

# verified false with no entry naming why still fails closed.
deny contains v if {
	some name, ev in sources
	ev.verified == false
	count(object.get(ev, "not_verified", [])) == 0
	v := {
		"rule": "not_verified",
		"severity": "high",
		"message": sprintf("%s reports the model as not verified", [scanner(name, ev)]),
		"remediation": "run the scan again and read its not_verified entries",
	}
}

# finding_violation is defined for every finding, whatever fields it lacks:
# an undefined field would drop the denial (fail open).
finding_violation(name, ev, f) := {
	"rule": "finding",
	"severity": severity_name(object.get(f, "severity", null)),
	"message": sprintf("%s: %v%s: %v", [scanner(name, ev), location(f), global(f), object.get(f, "reason", "(no reason given)")]),
	"remediation": "do not load this model; get it from a trusted source or convert it to a format that holds no code (safetensors)",
	"location": file_of(location(f)),
}

location(f) := l if {
	l := f.location
	is_string(l)
} else := "(no location given)"

# severity_name: a severity that is no string is reported as critical, as
# it ranks (lib.severity_rank).
severity_name(s) := lower(s) if is_string(s)

else := "critical"

global(f) := sprintf(" (%s.%s)", [f.module, f.name]) if {
	f.module
	f.name
} else := ""

scanner(name, ev) := object.get(ev, "scanner", name)

# file_of keeps the outer file of "outer.pt:archive/data.pkl@12".
file_of(loc) := split(split(loc, ":")[0], "@")[0]
