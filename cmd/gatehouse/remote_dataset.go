package main

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

// One walk of a remote dataset (dataset:oci://…, dataset:gs://…) per
// subject per run: the PII scanner reads every file as the tree streams
// past, and the files the license collector reads in a local dataset
// folder (LICENSE*, COPYING*, NOTICE*, README* — the dataset card — and
// SBOMs: licenseSide) are copied, bounded by sideLimits, into the run's
// private folder, where the license collector reads them. With pii
// sampling (sample_bytes, check --sample) gs:// data objects are read only
// up to the sample, but licence files are always read whole
// (sources.Options.SampleExcept): a LICENSE is judged on all of its words
// or not at all.

// piiWalkOptions are the PII scanner's options of a dataset walk, from
// the pii gate's params (already checked by pii.NewCollector, whose
// factory fails the run when they are not valid). The pii and license
// collectors both read them, so whichever starts the walk starts the same
// one.
func piiWalkOptions(params map[string]any) pii.Options {
	var o pii.Options
	o.SampleRows, _ = paramInt(params["sample_rows"])
	o.SampleBytes, _ = paramInt(params["sample_bytes"])
	return o
}

// walkDataset returns the walk of the remote dataset s, starting it if no
// collector of this run has.
func (c *remoteCache) walkDataset(ctx context.Context, s gates.Subject, o pii.Options) (*remoteWalk, error) {
	return c.walkWith(ctx, s, func(ctx context.Context, w *remoteWalk) { c.runDataset(ctx, s, w, o) })
}

// runDataset walks a dataset once: every file to the PII scanner, licence
// files copied as well. pii/v1 has no place for a hostile tree: a tree
// that lies about its bytes is an error for every collector (not decided),
// as it has always been for pii.
func (c *remoteCache) runDataset(ctx context.Context, s gates.Subject, w *remoteWalk, o pii.Options) {
	so := remoteOptions()
	so.SamplePerObject = o.SampleBytes // gs:// objects stream only what the sample reads…
	// …but a licence file is read whole (a bucket's tree has no model-car
	// prefix: its licence files are at the root). One larger than a side
	// file may be is sampled like data: the sample's bound holds, and the
	// tee refuses it, so the licence gate is not decided.
	so.SampleExcept = func(p string, size int64) bool {
		return size <= sideLimits.MaxFileBytes && licenseSide("", p)
	}
	st, done := c.openSide(ctx, s, w, so, licenseSide)
	if st == nil {
		if w.hostile != nil {
			w.err = remoteError(w.hostile)
		}
		return
	}
	defer done()
	rep, err := scan.Dataset(ctx, st, o, "")
	if err != nil {
		if scan.Hostile(err) {
			w.hostile = err
		}
		w.err = remoteError(err)
		return
	}
	w.dataset = rep
	w.keepSide(st)
}
