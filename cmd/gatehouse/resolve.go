package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

func init() {
	var format string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "resolve SUBJECT...",
		Short: "Print the digest-pinned form of each subject (image:, model:oci://, dataset:gs://, ...)",
		Long: `Print the digest-pinned form of each subject, one a line, in the order given,
so that CI hands the exact bytes that were judged to the runtime (KServe
storageUri, Humanitec, a Kubernetes image volume):

  image:REGISTRY/REPO:TAG        -> image:REGISTRY/REPO@sha256:...
  model:oci://REGISTRY/REPO:TAG  -> model:oci://REGISTRY/REPO@sha256:...  (manifest digest)
  dataset:gs://BUCKET/PREFIX/    -> dataset:gs://BUCKET/PREFIX/#sha256:... (listing digest)
  model:gs://BUCKET/OBJECT       -> model:gs://BUCKET/OBJECT#GENERATION

A local path has no pinned form (it is an error). Exit status: 0 every
subject was pinned; 2 any could not be (nothing is printed then).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return undecided(fmt.Errorf("--format %q: want text or json", format))
			}
			if timeout <= 0 {
				return undecided(fmt.Errorf("--timeout %v: want a positive duration", timeout))
			}
			return runResolve(cmd.Context(), cmd.OutOrStdout(), args, format, timeout)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text (KIND:PINNED a line) or json")
	c.Flags().DurationVar(&timeout, "timeout", time.Minute, "deadline per subject")
	rootCmd.AddCommand(c)
}

// resolved is one subject with its pinned form.
type resolved struct {
	Subject string `json:"subject"`
	Pinned  string `json:"pinned"`
	Digest  string `json:"digest"`
}

func runResolve(ctx context.Context, w io.Writer, args []string, format string, timeout time.Duration) error {
	out := make([]resolved, 0, len(args))
	var errs []error
	for _, a := range args {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		r, err := resolveOne(sctx, a)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	if len(errs) > 0 {
		// Nothing is printed: a partial list handed to a deploy would
		// deploy what was not pinned.
		return undecided(errors.Join(errs...))
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, r := range out {
		fmt.Fprintln(w, textsafe.Escape(r.Pinned))
	}
	return nil
}

func resolveOne(ctx context.Context, arg string) (resolved, error) {
	s, err := gates.ParseSubject(arg)
	if err != nil {
		return resolved{}, err
	}
	switch {
	case s.Kind.IsFile() && strings.Contains(s.Ref, "://"):
		if err := pinRemote(ctx, &s); err != nil {
			return resolved{}, fmt.Errorf("%s: %w", textsafe.Escape(arg), err)
		}
		return resolved{Subject: arg, Pinned: string(s.Kind) + ":" + s.Labels[pinnedLabel], Digest: s.Digest}, nil
	case s.Kind == gates.KindImage:
		if resolverFactory == nil {
			return resolved{}, fmt.Errorf("%s: this build resolves no image references", textsafe.Escape(arg))
		}
		ref, err := name.ParseReference(s.Ref)
		if err != nil {
			return resolved{}, fmt.Errorf("%s: %w", textsafe.Escape(arg), err)
		}
		res, err := resolverFactory(collectorEnv{})
		if err != nil {
			return resolved{}, err
		}
		if err := res.Resolve(ctx, &s); err != nil {
			return resolved{}, fmt.Errorf("resolve %s: %w", textsafe.Escape(arg), err)
		}
		if d, ok := ref.(name.Digest); ok && d.DigestStr() != s.Digest {
			return resolved{}, fmt.Errorf("%s: the registry answered %s", textsafe.Escape(arg), s.Digest)
		}
		return resolved{Subject: arg, Pinned: "image:" + ref.Context().Name() + "@" + s.Digest, Digest: s.Digest}, nil
	}
	return resolved{}, fmt.Errorf("%s: only images and oci:// or gs:// models and datasets have a digest-pinned form (a local path or a %s file is judged by its content hash, not pinned)", textsafe.Escape(arg), s.Kind)
}
