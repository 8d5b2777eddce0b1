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
		RunE: func(cmd *cobra.Command, args []string) error {
			var sum gates.TestSummary
			var err error
			if len(args) == 0 {
				sum, err = gates.TestPolicyFS(cmd.Context(), cmd.OutOrStdout(), verbose, policies.FS)
			} else {
				sum, err = gates.TestPolicyPaths(cmd.Context(), cmd.OutOrStdout(), verbose, args...)
			}
			if err != nil {
				return undecided(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed, %d errors, %d skipped\n", sum.Passed, sum.Failed, sum.Errored, sum.Skipped)
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
