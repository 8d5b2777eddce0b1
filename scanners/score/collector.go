package score

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector gathers Score evidence (input.evidence.score) for score
// subjects, whose Ref is the spec's path.
type Collector struct{}

// Name is the evidence key.
func (Collector) Name() string { return "score" }

// Applies to Score specs.
func (Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindScore }

// Collect loads the spec and builds its evidence. A spec that does not
// load is an error: the engine records it and the gate denies.
func (Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.Kind != gates.KindScore {
		return nil, fmt.Errorf("score: subject %s is no Score spec", s)
	}
	ev, err := Scan(s.Ref)
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// Expand names what the spec brings in, each judged by its own kind's
// gates: every container image (build placeholders excluded), as
// Evidence.Subjects. It has the shape of the check command's expanders.
func Expand(ctx context.Context, s gates.Subject) ([]gates.Subject, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ev, err := Scan(s.Ref)
	if err != nil {
		return nil, err
	}
	return ev.Subjects(), nil
}
