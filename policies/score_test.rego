package gatehouse.gates.score_test

import data.gatehouse.gates.score

_digest := "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"

_container(name, image, pinned) := {
	"name": name,
	"image": image,
	"pinned": pinned,
	"requests": {"cpu": "100m", "memory": "128Mi"},
	"limits": {"cpu": "1", "memory": "256Mi"},
	"missing": [],
	"variables": [],
	"files": [],
	"volumes": [],
}

_good := {
	"schema": "score/v1",
	"file": "svc/score.yaml",
	"workload": "checkout",
	"api_version": "score.dev/v1b1",
	"upgrades": [],
	"containers": [_container("main", concat("@", ["ghcr.io/acme/checkout", _digest]), true)],
	"build_placeholders": [],
	"ports": [{"name": "web", "port": 80, "target_port": 8080, "protocol": "TCP"}],
	"resources": [
		{"name": "db", "type": "postgres", "params": []},
		{"name": "cache", "type": "redis", "params": []},
	],
	"routes": [],
	"secrets": [],
}

_in(ev) := {
	"subject": {"kind": "score", "ref": "svc/score.yaml"},
	"evidence": {"score": ev},
	"context": {"environment": "dev"},
}

_rules(set) := {v.rule | some v in set}

_route(host, resolved) := {"resource": "route", "declared": host, "host": host, "resolved": resolved, "path": "/"}

_unresolved := {
	"resource": "route", "declared": "${resources.dns.host}", "host": "unresolved", "resolved": false,
	"reason": "${resources.dns.host}: the dns resource's host is chosen by its provisioner at deploy time",
}

test_good_spec_passes if {
	count(score.deny) == 0 with input as _in(_good)
	count(score.warn) == 0 with input as _in(_good)
}

test_missing_evidence_denies if {
	_rules(score.deny) == {"evidence_missing"} with input as {"subject": {"kind": "score", "ref": "s.yaml"}, "evidence": {}}
}

test_errored_evidence_denies if {
	inp := _in({"error": "score: s.yaml: invalid Score spec: at '/containers/main': missing properties: 'image'"})
	_rules(score.deny) == {"evidence_error"} with input as inp
	count(score.warn) == 0 with input as inp
}

test_wrong_schema_denies if {
	_rules(score.deny) == {"score_evidence_schema"} with input as _in(object.union(_good, {"schema": "score/v0"}))
}

test_unpinned_image_denies if {
	ev := object.union(_good, {"containers": [_container("main", "ghcr.io/acme/checkout:1.4.2", false)]})
	d := score.deny with input as _in(ev)
	_rules(d) == {"score_image_not_pinned"}
	some v in d
	contains(v.message, "ghcr.io/acme/checkout:1.4.2")
	v.location == "svc/score.yaml"
}

test_unpinned_image_passes_without_require_digest if {
	ev := object.union(_good, {"containers": [_container("main", "busybox", false)]})
	count(score.deny) == 0 with input as _in(ev) with data.gatehouse.config.score as {"require_digest": false}
}

test_build_placeholder_denies if {
	c := object.union(_container("main", ".", false), {"build": true})
	ev := object.union(_good, {"containers": [c], "build_placeholders": ["main"]})
	_rules(score.deny) == {"score_image_build_placeholder"} with input as _in(ev)
	count(score.deny) == 0 with input as _in(ev) with data.gatehouse.config.score as {"require_digest": false}
}

test_missing_limits_deny_missing_requests_warn if {
	c := object.union(_container("main", "x", true), {"missing": ["requests.cpu", "limits.memory"]})
	ev := object.union(_good, {"containers": [c]})
	d := score.deny with input as _in(ev)
	_rules(d) == {"score_limits_missing"}
	some v in d
	contains(v.message, "limits.memory")
	not contains(v.message, "requests")
	_rules(score.warn) == {"score_requests_missing"} with input as _in(ev)
	count(score.deny) == 0 with input as _in(ev) with data.gatehouse.config.score as {"require_limits": false}
}

test_literal_secret_denies_critical if {
	ev := object.union(_good, {"secrets": [{"container": "main", "kind": "variable", "name": "DB_PASSWORD", "reason": "a literal value under a secret-looking name"}]})
	d := score.deny with input as _in(ev)
	_rules(d) == {"score_literal_secret"}
	some v in d
	v.severity == "critical"
	contains(v.message, "DB_PASSWORD")
}

test_literal_secret_warns_when_allowed if {
	ev := object.union(_good, {"secrets": [{"container": "main", "kind": "file", "name": "/etc/app.env", "reason": "holds a PEM private key"}]})
	inp := _in(ev)
	count(score.deny) == 0 with input as inp with data.gatehouse.config.score as {"deny_literal_secrets": false}
	_rules(score.warn) == {"score_literal_secret"} with input as inp with data.gatehouse.config.score as {"deny_literal_secrets": false}
}

