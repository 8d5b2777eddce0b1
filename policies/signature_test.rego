package gatehouse.gates.signature_test

import data.gatehouse.gates.signature

digest := "sha256:aaaa"

subject := {"kind": "image", "ref": "reg/app:1", "digest": digest}

ok_sig := {"format": "cosign-tag", "verified": true, "key": "keys/ci.pub", "fingerprint": "sha256:ff", "tlog": false}

bad_sig := {"format": "cosign-tag", "verified": false, "tlog": false, "error": "key keys/ci.pub: invalid signature"}

inp(ev) := {"subject": subject, "evidence": {"signatures": ev}, "context": {"environment": "prod"}}

rules(set) := {v.rule | some v in set}

test_verified_passes if {
	count(signature.deny) == 0 with input as inp({"schema": "signatures/v1", "digest": digest, "verified": true, "signatures": [ok_sig]})
}

test_cases if {
	cases := [
		["missing evidence", {"subject": subject, "evidence": {}}, {"evidence_missing"}],
		["collector error", inp({"error": "no keys or identities are configured"}), {"evidence_error"}],
		["unsigned", inp({"schema": "signatures/v1", "digest": digest, "verified": false, "signatures": []}), {"unsigned"}],
		["invalid only", inp({"schema": "signatures/v1", "digest": digest, "verified": false, "signatures": [bad_sig]}), {"no_valid_signature"}],
		["digest mismatch", inp({"schema": "signatures/v1", "digest": "sha256:bbbb", "verified": true, "signatures": [ok_sig]}), {"digest_mismatch"}],
		["unknown schema", inp({"schema": "signatures/v9", "digest": digest, "verified": true, "signatures": [ok_sig]}), {"schema"}],
	]
	every c in cases {
		got := rules(signature.deny) with input as c[1]
		got == c[2]
	}
}

test_reason_in_message if {
	some v in signature.deny with input as inp({"schema": "signatures/v1", "digest": digest, "verified": false, "signatures": [bad_sig]})
	contains(v.message, "invalid signature")
}

test_format_not_accepted if {
	rules(signature.deny) == {"no_valid_signature"} with input as inp({"schema": "signatures/v1", "digest": digest, "verified": true, "signatures": [ok_sig]})
		with data.gatehouse.config.signature as {"formats": ["bundle-referrer"]}
}

test_extra_invalid_signature_warns if {
	rules(signature.warn) == {"invalid_extra_signature"} with input as inp({"schema": "signatures/v1", "digest": digest, "verified": true, "signatures": [ok_sig, bad_sig]})
	count(signature.deny) == 0 with input as inp({"schema": "signatures/v1", "digest": digest, "verified": true, "signatures": [ok_sig, bad_sig]})
}

test_unsigned_remediation_by_kind if {
	unsigned := {"schema": "signatures/v1", "digest": digest, "verified": false, "signatures": []}
	some img in signature.deny with input as inp(unsigned)
	contains(img.remediation, "cosign sign --key")
	model := {"subject": {"kind": "model", "ref": "models/fraud", "digest": digest}, "evidence": {"signatures": unsigned}}
	some m in signature.deny with input as model
	m.rule == "unsigned"
	contains(m.remediation, "gatehouse sign")
	oci := {"subject": {"kind": "model", "ref": "oci://registry.example/models/fraud@sha256:1234", "digest": digest}, "evidence": {"signatures": unsigned}}
	some o in signature.deny with input as oci
	contains(o.remediation, "cosign sign --key")
}

test_blob_bundle_verified_passes if {
	model := {"subject": {"kind": "dataset", "ref": "data/claims", "digest": digest}, "evidence": {"signatures": {
		"schema": "signatures/v1", "digest": digest, "verified": true,
		"signatures": [{"format": "blob-bundle", "verified": true, "key": "keys/ci.pub", "tlog": false, "location": "data/claims/.gatehouse.sigstore.json"}],
	}}}
	count(signature.deny) == 0 with input as model
}

# Every format the collector verifies is accepted by default, cosign's OCI 1.1 mode included.
test_every_format_accepted_by_default if {
	every f in ["cosign-tag", "cosign-referrer", "bundle-referrer", "blob-bundle"] {
		sig := object.union(ok_sig, {"format": f})
		count(signature.deny) == 0 with input as inp({"schema": "signatures/v1", "digest": digest, "verified": true, "signatures": [sig]})
	}
}
