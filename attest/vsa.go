package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	vsav1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intotov1 "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
)

// DefaultVerifierID is gatehouse's verifier.id in the VSAs it issues.
const DefaultVerifierID = "https://github.com/gatehouse-dev/gatehouse"

// VSA verification results.
const (
	VSAPassed = "PASSED"
	VSAFailed = "FAILED"
)

// VSAPredicate is the predicate of a SLSA Verification Summary Attestation
// v1 (https://slsa.dev/spec/v1.0/verification_summary): gatehouse's view of
// in-toto's vsa/v1 VerificationSummary plus what that proto has no field
// for. Its JSON is the proto's JSON (the same names; ParseVSAPredicate
// reads it with protojson) with three kinds of sibling members beside the
// proto's fields: the spec's verifier.version and the resource descriptors'
// name (policy, inputAttestations), and gatehouse's extension "gatehouse".
// in-toto's parsing rules tell consumers to ignore members they do not
// know, so in-toto tools read the standard part and skip the rest, and
// gatehouse reads both: written by NewVSA, read by ParseVSAPredicate, the
// value round-trips (FuzzVSAPredicate). dependencyLevels are JSON numbers
// as the spec writes them (protojson reads numbers for its uint64 too).
type VSAPredicate struct {
	Verifier           VSAVerifier      `json:"verifier"`
	TimeVerified       time.Time        `json:"timeVerified"`
	ResourceURI        string           `json:"resourceUri"`
	Policy             Material         `json:"policy"`
	InputAttestations  []Material       `json:"inputAttestations,omitempty"`
	VerificationResult string           `json:"verificationResult"`
	VerifiedLevels     []string         `json:"verifiedLevels"`
	DependencyLevels   map[string]int64 `json:"dependencyLevels,omitempty"`
	SLSAVersion        string           `json:"slsaVersion,omitempty"`
	// Gatehouse is gatehouse's extension: what exactly was judged. VSAs of
	// other verifiers (and of gatehouse before it) have none.
	Gatehouse *VSAGatehouse `json:"gatehouse,omitempty"`
}

// VSAGatehouse is the predicate extension "gatehouse" of the VSAs gatehouse
// issues. SLSA VSA v1 names the policy but not which of its gates ran nor
// the configuration they ran under; without them a run narrowed to one
// gate would read like a full one. The predicate stays plain JSON: cosign
// verify-attestation --type https://slsa.dev/verification_summary/v1
// accepts it as is.
type VSAGatehouse struct {
	// Environment the decision was made for ("prod"); verifiedLevels has
	// its level, EnvironmentLevel(Environment).
	Environment string `json:"environment"`
	// Gates are the gates evaluated, sorted; never empty.
	Gates []string `json:"gates"`
	// RequiredGates are the gates the environment required for the
	// subject's kind, sorted; Gates cover them.
	RequiredGates []string `json:"requiredGates"`
	// ConfigDigest is the digest of the environment's configuration (its
	// required gates, the gates' parameters and the waivers in force), a
	// digest set like policy.digest: {"sha256": "<hex>"}.
	ConfigDigest map[string]string `json:"configDigest"`
}

// EnvironmentLevel is the verifiedLevels entry of a decision made for env:
// GATEHOUSE_<ENV>.
func EnvironmentLevel(env string) string { return "GATEHOUSE_" + strings.ToUpper(env) }

