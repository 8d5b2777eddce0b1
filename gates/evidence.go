package gates

import "context"

// Collector produces one kind of evidence about a subject. Collectors live
// outside this package (scanners/, attest/) and are registered with the
// engine; they run concurrently under one deadline.
type Collector interface {
	// Name is the evidence key: the collector's result is input.evidence[Name].
	Name() string
	// Applies reports whether the collector has anything to say about s.
	Applies(s Subject) bool
	// Collect gathers the evidence. The result must marshal to a JSON object.
	// An error is recorded as {"error": "..."} and the gates deny on it.
	Collect(ctx context.Context, s Subject) (any, error)
}

// EvidenceParser is implemented by collectors whose evidence may be supplied
// pre-collected (`gatehouse check --evidence NAME=FILE`) in a form that needs
// parsing or mapping, e.g. SonarQube's raw project_status response or a
// ModelScan report. Without it, the file is read as JSON or YAML as-is.
type EvidenceParser interface {
	ParseEvidence(data []byte) (any, error)
}

// Resolver fills in what a subject's reference leaves open, above all its
// digest (an image tag resolved in its registry, a file hashed).
type Resolver interface {
	Resolve(ctx context.Context, s *Subject) error
}
