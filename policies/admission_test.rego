package gatehouse.admission_test

import data.gatehouse.admission

digest := "sha256:0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728ff"

good := {
	"container": "api", "kind": "container", "ref": sprintf("ghcr.io/acme/api@%s", [digest]), "digest": digest,
	"pinned": true, "verified": true, "signatures_verified": true, "vsa_verified": true, "reasons": [],
}

unsigned := object.union(good, {
	"verified": false, "signatures_verified": false,
	"reasons": ["no signature of the image verifies: the image has no signatures (sign it with cosign sign)"],
})

no_vsa := object.union(good, {
	"verified": false, "vsa_verified": false,
	"reasons": ["no valid gatehouse VSA: the image has no VSA attestation (run gatehouse check --attest)"],
})

unreachable := object.union(good, {"verified": false, "error": "registry unreachable"})

tagged := object.union(good, {"ref": "ghcr.io/acme/api:1.2", "pinned": false})

ns(env, labels) := {"name": "ml", "labels": labels, "mode": "enforce", "environment": env}

inp(kind, env, labels, images, extra) := object.union(
	{
		"request": {"kind": kind, "namespace": "ml", "operation": "CREATE", "user": "alice"},
		"namespace": ns(env, labels),
		"workload": {"kind": kind, "name": "w", "pod_specs": []},
		"images": images, "models": [], "gpu_requests": 0, "privileged": false, "host_path": false,
	},
	extra,
)

conf := {"model_sources": ["gs://acme-models/", "oci://europe-docker.pkg.dev/acme/models/"], "gpu_label": "gatehouse.dev/gpu", "pinned_environments": ["prod"]}

rules(set) := {f.rule | some f in set}

deny_rules(i) := r if {
	r := rules(admission.deny) with input as i with data.gatehouse.admission_config as conf
}

warn_rules(i) := r if {
	r := rules(admission.warn) with input as i with data.gatehouse.admission_config as conf
}

test_verified_pinned_image_passes if {
	deny_rules(inp("Pod", "prod", {}, [good], {})) == set()
	warn_rules(inp("Pod", "prod", {}, [good], {})) == set()
}

test_deny_cases if {
	oci_model := {"uri": sprintf("oci://europe-docker.pkg.dev/acme/models/fraud@%s", [digest]), "oci": true, "pinned": true, "verified": false, "reasons": ["no valid gatehouse VSA: expired"]}
	cases := [
		["unsigned", inp("Pod", "prod", {}, [unsigned], {}), {"image_not_verified"}],
		["no VSA", inp("Deployment", "dev", {}, [no_vsa], {}), {"image_not_verified"}],
		["tag in prod", inp("Pod", "prod", {}, [tagged], {}), {"image_not_pinned"}],
		["gpu without label", inp("Pod", "dev", {}, [good], {"gpu_requests": 2}), {"gpu_not_allowed"}],
		["gpu label false", inp("Pod", "dev", {"gatehouse.dev/gpu": "false"}, [good], {"gpu_requests": 1}), {"gpu_not_allowed"}],
		["privileged notebook", inp("Notebook", "dev", {}, [good], {"privileged": true}), {"notebook_privileged"}],
		["hostPath notebook", inp("Notebook", "dev", {}, [good], {"host_path": true}), {"notebook_host_path"}],
		["model from elsewhere", inp("InferenceService", "dev", {}, [], {"models": [{"uri": "s3://evil/model", "oci": false, "pinned": false, "verified": false, "reasons": []}]}), {"model_source"}],
		["oci model without VSA", inp("InferenceService", "dev", {}, [], {"models": [oci_model]}), {"model_not_verified"}],
		["oci model by tag in prod", inp("InferenceService", "prod", {}, [], {"models": [object.union(oci_model, {"uri": "oci://europe-docker.pkg.dev/acme/models/fraud:v3", "pinned": false, "verified": true})]}), {"model_not_pinned"}],
	]
	every c in cases {
		got := deny_rules(c[1])
		got == c[2]
	}
}

test_allowed_cases if {
	cases := [
		["tag outside prod warns only", inp("Pod", "dev", {}, [tagged], {})],
		["gpu with label", inp("Pod", "dev", {"gatehouse.dev/gpu": "true"}, [good], {"gpu_requests": 4})],
		["privileged pod is not a notebook", inp("Pod", "dev", {}, [good], {"privileged": true})],
		["model from an allowed bucket", inp("InferenceService", "prod", {}, [], {"models": [{"uri": "gs://acme-models/fraud/v3", "oci": false, "pinned": false, "verified": false, "reasons": []}]})],
		["registry down is the failure mode's business", inp("Pod", "prod", {}, [unreachable], {})],
	]
	every c in cases {
		deny_rules(c[1]) == set()
	}
}

test_tag_outside_prod_warns if {
	warn_rules(inp("Pod", "dev", {}, [tagged], {})) == {"image_not_pinned"}
}

test_message_names_image_and_reason if {
	some f in admission.deny with input as inp("Pod", "prod", {}, [no_vsa], {}) with data.gatehouse.admission_config as conf
	f.image == good.ref
	f.message == sprintf("image %s: no valid gatehouse VSA: the image has no VSA attestation (run gatehouse check --attest)", [good.ref])
}

test_no_model_sources_denies_every_model if {
	i := inp("InferenceService", "dev", {}, [], {"models": [{"uri": "gs://acme-models/x", "oci": false, "pinned": false, "verified": false, "reasons": []}]})
	r := rules(admission.deny) with input as i with data.gatehouse.admission_config as {}
	r == {"model_source"}
}

test_defaults_without_config if {
	r := rules(admission.deny) with input as inp("Pod", "prod", {}, [tagged], {})
	r == {"image_not_pinned"}
}