// VSAVerifier identifies who verified.
type VSAVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// VSAOptions describe the VSA of one decision.
type VSAOptions struct {
	// SubjectName is the subject's name: an image repository, a file or
	// folder name. Required.
	SubjectName string
	// Digest is the artifact's digest, "sha256:<hex>". Required.
	Digest string
	// ResourceURI defaults to SubjectName.
	ResourceURI string
	// VerifierID defaults to DefaultVerifierID; VerifierVersion is optional.
	VerifierID      string
	VerifierVersion map[string]string
	// PolicyURI names the policy bundle (optional); PolicyDigest is the
	// decision's policy digest, "sha256:<hex>". Required.
	PolicyURI    string
	PolicyDigest string
	// InputAttestations are the attestations the decision read.
	InputAttestations []Material
	// Passed selects PASSED or FAILED.
	Passed bool
	// VerifiedLevels, e.g. ["GATEHOUSE_PROD"]; DependencyLevels optional.
	VerifiedLevels   []string
	DependencyLevels map[string]int64
	// SLSAVersion defaults to "1.0".
	SLSAVersion string
	// TimeVerified defaults to now (UTC, whole seconds).
	TimeVerified time.Time

	// What was judged, written as the "gatehouse" extension. Leave all
	// four empty for a VSA without it; set any and all are required:
	// Environment, Gates (at least one) and ConfigDigest ("sha256:<hex>").
	// A PASSED VSA needs Gates to cover RequiredGates (ErrPartial).
	// VerifiedLevels defaults to [EnvironmentLevel(Environment)].
	Environment   string
	Gates         []string
	RequiredGates []string
	ConfigDigest  string
}

// ErrPartial is returned when asked to attest a run that did not evaluate
// every gate its environment requires.
var ErrPartial = errors.New("a partial run is not attested")

// gatehouseExtension builds the extension of o, or nil when o sets none
// of its fields.
func gatehouseExtension(o VSAOptions) (*VSAGatehouse, error) {
	if o.Environment == "" && len(o.Gates) == 0 && len(o.RequiredGates) == 0 && o.ConfigDigest == "" {
		return nil, nil
	}
	switch {
	case o.Environment == "":
		return nil, errors.New("new VSA: Environment is empty (the gates and configuration are given: say which environment they judged for)")
	case len(o.Gates) == 0:
		return nil, errors.New("new VSA: Gates is empty: a VSA of a run that evaluated no gate says nothing")
	}
	for _, list := range [][]string{o.Gates, o.RequiredGates} {
		for _, g := range list {
			if g == "" {
				return nil, errors.New("new VSA: a gate name is empty")
			}
		}
	}
	calg, ch, err := SplitDigest(o.ConfigDigest)
	if err != nil {
		return nil, fmt.Errorf("new VSA: configuration %w", err)
	}
	x := &VSAGatehouse{
		Environment:   o.Environment,
		Gates:         sortedSet(o.Gates),
		RequiredGates: sortedSet(o.RequiredGates),
		ConfigDigest:  map[string]string{calg: ch},
	}
	if missing := MissingGates(x.Gates, x.RequiredGates); o.Passed && len(missing) > 0 {
		return nil, fmt.Errorf("new VSA: the run skipped required gates %v: %w", missing, ErrPartial)
	}
	return x, nil
}

// sortedSet is list sorted, without duplicates, never nil.
func sortedSet(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return append([]string{}, slices.Compact(out)...)
}

// MissingGates lists the gates of required that are not in ran: what a
// partial run skipped.
func MissingGates(ran, required []string) []string {
	var missing []string
	for _, g := range required {
		if !slices.Contains(ran, g) && !slices.Contains(missing, g) {
			missing = append(missing, g)
		}
	}
	return missing
}

