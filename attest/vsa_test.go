package attest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/signature"
)

func TestVSA(t *testing.T) {
	ctx := context.Background()
	signer, verifier := loadPair(t, "ecdsa-p256")
	other, _ := loadPair(t, "ed25519")
	artifact := "sha256:" + strings.Repeat("ab", 32)
	policyDigest := "sha256:" + strings.Repeat("cd", 32)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	base := VSAOptions{
		SubjectName: "models/fraud-v3", Digest: artifact, PolicyDigest: policyDigest, PolicyURI: "https://github.com/acme/policies",
		Passed: true, VerifiedLevels: []string{"GATEHOUSE_PROD"}, TimeVerified: at,
		InputAttestations: []Material{{URI: "models/fraud-v3.sigstore.json", Digest: map[string]string{"sha256": strings.Repeat("ef", 32)}}},
	}
	policy := VSAPolicy{
		Verifiers: []signature.Verifier{verifier}, Digest: artifact, AcceptedPolicyDigests: []string{"sha256:" + strings.Repeat("00", 32), policyDigest},
		MaxAge: 24 * time.Hour, Level: "GATEHOUSE_PROD", Now: func() time.Time { return at.Add(time.Hour) },
	}
	sign := func(t *testing.T, s signature.Signer, o VSAOptions) []byte {
		env, err := SignVSA(ctx, s, o)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	// An envelope carrying another statement, signed by the right key.
	provenance := func(t *testing.T) []byte {
		st, _ := NewStatement(PredicateSLSAProvenanceV1, map[string]any{}, Subject{Name: "x", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}})
		b, _ := json.Marshal(st)
		e, err := SignEnvelope(ctx, signer, PayloadTypeInToto, b)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(e)
		return out
	}
	for _, tc := range []struct {
		name     string
		envelope func(t *testing.T) []byte
		policy   func(p *VSAPolicy)
		wantErr  error
		msg      string
	}{
		{name: "passes", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }},
		{name: "wrong key", envelope: func(t *testing.T) []byte { return sign(t, other, base) }, wantErr: ErrSignature},
		{name: "digest mismatch", envelope: func(t *testing.T) []byte {
			o := base
			o.Digest = "sha256:" + strings.Repeat("99", 32)
			return sign(t, signer, o)
		}, wantErr: ErrDigestMismatch, msg: "models/fraud-v3 (sha256:9999"},
		{name: "FAILED", envelope: func(t *testing.T) []byte { o := base; o.Passed = false; return sign(t, signer, o) }, wantErr: ErrNotPassed, msg: `"FAILED"`},
		{name: "policy digest not accepted", envelope: func(t *testing.T) []byte {
			o := base
			o.PolicyDigest = "sha256:" + strings.Repeat("77", 32)
			return sign(t, signer, o)
		}, wantErr: ErrPolicyDigest, msg: "sha256:7777"},
		{name: "other verifier", envelope: func(t *testing.T) []byte { o := base; o.VerifierID = "https://evil.example"; return sign(t, signer, o) }, wantErr: ErrVerifierID, msg: "https://evil.example"},
		{name: "too old", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.MaxAge = 30 * time.Minute }, wantErr: ErrTooOld, msg: "1h0m0s ago"},
		{name: "from the future", envelope: func(t *testing.T) []byte {
			o := base
			o.TimeVerified = at.Add(2 * time.Hour)
			return sign(t, signer, o)
		}, wantErr: ErrFuture},
		{name: "level not verified", envelope: func(t *testing.T) []byte {
			o := base
			o.VerifiedLevels = []string{"GATEHOUSE_DEV"}
			return sign(t, signer, o)
		}, wantErr: ErrLevel, msg: "GATEHOUSE_PROD"},
		{name: "provenance is not a VSA", envelope: provenance, wantErr: ErrNotVSA, msg: PredicateSLSAProvenanceV1},
		{name: "malformed envelope", envelope: func(*testing.T) []byte { return []byte(`{"payloadType":`) }, wantErr: ErrMalformed},
		{name: "payload altered", envelope: func(t *testing.T) []byte {
			e, _ := ParseEnvelope(sign(t, signer, base))
			e.Payload = []byte(strings.Replace(string(e.Payload), "PASSED", "PASSED ", 1))
			b, _ := json.Marshal(e)
			return b
		}, wantErr: ErrSignature},
		{name: "no keys", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.Verifiers = nil }, wantErr: ErrVSAPolicy},
		{name: "no accepted policy", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.AcceptedPolicyDigests = nil }, wantErr: ErrVSAPolicy},
		{name: "no max age", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.MaxAge = 0 }, wantErr: ErrVSAPolicy},
		{name: "bad policy digest", envelope: func(t *testing.T) []byte { return sign(t, signer, base) }, policy: func(p *VSAPolicy) { p.Digest = "abc" }, wantErr: ErrVSAPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if tc.policy != nil {
				tc.policy(&p)
			}
			res, err := VerifyVSA(ctx, tc.envelope(t), p)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				want := VSAPredicate{
					Verifier: VSAVerifier{ID: DefaultVerifierID}, TimeVerified: at, ResourceURI: "models/fraud-v3",
					Policy:             Material{URI: "https://github.com/acme/policies", Digest: map[string]string{"sha256": strings.Repeat("cd", 32)}},
					InputAttestations:  base.InputAttestations,
					VerificationResult: VSAPassed, VerifiedLevels: []string{"GATEHOUSE_PROD"}, SLSAVersion: "1.0",
				}
				if diff := cmp.Diff(want, res.VSA); diff != "" {
					t.Errorf("VSA (-want +got):\n%s", diff)
				}
				if res.Subject.Name != "models/fraud-v3" || res.Statement.Type != StatementTypeV1 {
					t.Errorf("subject %+v, statement type %s", res.Subject, res.Statement.Type)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			// Each failure is its own: no other VSA sentinel matches.
			for _, other := range vsaSentinels {
				if other != tc.wantErr && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

// vsaSentinels are VerifyVSA's reasons to refuse a VSA: each failure
// matches exactly one.
var vsaSentinels = []error{ErrSignature, ErrDigestMismatch, ErrNotPassed, ErrPolicyDigest, ErrVerifierID, ErrTooOld, ErrFuture, ErrLevel, ErrNotVSA, ErrGates, ErrConfigDigest, ErrEnvironment}

// TestVSAJudged: a VSA says which gates ran, for which environment, under
// which configuration, and VerifyVSA refuses one that does not cover what
// the verifier requires: above all the VSA of a run narrowed with --gate.
func TestVSAJudged(t *testing.T) {
	ctx := context.Background()
	signer, verifier := loadPair(t, "ecdsa-p256")
	artifact := "sha256:" + strings.Repeat("ab", 32)
	policyDigest := "sha256:" + strings.Repeat("cd", 32)
	configDigest := "sha256:" + strings.Repeat("c0", 32)
	prodGates := []string{"license", "model_scan", "modelcard", "pii", "signature", "sonarqube"}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	full := VSAOptions{
		SubjectName: "models/fraud-v3", Digest: artifact, PolicyDigest: policyDigest, Passed: true, TimeVerified: at,
		Environment: "prod", Gates: prodGates, RequiredGates: prodGates, ConfigDigest: configDigest,
	}
	policy := VSAPolicy{
		Verifiers: []signature.Verifier{verifier}, Digest: artifact, AcceptedPolicyDigests: []string{policyDigest},
		MaxAge: time.Hour, Level: "GATEHOUSE_PROD", Now: func() time.Time { return at.Add(time.Minute) },
		RequiredGates: prodGates, AcceptedConfigDigests: []string{"sha256:" + strings.Repeat("00", 32), configDigest}, Environment: "prod",
	}
	sign := func(o VSAOptions) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			env, err := SignVSA(ctx, signer, o)
			if err != nil {
				t.Fatal(err)
			}
			return env
		}
	}
	// signEdited signs full's statement with its predicate edited as JSON:
	// what only a key holder (or a gatehouse without these checks) writes.
	signEdited := func(edit func(p map[string]any)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			st, err := NewVSA(full)
			if err != nil {
				t.Fatal(err)
			}
			var p map[string]any
			if err := json.Unmarshal(st.Predicate, &p); err != nil {
				t.Fatal(err)
			}
			edit(p)
			if st.Predicate, err = json.Marshal(p); err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(st)
			e, err := SignEnvelope(ctx, signer, PayloadTypeInToto, payload)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(e)
			return out
		}
	}
	ext := func(edit func(x map[string]any)) func(t *testing.T) []byte {
		return signEdited(func(p map[string]any) { edit(p["gatehouse"].(map[string]any)) })
	}
	with := func(edit func(o *VSAOptions)) VSAOptions {
		o := full
		edit(&o)
		return o
	}
	// The VSA the attack of issue 7 signed: check --gate sonarqube, which
	// did not list the gates it skipped as required.
	partial := with(func(o *VSAOptions) { o.Gates, o.RequiredGates = []string{"sonarqube"}, nil })
	noExt := with(func(o *VSAOptions) {
		o.Environment, o.Gates, o.RequiredGates, o.ConfigDigest, o.VerifiedLevels = "", nil, nil, "", []string{"GATEHOUSE_PROD"}
	})
	for _, tc := range []struct {
		name     string
		envelope func(t *testing.T) []byte
		policy   func(p *VSAPolicy)
		wantErr  error
		msg      string
	}{
		{name: "full run accepted", envelope: sign(full)},
		{name: "full run, gates listed in any order and more than required", envelope: sign(with(func(o *VSAOptions) {
			o.Gates = append([]string{"score", "fairness"}, prodGates...)
		}))},
		{name: "partial run refused", envelope: sign(partial), wantErr: ErrGates, msg: "[license model_scan modelcard pii signature] did not run"},
		{name: "partial run accepted when the verifier requires only what ran", envelope: sign(partial), policy: func(p *VSAPolicy) { p.RequiredGates = []string{"sonarqube"} }},
		{name: "VSA that records its own partial run refused", envelope: ext(func(x map[string]any) { x["gates"] = []string{"sonarqube"} }),
			policy: func(p *VSAPolicy) { p.RequiredGates = nil }, wantErr: ErrGates, msg: "records a partial run"},
		{name: "one required gate missing", envelope: sign(with(func(o *VSAOptions) { o.Gates, o.RequiredGates = prodGates[1:], prodGates[1:] })), wantErr: ErrGates, msg: "[license] did not run"},
		{name: "no extension, gates required", envelope: sign(noExt), wantErr: ErrGates, msg: "no gatehouse extension"},
		{name: "no extension, environment required", envelope: sign(noExt), policy: func(p *VSAPolicy) { p.RequiredGates, p.AcceptedConfigDigests = nil, nil }, wantErr: ErrEnvironment, msg: "no gatehouse extension"},
		{name: "no extension, configuration required", envelope: sign(noExt), policy: func(p *VSAPolicy) { p.RequiredGates, p.Environment = nil, "" }, wantErr: ErrConfigDigest, msg: "no gatehouse extension"},
		{name: "no extension, nothing of it required", envelope: sign(noExt), policy: func(p *VSAPolicy) { p.RequiredGates, p.Environment, p.AcceptedConfigDigests = nil, "", nil }},
		{name: "other configuration", envelope: sign(with(func(o *VSAOptions) { o.ConfigDigest = "sha256:" + strings.Repeat("77", 32) })), wantErr: ErrConfigDigest, msg: "sha256:7777"},
		{name: "any configuration when none is listed", envelope: sign(with(func(o *VSAOptions) { o.ConfigDigest = "sha256:" + strings.Repeat("77", 32) })), policy: func(p *VSAPolicy) { p.AcceptedConfigDigests = nil }},
		{name: "other environment", envelope: sign(with(func(o *VSAOptions) { o.Environment = "dev"; o.VerifiedLevels = []string{"GATEHOUSE_PROD"} })), wantErr: ErrEnvironment, msg: `"dev", want "prod"`},
		{name: "environment is case-sensitive", envelope: sign(with(func(o *VSAOptions) { o.Environment = "Prod" })), wantErr: ErrEnvironment},
		{name: "gates not a list", envelope: ext(func(x map[string]any) { x["gates"] = "sonarqube" }), wantErr: ErrMalformed, msg: "gatehouse.gates"},
		{name: "gate not a string", envelope: ext(func(x map[string]any) { x["gates"] = []any{"sonarqube", 1} }), wantErr: ErrMalformed, msg: "gatehouse.gates"},
		{name: "empty gate name", envelope: ext(func(x map[string]any) { x["gates"] = []any{"sonarqube", ""} }), wantErr: ErrMalformed, msg: "gatehouse.gates[1] is empty"},
		{name: "gates empty", envelope: ext(func(x map[string]any) { x["gates"] = []any{} }), wantErr: ErrMalformed, msg: "gatehouse.gates is missing"},
		{name: "gates null", envelope: ext(func(x map[string]any) { x["gates"] = nil }), wantErr: ErrMalformed, msg: "gatehouse.gates is missing"},
		{name: "required gates not a list", envelope: ext(func(x map[string]any) { x["requiredGates"] = map[string]any{"license": true} }), wantErr: ErrMalformed, msg: "gatehouse.requiredGates"},
		{name: "environment not a string", envelope: ext(func(x map[string]any) { x["environment"] = 1 }), wantErr: ErrMalformed, msg: "gatehouse.environment"},
		{name: "environment missing", envelope: ext(func(x map[string]any) { delete(x, "environment") }), wantErr: ErrMalformed, msg: "gatehouse.environment"},
		{name: "config digest a string", envelope: ext(func(x map[string]any) { x["configDigest"] = configDigest }), wantErr: ErrMalformed, msg: "gatehouse.configDigest"},
		{name: "config digest not hex", envelope: ext(func(x map[string]any) { x["configDigest"] = map[string]any{"sha256": "zz"} }), wantErr: ErrMalformed, msg: "gatehouse.configDigest"},
		{name: "config digest of an unknown algorithm", envelope: ext(func(x map[string]any) { x["configDigest"] = map[string]any{"md5": strings.Repeat("00", 16)} }), wantErr: ErrMalformed, msg: "gatehouse.configDigest"},
		{name: "config digest missing", envelope: ext(func(x map[string]any) { delete(x, "configDigest") }), wantErr: ErrMalformed, msg: "gatehouse.configDigest"},
		{name: "unknown field in the extension", envelope: ext(func(x map[string]any) { x["partial"] = false }), wantErr: ErrMalformed, msg: "unknown field"},
		{name: "extension not an object", envelope: signEdited(func(p map[string]any) { p["gatehouse"] = []any{"prod"} }), wantErr: ErrMalformed, msg: "gatehouse"},
		{name: "empty required gate in the policy", envelope: sign(full), policy: func(p *VSAPolicy) { p.RequiredGates = []string{"license", ""} }, wantErr: ErrVSAPolicy},
		{name: "bad accepted config digest in the policy", envelope: sign(full), policy: func(p *VSAPolicy) { p.AcceptedConfigDigests = []string{"c0c0"} }, wantErr: ErrVSAPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			if tc.policy != nil {
				tc.policy(&p)
			}
			res, err := VerifyVSA(ctx, tc.envelope(t), p)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.VSA.Gatehouse != nil && !slices.Contains(res.VSA.VerifiedLevels, EnvironmentLevel(res.VSA.Gatehouse.Environment)) {
					t.Errorf("verifiedLevels %v lack the environment's level", res.VSA.VerifiedLevels)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			for _, other := range vsaSentinels {
				if other != tc.wantErr && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
		})
	}
}

// TestVSAExtensionJSON pins the extension's wire form (docs/signing.md).
func TestVSAExtensionJSON(t *testing.T) {
	st, err := NewVSA(VSAOptions{
		SubjectName: "m", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32), Passed: true,
		TimeVerified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Environment: "prod",
		Gates: []string{"sonarqube", "license", "sonarqube"}, RequiredGates: []string{"sonarqube", "license"}, ConfigDigest: "sha256:" + strings.Repeat("c0", 32),
		InputAttestations: []Material{{Name: "sonarqube", Digest: map[string]string{"sha256": strings.Repeat("ef", 32)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(st.Predicate, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{
		"verifier": {"id": "https://github.com/gatehouse-dev/gatehouse"},
		"timeVerified": "2026-01-02T03:04:05Z",
		"resourceUri": "m",
		"policy": {"digest": {"sha256": "`+strings.Repeat("cd", 32)+`"}},
		"inputAttestations": [{"name": "sonarqube", "digest": {"sha256": "`+strings.Repeat("ef", 32)+`"}}],
		"verificationResult": "PASSED",
		"verifiedLevels": ["GATEHOUSE_PROD"],
		"slsaVersion": "1.0",
		"gatehouse": {
			"environment": "prod",
			"gates": ["license", "sonarqube"],
			"requiredGates": ["license", "sonarqube"],
			"configDigest": {"sha256": "`+strings.Repeat("c0", 32)+`"}
		}
	}`), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("predicate (-want +got):\n%s", diff)
	}
}

func TestNewVSAErrors(t *testing.T) {
	good := VSAOptions{SubjectName: "x", Digest: "sha256:" + strings.Repeat("ab", 32), PolicyDigest: "sha256:" + strings.Repeat("cd", 32)}
	for _, tc := range []struct {
		name   string
		mutate func(o *VSAOptions)
		msg    string
	}{
		{"no subject", func(o *VSAOptions) { o.SubjectName = "" }, "SubjectName"},
		{"bad digest", func(o *VSAOptions) { o.Digest = "sha256:abc" }, "subject digest"},
		{"no policy digest", func(o *VSAOptions) { o.PolicyDigest = "" }, "policy digest"},
		{"gates without environment", func(o *VSAOptions) { o.Gates = []string{"license"} }, "Environment is empty"},
		{"environment without gates", func(o *VSAOptions) { o.Environment = "prod" }, "Gates is empty"},
		{"no config digest", func(o *VSAOptions) { o.Environment, o.Gates = "prod", []string{"license"} }, "configuration digest"},
		{"empty gate", func(o *VSAOptions) {
			o.Environment, o.Gates, o.ConfigDigest = "prod", []string{"license", ""}, good.PolicyDigest
		}, "gate name is empty"},
		{"partial run passed", func(o *VSAOptions) {
			o.Passed, o.Environment, o.Gates, o.RequiredGates, o.ConfigDigest = true, "prod", []string{"sonarqube"}, []string{"license", "sonarqube", "pii"}, good.PolicyDigest
		}, "skipped required gates [license pii]: a partial run is not attested"},
	} {
		o := good
		tc.mutate(&o)
		if _, err := NewVSA(o); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.msg)
		}
	}
	partial := good
	partial.Environment, partial.Gates, partial.RequiredGates, partial.ConfigDigest = "prod", []string{"sonarqube"}, []string{"license", "sonarqube"}, good.PolicyDigest
	if _, err := NewVSA(partial); err != nil {
		t.Errorf("a FAILED VSA of a partial run says what it judged and is allowed: %v", err)
	}
	partial.Passed = true
	if _, err := SignVSA(context.Background(), nil, partial); !errors.Is(err, ErrPartial) {
		t.Errorf("SignVSA of a passed partial run: %v, want ErrPartial", err)
	}
	st, err := NewVSA(good)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVSAPredicate(st.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if v.VerificationResult != VSAFailed || v.ResourceURI != "x" || v.Verifier.ID != DefaultVerifierID || v.TimeVerified.IsZero() {
		t.Errorf("defaults: %+v", v)
	}
}

func TestParseVSAPredicateErrors(t *testing.T) {
	pd := `"policy":{"digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}`
	for _, tc := range []struct{ doc, msg string }{
		{`{"verifier":{},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED"}`, "verifier.id"},
		{`{"verifier":{"id":"v"},"resourceUri":"r",` + pd + `,"verificationResult":"PASSED"}`, "timeVerified is missing"},
		{`{"verifier":{"id":"v"},"timeVerified":"yesterday","resourceUri":"r",` + pd + `,"verificationResult":"PASSED"}`, `invalid google.protobuf.Timestamp value "yesterday"`},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z",` + pd + `,"verificationResult":"PASSED"}`, "resourceUri"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{},"verificationResult":"PASSED"}`, "policy.digest"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"sha256":"a"}},"verificationResult":"PASSED"}`, "field policy.digest.sha256: 1 hex digits, want 64"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"OK"}`, "verificationResult"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","inputAttestations":[{"name":"x","digest":{"sha256":"ab"}}]}`, "field inputAttestations[0].digest.sha256: 2 hex digits, want 64"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","inputAttestations":[{"name":"x","digest":{"md5":"ab"}}]}`, "field inputAttestations[0]: digest has incorrect length"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r","policy":{"digest":{"":"00"}},"verificationResult":"PASSED"}`, "field policy.digest: an algorithm name is empty"},
		{`{"verifier":{"id":"v","version":"1.0"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED"}`, "field verifier.version: JSON string"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","dependencyLevels":{"SLSA_BUILD_LEVEL_3":-1}}`, "invalid value for uint64 field value: -1"},
		// Names protojson and encoding/json readers would read differently.
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verification_result":"PASSED"}`, "field verification_result: write it as verificationResult"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"FAILED","VerificationResult":"PASSED"}`, "field VerificationResult: spelled verificationResult"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"FAILED","verificationResult":"PASSED"}`, "field verificationResult appears twice"},
		{`{"verifier":{"id":"v","ID":"w"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED"}`, "field verifier.ID"},
		{`{"verifier":{"id":"v","Version":{"a":"1"}},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED"}`, "field verifier.Version: spelled verifier.version"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","inputAttestations":[{"nAme":"x","digest":{}}]}`, "field inputAttestations[0].nAme: spelled inputAttestations[0].name"},
		// The extension is gatehouse's own: strict.
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","gatehouse":"prod"}`, "field gatehouse is not a JSON object"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","gatehouse":{}}`, "gatehouse.environment"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","gatehouse":{"environment":"prod","gates":[true],"configDigest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}}`, "gatehouse.gates"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","gatehouse":{"environment":"prod","gates":["a"],"Gates":["b"],"configDigest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}}`, `unknown field "Gates" in gatehouse`},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","gatehouse":{"environment":"prod","gates":["a"],"gates":["a","b"],"configDigest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}}`, "field gatehouse.gates appears twice"},
		{`{"verifier":{"id":"v"},"timeVerified":"2026-01-01T00:00:00Z","resourceUri":"r",` + pd + `,"verificationResult":"PASSED","gatehouse":null,"gatehouse":{}}`, "field gatehouse appears twice"},
	} {
		if _, err := ParseVSAPredicate([]byte(tc.doc)); !errors.Is(err, ErrMalformed) || !strings.Contains(fmtErr(err), tc.msg) {
			t.Errorf("error %v, want one saying %q", err, tc.msg)
		}
	}
}

// TestParseVSAPredicateOtherProducers: a VSA as another verifier writes it
// (spec fields the vsa/v1 proto lacks, extension members of its own, a time
// with an offset) is read, and its unknown members are ignored.
func TestParseVSAPredicateOtherProducers(t *testing.T) {
	doc := `{"verifier":{"id":"https://slsa-verifier.example","version":{"slsa-verifier":"2.6.0"},"x-build":"7"},
		"timeVerified":"2026-01-01T01:00:00+01:00","resourceUri":"pkg:oci/app",
		"policy":{"uri":"https://example.com/policy","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"},"x-note":1},
		"inputAttestations":[{"uri":"att.json","digest":{"sha256":"` + strings.Repeat("cd", 32) + `"},"mediaType":"application/vnd.in-toto+json"}],
		"verificationResult":"PASSED","verifiedLevels":["SLSA_BUILD_LEVEL_3"],"dependencyLevels":{"SLSA_BUILD_LEVEL_3":5},"slsaVersion":"1.0",
		"x-acme":{"reviewed":true}}`
	got, err := ParseVSAPredicate([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &VSAPredicate{
		Verifier:     VSAVerifier{ID: "https://slsa-verifier.example", Version: map[string]string{"slsa-verifier": "2.6.0"}},
		TimeVerified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ResourceURI: "pkg:oci/app",
		Policy:             Material{URI: "https://example.com/policy", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}},
		InputAttestations:  []Material{{URI: "att.json", Digest: map[string]string{"sha256": strings.Repeat("cd", 32)}}},
		VerificationResult: VSAPassed, VerifiedLevels: []string{"SLSA_BUILD_LEVEL_3"}, DependencyLevels: map[string]int64{"SLSA_BUILD_LEVEL_3": 5}, SLSAVersion: "1.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
