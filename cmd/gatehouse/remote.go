package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/scanners/pii"
	"github.com/gatehouse-dev/gatehouse/sources"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

// Remote models and datasets (oci://, gs://): the subject is pinned to its
// digest before any gate runs, and the model scan reads the pinned tree, so
// a tag or a bucket rewritten between the two cannot change what is judged.

// pinnedLabel is the subject label holding the digest-pinned reference.
const pinnedLabel = "gatehouse.pinned"

// pinTimeout bounds pinning one reference (a manifest and a config, or a
// bucket listing): check's --timeout covers evidence collection, which
// comes after, so a registry that accepts and never answers must not hold
// the run here.
const pinTimeout = time.Minute

func init() {
	remoteResolver = func(ctx context.Context, s *gates.Subject) error {
		ctx, cancel := context.WithTimeout(ctx, pinTimeout)
		defer cancel()
		return pinRemote(ctx, s)
	}
}

// remoteOptions are the sources options of the CLI: the defaults (limits,
// Docker and Google keychains, STORAGE_EMULATOR_HOST).
func remoteOptions() sources.Options { return sources.Options{} }

// pinRemote resolves a remote model or dataset reference: s.Digest becomes
// the tree's identity digest (an OCI manifest or index digest; for gs://
// the listing digest, see docs/remote-artifacts.md) and the pinned
// reference goes to s.Labels[pinnedLabel]. Any error leaves the subject
// undecided.
func pinRemote(ctx context.Context, s *gates.Subject) error {
	id, err := identify(ctx, s.Ref)
	if err = implicitOCIError(*s, id, err); err != nil { // model:REG/REPO@sha256:… read as oci:// (subject_oci.go)
		return err
	}
	if id.Digest == "" || id.Pinned == "" {
		return fmt.Errorf("%s: the source gave no digest to pin", textsafe.Escape(s.String()))
	}
	if s.Digest != "" && s.Digest != id.Digest {
		return fmt.Errorf("%s: resolves to %s, not the digest %s given", textsafe.Escape(s.String()), id.Digest, textsafe.Escape(s.Digest))
	}
	s.Digest = id.Digest
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[pinnedLabel] = id.Pinned
	return nil
}

// identify opens ref just far enough to know its identity.
func identify(ctx context.Context, ref string) (sources.Identity, error) {
	if !sources.IsRemote(ref) {
		return sources.Identity{}, fmt.Errorf("%q: %w: want oci:// or gs://", textsafe.Escape(ref), sources.ErrUnsupported)
	}
	t, err := sources.Open(ctx, ref, remoteOptions())
	if err != nil {
		if ctx.Err() != nil {
			return sources.Identity{}, fmt.Errorf("%s: no answer in time: %w", textsafe.Escape(ref), context.Cause(ctx))
		}
		return sources.Identity{}, remoteError(err)
	}
	defer t.Close()
	return t.Identity(), nil
}

// remoteError keeps sources' message (it names the reference, layer or
// object) and says what kind of failure it is.
func remoteError(err error) error {
	switch {
	case errors.Is(err, sources.ErrIntegrity), errors.Is(err, sources.ErrUnsafePath):
		return fmt.Errorf("%w (the artifact is corrupt or was tampered with)", err)
	case errors.Is(err, sources.ErrCredentials):
		return fmt.Errorf("%w (see docs/remote-artifacts.md#credentials)", err)
	}
	return err
}

// remoteModelCollector produces model_scan evidence: for a local path it
// is the local collector; for oci:// and gs:// it takes the model report of
// the run's one walk of the pinned tree (remote_walk.go), which streams
// every file into the model scanner. It is registered in place of the
// local collector (scan_model.go) so that exactly one collector answers
// for the evidence name.
type remoteModelCollector struct {
	local *model.Collector
	cache *remoteCache
}

func newModelCollector(opts model.Options, cache *remoteCache) *remoteModelCollector {
	cache.setModelOptions(opts)
	return &remoteModelCollector{local: model.NewCollector(opts), cache: cache}
}

func (c *remoteModelCollector) Name() string { return c.local.Name() }

func (c *remoteModelCollector) Applies(s gates.Subject) bool { return c.local.Applies(s) }

// Collect: a tree that is not the pinned digest, or whose bytes do not
// match its manifest, is evidence that denies; limits, credentials and
// network failures are errors (not decided).
func (c *remoteModelCollector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if !sources.IsRemote(s.Ref) {
		return c.local.Collect(ctx, s)
	}
	return withCache(ctx, c.cache, func(cache *remoteCache) (any, error) {
		w, err := cache.walk(ctx, s)
		if err != nil {
			return nil, err
		}
		if w.err != nil {
			return nil, w.err
		}
		return w.model, nil
	})
}

func hostileReport(ref string, err error) *scan.ModelReport {
	return scan.HostileReport(scan.Source{Ref: ref}, err)
}

// remotePIICollector produces pii evidence: the local collector for a
// local path (its ParseEvidence and limits are promoted); for oci:// and
// gs:// the pii report of the run's one walk of the pinned dataset
// (remote_dataset.go), which the license collector shares. Registered in
// place of the local one (scan_dataset.go).
type remotePIICollector struct {
	*pii.Collector
	opts  pii.Options
	cache *remoteCache
}

func newPIICollector(params map[string]any, cache *remoteCache) (gates.Collector, error) {
	local, err := pii.NewCollector(params) // validates the params
	if err != nil {
		return nil, err
	}
	return &remotePIICollector{Collector: local, opts: piiWalkOptions(params), cache: cache}, nil
}

// paramInt reads a whole number pii.NewCollector has already accepted.
func paramInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		return int64(x), true
	case float64:
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

func (c *remotePIICollector) Collect(ctx context.Context, s gates.Subject) (any, error) {
	if !sources.IsRemote(s.Ref) {
		return c.Collector.Collect(ctx, s)
	}
	return withCache(ctx, c.cache, func(cache *remoteCache) (any, error) {
		w, err := cache.walkDataset(ctx, s, c.opts)
		if err != nil {
			return nil, err
		}
		if w.err != nil {
			return nil, w.err
		}
		return w.dataset, nil
	})
}
