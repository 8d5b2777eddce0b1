package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/evaluation"
	"github.com/gatehouse-dev/gatehouse/scanners/fairness"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/sources"
	"github.com/gatehouse-dev/gatehouse/sources/scan"
)

// One walk of a remote model per subject per run: the model scanner reads
// every file as the tree streams past, and the files the license,
// model_card, fairness and evaluation collectors read in a local model
// folder ("side files") are copied, bounded, into a private folder that
// those collectors then read. A 2 GiB artifact is fetched once, not once
// per gate.

// sideLimits bound the side files of one remote model: 512 MiB per file
// (a predictions file on a held-out set), 1 GiB and 1000 files in all.
// A side file over a limit is an evidence error for the gates that read it
// (not decided), never a file silently left out.
var sideLimits = scan.DefaultSideLimits()

// remoteCloseWait bounds how long the end of a run waits for walks still
// streaming (they stop when the run's context ends) before their folder is
// removed.
const remoteCloseWait = 5 * time.Second

// remoteCache holds the walks of one run, keyed by pinned reference and
// digest, and the private folder their side files are copied to. check
// creates one per run and closes it when the run ends (also when it is
// interrupted: the run's context ends first, then Close removes the folder).
// serve's decision API has none: its collectors use the cache each
// request's context carries, or one of their own for the call (withCache).
type remoteCache struct {
	mu        sync.Mutex
	dir       string // created on first use, mode 0700
	walks     map[string]*remoteWalk
	closed    bool
	running   sync.WaitGroup
	modelOpts *model.Options
}

func newRemoteCache() *remoteCache { return &remoteCache{walks: map[string]*remoteWalk{}} }

// remoteWalk is the outcome of walking one remote model.
type remoteWalk struct {
	once sync.Once
	done chan struct{}

	ref    string      // what was opened (the pinned reference)
	source scan.Source // the tree's identity
	base   string      // the model folder in the tree: "" or "models/" (model-car)
	model  *scan.ModelReport
	// dataset is the pii report of a dataset's walk (remote_dataset.go).
	dataset *scan.DatasetReport
	side    scan.Side
	// hostile: the tree lied about its bytes or tried to escape: model
	// scan denies, nothing copied is judged.
	hostile error
	// err: the walk failed otherwise (limits, credentials, network,
	// interrupted): nothing is decided.
	err error
}

// remoteCacheKey carries a cache in a context: serve's decision API has
// no run-wide cache (its collectors live as long as the server), so each
// request brings one, and the collectors of that request share its walks.
type remoteCacheKey struct{}

// contextWithRemoteCache returns ctx carrying c (see remoteCacheKey).
func contextWithRemoteCache(ctx context.Context, c *remoteCache) context.Context {
	return context.WithValue(ctx, remoteCacheKey{}, c)
}

// withCache calls f with c; when c is nil, with the cache ctx carries, or
// else with a cache of its own, closed (its folder removed) once f returns.
func withCache[T any](ctx context.Context, c *remoteCache, f func(*remoteCache) (T, error)) (T, error) {
	if c == nil {
		c, _ = ctx.Value(remoteCacheKey{}).(*remoteCache)
	}
	if c == nil {
		c = newRemoteCache()
		defer c.Close()
	}
	return f(c)
}

// setModelOptions records the model scanner's options for the walks (the
// model_scan collector's factory calls it).
func (c *remoteCache) setModelOptions(o model.Options) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.modelOpts = &o
	c.mu.Unlock()
}

// walk returns the walk of s's tree (a model), starting it if no
// collector of this run has, and waiting for it (or for ctx to end).
func (c *remoteCache) walk(ctx context.Context, s gates.Subject) (*remoteWalk, error) {
	c.mu.Lock()
	opts := model.DefaultOptions()
	if c.modelOpts != nil {
		opts = *c.modelOpts
	}
	c.mu.Unlock()
	return c.walkWith(ctx, s, func(ctx context.Context, w *remoteWalk) { c.run(ctx, s, w, opts) })
}

// walkWith returns the walk of s's tree, keyed by s's kind, pinned
// reference and digest; the first asker's run does the walk.
func (c *remoteCache) walkWith(ctx context.Context, s gates.Subject, run func(context.Context, *remoteWalk)) (*remoteWalk, error) {
	ref := s.Ref
	if p := s.Labels[pinnedLabel]; p != "" {
		ref = p
	}
	key := string(s.Kind) + "\x00" + ref + "\x00" + s.Digest
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("the run has ended")
	}
	w := c.walks[key]
	if w == nil {
		w = &remoteWalk{done: make(chan struct{}), ref: ref}
		c.walks[key] = w
	}
	c.mu.Unlock()
	w.once.Do(func() {
		c.mu.Lock()
		closed := c.closed
		if !closed {
			c.running.Add(1)
		}
		c.mu.Unlock()
		if closed {
			w.err = errors.New("the run has ended")
			close(w.done)
			return
		}
		// The walk runs under the first asker's context: every collector
		// of a subject shares the decision's context and deadline.
		go func() {
			defer c.running.Done()
			defer close(w.done)
			run(ctx, w)
		}()
	})
	select {
	case <-w.done:
		return w, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for the walk of the tree: %w", textsafe.Escape(ref), context.Cause(ctx))
	}
}

