# METADATA
# title: Provenance
# description: SLSA provenance, verified, from a configured builder and source repository.
# custom:
#   evidence: [provenance]
#   params:
#     builders: {type: array, items: {type: string}, description: trusted builder ids (exact); empty denies}
#     repositories: {type: array, items: {type: string}, description: "trusted source repositories, glob patterns with / separating segments; empty denies"}
#     keys:
#       type: [string, array]
#       items: {type: string}
#       description: "trusted public keys, PEM files (relative to gatehouse.yaml) or inline PEM (read by the collector; without keys and identities here, the signature gate's apply)"
#     identities:
#       type: array
#       description: "trusted keyless signers (Fulcio certificate identities), read by the collector; without keys and identities here, the signature gate's apply"
#       items:
#         type: object
#         properties:
#           issuer: {type: string, description: "OIDC issuer, exactly"}
#           issuer_regexp: {type: string, format: regexp, description: "OIDC issuer, RE2 (write ^...$)"}
#           subject: {type: string, description: "certificate subject (e-mail or URI), exactly"}
#           subject_regexp: {type: string, format: regexp, description: "certificate subject, RE2 (write ^...$)"}
#     trusted_root: {type: string, description: "Sigstore trusted_root.json for keyless verification, relative to gatehouse.yaml"}
#     require_tlog: {type: boolean, description: key-based signatures must carry a transparency-log inclusion promise}
#     ignore_sct: {type: boolean, description: skip the certificate-transparency check (private CAs only)}
package gatehouse.gates.provenance

import data.gatehouse.lib

# builders: allowed builder ids; repositories: allowed source repositories
# (glob patterns, "/" separates segments). Empty lists deny: fail closed.
params := lib.params("provenance", {"builders": [], "repositories": []})

slsa_types := {"https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v0.2"}

ev := input.evidence.provenance

deny contains v if some v in lib.evidence_denials("provenance")

deny contains v if {
	lib.evidence_ok("provenance")
	ev.schema != "provenance/v1"
	v := {
		"rule": "schema",
		"severity": "high",
		"message": sprintf("provenance evidence has schema %v, this gate reads provenance/v1", [ev.schema]),
		"remediation": "collect the evidence with a matching gatehouse version",
	}
}

provenances contains a if {
	some a in ev.attestations
	a.verified == true
	a.predicate_type in slsa_types
}

builder_ok(a) if {
	some b in params.builders
	a.builder_id == b
}

repo_ok(a) if {
	some r in params.repositories
	glob.match(r, ["/"], a.source.repository)
}

good contains a if {
	some a in provenances
	builder_ok(a)
	repo_ok(a)
}

deny contains v if {
	lib.evidence_ok("provenance")
	count(provenances) == 0
	v := {
		"rule": "no_provenance",
		"severity": "high",
		"message": sprintf("%v:%v has no verified SLSA provenance (%d attestation(s) found)", [input.subject.kind, input.subject.ref, count(object.get(ev, "attestations", []))]),
		"remediation": "build with a SLSA provenance generator and attest the image with a configured key or identity",
	}
}

deny contains v if {
	lib.evidence_ok("provenance")
	count(params.builders) == 0
	v := {
		"rule": "no_builders_configured",
		"severity": "high",
		"message": "the provenance gate has no trusted builders configured",
		"remediation": "list trusted builder ids under params.provenance.builders in gatehouse.yaml",
	}
}

deny contains v if {
	lib.evidence_ok("provenance")
	count(params.repositories) == 0
	v := {
		"rule": "no_repositories_configured",
		"severity": "high",
		"message": "the provenance gate has no trusted source repositories configured",
		"remediation": "list trusted repositories under params.provenance.repositories in gatehouse.yaml",
	}
}

deny contains v if {
	lib.evidence_ok("provenance")
	count(provenances) > 0
	count(params.builders) > 0
	count(params.repositories) > 0
	count(good) == 0
	found := [sprintf("builder %v, source %v", [object.get(a, "builder_id", "?"), object.get(object.get(a, "source", {}), "repository", "?")]) | some a in provenances]
	v := {
		"rule": "untrusted_build",
		"severity": "critical",
		"message": sprintf("no provenance names a trusted builder and repository: %v", [concat("; ", found)]),
		"remediation": "build from a trusted repository on a trusted builder, or add them to the provenance gate's params",
	}
}
