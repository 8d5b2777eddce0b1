// Command gatehouse is the single binary of gatehouse: the CI gate step
// (check), the scanners (scan), signing (sign, verify) and policy tools.
// This package holds flags and wiring only; behaviour lives in the libraries.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/gates/report"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// Exit codes shared by every command.
const (
	exitAllowed   = 0 // everything passed
	exitDenied    = 1 // a subject was denied (or a finding at/above --fail-on)
	exitUndecided = 2 // could not decide: bad flags, config, evidence or policy
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// denied returns an error that exits 1 without printing anything more.
func denied() error { return &exitError{code: exitDenied} }

// undecided wraps err to exit 2 with the reason on stderr.
func undecided(err error) error { return &exitError{code: exitUndecided, err: err} }

var rootCmd = &cobra.Command{
	Use:           "gatehouse",
	Short:         "Policy gates for what may reach production: images, models, datasets, Score specs, pipelines",
	SilenceUsage:  true,
	SilenceErrors: true,
}

// scanCmd groups the native scanners; each scanner adds itself in init.
var scanCmd = &cobra.Command{
	Use:   "scan",
	Short: "Run one of gatehouse's native scanners on a path",
}

func init() {
	rootCmd.AddCommand(scanCmd)
	// Bad flags are "could not decide" (exit 2), never a pass.
	rootCmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return undecided(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
}

func main() { os.Exit(run(os.Args[1:])) }

// The module version stamped by `go install …@vX` names the SARIF driver.
func init() {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		report.Version = bi.Main.Version
	}
}

// run executes the command line and maps its outcome to an exit code.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rootCmd.SetArgs(args)
	err := rootCmd.ExecuteContext(ctx)
	if err == nil {
		return exitAllowed
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(ee.err)
		}
		return ee.code
	}
	// Anything else (unknown command, bad arguments) could not be decided.
	printError(err)
	return exitUndecided
}

// printError writes err to stderr, one escaped line per line of the
// message: errors quote file names, evidence and server messages, and no
// outside string may start a line a CI runner would read as a command.
func printError(err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(os.Stderr, "gatehouse:", textsafe.Escape(line))
	}
}
