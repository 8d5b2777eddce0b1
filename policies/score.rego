# METADATA
# title: Score workload
# description: A Score workload runs images pinned by digest with cpu and memory limits, carries no literal secrets, uses only the resource types the environment provides and routes only to allowed domains.
# custom:
#   evidence: [score]
#   params:
#     require_digest: {type: boolean, description: "every image is pinned by @sha256 digest; a \".\" build placeholder denies too (default true)"}
#     require_limits: {type: boolean, description: "every container sets limits.cpu and limits.memory (default true)"}
#     deny_literal_secrets: {type: boolean, description: "a literal secret denies, critical; false makes it a warning (default true)"}
#     allowed_resource_types:
#       type: array
#       description: "resource types the environment provisions (default: score-k8s's default provisioners)"
#       items: {type: string}
#     allowed_route_domains:
#       type: array
#       description: "hosts routes may use: \"*.example.com\" (any subdomain) or \"example.com\" (that host); default [] denies every route host"
#       items: {type: string}
#     unresolved_hosts: {type: string, enum: [deny, warn], description: "a route host only known at deploy time: deny (default) or warn"}
package gatehouse.gates.score

import data.gatehouse.lib

# Params (data.gatehouse.config.score), per environment in gatehouse.yaml:
#   require_digest:         true (default): an image not pinned by @sha256:
#                           digest denies, and so does the "." build
#                           placeholder (the spec does not say what runs)
#   require_limits:         true (default): a container without limits.cpu
#                           or limits.memory denies; missing requests warn
#   deny_literal_secrets:   true (default): a literal secret (a value under
#                           a secret-looking name, or a credential format)
#                           denies, critical; false: it warns
#   allowed_resource_types: resource types the environment provisions
#                           (default: score-k8s's default provisioners)
#   allowed_route_domains:  hosts a route may serve: "*.example.com" (any
#                           subdomain, not example.com itself) or
#                           "example.com" (exactly). Default []: every route
#                           host denies until the environment names its
#                           domains (fail closed)
#   unresolved_hosts:       "deny" (default) or "warn": a route host the
#                           spec does not fix (a dns resource's host chosen
#                           by its provisioner at deploy time)
defaults := {
	"require_digest": true,
	"require_limits": true,
	"deny_literal_secrets": true,
	"allowed_resource_types": [
		"service-port", "volume", "dns", "route", "postgres", "postgres-instance",
		"redis", "mysql", "mongodb", "mssql", "amqp", "s3", "kafka-topic",
	],
	"allowed_route_domains": [],
	"unresolved_hosts": "deny",
}

p := lib.params("score", defaults)

ev := input.evidence.score

_file := object.get(ev, "file", input.subject.ref)

_workload := object.get(ev, "workload", input.subject.ref)

# --- params: a value the gate cannot use denies ------------------------------

deny contains v if {
	some key in ["require_digest", "require_limits", "deny_literal_secrets"]
	not is_boolean(p[key])
	v := lib.bad_param("score", key, p[key], "true or false")
}

deny contains v if {
	some key in ["allowed_resource_types", "allowed_route_domains"]
	not _strings(p[key])
	v := lib.bad_param("score", key, p[key], "a list of strings")
}

deny contains v if {
	not p.unresolved_hosts in {"deny", "warn"}
	v := lib.bad_param("score", "unresolved_hosts", p.unresolved_hosts, "deny or warn")
}

_strings(x) if {
	is_array(x)
	every e in x {
		is_string(e)
	}
}

# --- evidence ------------------------------------------------------------------

deny contains v if some v in lib.evidence_denials("score")

deny contains v if {
	lib.evidence_ok("score")
	object.get(ev, "schema", "") != "score/v1"
	v := {
		"rule": "score_evidence_schema",
		"severity": "high",
		"message": sprintf("score evidence has schema %v, want \"score/v1\"", [object.get(ev, "schema", null)]),
		"remediation": "produce the evidence with `gatehouse scan score --format json` of this gatehouse version",
	}
}

_ok if {
	lib.evidence_ok("score")
	ev.schema == "score/v1"
}

# A workload has at least one container (the Score schema requires it):
# evidence without any, or with lists that are no lists, is not judged.
deny contains v if {
	_ok
	some key in ["containers", "resources", "routes", "secrets"]
	not is_array(object.get(ev, key, null))
	v := {
		"rule": "score_evidence_schema",
		"severity": "high",
		"message": sprintf("score evidence: %s is %v, want a list", [key, object.get(ev, key, null)]),
		"remediation": "produce the evidence with `gatehouse scan score --format json` of this gatehouse version",
	}
}

deny contains v if {
	_ok
	count(object.get(ev, "containers", [])) == 0
	v := {
		"rule": "score_evidence_schema",
		"severity": "high",
		"message": "score evidence names no containers: a Score workload has at least one",
		"remediation": "produce the evidence with `gatehouse scan score --format json` of this gatehouse version",
	}
}

_containers := [c | _ok; some c in object.get(ev, "containers", []); is_object(c)]

# --- images ----------------------------------------------------------------------

deny contains v if {
	p.require_digest == true
	some c in _containers
	not c.build == true
	not c.pinned == true
	v := {
		"rule": "score_image_not_pinned",
		"severity": "high",
		"message": sprintf("%v: container %v runs image %v, which is not pinned by digest", [_workload, object.get(c, "name", "?"), object.get(c, "image", null)]),
		"remediation": "name the image by digest: image: REGISTRY/REPO@sha256:… (crane digest or docker buildx imagetools inspect gives it)",
		"location": _file,
	}
}

