# METADATA
# title: SonarQube quality gate
# description: The source the image was built from passed its SonarQube (or SonarCloud) quality gate.
# custom:
#   evidence: [sonarqube]
#   params:
#     allow_warn: {type: boolean, description: "a WARN status (SonarQube before 7.6) warns instead of denying (default true)"}
#     max_new_issues:
#       type: object
#       description: caps on open new-code issues per severity (legacy or MQR impact, whichever count is higher)
#       propertyNames: {enum: [BLOCKER, CRITICAL, MAJOR, MINOR, HIGH, MEDIUM, LOW, INFO]}
#       additionalProperties: {type: integer, minimum: 0}
#     report_task: {type: string, description: "path of report-task.txt, relative to gatehouse.yaml (read by the collector)"}
#     timeout:
#       type: [string, number]
#       format: duration
#       exclusiveMinimum: 0
#       maximum: 86400
#       description: how long the collector waits for the analysis, "300s", "5m" or seconds (default 300s)
#     poll_interval:
#       type: [string, number]
#       format: duration
#       exclusiveMinimum: 0
#       maximum: 86400
#       description: first wait between polls of api/ce/task (default 1s)
package gatehouse.gates.sonarqube

import data.gatehouse.lib

# allow_warn: a WARN status (SonarQube before 7.6) warns instead of denying.
# max_new_issues: optional caps on new-code issues, e.g. {"BLOCKER": 0,
# "CRITICAL": 0} over legacy severities or MQR impacts (whichever is higher).
params := lib.params("sonarqube", {"allow_warn": true, "max_new_issues": {}})

ps := input.evidence.sonarqube.projectStatus

deny contains v if some v in lib.evidence_denials("sonarqube")

# failing names each condition at the gate's own status (ERROR or WARN) in
# full, with the threshold it broke. Complete rules: OPA computes each once
# per decision.
failing := [msg |
	some c in ps.conditions
	c.status == ps.status
	msg := concat("", [c.metricKey, " is ", object.get(c, "actualValue", "?"), ", must not be ", c.comparator, " ", object.get(c, limit_key[ps.status], object.get(c, "errorThreshold", "?"))])
]

limit_key := {"ERROR": "errorThreshold", "WARN": "warningThreshold"}

# detail lists the failing conditions, or says none is listed (a gate can
# fail on a condition the response leaves out, e.g. ignored ones).
detail := concat("; ", failing) if count(failing) > 0

else := sprintf("status %s, but the response names no condition at %s", [ps.status, ps.status])

dashboard := sprintf(" (%s)", [input.evidence.sonarqube.dashboardUrl]) if input.evidence.sonarqube.dashboardUrl

else := ""

deny contains v if {
	lib.evidence_ok("sonarqube")
	ps.status == "ERROR"
	v := {
		"rule": "quality_gate",
		"severity": "high",
		"message": sprintf("quality gate failed: %s%s", [detail, dashboard]),
		"remediation": "fix the failing conditions in new code and run the analysis again; see the project's quality gate in SonarQube",
	}
}

deny contains v if {
	lib.evidence_ok("sonarqube")
	ps.status == "WARN"
	params.allow_warn != true
	v := {
		"rule": "quality_gate_warn",
		"severity": "medium",
		"message": sprintf("quality gate is WARN, not allowed in %s: %s", [input.context.environment, detail]),
		"remediation": "fix the conditions in warning, or set allow_warn for this environment",
	}
}

warn contains v if {
	lib.evidence_ok("sonarqube")
	ps.status == "WARN"
	params.allow_warn == true
	v := {
		"rule": "quality_gate_warn",
		"severity": "low",
		"message": sprintf("quality gate is WARN: %s", [detail]),
		"remediation": "fix the conditions in warning before they become errors",
	}
}

deny contains v if {
	lib.evidence_ok("sonarqube")
	ps.status == "NONE"
	v := {
		"rule": "no_quality_gate",
		"severity": "high",
		"message": "the project has no quality gate (status NONE): nothing vouches for the code",
		"remediation": "assign a quality gate to the project in SonarQube",
	}
}

deny contains v if {
	lib.evidence_ok("sonarqube")
	not ps.status in {"OK", "WARN", "ERROR", "NONE"}
	v := {
		"rule": "unknown_status",
		"severity": "high",
		"message": sprintf("quality gate status %v is not one SonarQube documents", [object.get(ps, "status", null)]),
		"remediation": "pass the raw body of api/qualitygates/project_status as evidence",
	}
}

# new_issues(sev) is the count of open new-code issues at a severity,
# taking the higher of the legacy and the impact counts.
new_issues(sev) := max([
	object.get(input.evidence.sonarqube.issues.by_severity, upper(sev), 0),
	object.get(input.evidence.sonarqube.issues.by_impact, upper(sev), 0),
])

# allow_warn must be a boolean: a string "false" is truthy in Rego, and
# only the boolean true allows WARN (above); anything else denies.
deny contains v if {
	not is_boolean(params.allow_warn)
	v := lib.bad_param("sonarqube", "allow_warn", params.allow_warn, "true or false")
}

# A cap that is not a count would compare as "never exceeded": deny instead.
deny contains v if {
	not is_object(params.max_new_issues)
	v := lib.bad_param("sonarqube", "max_new_issues", params.max_new_issues, "a mapping of severity to a whole number >= 0, e.g. {BLOCKER: 0, HIGH: 0}")
}

deny contains v if {
	some sev, cap in params.max_new_issues
	not valid_cap(cap)
	v := lib.bad_param("sonarqube", sprintf("max_new_issues.%s", [sev]), cap, "a whole number >= 0")
}

valid_cap(cap) if {
	is_number(cap)
	cap >= 0
	cap == floor(cap)
}

deny contains v if {
	lib.evidence_ok("sonarqube")
	some sev, cap in params.max_new_issues
	not input.evidence.sonarqube.issues.by_severity
	v := {
		"rule": "new_issues_unknown",
		"severity": "high",
		"message": sprintf("max_new_issues caps %s issues but no issue counts were collected%s", [sev, issue_error]),
		"remediation": "let the collector reach api/issues/search (a token with Browse permission), or drop max_new_issues",
	}
}

issue_error := sprintf(": %s", [input.evidence.sonarqube.issues.error]) if input.evidence.sonarqube.issues.error

else := ""

deny contains v if {
	lib.evidence_ok("sonarqube")
	some sev, cap in params.max_new_issues
	valid_cap(cap)
	input.evidence.sonarqube.issues.by_severity
	n := new_issues(sev)
	n > cap
	v := {
		"rule": "new_issues",
		"severity": "medium",
		"message": sprintf("%d open %s issue(s) in new code, at most %d allowed", [n, sev, cap]),
		"remediation": "fix or resolve the new issues in SonarQube",
	}
}
