package model

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Collector produces the model_scan evidence for model subjects.
type Collector struct {
	Options Options
}

// NewCollector returns a collector scanning with opts.
func NewCollector(opts Options) *Collector { return &Collector{Options: opts} }

// Name is the evidence key: input.evidence.model_scan.
func (c *Collector) Name() string { return "model_scan" }

// Applies to model subjects only.
func (c *Collector) Applies(s gates.Subject) bool { return s.Kind == gates.KindModel }

// Collect scans the subject's path (a file or a model folder).
func (c *Collector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if s.Ref == "" {
		return nil, fmt.Errorf("model subject has no path")
	}
	rep, err := Scan(ctx, s.Ref, c.Options)
	if err != nil {
		return nil, err
	}
	return rep, nil
}
