# METADATA
# title: Personal data and secrets in datasets
# description: Datasets carry no personal data above the environment's per-entity thresholds and no secrets; what could not be read denies.
# custom:
#   evidence: [pii]
#   params:
#     max:
#       type: object
#       description: per-entity thresholds; an entity denies when its total count exceeds its threshold
#       propertyNames: {enum: [EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, IP_ADDRESS, PERSON, DATE_OF_BIRTH, MAC_ADDRESS, US_PASSPORT, US_DRIVER_LICENSE, UK_NINO, IN_AADHAAR, BR_CPF, JP_MY_NUMBER, DE_TAX_ID, FR_NIR, ES_NIF, ES_NIE, IT_FISCAL_CODE, NL_BSN, PRIVATE_KEY, AWS_ACCESS_KEY, GCP_API_KEY, GCP_SERVICE_ACCOUNT_KEY, GITHUB_TOKEN, SLACK_TOKEN]}
#       additionalProperties: {type: integer, minimum: 0}
#     default_max: {type: integer, minimum: 0, description: threshold of the entities not in max (default 0)}
#     deny_secrets: {type: boolean, description: "any secret denies, critical (default true)"}
#     warn_only:
#       type: array
#       description: entities that warn instead of deny above their threshold
#       items: {enum: [EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, IP_ADDRESS, PERSON, DATE_OF_BIRTH, MAC_ADDRESS, US_PASSPORT, US_DRIVER_LICENSE, UK_NINO, IN_AADHAAR, BR_CPF, JP_MY_NUMBER, DE_TAX_ID, FR_NIR, ES_NIF, ES_NIE, IT_FISCAL_CODE, NL_BSN, PRIVATE_KEY, AWS_ACCESS_KEY, GCP_API_KEY, GCP_SERVICE_ACCOUNT_KEY, GITHUB_TOKEN, SLACK_TOKEN]}
#     skipped: {type: string, enum: [warn, deny], description: "files the scanner does not read (images, archives): warn (default) or deny"}
#     sample_rows: {type: integer, minimum: 0, description: scan only this many rows per file (read by the collector; 0 = all)}
#     sample_bytes: {type: integer, minimum: 0, description: scan only this many bytes per file (read by the collector; 0 = all)}
package gatehouse.gates.pii

import data.gatehouse.lib

# Params (data.gatehouse.config.pii), per environment in gatehouse.yaml:
#   max:          {"<ENTITY>": n}: an entity denies when its total count exceeds n
#   default_max:  threshold for entities not in max (default 0: any PII denies)
#   deny_secrets: true (default): any secret denies, critical, whatever max and
#                 warn_only say; false: secrets follow max/warn_only like PII
#   warn_only:    entities that warn instead of deny above their threshold
#   skipped:      "warn" (default) or "deny": files the scanner did not read
#                 because they are no text format (images, archives, weights);
#                 any other value denies (fail closed)
# A threshold that is not a non-negative number counts as 0 (fail closed).
defaults := {
	"max": {},
	"default_max": 0,
	"deny_secrets": true,
	"warn_only": [],
	"skipped": "warn",
}

p := lib.params("pii", defaults)

ev := input.evidence.pii

# secret entities: credentials, never personal data.
secrets := {
	"PRIVATE_KEY", "AWS_ACCESS_KEY", "GCP_API_KEY", "GCP_SERVICE_ACCOUNT_KEY",
	"GITHUB_TOKEN", "SLACK_TOKEN",
}

# Severity of PII above its threshold: identity and payment numbers high,
# contact data medium.
_high := {
	"US_SSN", "CREDIT_CARD", "IBAN_CODE", "US_PASSPORT", "US_DRIVER_LICENSE", "UK_NINO", "IN_AADHAAR", "BR_CPF",
	"JP_MY_NUMBER", "DE_TAX_ID", "FR_NIR", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "NL_BSN",
}

deny contains v if some v in lib.evidence_denials("pii")

# --- evidence shape ---------------------------------------------------------

deny contains v if {
	lib.evidence_ok("pii")
	object.get(ev, "schema", "") != "pii/v1"
	v := {
		"rule": "pii_evidence_schema",
		"severity": "high",
		"message": sprintf("pii evidence has schema %v, want \"pii/v1\"", [object.get(ev, "schema", null)]),
		"remediation": "produce the evidence with `gatehouse scan dataset --format json` of this gatehouse version",
	}
}

# --- counting -----------------------------------------------------------------

_findings := [f |
	some f in object.get(ev, "findings", [])
	is_object(f)
]

_entities := {e | some f in _findings; e := f.entity} | {e | some e, _ in object.get(ev, "totals", {})}

# _total: the larger of the reported total and the sum over findings (the
# two agree in collector output; hand-written evidence may give only one).
_total(e) := max([_sum_findings(e), _num(object.get(object.get(ev, "totals", {}), e, 0))])

_sum_findings(e) := sum([_num(f.count) | some f in _findings; f.entity == e])

