package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/evaluation"
	"github.com/gatehouse-dev/gatehouse/scanners/fairness"
	"github.com/gatehouse-dev/gatehouse/scanners/license"
	"github.com/gatehouse-dev/gatehouse/scanners/modelcard"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// License, model card, fairness and evaluation evidence for remote models
// (oci://, gs://): the local collector reads the side files the run's one
// walk copied (remote_walk.go), and its evidence is rebound to the remote
// subject: "subject" names the reference and digest decided, paths are
// paths in the tree, and "remote" records the tree's identity and where
// each side file's bytes came from (layer digest and entry, or object,
// generation, CRC32C and MD5). Each wrapper is registered in place of its
// local collector, so exactly one collector answers per evidence name.

// sideLocal is a local collector that also reads --evidence files.
type sideLocal interface {
	gates.Collector
	gates.EvidenceParser
	MaxEvidenceBytes() int64
}

var (
	_ sideLocal = (*license.Collector)(nil)
	_ sideLocal = (*modelcard.Collector)(nil)
	_ sideLocal = (*fairness.Collector)(nil)
	_ sideLocal = (*evaluation.Collector)(nil)
)

// remoteSideCollector is a local collector (its Name, Applies,
// ParseEvidence and MaxEvidenceBytes promoted) whose Collect also answers
// for remote models.
type remoteSideCollector struct {
	sideLocal
	// needs reports whether the collector reads the tree path p (base is
	// the model folder in the tree).
	needs func(base, p string) bool
	cache *remoteCache
	// datasets, when set, makes the collector answer for remote datasets
	// too, from the run's one walk of the dataset (remote_dataset.go),
	// started with these PII options if the pii collector has not.
	datasets *pii.Options
}

func newRemoteSide(local sideLocal, needs func(base, p string) bool, cache *remoteCache) *remoteSideCollector {
	return &remoteSideCollector{sideLocal: local, needs: needs, cache: cache}
}

// forDatasets makes c answer for remote datasets as well (the license
// collector), sharing the pii collector's walk: o are the pii gate's
// options (piiWalkOptions).
func (c *remoteSideCollector) forDatasets(o pii.Options) *remoteSideCollector {
	c.datasets = &o
	return c
}

func (c *remoteSideCollector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if !sources.IsRemote(s.Ref) {
		return c.sideLocal.Collect(ctx, s)
	}
	// An image's licences come from SBOMs in gatehouse.yaml; a remote
	// dataset's side files come from its pii walk (license only).
	switch {
	case s.Kind == gates.KindImage:
		return c.sideLocal.Collect(ctx, s)
	case s.Kind == gates.KindDataset && c.datasets != nil:
		return withCache(ctx, c.cache, func(cache *remoteCache) (any, error) {
			w, err := cache.walkDataset(ctx, s, *c.datasets)
			if err != nil {
				return nil, err
			}
			return c.collectFrom(ctx, s, w)
		})
	case s.Kind != gates.KindModel:
		return nil, fmt.Errorf("%s evidence for a remote %s is not collected: pass --evidence %s=FILE", c.Name(), s.Kind, c.Name())
	}
	return withCache(ctx, c.cache, func(cache *remoteCache) (any, error) {
		w, err := cache.walk(ctx, s)
		if err != nil {
			return nil, err
		}
		return c.collectFrom(ctx, s, w)
	})
}

// collectFrom runs the local collector on the side files of walk w and
// rebinds its evidence to s.
func (c *remoteSideCollector) collectFrom(ctx context.Context, s gates.Subject, w *remoteWalk) (any, error) {
	what := "model"
	if s.Kind == gates.KindDataset {
		what = "dataset"
	}
	switch {
	case w.hostile != nil:
		return nil, fmt.Errorf("%s: the artifact is corrupt or was tampered with (%v): no %s evidence is read from it", w.ref, w.hostile, c.Name())
	case w.err != nil:
		return nil, w.err
	}
	keep := func(p string) bool { return c.needs(w.base, p) }
	if err := w.side.FirstError(keep); err != nil {
		return nil, fmt.Errorf("%s: %w; %s evidence is not read from a %s folder without it", w.ref, err, c.Name(), what)
	}
	local := s
	local.Ref, local.Digest, local.Labels = w.localDir(), "", nil
	v, err := c.sideLocal.Collect(ctx, local)
	if err != nil {
		return nil, errors.New(w.inTree(err.Error(), s.Ref))
	}
	return w.rebind(v, s, keep)
}

// inTree rewrites the copies' paths in str to paths in the tree, and the
// model folder itself to ref.
func (w *remoteWalk) inTree(str, ref string) string {
	dir, root := w.localDir(), w.side.Dir
	str = strings.ReplaceAll(str, dir+"/", w.base)
	str = strings.ReplaceAll(str, root+"/", "")
	str = strings.ReplaceAll(str, dir, ref)
	return strings.ReplaceAll(str, root, ref)
}

// rebind turns the local collector's evidence into evidence about s.
func (w *remoteWalk) rebind(v any, s gates.Subject, keep func(string) bool) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	m, ok := w.rewrite(doc, s.Ref).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: the evidence is not a JSON object", textsafe.Escape(s.Ref))
	}
	sub := map[string]any{"path": s.Ref}
	if s.Digest != "" {
		sub["digest"] = s.Digest
	}
	m["subject"] = sub
	m["remote"] = map[string]any{"source": w.source, "origins": w.side.Origins(keep)}
	return m, nil
}

func (w *remoteWalk) rewrite(v any, ref string) any {
	switch x := v.(type) {
	case string:
		return w.inTree(x, ref)
	case []any:
		for i := range x {
			x[i] = w.rewrite(x[i], ref)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = w.rewrite(e, ref)
		}
	}
	return v
}
