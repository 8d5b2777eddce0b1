package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/scanners/score"
)

func init() {
	var format string
	c := &cobra.Command{
		Use:   "score FILE",
		Short: "Load a Score workload spec and report what the score gate reads",
		Long: `Load a Score workload spec (score.dev/v1b1) as score-go ` + score.ScoreGoVersion + ` does (upgrade
transforms, schema validation, file sources read from the spec's folder,
placeholder validation) and print the evidence the score gate judges:
containers and images (pinned by digest or not), requests and limits,
probes, variables and files with literal secrets flagged (never their
values), volumes, service ports, resources and route hosts.
Exit status: 0 the spec loads (whatever it holds: judging it is the gate's
job, gatehouse check score:FILE), 2 an error naming the file and
score-go's message (invalid spec, a file source outside the spec's folder,
a FIFO, device or oversized file refused).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanScore(cmd.OutOrStdout(), args[0], format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	scanCmd.AddCommand(c)

	registerCollector(func(collectorEnv) (gates.Collector, error) {
		return score.Collector{}, nil
	})
	// check score:FILE judges the spec's container images too.
	expanders[gates.KindScore] = score.Expand
	unsuppliedEvidence["score"] = "score evidence is read from the spec itself: name it as the subject (score:FILE)"
}

func runScanScore(w io.Writer, path, format string) error {
	if format != "text" && format != "json" {
		return undecided(fmt.Errorf("--format %q: want text or json", format))
	}
	ev, err := score.Scan(path)
	if err != nil {
		return undecided(errors.New(textsafe.Escape(err.Error())))
	}
	return writeScan(w, format, ev, writeScoreText)
}

// writeScoreText prints the evidence; every string from the spec is escaped.
func writeScoreText(w io.Writer, ev *score.Evidence) {
	esc := textsafe.Escape
	fmt.Fprintf(w, "workload: %s (%s)\n", esc(ev.Workload), esc(ev.File))
	for _, u := range ev.Upgrades {
		fmt.Fprintf(w, "  upgraded: %s\n", esc(u))
	}
	for _, c := range ev.Containers {
		pin := "not pinned"
		switch {
		case c.Build:
			pin = "build placeholder"
		case c.Pinned:
			pin = "pinned"
		}
		fmt.Fprintf(w, "container %s\n  image      %s (%s)\n", esc(c.Name), esc(c.Image), pin)
		fmt.Fprintf(w, "  requests   cpu=%s memory=%s\n", orNone(c.Requests.CPU), orNone(c.Requests.Memory))
		fmt.Fprintf(w, "  limits     cpu=%s memory=%s\n", orNone(c.Limits.CPU), orNone(c.Limits.Memory))
		fmt.Fprintf(w, "  probes     liveness=%s readiness=%s\n", probeText(c.Liveness), probeText(c.Readiness))
		for _, v := range c.Variables {
			note := ""
			if v.Placeholders {
				note = " (placeholders)"
			}
			if v.Secret != "" {
				note = " LITERAL SECRET: " + esc(v.Secret)
			}
			fmt.Fprintf(w, "  variable   %s%s\n", esc(v.Name), note)
		}
		for _, f := range c.Files {
			note := ""
			if len(f.Secrets) > 0 {
				note = " LITERAL SECRET: " + esc(strings.Join(f.Secrets, "; "))
			}
			fmt.Fprintf(w, "  file       %s mode=%s %s %d bytes%s\n", esc(f.Target), orNone(esc(f.Mode)), f.Source, f.Size, note)
		}
		for _, v := range c.Volumes {
			fmt.Fprintf(w, "  volume     %s <- %s path=%s read-only=%v\n", esc(v.Target), esc(v.Source), orNone(esc(v.Path)), v.ReadOnly)
		}
	}
	for _, p := range ev.Ports {
		fmt.Fprintf(w, "port %s %d -> %d/%s\n", esc(p.Name), p.Port, p.TargetPort, esc(p.Protocol))
	}
	for _, r := range ev.Resources {
		extra := ""
		if r.Class != "" {
			extra += " class=" + esc(r.Class)
		}
		if r.ID != "" {
			extra += " id=" + esc(r.ID)
		}
		if len(r.Params) > 0 {
			extra += " params=" + esc(strings.Join(r.Params, ","))
		}
		fmt.Fprintf(w, "resource %s type=%s%s\n", esc(r.Name), esc(r.Type), extra)
	}
	for _, r := range ev.Routes {
		if r.Resolved {
			fmt.Fprintf(w, "route %s host %s\n", esc(r.Resource), esc(r.Host))
		} else {
			fmt.Fprintf(w, "route %s host unresolved (%s): %s\n", esc(r.Resource), esc(r.Declared), esc(r.Reason))
		}
	}
	if len(ev.BuildPlaceholders) > 0 {
		fmt.Fprintf(w, "build placeholders (no image subject): %s\n", esc(strings.Join(ev.BuildPlaceholders, ", ")))
	}
	fmt.Fprintf(w, "literal secrets: %d\n", len(ev.Secrets))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return textsafe.Escape(s)
}

func probeText(p *score.Probe) string {
	if p == nil {
		return "none"
	}
	return p.Kind
}