test_resource_type_not_allowed if {
	ev := object.union(_good, {"resources": [{"name": "llm", "type": "openai-key", "params": []}]})
	d := score.deny with input as _in(ev)
	_rules(d) == {"score_resource_type_not_allowed"}
	some v in d
	contains(v.message, "openai-key")
	count(score.deny) == 0 with input as _in(ev) with data.gatehouse.config.score as {"allowed_resource_types": ["openai-key"]}
}

test_default_types_are_score_k8s_provisioners if {
	types := ["service-port", "volume", "dns", "route", "postgres", "postgres-instance", "redis", "mysql", "mongodb", "mssql", "amqp", "s3", "kafka-topic"]
	ev := object.union(_good, {"resources": [{"name": t, "type": t, "params": []} | some t in types]})
	count(score.deny) == 0 with input as _in(ev)
}

test_route_hosts_deny_by_default if {
	ev := object.union(_good, {"routes": [_route("shop.example.com", true)]})
	d := score.deny with input as _in(ev)
	_rules(d) == {"score_route_host_not_allowed"}
	some v in d
	contains(v.message, "none are allowed")
}

test_route_domain_suffix_match if {
	cfg := {"allowed_route_domains": ["*.example.com", "Shop.Acme.IO."]}
	every host in ["shop.example.com", "a.b.example.com", "*.apps.example.com", "shop.acme.io"] {
		count(score.deny) == 0 with input as _in(object.union(_good, {"routes": [_route(host, true)]})) with data.gatehouse.config.score as cfg
	}
	every host in ["example.com", "evilexample.com", "shop.example.com.evil.io", "a.shop.acme.io", "acme.io"] {
		_rules(score.deny) == {"score_route_host_not_allowed"} with input as _in(object.union(_good, {"routes": [_route(host, true)]})) with data.gatehouse.config.score as cfg
	}
}

# A "resolved" host that is no host name (hand-written evidence) is not
# trusted: it counts as unresolved and denies.
test_route_host_not_a_name_denies if {
	cfg := {"allowed_route_domains": ["*.example.com"]}
	ev := object.union(_good, {"routes": [_route("evil.io/x.example.com", true)]})
	_rules(score.deny) == {"score_route_host_unresolved"} with input as _in(ev) with data.gatehouse.config.score as cfg
}

test_unresolved_route_denies_or_warns if {
	ev := object.union(_good, {"routes": [_unresolved]})
	d := score.deny with input as _in(ev) with data.gatehouse.config.score as {"allowed_route_domains": ["*.example.com"]}
	_rules(d) == {"score_route_host_unresolved"}
	some v in d
	contains(v.message, "provisioner")
	cfg := {"allowed_route_domains": ["*.example.com"], "unresolved_hosts": "warn"}
	count(score.deny) == 0 with input as _in(ev) with data.gatehouse.config.score as cfg
	_rules(score.warn) == {"score_route_host_unresolved"} with input as _in(ev) with data.gatehouse.config.score as cfg
}

test_bad_params_deny if {
	every cfg in [
		{"require_digest": "false"},
		{"require_limits": 0},
		{"deny_literal_secrets": null},
		{"allowed_resource_types": "postgres"},
		{"allowed_route_domains": [1]},
		{"unresolved_hosts": "ignore"},
	] {
		"bad_param" in _rules(score.deny) with input as _in(_good) with data.gatehouse.config.score as cfg
	}
}

# A string "false" must not switch a check off into a pass.
test_string_false_still_denies if {
	ev := object.union(_good, {"containers": [_container("main", "busybox", false)]})
	count(score.deny) > 0 with input as _in(ev) with data.gatehouse.config.score as {"require_digest": "false"}
}

# Hand-written evidence (--evidence score=FILE) with fields left out still
# denies: a message it cannot format must not drop the denial.
test_sparse_evidence_still_denies if {
	ev := object.union(_good, {
		"containers": [{"pinned": false, "missing": ["limits.cpu"]}],
		"resources": [{"name": "x"}],
		"secrets": [{"name": "TOKEN"}],
		"routes": [{"resolved": true, "host": "a.evil.io"}],
	})
	_rules(score.deny) == {
		"score_image_not_pinned", "score_limits_missing", "score_literal_secret",
		"score_resource_type_not_allowed", "score_route_host_not_allowed",
	} with input as _in(ev)
}

test_evidence_without_lists_denies if {
	_rules(score.deny) == {"score_evidence_schema"} with input as _in({"schema": "score/v1", "file": "s.yaml", "workload": "w"})
	_rules(score.deny) == {"score_evidence_schema"} with input as _in(object.union(_good, {"containers": []}))
	_rules(score.deny) == {"score_evidence_schema"} with input as _in(object.union(_good, {"secrets": {"a": 1}}))
}
