package gatehouse.gates.kfp_test

import data.gatehouse.gates.kfp

_pinned := "us-docker.pkg.dev/acme/ml/train@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"

_comp(name, image, pinned, placeholder) := {"name": name, "executor": concat("", ["exec-", name]), "kind": "container", "container": {"image": image, "pinned": pinned, "placeholder": placeholder}}

_good := {
	"schema": "kfp/v1", "file": "p.yaml", "pipeline": "train",
	"components": [
		_comp("train", _pinned, true, false),
		{"name": "importer", "executor": "exec-importer", "kind": "importer"},
	],
	"artifacts": [{"executor": "exec-importer", "uri": "gs://acme-data/train.csv", "source": "constant", "type": "system.Dataset", "scheme": "gs", "candidate": true}],
}

_in(ev) := {"subject": {"kind": "pipeline", "ref": "p.yaml"}, "evidence": {"kfp": ev}, "context": {"environment": "prod"}}

_rules(set) := {v.rule | some v in set}

test_pinned_pipeline_with_constant_import_passes if {
	count(kfp.deny) == 0 with input as _in(_good)
	count(kfp.warn) == 0 with input as _in(_good)
}

test_tag_denies if {
	ev := object.union(_good, {"components": [_comp("train", "python:3.12", false, false)]})
	_rules(kfp.deny) == {"image_not_pinned"} with input as _in(ev)
}

test_tag_allowed_when_digest_not_required if {
	ev := object.union(_good, {"components": [_comp("train", "python:3.12", false, false)]})
	count(kfp.deny) == 0 with input as _in(ev) with data.gatehouse.config.kfp as {"require_digest": false}
}

test_registry_allow_list if {
	cfg := {"allowed_registries": ["europe-docker.pkg.dev/acme/"]}
	_rules(kfp.deny) == {"registry_not_allowed"} with input as _in(_good) with data.gatehouse.config.kfp as cfg
	count(kfp.deny) == 0 with input as _in(_good) with data.gatehouse.config.kfp as {"allowed_registries": ["us-docker.pkg.dev/acme/"]}
}

test_runtime_image_denies_unless_warn if {
	ev := object.union(_good, {"components": [_comp("train", "{{$.inputs.parameters['img']}}", false, true)]})
	_rules(kfp.deny) == {"runtime_image"} with input as _in(ev)
	_rules(kfp.warn) == {"runtime_image"} with input as _in(ev) with data.gatehouse.config.kfp as {"runtime_images": "warn"}
	count(kfp.deny) == 0 with input as _in(ev) with data.gatehouse.config.kfp as {"runtime_images": "warn"}
}

test_unresolved_artifact_denies if {
	ev := object.union(_good, {"artifacts": [{"executor": "exec-importer", "source": "runtime parameter uri", "candidate": false}]})
	_rules(kfp.deny) == {"artifact_unresolved"} with input as _in(ev)
}

test_local_or_http_artifact_denies if {
	every uri in ["/mnt/data/x.csv", "http://example.com/m.bin", "file:///etc/passwd"] {
		_rules(kfp.deny) == {"artifact_scheme"} with input as _in(object.union(_good, {"artifacts": [{"executor": "exec-importer", "uri": uri, "source": "constant", "candidate": false}]}))
	}
}

test_overridable_default_warns_or_denies if {
	a := {"executor": "exec-importer", "uri": "gs://b/x", "source": "pipeline input default data_uri", "scheme": "gs", "candidate": true}
	ev := object.union(_good, {"artifacts": [a]})
	_rules(kfp.warn) == {"artifact_overridable"} with input as _in(ev)
	count(kfp.deny) == 0 with input as _in(ev)
	_rules(kfp.deny) == {"artifact_overridable"} with input as _in(ev) with data.gatehouse.config.kfp as {"overridable_artifacts": "deny"}
}

test_evidence_error_denies if {
	_rules(kfp.deny) == {"evidence_error"} with input as _in({"error": "kfp: p.yaml: not YAML"})
	_rules(kfp.deny) == {"evidence_missing"} with input as {"subject": {"kind": "pipeline", "ref": "p.yaml"}, "evidence": {}}
}

test_bad_params_deny if {
	_rules(kfp.deny) == {"bad_param"} with input as _in(_good) with data.gatehouse.config.kfp as {"runtime_images": "allow"}
	_rules(kfp.deny) == {"bad_param"} with input as _in(_good) with data.gatehouse.config.kfp as {"require_digest": "false"}
}