// NewVSA builds the in-toto v1 statement of a VSA: subject = SubjectName
// with its sha256 digest, predicate type PredicateVSA.
func NewVSA(o VSAOptions) (*Statement, error) {
	if o.SubjectName == "" {
		return nil, errors.New("new VSA: SubjectName is empty")
	}
	alg, h, err := SplitDigest(o.Digest)
	if err != nil {
		return nil, fmt.Errorf("new VSA: subject %w", err)
	}
	palg, ph, err := SplitDigest(o.PolicyDigest)
	if err != nil {
		return nil, fmt.Errorf("new VSA: policy %w", err)
	}
	ext, err := gatehouseExtension(o)
	if err != nil {
		return nil, err
	}
	p := VSAPredicate{
		Verifier:           VSAVerifier{ID: o.VerifierID, Version: o.VerifierVersion},
		TimeVerified:       o.TimeVerified,
		ResourceURI:        o.ResourceURI,
		Policy:             Material{URI: o.PolicyURI, Digest: map[string]string{palg: ph}},
		InputAttestations:  o.InputAttestations,
		VerificationResult: VSAFailed,
		VerifiedLevels:     o.VerifiedLevels,
		DependencyLevels:   o.DependencyLevels,
		SLSAVersion:        o.SLSAVersion,
		Gatehouse:          ext,
	}
	if o.Passed {
		p.VerificationResult = VSAPassed
	}
	if p.Verifier.ID == "" {
		p.Verifier.ID = DefaultVerifierID
	}
	if p.TimeVerified.IsZero() {
		p.TimeVerified = time.Now()
	}
	p.TimeVerified = p.TimeVerified.UTC().Truncate(time.Second)
	if p.ResourceURI == "" {
		p.ResourceURI = o.SubjectName
	}
	if p.VerifiedLevels == nil && ext != nil {
		p.VerifiedLevels = []string{EnvironmentLevel(ext.Environment)}
	}
	if p.VerifiedLevels == nil {
		p.VerifiedLevels = []string{}
	}
	if p.SLSAVersion == "" {
		p.SLSAVersion = "1.0"
	}
	st, err := NewStatement(PredicateVSA, p, Subject{Name: o.SubjectName, Digest: map[string]string{alg: h}})
	if err != nil {
		return nil, err
	}
	// Never sign what in-toto's binding (and so VerifyVSA) would not read:
	// a bad input attestation digest, a negative dependency level.
	if _, err := ParseVSAPredicate(st.Predicate); err != nil {
		return nil, fmt.Errorf("new VSA: %w", err)
	}
	return st, nil
}

// SignVSA builds the VSA of o and signs it into a DSSE envelope (JSON), the
// form cosign attest writes and VerifyVSA reads.
func SignVSA(ctx context.Context, s signature.Signer, o VSAOptions) ([]byte, error) {
	st, err := NewVSA(o)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("sign VSA: %w", err)
	}
	env, err := SignEnvelope(ctx, s, PayloadTypeInToto, payload)
	if err != nil {
		return nil, fmt.Errorf("sign VSA: %w", err)
	}
	return json.Marshal(env)
}

// Errors of VerifyVSA, each wrapped with the precise reason. Malformed
// input wraps ErrMalformed, a bad signature ErrSignature, a subject that is
// not the artifact ErrDigestMismatch.
var (
	ErrNotVSA       = errors.New("not a VSA")
	ErrNotPassed    = errors.New("VSA verification result is not PASSED")
	ErrPolicyDigest = errors.New("VSA policy digest not accepted")
	ErrVerifierID   = errors.New("VSA verifier not accepted")
	ErrTooOld       = errors.New("VSA too old")
	ErrFuture       = errors.New("VSA from the future")
	ErrLevel        = errors.New("VSA level not verified")
	ErrVSAPolicy    = errors.New("invalid VSA policy")
	// ErrGates: the VSA does not show that the required gates ran (no
	// gatehouse extension, or a gate set that does not cover them).
	ErrGates = errors.New("VSA gate set does not cover the required gates")
	// ErrConfigDigest: the VSA's configuration digest is not accepted.
	ErrConfigDigest = errors.New("VSA configuration digest not accepted")
	// ErrEnvironment: the VSA was issued for another environment.
	ErrEnvironment = errors.New("VSA environment not accepted")
)

