package main

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/sources"
)

func init() {
	push := &cobra.Command{
		Use:   "push",
		Short: "Publish a local artifact to a registry",
	}
	push.AddCommand(&cobra.Command{
		Use:   "model PATH oci://REGISTRY/REPO:TAG",
		Short: "Pack a local model folder as a CNCF ModelPack artifact and push it",
		Long: `Pack a local model folder as a CNCF ModelPack artifact (one uncompressed tar
layer per regular file, in path order, fixed modes, owners and times) and push
it, then print its digest-pinned reference, oci://REGISTRY/REPO@sha256:...
The same folder always gives the same digest. Symlinks and special files are
refused. Credentials: Docker's config and credential helpers, then Google's
(ADC, gcloud, GKE workload identity) for *.pkg.dev and gcr.io.
Exit status: 0 pushed; 2 nothing pushed, or the push failed part way.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, ref := args[0], args[1]
			if !strings.HasPrefix(ref, "oci://") {
				return undecided(fmt.Errorf("%q: want oci://REGISTRY/REPO:TAG", textsafe.Escape(ref)))
			}
			tag, err := name.ParseReference(strings.TrimPrefix(ref, "oci://"))
			if err != nil {
				return undecided(fmt.Errorf("%s: %w", textsafe.Escape(ref), err))
			}
			d, err := sources.Push(cmd.Context(), dir, ref, remoteOptions())
			if err != nil {
				return undecided(remoteError(err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "oci://%s@%s\n", tag.Context().Name(), d)
			return nil
		},
	})
	rootCmd.AddCommand(push)
}
