package kfp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector gathers kfp evidence (input.evidence.kfp) for pipeline
// subjects: s.Ref is the compiled pipeline file.
type Collector struct{}

// Name is the evidence key.
func (Collector) Name() string { return "kfp" }

// Applies to pipeline subjects.
func (Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindPipeline }

// Collect parses the compiled pipeline.
func (Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ParseFile(s.Ref)
}

// Expand names what the pipeline brings in, each judged by its own kind's
// gates: its images, and the models and datasets its importers read.
func Expand(ctx context.Context, s gates.Subject) ([]gates.Subject, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ev, err := ParseFile(s.Ref)
	if err != nil {
		return nil, err
	}
	return ev.Subjects(), nil
}
