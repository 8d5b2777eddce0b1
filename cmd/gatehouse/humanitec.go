package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/humanitec"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// gatehouse humanitec approve|deny|decide: decide the approval request of a
// Humanitec Pipeline's `actions/humanitec/approve` step (docs/humanitec.md).
//
// Exit codes: 0 the request was approved (decide), or the asked-for verdict
// was recorded (approve, deny); 1 (decide) the gate denied and the denial
// was recorded; 2 anything else: bad flags, no token, Humanitec unreachable
// or answering with an error, no single waiting request, or (decide) a
// check result that could not be read or did not decide, in which case the
// request is denied when Humanitec can be reached.

type humanitecOptions struct {
	job       humanitec.Job
	approval  string
	apiURL    string
	tokenFile string
	timeout   time.Duration
	wait      time.Duration
	reason    string
	// decide only
	checkResult string
	env         string
}

// humanitecPollInterval is how often --wait asks for the approval request.
var humanitecPollInterval = 5 * time.Second

var humanitecCmd = &cobra.Command{
	Use:   "humanitec",
	Short: "Decide the approval step of a Humanitec Pipeline (approve, deny, or decide from a check result)",
}

func init() {
	rootCmd.AddCommand(humanitecCmd)
	for _, v := range []humanitec.Verdict{humanitec.Approve, humanitec.Deny} {
		o := &humanitecOptions{}
		c := &cobra.Command{
			Use:   string(v) + " --org ORG --app APP --pipeline P --run R --job J [--approval ID]",
			Short: strings.ToUpper(string(v[:1])) + string(v[1:]) + " a Humanitec Pipeline approval request",
			Long: "Sends " + string(v) + " for the approval request of a Humanitec Pipeline job " +
				"(POST /orgs/ORG/apps/APP/pipelines/P/runs/R/jobs/J/approvals/ID/" + string(v) + "). " +
				"Without --approval, the job's single waiting request is used; none or several is exit 2. " +
				"The token is HUMANITEC_TOKEN or the file --token-file names.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runHumanitecVerdict(cmd, o, v)
			},
		}
		o.flags(c)
		humanitecCmd.AddCommand(c)
	}
	o := &humanitecOptions{}
	decide := &cobra.Command{
		Use:   "decide --check-result RESULT.json --org ORG --app APP --pipeline P --run R --job J",
		Short: "Approve or deny a Humanitec Pipeline approval request by a `gatehouse check --format json` result",
		Long: "Reads a gatehouse.check/v1 document and approves the job's approval request only when every " +
			"subject is allowed and none comes from a partial run; anything else (denied, not decided, no subject, " +
			"partial, another schema or environment, an unreadable file) denies it. Exit 0 approved, 1 denied by " +
			"the gate, 2 could not decide (the request is then denied if Humanitec can be reached) or Humanitec failed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHumanitecDecide(cmd, o) },
	}
	o.flags(decide)
	decide.Flags().StringVar(&o.checkResult, "check-result", "", "`FILE` written by gatehouse check --format json to decide by (required)")
	decide.Flags().StringVar(&o.env, "env", "", "require every subject of the check result to have been checked for this gatehouse environment")
	humanitecCmd.AddCommand(decide)
}

func (o *humanitecOptions) flags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.job.Org, "org", "", "Humanitec organization id (required)")
	f.StringVar(&o.job.App, "app", "", "application id (required)")
	f.StringVar(&o.job.Pipeline, "pipeline", "", "pipeline id (required)")
	f.StringVar(&o.job.Run, "run", "", "pipeline run id (required)")
	f.StringVar(&o.job.Job, "job", "", "id of the job whose approve step waits (required)")
	f.StringVar(&o.approval, "approval", "", "approval request id; default: the job's single waiting request")
	f.StringVar(&o.apiURL, "api-url", humanitec.DefaultAPIURL, "Humanitec API base URL (https only)")
	f.StringVar(&o.tokenFile, "token-file", "", "read the API token from `FILE` instead of HUMANITEC_TOKEN")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "deadline for the whole command, --wait included")
	f.DurationVar(&o.wait, "wait", 0, "wait up to this long for the job's approval request to appear (polls every 5s)")
	f.StringVar(&o.reason, "reason", "", "reason printed with the verdict (Humanitec's approve/deny calls take no text)")
}