// VSAPolicy is what a VSA must satisfy to be accepted.
type VSAPolicy struct {
	// Verifiers are the keys that may sign VSAs (any one suffices).
	Verifiers []signature.Verifier
	// Digest is the artifact's digest, "sha256:<hex>": a subject must match.
	Digest string
	// AcceptedPolicyDigests lists policy digests ("sha256:<hex>") accepted;
	// the VSA's policy.digest must be one of them. Required.
	AcceptedPolicyDigests []string
	// VerifierID defaults to DefaultVerifierID.
	VerifierID string
	// MaxAge is how old timeVerified may be. Required (> 0).
	MaxAge time.Duration
	// Level, when set, must be among verifiedLevels.
	Level string
	// ClockSkew tolerated for a timeVerified in the future (default 5m).
	ClockSkew time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// The next three read the VSA's gatehouse extension; a VSA without it
	// is refused when any of them is set.
	//
	// RequiredGates, when set, must all be among the gates the VSA says
	// ran (ErrGates names the missing ones). Give the gates the
	// environment requires for the artifact's kind.
	RequiredGates []string
	// AcceptedConfigDigests, when set, lists the configuration digests
	// ("sha256:<hex>") accepted (ErrConfigDigest).
	AcceptedConfigDigests []string
	// Environment, when set, must be the VSA's environment (ErrEnvironment).
	Environment string
}

// VSAResult is a VSA that verified.
type VSAResult struct {
	Statement *Statement
	VSA       VSAPredicate
	// Subject is the statement subject that matched the digest.
	Subject Subject
	// Verifier is the index in VSAPolicy.Verifiers of the key that signed.
	Verifier int
}

// VerifyVSA verifies a DSSE envelope holding a VSA: signed by one of
// p.Verifiers, an in-toto statement of predicate type PredicateVSA whose
// subject is p.Digest, verifier.id as expected, verificationResult PASSED,
// policy digest accepted, the level verified, timeVerified within MaxAge.
// Each failure wraps its own sentinel error.
func VerifyVSA(ctx context.Context, envelope []byte, p VSAPolicy) (*VSAResult, error) {
	if len(p.Verifiers) == 0 {
		return nil, fmt.Errorf("%w: %w: no keys to verify VSAs with", ErrVSAPolicy, ErrNoTrust)
	}
	if _, _, err := SplitDigest(p.Digest); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVSAPolicy, err)
	}
	if len(p.AcceptedPolicyDigests) == 0 {
		return nil, fmt.Errorf("%w: no accepted policy digests: give the digest of the policy bundle VSAs must have been issued under", ErrVSAPolicy)
	}
	if p.MaxAge <= 0 {
		return nil, fmt.Errorf("%w: MaxAge must be positive", ErrVSAPolicy)
	}
	if err := p.validateJudged(); err != nil {
		return nil, err
	}
	env, err := ParseEnvelopeLimits(envelope, VSALimits)
	if err != nil {
		return nil, err
	}
	if env.PayloadType != PayloadTypeInToto {
		return nil, fmt.Errorf("%w: DSSE payloadType is %q, want %q", ErrNotVSA, env.PayloadType, PayloadTypeInToto)
	}
	acc, err := VerifyEnvelope(ctx, env, p.Verifiers)
	if err != nil {
		return nil, fmt.Errorf("VSA: %w", err)
	}
	st, err := ParseStatementLimits(env.Payload, VSALimits)
	if err != nil {
		return nil, err
	}
	if st.PredicateType != PredicateVSA {
		return nil, fmt.Errorf("%w: predicateType is %q, want %q", ErrNotVSA, st.PredicateType, PredicateVSA)
	}
	sub, err := st.MatchDigest(p.Digest)
	if err != nil {
		return nil, fmt.Errorf("VSA subject: %w", err)
	}
	v, err := ParseVSAPredicate(st.Predicate)
	if err != nil {
		return nil, err
	}
	wantID := p.VerifierID
	if wantID == "" {
		wantID = DefaultVerifierID
	}
	if v.Verifier.ID != wantID {
		return nil, fmt.Errorf("%w: verifier.id is %q, want %q", ErrVerifierID, v.Verifier.ID, wantID)
	}
	if v.VerificationResult != VSAPassed {
		return nil, fmt.Errorf("%w: verificationResult is %q", ErrNotPassed, v.VerificationResult)
	}
	if !policyAccepted(v.Policy.Digest, p.AcceptedPolicyDigests) {
		return nil, fmt.Errorf("%w: policy.digest %s is not among the %d accepted (re-run gatehouse check under the current policy)", ErrPolicyDigest, digestString(v.Policy.Digest), len(p.AcceptedPolicyDigests))
	}
	if p.Level != "" && !slices.Contains(v.VerifiedLevels, p.Level) {
		return nil, fmt.Errorf("%w: verifiedLevels %v do not include %s", ErrLevel, v.VerifiedLevels, p.Level)
	}
	if err := p.checkJudged(v.Gatehouse); err != nil {
		return nil, err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	skew := p.ClockSkew
	if skew <= 0 {
		skew = 5 * time.Minute
	}
	t := now()
	if age := t.Sub(v.TimeVerified); age > p.MaxAge {
		return nil, fmt.Errorf("%w: verified at %s, %s ago, more than the %s allowed", ErrTooOld, v.TimeVerified.Format(time.RFC3339), age.Truncate(time.Second), p.MaxAge)
	}
	if v.TimeVerified.Sub(t) > skew {
		return nil, fmt.Errorf("%w: timeVerified %s is later than now (%s) by more than %s", ErrFuture, v.TimeVerified.Format(time.RFC3339), t.UTC().Format(time.RFC3339), skew)
	}
	return &VSAResult{Statement: st, VSA: *v, Subject: sub, Verifier: acc.Verifier}, nil
}

