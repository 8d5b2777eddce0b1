# METADATA
# title: Admission
# description: >-
#   The Kubernetes admission policy of gatehouse serve (not a gate: the gates
#   engine ignores this package). Input: the request, the namespace (labels,
#   mode, environment), the workload (kind, name, pod specs), every image with
#   how its verification went (signatures and the gate's VSA), model URIs,
#   GPU requests, and whether any container is privileged or mounts a
#   hostPath. Configuration: data.gatehouse.admission_config (model_sources,
#   gpu_label, pinned_environments), from the admission section of
#   gatehouse.yaml. Yields deny and warn sets of {rule, message[, image]}.
# custom:
#   input:
#     images: "[{container, kind: container|init|ephemeral, ref, digest, pinned, verified, signatures_verified, vsa_verified, reasons, error?}]"
#     models: "[{uri, oci, digest, pinned, verified, reasons, error?}]"
package gatehouse.admission

config := object.union(
	{"model_sources": [], "gpu_label": "gatehouse.dev/gpu", "pinned_environments": ["prod"]},
	given_config,
)

default given_config := {}

given_config := data.gatehouse.admission_config

# An image that failed verification is denied with gatehouse's reasons.
# Images that could not be verified at all (error set: registry down,
# deadline) are left to the webhook's failure mode.
deny contains {"rule": "image_not_verified", "image": img.ref, "message": msg} if {
	some img in input.images
	not img.verified
	not img.error
	msg := sprintf("image %s: %s", [img.ref, reasons(img)])
}

reasons(x) := concat("; ", x.reasons) if count(x.reasons) > 0

reasons(x) := "not verified" if count(x.reasons) == 0

pinned_environment if input.namespace.environment in config.pinned_environments

deny contains {"rule": "image_not_pinned", "image": img.ref, "message": msg} if {
	pinned_environment
	some img in input.images
	not img.pinned
	msg := sprintf("image %s is not pinned by digest: %s namespaces need image@sha256:... (or the /mutate webhook)", [img.ref, input.namespace.environment])
}

warn contains {"rule": "image_not_pinned", "image": img.ref, "message": msg} if {
	not pinned_environment
	some img in input.images
	not img.pinned
	msg := sprintf("image %s is not pinned by digest: the tag may move after admission", [img.ref])
}

gpu_allowed if input.namespace.labels[config.gpu_label] == "true"

deny contains {"rule": "gpu_not_allowed", "message": msg} if {
	input.gpu_requests > 0
	not gpu_allowed
	msg := sprintf("%s %s requests %d nvidia.com/gpu, but namespace %s is not labelled %s=true", [input.workload.kind, input.workload.name, input.gpu_requests, input.namespace.name, config.gpu_label])
}

deny contains {"rule": "notebook_privileged", "message": msg} if {
	input.workload.kind == "Notebook"
	input.privileged
	msg := sprintf("Notebook %s runs a privileged container", [input.workload.name])
}

deny contains {"rule": "notebook_host_path", "message": msg} if {
	input.workload.kind == "Notebook"
	input.host_path
	msg := sprintf("Notebook %s mounts a hostPath volume", [input.workload.name])
}

allowed_source(uri) if {
	some prefix in config.model_sources
	startswith(uri, prefix)
}

deny contains {"rule": "model_source", "image": m.uri, "message": msg} if {
	some m in input.models
	not allowed_source(m.uri)
	msg := sprintf("model %s is not from an allowed source (admission.model_sources: %s)", [m.uri, sources_text])
}

sources_text := concat(", ", config.model_sources) if count(config.model_sources) > 0

sources_text := "none configured" if count(config.model_sources) == 0

# An oci:// model is admitted on its VSA exactly like an image.
deny contains {"rule": "model_not_verified", "image": m.uri, "message": msg} if {
	some m in input.models
	m.oci
	not m.verified
	not m.error
	msg := sprintf("model %s: %s", [m.uri, reasons(m)])
}

deny contains {"rule": "model_not_pinned", "image": m.uri, "message": msg} if {
	pinned_environment
	some m in input.models
	m.oci
	not m.pinned
	msg := sprintf("model %s is not pinned by digest: %s namespaces need oci://...@sha256:...", [m.uri, input.namespace.environment])
}