// humanitecToken reads the token from --token-file or HUMANITEC_TOKEN.
func (o *humanitecOptions) token() (string, error) {
	if o.tokenFile == "" {
		return strings.TrimSpace(os.Getenv("HUMANITEC_TOKEN")), nil
	}
	data, err := readlimit.File(o.tokenFile, 16<<10)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("--token-file %s is empty", o.tokenFile)
	}
	return tok, nil
}

// validate checks the flags; it returns exit-2 errors.
func (o *humanitecOptions) validate() error {
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	if o.wait < 0 || o.wait >= o.timeout {
		return fmt.Errorf("--wait %s: must be at least 0 and shorter than --timeout %s", o.wait, o.timeout)
	}
	if o.approval != "" && o.wait > 0 {
		return errors.New("--wait waits for a request to appear: give it without --approval")
	}
	if len(o.reason) > 1024 {
		return errors.New("--reason is longer than 1024 bytes")
	}
	return o.job.Validate()
}

func (o *humanitecOptions) client() (*humanitec.Client, error) {
	tok, err := o.token()
	if err != nil {
		return nil, err
	}
	return humanitec.New(humanitec.Options{APIURL: o.apiURL, Token: tok, UserAgent: "gatehouse"})
}

// target finds the approval request to decide: --approval, else the job's
// single waiting request (polling up to --wait).
func (o *humanitecOptions) target(ctx context.Context, c *humanitec.Client) (string, error) {
	if o.approval != "" {
		return o.approval, nil
	}
	if o.wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.wait)
		defer cancel()
		a, err := c.WaitWaiting(wctx, o.job, humanitecPollInterval)
		return a.ID, err
	}
	a, err := c.FindWaiting(ctx, o.job)
	return a.ID, err
}

// send records v and prints one line about it.
func (o *humanitecOptions) send(ctx context.Context, cmd *cobra.Command, c *humanitec.Client, id string, v humanitec.Verdict, reason string) error {
	out, err := c.Decide(ctx, o.job, id, v)
	if err != nil {
		return err
	}
	past := map[humanitec.Verdict]string{humanitec.Approve: "approved", humanitec.Deny: "denied"}[v]
	line := fmt.Sprintf("%s Humanitec approval request %s (%s", past, id, o.job)
	if out.Approval.EnvID != "" {
		line += ", environment " + out.Approval.EnvID
	}
	line += ")"
	if out.Already {
		line += ": it already was"
	}
	if reason != "" {
		line += ": " + reason
	}
	fmt.Fprintln(cmd.OutOrStdout(), textsafe.Escape(line))
	return nil
}

func runHumanitecVerdict(cmd *cobra.Command, o *humanitecOptions, v humanitec.Verdict) error {
	if err := o.validate(); err != nil {
		return undecided(err)
	}
	c, err := o.client()
	if err != nil {
		return undecided(err)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	id, err := o.target(ctx, c)
	if err != nil {
		return undecided(err)
	}
	if err := o.send(ctx, cmd, c, id, v, o.reason); err != nil {
		return undecided(err)
	}
	return nil
}

func runHumanitecDecide(cmd *cobra.Command, o *humanitecOptions) error {
	if o.checkResult == "" {
		return undecided(errors.New("--check-result is required (the output of gatehouse check --format json)"))
	}
	if err := o.validate(); err != nil {
		return undecided(err)
	}
	c, err := o.client()
	if err != nil {
		return undecided(err)
	}
	// The verdict is read before Humanitec is asked anything, so a bad
	// file is reported even when Humanitec cannot be reached.
	gv := humanitec.ReadCheckResult(o.checkResult, o.env)
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	id, err := o.target(ctx, c)
	if err != nil {
		return undecided(fmt.Errorf("%w; gate verdict (not sent): %s", err, gv.Reason))
	}
	reason := gv.Reason
	if o.reason != "" {
		reason = o.reason + ": " + reason
	}
	v := humanitec.Deny
	if gv.Approve {
		v = humanitec.Approve
	}
	if err := o.send(ctx, cmd, c, id, v, reason); err != nil {
		return undecided(fmt.Errorf("%w; gate verdict: %s", err, gv.Reason))
	}
	switch {
	case gv.Approve:
		return nil
	case gv.Decided:
		return denied()
	}
	return undecided(fmt.Errorf("gate could not decide, so the approval request was denied: %s", gv.Reason))
}
