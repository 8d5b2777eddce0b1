# METADATA
# title: Kubeflow pipeline
# description: A compiled Kubeflow pipeline names what it runs and what it reads - every executor image pinned by digest from an allowed registry, every imported model or dataset a URI known before the run - so each can be gated on its own.
# custom:
#   evidence: [kfp]
#   params:
#     require_digest: {type: boolean, description: "executor images must be pinned by @sha256 digest (default true)"}
#     allowed_registries:
#       type: array
#       description: "image name prefixes executors may pull from, e.g. us-docker.pkg.dev/acme/ (default [] = any)"
#       items: {type: string}
#     runtime_images: {type: string, enum: [warn, deny], description: "an executor image chosen at run time ({{$.inputs...}}): deny (default) or warn"}
#     unresolved_artifacts: {type: string, enum: [warn, deny], description: "an importer URI known only at run time: deny (default) or warn"}
#     overridable_artifacts: {type: string, enum: [warn, deny], description: "an importer URI from a pipeline input default a run may override: warn (default) or deny"}
package gatehouse.gates.kfp

import data.gatehouse.lib

# Params (data.gatehouse.config.kfp). Every image and every importer URI the
# file names is also judged as its own subject (image, model, dataset) by
# `gatehouse check pipeline:FILE`; this gate judges what the file leaves open.
defaults := {
	"require_digest": true,
	"allowed_registries": [],
	"runtime_images": "deny",
	"unresolved_artifacts": "deny",
	"overridable_artifacts": "warn",
}

p := lib.params("kfp", defaults)

ev := input.evidence.kfp

deny contains v if some v in lib.evidence_denials("kfp")

deny contains v if {
	not is_boolean(p.require_digest)
	v := lib.bad_param("kfp", "require_digest", p.require_digest, "true or false")
}

deny contains v if {
	not is_array(p.allowed_registries)
	v := lib.bad_param("kfp", "allowed_registries", p.allowed_registries, "a list of image name prefixes")
}

deny contains v if {
	some key in ["runtime_images", "unresolved_artifacts", "overridable_artifacts"]
	not p[key] in {"warn", "deny"}
	v := lib.bad_param("kfp", key, p[key], "warn or deny")
}

_containers contains [c.name, c.container] if {
	some c in ev.components
	c.container
}

deny contains v if {
	p.require_digest != false
	some [name, c] in _containers
	not c.placeholder
	not c.pinned
	v := {
		"rule": "image_not_pinned",
		"severity": "high",
		"message": sprintf("component %s runs %s, a tag: what runs can change after the pipeline was judged", [name, c.image]),
		"remediation": "pin the image by digest (image@sha256:...) in the component definition and recompile",
	}
}

deny contains v if {
	count(p.allowed_registries) > 0
	some [name, c] in _containers
	not c.placeholder
	not _allowed_registry(c.image)
	v := {
		"rule": "registry_not_allowed",
		"severity": "high",
		"message": sprintf("component %s runs %s, which is not from an allowed registry (%s)", [name, c.image, concat(", ", p.allowed_registries)]),
		"remediation": "mirror the image into an allowed registry, or add its registry to params.kfp.allowed_registries",
	}
}

_allowed_registry(image) if {
	some prefix in p.allowed_registries
	startswith(image, prefix)
}

_runtime_image contains v if {
	some [name, c] in _containers
	c.placeholder
	v := {
		"rule": "runtime_image",
		"severity": "high",
		"message": sprintf("component %s runs the image %s, chosen when the pipeline runs: it cannot be judged from the file", [name, c.image]),
		"remediation": "name the image (pinned by digest) in the component, not through a pipeline parameter",
	}
}

deny contains v if {
	p.runtime_images != "warn"
	some v in _runtime_image
}

warn contains v if {
	p.runtime_images == "warn"
	some v in _runtime_image
}

_unresolved contains v if {
	some a in ev.artifacts
	not a.uri
	v := {
		"rule": "artifact_unresolved",
		"severity": "high",
		"message": sprintf("importer %s reads an artifact known only at run time (%s): what it imports cannot be judged", [a.executor, a.source]),
		"remediation": "give the importer a constant URI (pinned: oci://...@sha256:... or gs://...#generation), or a pipeline input default",
	}
}

deny contains v if {
	p.unresolved_artifacts != "warn"
	some v in _unresolved
}

warn contains v if {
	p.unresolved_artifacts == "warn"
	some v in _unresolved
}

deny contains v if {
	some a in ev.artifacts
	a.uri
	not a.candidate
	v := {
		"rule": "artifact_scheme",
		"severity": "high",
		"message": sprintf("importer %s reads %s: a %s URI gatehouse cannot fetch to judge", [a.executor, a.uri, object.get(a, "scheme", "schemeless")]),
		"remediation": "import from gs://, s3://, oci:// or https:// so the artifact can be gated on its own",
	}
}

_overridable contains v if {
	some a in ev.artifacts
	a.uri
	startswith(a.source, "pipeline input default")
	v := {
		"rule": "artifact_overridable",
		"severity": "medium",
		"message": sprintf("importer %s reads %s from a %s: a run may import something else", [a.executor, a.uri, a.source]),
		"remediation": "make the URI a constant in the importer, or gate each run's parameters",
	}
}

deny contains v if {
	p.overridable_artifacts == "deny"
	some v in _overridable
}

warn contains v if {
	p.overridable_artifacts != "deny"
	some v in _overridable
}
