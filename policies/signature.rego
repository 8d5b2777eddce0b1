# METADATA
# title: Signature
# description: The artifact carries a valid signature from a configured key or keyless identity.
# custom:
#   evidence: [signatures]
#   params:
#     formats:
#       type: array
#       description: the signature formats accepted (default all four)
#       items: {enum: [cosign-tag, cosign-referrer, bundle-referrer, blob-bundle]}
#     keys:
#       type: [string, array]
#       items: {type: string}
#       description: trusted public keys, PEM files (relative to gatehouse.yaml) or inline PEM (read by the collector)
#     identities:
#       type: array
#       description: trusted keyless signers (Fulcio certificate identities), read by the collector
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
package gatehouse.gates.signature

import data.gatehouse.lib

# keys and identities are used by the collector, which verifies with them;
# this gate judges what it found. Formats lists the accepted signature formats.
params := lib.params("signature", {"formats": ["cosign-tag", "cosign-referrer", "bundle-referrer", "blob-bundle"]})

ev := input.evidence.signatures

deny contains v if some v in lib.evidence_denials("signatures")

deny contains v if {
	lib.evidence_ok("signatures")
	ev.schema != "signatures/v1"
	v := {
		"rule": "schema",
		"severity": "high",
		"message": sprintf("signatures evidence has schema %v, this gate reads signatures/v1", [ev.schema]),
		"remediation": "collect the evidence with a matching gatehouse version",
	}
}

deny contains v if {
	lib.evidence_ok("signatures")
	input.subject.digest
	ev.digest != input.subject.digest
	v := {
		"rule": "digest_mismatch",
		"severity": "critical",
		"message": sprintf("signatures were verified for %v but the subject is %v", [ev.digest, input.subject.digest]),
		"remediation": "verify the signatures of the exact digest being admitted",
	}
}

accepted contains s if {
	some s in ev.signatures
	s.verified == true
	s.format in params.formats
}

deny contains v if {
	lib.evidence_ok("signatures")
	count(accepted) == 0
	count(ev.signatures) == 0
	v := {
		"rule": "unsigned",
		"severity": "high",
		"message": sprintf("%v:%v has no signature", [input.subject.kind, input.subject.ref]),
		"remediation": sign_how[in_registry],
	}
}

# Whether the subject lives in an OCI registry: an image, or a model or
# dataset stored as an OCI artifact (oci://…), signed as cosign signs images.
default in_registry := false

in_registry if input.subject.kind == "image"

in_registry if startswith(input.subject.ref, "oci://")

# How to sign, by whether the subject is in a registry (true) or a file or folder (false).
sign_how := {
	true: "sign it (cosign sign --key KEY, or keyless in CI) with a key or identity listed in the signature gate's params",
	false: "sign it (gatehouse sign --key KEY PATH, or cosign sign-blob --new-bundle-format --bundle PATH.sigstore.json) with a key or identity listed in the signature gate's params",
}

deny contains v if {
	lib.evidence_ok("signatures")
	count(accepted) == 0
	count(ev.signatures) > 0
	reasons := [sprintf("%v at %v: %v", [s.format, object.get(s, "location", "?"), object.get(s, "error", "format not accepted")]) | some s in ev.signatures]
	v := {
		"rule": "no_valid_signature",
		"severity": "high",
		"message": sprintf("%v:%v: found %d signature(s), none verified under the configured keys and identities: %v", [input.subject.kind, input.subject.ref, count(ev.signatures), concat("; ", reasons)]),
		"remediation": "sign with a configured key or identity, or add the signer to the signature gate's keys/identities",
	}
}

warn contains v if {
	count(accepted) > 0
	some s in ev.signatures
	not s.verified
	v := {
		"rule": "invalid_extra_signature",
		"severity": "low",
		"message": sprintf("a %v signature did not verify: %v", [s.format, object.get(s, "error", "")]),
		"remediation": "remove stale or foreign signatures if they are not expected",
	}
}
