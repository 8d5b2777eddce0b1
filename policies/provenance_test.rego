package gatehouse.gates.provenance_test

import data.gatehouse.gates.provenance

subject := {"kind": "image", "ref": "reg/app:1", "digest": "sha256:aaaa"}

cfg := {"builders": ["https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"], "repositories": ["https://github.com/acme/*"]}

slsa := {
	"predicate_type": "https://slsa.dev/provenance/v1", "format": "cosign-tag", "verified": true,
	"builder_id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0",
	"build_type": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
	"source": {"repository": "https://github.com/acme/app", "ref": "refs/heads/main", "digest": {"gitCommit": "0123"}},
}

inp(atts) := {"subject": subject, "evidence": {"provenance": {"schema": "provenance/v1", "digest": "sha256:aaaa", "attestations": atts}}}

rules(set) := {v.rule | some v in set}

test_trusted_build_passes if {
	count(provenance.deny) == 0 with input as inp([slsa]) with data.gatehouse.config.provenance as cfg
}

test_cases if {
	cases := [
		["missing evidence", {"subject": subject, "evidence": {}}, cfg, {"evidence_missing"}],
		["collector error", {"subject": subject, "evidence": {"provenance": {"error": "registry down"}}}, cfg, {"evidence_error"}],
		["no attestations", inp([]), cfg, {"no_provenance"}],
		["unverified", inp([object.union(slsa, {"verified": false, "error": "invalid signature"})]), cfg, {"no_provenance"}],
		["other predicate only", inp([object.union(slsa, {"predicate_type": "https://example.com/x"})]), cfg, {"no_provenance"}],
		["untrusted builder", inp([object.union(slsa, {"builder_id": "https://evil.example/builder"})]), cfg, {"untrusted_build"}],
		["untrusted repository", inp([object.union(slsa, {"source": {"repository": "https://github.com/evil/app"}})]), cfg, {"untrusted_build"}],
		["no source", inp([object.remove(slsa, ["source"])]), cfg, {"untrusted_build"}],
		["nothing configured", inp([slsa]), {}, {"no_builders_configured", "no_repositories_configured"}],
	]
	every c in cases {
		got := rules(provenance.deny) with input as c[1] with data.gatehouse.config.provenance as c[2]
		got == c[3]
	}
}

test_glob_does_not_cross_segments if {
	rules(provenance.deny) == {"untrusted_build"} with input as inp([object.union(slsa, {"source": {"repository": "https://github.com/acme/app/extra"}})])
		with data.gatehouse.config.provenance as cfg
}
