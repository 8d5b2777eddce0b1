package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/license"
)

// scanLicenseOptions are the flags of `gatehouse scan license`.
type scanLicenseOptions struct {
	sboms       []string
	format      string
	minCoverage float64
}

func init() {
	var o scanLicenseOptions
	c := &cobra.Command{
		Use:   "license [PATH]",
		Short: "Find the licences of a model or dataset folder (LICENSE files, card front matter, SBOMs) or of SBOM files",
		Long: `Find the licences of a model or dataset: LICENSE/COPYING files named against
the whole SPDX License List (modern ids, WITH exceptions, -only/-or-later read
from notices), the Hugging Face card's front matter (license, license_name), and
SPDX 2.3 or CycloneDX 1.6 JSON SBOMs in the folder or given with --sbom (the
only source for images). Prints license/v1 evidence; the license gate of
"gatehouse check" judges it against the allowed licences.
Exit status: 0 every licence named, 1 some licence unknown, 2 a file could not
be read (not verified) or an error; a FIFO, device or socket given as PATH is
refused (2), never judged by its folder.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			return runScanLicense(cmd.OutOrStdout(), path, o)
		},
	}
	f := c.Flags()
	f.StringArrayVar(&o.sboms, "sbom", nil, "SPDX or CycloneDX JSON SBOM to read as well (repeatable)")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.Float64Var(&o.minCoverage, "min-coverage", 75, "share of a licence file's words (percent) the named licences must cover; below it the file counts as unknown")
	scanCmd.AddCommand(c)

	registerCollector(func(env collectorEnv) (gates.Collector, error) {
		local, err := license.NewCollector(env.Config.GateParams(env.Env, "license"), env.Config.Path)
		if err != nil {
			return nil, err
		}
		// local paths, oci:// / gs:// models (remote_side.go) and datasets,
		// whose walk the pii collector shares (remote_dataset.go)
		return newRemoteSide(local, licenseSide, env.Remote).forDatasets(piiWalkOptions(env.Config.GateParams(env.Env, "pii"))), nil
	})
}

func runScanLicense(w io.Writer, path string, o scanLicenseOptions) error {
	if o.format != "text" && o.format != "json" {
		return undecided(fmt.Errorf("--format %q: want text or json", o.format))
	}
	if o.minCoverage <= 0 || o.minCoverage > 100 {
		return undecided(fmt.Errorf("--min-coverage %v: want a percentage above 0 and at most 100", o.minCoverage))
	}
	ev, err := license.Scan(path, license.Options{SBOMs: o.sboms, MinCoverage: o.minCoverage})
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	if o.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ev); err != nil {
			return undecided(err)
		}
	} else {
		// Licence names, sources and reasons come from the files: escaped.
		esc := textsafe.Escape
		for _, l := range ev.Licenses {
			name := l.ID
			if l.Expression != "" {
				name = l.Expression
			}
			fmt.Fprintf(w, "%-9s %-30s %3.0f%%  %s\n", esc(l.Kind), esc(name), l.Confidence*100, esc(l.Source))
		}
		for _, u := range ev.Unknown {
			fmt.Fprintf(w, "unknown   %s: %s\n", esc(u.Source), esc(u.Reason))
		}
		for _, n := range ev.NotVerified {
			fmt.Fprintf(w, "not read  %s: %s\n", esc(n.Source), esc(n.Reason))
		}
	}
	switch {
	case len(ev.NotVerified) > 0:
		srcs := make([]string, len(ev.NotVerified))
		for i, n := range ev.NotVerified {
			srcs[i] = textsafe.Escape(n.Source)
		}
		return undecided(fmt.Errorf("could not read %s (see not_verified)", strings.Join(srcs, ", ")))
	case len(ev.Unknown) > 0:
		return denied()
	}
	return nil
}