func (p *VSAPolicy) validateJudged() error {
	for _, g := range p.RequiredGates {
		if g == "" {
			return fmt.Errorf("%w: RequiredGates has an empty gate name", ErrVSAPolicy)
		}
	}
	for _, d := range p.AcceptedConfigDigests {
		if _, _, err := SplitDigest(d); err != nil {
			return fmt.Errorf("%w: accepted configuration %v", ErrVSAPolicy, err)
		}
	}
	return nil
}

// checkJudged checks what the VSA says was judged against p. A VSA whose
// own extension says required gates did not run is refused whatever p
// requires: it records a partial run.
func (p *VSAPolicy) checkJudged(x *VSAGatehouse) error {
	if x == nil {
		const none = "the VSA has no gatehouse extension, so it does not say which gates ran, for which environment, under which configuration (re-run gatehouse check --attest)"
		switch {
		case len(p.RequiredGates) > 0:
			return fmt.Errorf("%w: required %v: %s", ErrGates, p.RequiredGates, none)
		case p.Environment != "":
			return fmt.Errorf("%w: want %s: %s", ErrEnvironment, p.Environment, none)
		case len(p.AcceptedConfigDigests) > 0:
			return fmt.Errorf("%w: %s", ErrConfigDigest, none)
		}
		return nil
	}
	if p.Environment != "" && x.Environment != p.Environment {
		return fmt.Errorf("%w: the VSA was issued for environment %q, want %q", ErrEnvironment, x.Environment, p.Environment)
	}
	if missing := MissingGates(x.Gates, x.RequiredGates); len(missing) > 0 {
		return fmt.Errorf("%w: the VSA records a partial run: required gates %v did not run (gates run: %v)", ErrGates, missing, x.Gates)
	}
	if missing := MissingGates(x.Gates, p.RequiredGates); len(missing) > 0 {
		return fmt.Errorf("%w: gates %v did not run (the VSA's gates: %v; re-run gatehouse check --attest without --gate)", ErrGates, missing, x.Gates)
	}
	if len(p.AcceptedConfigDigests) > 0 && !policyAccepted(x.ConfigDigest, p.AcceptedConfigDigests) {
		return fmt.Errorf("%w: configDigest %s is not among the %d accepted (re-run gatehouse check under the current configuration)", ErrConfigDigest, digestString(x.ConfigDigest), len(p.AcceptedConfigDigests))
	}
	return nil
}

