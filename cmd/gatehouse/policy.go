package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/policies"
)

func init() {
	policyCmd := &cobra.Command{Use: "policy", Short: "Work with Rego policies"}
	var verbose bool
	testCmd := &cobra.Command{
		Use:   "test [DIR|FILE...]",
		Short: "Run Rego tests with OPA's tester (the embedded default bundle when no path is given)",
		Long: `test runs the test_ rules of the given folders and files with OPA's own
tester, loading them as ` + "`opa test`" + ` does (data files included). With no path
it tests the embedded default bundle.

A custom gate may import data.gatehouse.lib (lib.params, lib.evidence_denials):
the embedded library is loaded for it unless the given files define package
gatehouse.lib themselves. None of the default gates is loaded.

Exit codes: 0 all tests passed, 1 a test failed or errored (or none ran),
2 the policies could not be loaded, or the run was interrupted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var sum gates.TestSummary
			var err error
			if len(args) == 0 {
				sum, err = gates.TestPolicyFS(cmd.Context(), cmd.OutOrStdout(), verbose, policies.FS)
			} else {
				sum, err = gates.TestPolicyPaths(cmd.Context(), cmd.OutOrStdout(), verbose, policies.FS, args...)
			}
			if err != nil {
				return undecided(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed, %d errors, %d skipped\n", sum.Passed, sum.Failed, sum.Errored, sum.Skipped)
			if err := cmd.Context().Err(); err != nil {
				// Tests cut short prove nothing either way.
				return undecided(fmt.Errorf("policy test interrupted: not decided (%w)", err))
			}
			if !sum.OK() {
				return denied()
			}
			return nil
		},
	}
	testCmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test")
	policyCmd.AddCommand(testCmd)
	rootCmd.AddCommand(policyCmd)
}