// openSide opens w's pinned tree with so, checks that it is still the
// digest s was resolved to, and tees the files side selects (side(base,
// path)) into a private folder. When it returns nil, w says why: hostile
// when the tree lied about its bytes (what that means is the caller's
// evidence to say), err otherwise. done closes the tee and the tree.
func (c *remoteCache) openSide(ctx context.Context, s gates.Subject, w *remoteWalk, so sources.Options, side func(base, p string) bool) (st *scan.SideTree, done func()) {
	w.source = scan.Source{Ref: w.ref}
	t, err := sources.Open(ctx, w.ref, so)
	if err != nil {
		if scan.Hostile(err) {
			w.hostile = err
		} else {
			w.err = remoteError(err)
		}
		return nil, nil
	}
	id := t.Identity()
	w.source = scan.SourceOf(id)
	if s.Digest != "" && id.Digest != s.Digest {
		t.Close()
		w.hostile = fmt.Errorf("%s now has digest %s, not %s as resolved: %w", w.ref, id.Digest, s.Digest, sources.ErrIntegrity)
		return nil, nil
	}
	if id.Format == sources.FormatModelCar {
		w.base = "models/" // sources' default image path prefix
	}
	dir, err := c.treeDir()
	if err == nil {
		st, err = scan.NewSideTree(t, dir, func(p string) bool { return side(w.base, p) }, sideLimits)
	}
	if err != nil {
		t.Close()
		w.err = err
		return nil, nil
	}
	return st, func() { st.Close(); t.Close() }
}

// keepSide records the side files of a walk that succeeded; the folder
// exists even when the tree has none.
func (w *remoteWalk) keepSide(st *scan.SideTree) {
	w.side = st.Side()
	if err := os.MkdirAll(w.localDir(), 0o700); err != nil {
		w.err = fmt.Errorf("side files: %w", err)
	}
}

// run walks the tree once: every file to the model scanner, side files
// copied as well. A tree that lied about its bytes is a denying model_scan
// report, not an error.
func (c *remoteCache) run(ctx context.Context, s gates.Subject, w *remoteWalk, opts model.Options) {
	st, done := c.openSide(ctx, s, w, remoteOptions(), isSideFile)
	if st == nil {
		if w.hostile != nil {
			w.model = hostileReport(w.ref, w.hostile)
		}
		return
	}
	defer done()
	rep, err := scan.Model(ctx, st, opts)
	if err != nil {
		w.err = remoteError(err)
		return
	}
	w.model = rep
	if werr := st.WalkErr(); werr != nil {
		// Model turned a hostile walk into a denying report.
		w.hostile = werr
		return
	}
	addArtifactRegistry(ctx, rep) // metadata only (remote_ar.go)
	w.keepSide(st)
}

// treeDir makes a private folder for one tree's side files.
func (c *remoteCache) treeDir() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errors.New("the run has ended")
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "gatehouse-remote-*") // mode 0700
		if err != nil {
			return "", fmt.Errorf("a private folder for the side files of remote models: %w", err)
		}
		c.dir = d
	}
	d, err := os.MkdirTemp(c.dir, "tree-*")
	if err != nil {
		return "", fmt.Errorf("a private folder for the side files of remote models: %w", err)
	}
	return d, nil
}

// Close ends the cache: walks still streaming are waited for (they end
// with the run's context) up to remoteCloseWait, then the folder is
// removed. Safe on nil and more than once.
func (c *remoteCache) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(remoteCloseWait):
		// A walk ignoring its context: its writes go through an os.Root of
		// a removed folder and fail.
	}
	c.mu.Lock()
	dir := c.dir
	c.mu.Unlock()
	if dir == "" {
		return nil
	}
	return os.RemoveAll(dir)
}

// Side files by the name a local collector looks for at the top of a
// model folder (base is the model folder inside the tree).

func topName(base, p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, base)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

func isSideFile(base, p string) bool {
	return licenseSide(base, p) || modelCardSide(base, p) || fairnessSide(base, p) || evaluationSide(base, p)
}

// licenseSide: what scanners/license reads in a folder — LICENSE,
// LICENCE, COPYING, UNLICENSE and their variants, README* (the card and
// notices), SBOMs (*.spdx.json, *.cdx.json, bom.json, sbom.json); NOTICE*
// too. A superset of its classify: copying more is only bytes.
func licenseSide(base, p string) bool {
	n, ok := topName(base, p)
	if !ok {
		return false
	}
	l := strings.ToLower(n)
	for _, pre := range []string{"license", "licence", "copying", "unlicense", "notice", "readme"} {
		if strings.HasPrefix(l, pre) {
			return true
		}
	}
	return strings.HasSuffix(l, ".spdx.json") || strings.HasSuffix(l, ".cdx.json") || l == "bom.json" || l == "sbom.json"
}

// modelCardSide: the card names scanners/modelcard looks for (any case).
func modelCardSide(base, p string) bool {
	n, ok := topName(base, p)
	if !ok {
		return false
	}
	switch strings.ToLower(n) {
	case "readme.md", "model_card.md", "modelcard.md", "model_card.json", "model-card.json", "modelcard.json":
		return true
	}
	return false
}

// fairnessSide: predictions.{csv,tsv,jsonl,parquet}.
func fairnessSide(base, p string) bool {
	n, ok := topName(base, p)
	return ok && slices.Contains(fairness.PredictionsFiles, n)
}

// evaluationSide: evaluation.json, metrics.json, executor_output.json
// (KFP), and the card files read when none is there.
func evaluationSide(base, p string) bool {
	n, ok := topName(base, p)
	return ok && (slices.Contains(evaluation.SourceFiles, n) || slices.Contains(evaluation.CardFiles, n))
}

// localDir is the model folder of w's copies.
func (w *remoteWalk) localDir() string {
	return filepath.Join(w.side.Dir, filepath.FromSlash(strings.TrimSuffix(w.base, "/")))
}