var vsaDesc = (&vsav1.VerificationSummary{}).ProtoReflect().Descriptor()

// vsaSiblings are the members of a VSA predicate that SLSA's VSA v1 spec
// defines and the vsa/v1 proto does not carry: verifier.version and the
// name of the policy and input attestations (ResourceDescriptors in the
// spec, uri and digest only in the proto). They are read beside the proto,
// as gatehouse's extension is.
type vsaSiblings struct {
	Verifier struct {
		Version map[string]string `json:"version"`
	} `json:"verifier"`
	Policy struct {
		Name string `json:"name"`
	} `json:"policy"`
	InputAttestations []struct {
		Name string `json:"name"`
	} `json:"inputAttestations"`
}

// ParseVSAPredicate decodes a VSA predicate with in-toto's binding
// (github.com/in-toto/attestation/go/predicates/vsa/v1, protojson, unknown
// fields ignored as in-toto's parsing rules say), requiring verifier.id,
// timeVerified, resourceUri, policy.digest and verificationResult, and
// digests that ResourceDescriptor.Validate accepts. The spec's fields the
// proto lacks (verifier.version, name) and gatehouse's extension are read
// beside it. The extension is gatehouse's own and strict: when there, its
// environment, gates (at least one, no empty name) and configDigest are
// required; unknown, duplicate or mistyped members are malformed.
func ParseVSAPredicate(data []byte) (*VSAPredicate, error) {
	const what = "VSA predicate"
	if err := checkJSON(what, data, VSALimits); err != nil {
		return nil, err
	}
	top, err := checkNames(what, "", data, vsaDesc)
	if err != nil {
		return nil, err
	}
	var pb vsav1.VerificationSummary
	if err := protoRead(what, data, &pb); err != nil {
		return nil, err
	}
	switch {
	case pb.GetVerifier().GetId() == "":
		return nil, malformed(what, "field verifier.id is missing or empty")
	case pb.GetTimeVerified() == nil:
		return nil, malformed(what, "field timeVerified is missing")
	case pb.GetResourceUri() == "":
		return nil, malformed(what, "field resourceUri is missing or empty")
	case len(pb.GetPolicy().GetDigest()) == 0:
		return nil, malformed(what, "field policy.digest is missing or empty")
	case pb.GetVerificationResult() != VSAPassed && pb.GetVerificationResult() != VSAFailed:
		return nil, malformed(what, "field verificationResult is %q, want PASSED or FAILED", pb.GetVerificationResult())
	}
	if err := pb.GetTimeVerified().CheckValid(); err != nil {
		return nil, malformed(what, "field timeVerified: %v", err)
	}
	var sib vsaSiblings
	if err := decodeStrictAt(what, "", data, &sib, true); err != nil {
		return nil, err
	}
	if err := checkDescriptor(sib.Policy.Name, pb.GetPolicy().GetUri(), pb.GetPolicy().GetDigest()); err != nil {
		return nil, malformed(what, "field policy%v", err)
	}
	v := &VSAPredicate{
		Verifier:           VSAVerifier{ID: pb.GetVerifier().GetId(), Version: nilIfEmpty(sib.Verifier.Version)},
		TimeVerified:       pb.GetTimeVerified().AsTime(),
		ResourceURI:        pb.GetResourceUri(),
		Policy:             Material{URI: pb.GetPolicy().GetUri(), Name: sib.Policy.Name, Digest: pb.GetPolicy().GetDigest()},
		VerificationResult: pb.GetVerificationResult(),
		VerifiedLevels:     append([]string{}, pb.GetVerifiedLevels()...),
		SLSAVersion:        pb.GetSlsaVersion(),
	}
	for i, a := range pb.GetInputAttestations() {
		m := Material{URI: a.GetUri(), Digest: nilIfEmpty(a.GetDigest())}
		if i < len(sib.InputAttestations) {
			m.Name = sib.InputAttestations[i].Name
		}
		if err := checkDescriptor(m.Name, m.URI, m.Digest); err != nil {
			return nil, malformed(what, "field inputAttestations[%d]%v", i, err)
		}
		v.InputAttestations = append(v.InputAttestations, m)
	}
	for level, n := range pb.GetDependencyLevels() {
		if n > math.MaxInt64 {
			return nil, malformed(what, "field dependencyLevels.%s: %d is out of range", level, n)
		}
		if v.DependencyLevels == nil {
			v.DependencyLevels = make(map[string]int64, len(pb.GetDependencyLevels()))
		}
		v.DependencyLevels[level] = int64(n)
	}
	if v.Gatehouse, err = parseExtension(what, memberOf(top, "gatehouse")); err != nil {
		return nil, err
	}
	return v, nil
}