# _num: a count that is not a number counts as 1 (fail closed: it was reported).
_num(x) := x if is_number(x)

else := 1

# _threshold: max[e], else default_max, else 0; a bad value is 0.
_threshold(e) := t if {
	t := p.max[e]
	is_number(t)
	t >= 0
} else := t if {
	not p.max[e]
	t := p.default_max
	is_number(t)
	t >= 0
} else := 0

_is_secret(e) if e in secrets

_secret_denies(e) if {
	_is_secret(e)
	p.deny_secrets != false
}

_warn_only(e) if {
	some w in p.warn_only
	w == e
	not _secret_denies(e)
}

_severity(e) := "critical" if _is_secret(e)

else := "high" if e in _high

else := "medium"

_over(e) if {
	_secret_denies(e)
	_total(e) > 0
}

_over(e) if {
	not _secret_denies(e)
	_total(e) > _threshold(e)
}

# _where: "file column 'c' (n), ..." for the largest findings of e.
_where(e) := concat(", ", [s |
	some f in _top(e)
	s := _place(f)
])

_top(e) := array.slice(ordered, 0, 5) if {
	fs := [f | some f in _findings; f.entity == e]
	keys := sort([[0 - _num(f.count), i] | some i, f in fs])
	ordered := [fs[k[1]] | some k in keys]
}

_place(f) := sprintf("%s column %q (%v)", [object.get(f, "file", "?"), f.column, _num(f.count)]) if {
	is_string(f.column)
	f.column != ""
} else := sprintf("%s (%v)", [object.get(f, "file", "?"), _num(object.get(f, "count", 1))])

_violation(e) := v if {
	_secret_denies(e)
	v := {
		"rule": lower(e),
		"severity": "critical",
		"message": sprintf("%v %s secret(s) found in the dataset: %s", [_total(e), e, _where(e)]),
		"remediation": "remove the secret from the dataset and rotate (revoke) it: it has been exposed to everyone with access to the data",
	}
}

_violation(e) := v if {
	not _secret_denies(e)
	v := {
		"rule": lower(e),
		"severity": _severity(e),
		"message": sprintf("%v %s found, above the %s threshold of %v: %s", [_total(e), e, _env, _threshold(e), _where(e)]),
		"remediation": sprintf("remove, mask or pseudonymise %s in the dataset, or raise params.pii.max.%s for this environment with the data protection officer's approval", [e, e]),
	}
}

# _located adds the file of the largest finding (for SARIF).
_located(v, e) := object.union(v, {"location": f.file}) if {
	f := _top(e)[0]
	is_string(f.file)
	f.file != ""
} else := v

_env := object.get(input, ["context", "environment"], "environment")

# --- rules ----------------------------------------------------------------------

deny contains v if {
	lib.evidence_ok("pii")
	some e in _entities
	_over(e)
	not _warn_only(e)
	v := _located(_violation(e), e)
}

warn contains v if {
	lib.evidence_ok("pii")
	some e in _entities
	_over(e)
	_warn_only(e)
	v := _located(_violation(e), e)
}

# pii_not_verified: a file the scanner could not read may hold anything.
deny contains v if {
	lib.evidence_ok("pii")
	some n in object.get(ev, "not_verified", [])
	loc := object.get(n, "location", "(unknown)")
	v := object.union(
		{
			"rule": "pii_not_verified",
			"severity": "high",
			"message": sprintf("%v could not be checked for personal data: %v", [loc, object.get(n, "reason", "(no reason given)")]),
			"remediation": "fix or convert the file (or raise the limit named in the reason) and scan again",
		},
		{"location": loc},
	)
}

# pii_sampled: a sample found nothing; say so (warn) so nobody mistakes it for a full scan.
warn contains v if {
	lib.evidence_ok("pii")
	ev.mode == "sample"
	v := {
		"rule": "pii_sampled",
		"severity": "low",
		"message": "the dataset was sampled, not scanned in full: personal data outside the sample was not looked for",
		"remediation": "scan in full mode before release (omit --sample)",
	}
}

# pii_skipped: files that are no text format were not read; an archive of
# CSVs would hide its rows. Warn, or deny where params say so.
_skipped_finding(n) := {
	"rule": "pii_skipped",
	"severity": "medium",
	"message": sprintf("%v was not scanned for personal data: %v", [object.get(n, "location", "(unknown)"), object.get(n, "reason", "(no reason given)")]),
	"remediation": "unpack or convert the file to CSV, JSON Lines, Parquet or text and scan again, or remove it from the dataset",
	"location": object.get(n, "location", ""),
}

warn contains v if {
	lib.evidence_ok("pii")
	p.skipped == "warn"
	some n in object.get(ev, "skipped", [])
	v := _skipped_finding(n)
}

deny contains v if {
	lib.evidence_ok("pii")
	p.skipped != "warn"
	some n in object.get(ev, "skipped", [])
	v := _skipped_finding(n)
}