deny contains v if {
	p.require_digest == true
	some c in _containers
	c.build == true
	v := {
		"rule": "score_image_build_placeholder",
		"severity": "high",
		"message": sprintf("%v: container %v has the build placeholder image \".\": the spec does not say what runs", [_workload, object.get(c, "name", "?")]),
		"remediation": "gate the spec with the built image pinned by digest (score-k8s generate --image REF@sha256:… writes it), or set params.score.require_digest: false and gate the built image on its own",
		"location": _file,
	}
}

# --- resources (cpu, memory) ---------------------------------------------------

deny contains v if {
	p.require_limits == true
	some c in _containers
	missing := [m | some m in object.get(c, "missing", []); startswith(m, "limits.")]
	count(missing) > 0
	v := {
		"rule": "score_limits_missing",
		"severity": "medium",
		"message": sprintf("%v: container %v sets no %s", [_workload, object.get(c, "name", "?"), concat(" or ", missing)]),
		"remediation": "set containers.<name>.resources.limits.cpu and .memory",
		"location": _file,
	}
}

warn contains v if {
	some c in _containers
	missing := [m | some m in object.get(c, "missing", []); startswith(m, "requests.")]
	count(missing) > 0
	v := {
		"rule": "score_requests_missing",
		"severity": "low",
		"message": sprintf("%v: container %v sets no %s", [_workload, object.get(c, "name", "?"), concat(" or ", missing)]),
		"remediation": "set containers.<name>.resources.requests.cpu and .memory so the scheduler can place it",
		"location": _file,
	}
}

# --- literal secrets -------------------------------------------------------------

_secrets contains v if {
	_ok
	some s in object.get(ev, "secrets", [])
	v := {
		"rule": "score_literal_secret",
		"severity": "critical",
		"message": sprintf("%v: container %v %v %v: %v", [_workload, object.get(s, "container", "?"), object.get(s, "kind", "?"), object.get(s, "name", "?"), object.get(s, "reason", "a literal secret")]),
		"remediation": "take the value from a resource output (${resources.<name>.password}) or a secret store, and rotate the exposed credential",
		"location": _file,
	}
}

deny contains v if {
	p.deny_literal_secrets == true
	some v in _secrets
}

warn contains v if {
	p.deny_literal_secrets == false
	some v in _secrets
}

# --- resource types ------------------------------------------------------------

deny contains v if {
	_ok
	_strings(p.allowed_resource_types)
	some r in object.get(ev, "resources", [])
	t := object.get(r, "type", null)
	not t in p.allowed_resource_types
	v := {
		"rule": "score_resource_type_not_allowed",
		"severity": "high",
		"message": sprintf("%v: resource %v has type %v, which %v does not provision (allowed: %s)", [_workload, object.get(r, "name", "?"), t, _env, concat(", ", p.allowed_resource_types)]),
		"remediation": "use a resource type the environment provides, or add it to params.score.allowed_resource_types once a provisioner exists",
		"location": _file,
	}
}

_env := object.get(object.get(input, "context", {}), "environment", "the environment")

# --- routes --------------------------------------------------------------------

_host_re := `^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`

_norm(d) := trim_suffix(lower(d), ".")

# _allowed_host: "*.example.com" covers any subdomain; "example.com" that host.
_allowed_host(host) if {
	some d in p.allowed_route_domains
	startswith(d, "*.")
	suffix := _norm(substring(d, 1, -1))
	endswith(host, suffix)
	count(host) > count(suffix)
}

_allowed_host(host) if {
	some d in p.allowed_route_domains
	not startswith(d, "*.")
	host == _norm(d)
}

_resolved(r) if {
	r.resolved == true
	is_string(r.host)
	regex.match(_host_re, r.host)
}

deny contains v if {
	_ok
	_strings(p.allowed_route_domains)
	some r in object.get(ev, "routes", [])
	_resolved(r)
	not _allowed_host(r.host)
	v := {
		"rule": "score_route_host_not_allowed",
		"severity": "high",
		"message": sprintf("%v: route %v serves host %s, outside the allowed domains (%s)", [_workload, object.get(r, "resource", "?"), r.host, _domains]),
		"remediation": "route to a host under params.score.allowed_route_domains, or add the domain there for this environment",
		"location": _file,
	}
}

_domains := concat(", ", p.allowed_route_domains) if count(p.allowed_route_domains) > 0

else := "none are allowed"

_unresolved contains v if {
	_ok
	some r in object.get(ev, "routes", [])
	not _resolved(r)
	v := {
		"rule": "score_route_host_unresolved",
		"severity": "high",
		"message": sprintf("%v: route %s has host %v that the spec does not fix: %v", [_workload, object.get(r, "resource", "?"), object.get(r, "declared", null), object.get(r, "reason", "unresolved")]),
		"remediation": "write the host into the route (params.host: app.example.com, or a dns resource with params.host), or set params.score.unresolved_hosts: warn where the dns provisioner picks names under allowed domains",
		"location": _file,
	}
}

deny contains v if {
	p.unresolved_hosts != "warn"
	some v in _unresolved
}

warn contains v if {
	p.unresolved_hosts == "warn"
	some v in _unresolved
}