// nilIfEmpty makes {} and absent one, as in-toto's parsing rules say.
func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// checkDescriptor checks a ResourceDescriptor of a VSA (policy, input
// attestation) as a statement's subjects are, a digest not required.
func checkDescriptor(name, uri string, digest map[string]string) error {
	if err := checkDigestSet(digest); err != nil {
		return err
	}
	if err := (&intotov1.ResourceDescriptor{Name: name, Uri: uri, Digest: digest}).Validate(); err != nil {
		return fmt.Errorf(": %v", err)
	}
	return nil
}

// extensionFields are the members of the gatehouse extension, exactly.
var extensionFields = []string{"environment", "gates", "requiredGates", "configDigest"}

// parseExtension reads the gatehouse extension, a sibling member of the
// VSA's standard fields that the vsa/v1 proto does not know (in-toto's
// parsing rules let producers add such extension fields and tell
// consumers to ignore what they do not know): absent or null is none;
// otherwise an object of exactly its members, each once, with names spelled
// exactly (encoding/json alone would take "Gates" for "gates").
func parseExtension(what string, raw json.RawMessage) (*VSAGatehouse, error) {
	if r := bytes.TrimSpace(raw); len(r) == 0 || string(r) == "null" {
		return nil, nil
	}
	ms, err := jsonMembers(what, "gatehouse.", raw)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if !slices.Contains(extensionFields, m.Key) {
			return nil, malformed(what, "unknown field %q in gatehouse (it has %s)", m.Key, strings.Join(extensionFields, ", "))
		}
	}
	var x VSAGatehouse
	if err := decodeStrictAt(what, "gatehouse.", raw, &x, false); err != nil {
		return nil, err
	}
	if err := validateExtension(what, &x); err != nil {
		return nil, err
	}
	return &x, nil
}

func validateExtension(what string, x *VSAGatehouse) error {
	if x == nil {
		return nil
	}
	switch {
	case x.Environment == "":
		return malformed(what, "field gatehouse.environment is missing or empty")
	case len(x.Gates) == 0:
		return malformed(what, "field gatehouse.gates is missing or empty")
	case len(x.ConfigDigest) == 0:
		return malformed(what, "field gatehouse.configDigest is missing or empty")
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"gates", x.Gates}, {"requiredGates", x.RequiredGates}} {
		for i, g := range f.list {
			if g == "" {
				return malformed(what, "field gatehouse.%s[%d] is empty", f.name, i)
			}
		}
	}
	for alg, h := range x.ConfigDigest {
		if _, _, err := SplitDigest(alg + ":" + h); err != nil {
			return malformed(what, "field gatehouse.configDigest: %v", err)
		}
	}
	return nil
}

func policyAccepted(got map[string]string, accepted []string) bool {
	for _, a := range accepted {
		alg, h, ok := strings.Cut(a, ":")
		if ok && got[alg] != "" && got[alg] == h {
			return true
		}
	}
	return false
}

func digestString(d map[string]string) string {
	if h, ok := d["sha256"]; ok {
		return "sha256:" + h
	}
	for alg, h := range d {
		return alg + ":" + h
	}
	return "(none)"
}
