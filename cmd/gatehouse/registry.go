package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// collectorEnv is what a collector may take from the command line and the
// configuration when it is built.
type collectorEnv struct {
	Config *gates.Config
	Env    string // the environment being checked, e.g. "prod"
	Stderr io.Writer
	// Remote is the run's one walk per remote model (remote_walk.go); nil
	// walks privately for each collector.
	Remote *remoteCache
}

// collectorFactories build the collectors `gatehouse check` runs. Each
// evidence producer registers its factory from its own file's init, so that
// wiring a new collector touches no shared file.
var collectorFactories []func(collectorEnv) (gates.Collector, error)

func registerCollector(f func(collectorEnv) (gates.Collector, error)) {
	collectorFactories = append(collectorFactories, f)
}

// resolverFactory, when set (by attest wiring), resolves image tags to
// digests and hashes file subjects before a decision.
var resolverFactory func(collectorEnv) (gates.Resolver, error)

// attesterFactory, when set (by attest wiring), builds what
// `gatehouse check --attest --key KEY` uses to sign a VSA for each subject
// that passed and attach or write it. It returns where each VSA went.
var attesterFactory func(o attestOptions, env collectorEnv) (attester, error)

// attestOptions are the flags of `check --attest`.
type attestOptions struct {
	key string
	// format: how an image's VSA is attached: auto (a Sigstore bundle
	// referrer when the image has bundles, else cosign's .att tag), bundle, tag.
	format string
}

type attester interface {
	Attest(ctx context.Context, d *gates.Decision) (location string, err error)
}

// unsuppliedEvidence names evidence that only gatehouse's own verification
// may produce, with why: a file saying "verified" proves nothing.
var unsuppliedEvidence = map[string]string{}

// expanders name, per composite kind, the subjects a subject brings in
// (a pipeline's images, models and datasets; a Score spec's images): each
// is judged by its own kind's gates in the same run.
var expanders = map[gates.Kind]func(context.Context, gates.Subject) ([]gates.Subject, error){}

// remoteResolver, when set (sources wiring), pins a model or dataset
// subject that names a remote reference (oci://, gs://) to its digest.
var remoteResolver func(ctx context.Context, s *gates.Subject) error

// writeScan prints what a `scan` command found: indented JSON, or text
// for people (text escapes every string from outside).
func writeScan[T any](w io.Writer, format string, ev T, text func(io.Writer, T)) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ev); err != nil {
			return undecided(err)
		}
		return nil
	}
	text(w, ev)
	return nil
}
