package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/netpol"
)

func init() {
	var (
		o             netpol.Options
		out, config   string
		failOnWarning bool
	)
	c := &cobra.Command{
		Use:   "netpol SCORE.yaml...",
		Short: "Write CiliumNetworkPolicies (cilium.io/v2) for Score workloads: default deny, ingress on service ports, egress to DNS and declared resources",
		Long: `Write one CiliumNetworkPolicy per Score workload: default deny in both
directions for the workload's pods; ingress only on its service ports (from
the ingress entity when it has a route, else from its namespace, and from
workloads that declare it as a service-port dependency); egress only to
cluster DNS and to each declared resource by its type (see --config).
Every policy passes Cilium's own validation before anything is written.
A resource that gets no egress (no known host, unknown peer) is named on
stderr. Exit 0 written, 2 nothing written (bad spec, flag or configuration).
See docs/network-policies.md.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if config != "" {
				cfg, err := netpol.LoadConfig(config)
				if err != nil {
					return undecided(err)
				}
				o.Config = cfg
			}
			if out != "" {
				if err := checkOut(out, args); err != nil {
					return undecided(err)
				}
			}
			res, err := netpol.GenerateFiles(cmd.Context(), args, o)
			if err != nil {
				return undecided(err)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "gatehouse: warning:", textsafe.Escape(w.String()))
			}
			if failOnWarning && len(res.Warnings) > 0 {
				return undecided(fmt.Errorf("%d warning(s) and --fail-on-warning: nothing written", len(res.Warnings)))
			}
			var buf bytes.Buffer
			if err := res.Write(&buf); err != nil {
				return undecided(err)
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := atomicfile.WriteBytes(out, buf.Bytes()); err != nil {
				return undecided(fmt.Errorf("--out %s: %w", out, err))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&o.Namespace, "namespace", "n", "", "namespace written into each policy (empty: left to kubectl apply -n)")
	f.StringVarP(&out, "out", "o", "", "write the policies to this file (atomically) instead of stdout")
	f.StringVar(&config, "config", "", "YAML file with pod labels, DNS, gateway and the resource type → peer/port mapping (merged over the built-in one)")
	f.BoolVar(&o.AllowKubeAPIServer, "allow-kube-apiserver", false, "also allow egress to the kube-apiserver entity")
	f.BoolVar(&failOnWarning, "fail-on-warning", false, "exit 2 and write nothing when a resource gets no egress")
	rootCmd.AddCommand(c)
}

// checkOut refuses an --out that exists and is not a regular file (a
// FIFO, device, folder or symbolic link), or that is one of the specs.
func checkOut(out string, specs []string) error {
	st, err := os.Lstat(out)
	switch {
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("--out %s exists and is not a regular file (%s): refusing to replace it", out, st.Mode().Type())
	case err != nil && !os.IsNotExist(err):
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if err == nil {
		for _, s := range specs {
			if ss, e := os.Stat(s); e == nil && os.SameFile(st, ss) {
				return fmt.Errorf("--out %s is the Score spec %s: refusing to overwrite it", out, s)
			}
		}
	}
	if dst, e := os.Stat(filepath.Dir(out)); e != nil || !dst.IsDir() {
		return fmt.Errorf("--out %s: folder %s does not exist", out, filepath.Dir(out))
	}
	return nil
}
