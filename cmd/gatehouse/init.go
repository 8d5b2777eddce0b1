package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// initConfig is the gatehouse.yaml that `gatehouse init` writes: the
// shipped environments and gates, every parameter shown (commented) with
// what it does, where waivers go and how to add a gate of your own.
// TestInitTemplateShowsEveryParam keeps it in step with the gates' METADATA.
const initConfig = `# gatehouse.yaml: which gates each environment requires, per subject kind,
# and the gates' parameters. Written by "gatehouse init"; see docs/configuration.md.
#
#   gatehouse check --env dev model:models/fraud-v3      # exit 0 allowed, 1 denied, 2 not decided
#   gatehouse check --env prod image:ghcr.io/acme/api@sha256:...
#
# Unknown keys, wrong types and unknown values are errors (exit 2), never
# defaults: a typo cannot turn a gate off.

default_environment: dev

# Parameters shared by every environment: data.gatehouse.config.<gate>. An
# environment's own params override them key by key. A parameter left out
# keeps the gate's default (shown in brackets). Uncomment what you need.
params:
  model_scan:
    fail_on: medium           # lowest finding severity that denies: low|medium|high|critical; lower ones warn
  # modelscan:
  #   report: modelscan.json  # a Protect AI ModelScan JSON report for every model subject, relative to this file
  sonarqube:
    allow_warn: true          # a WARN status (SonarQube before 7.6) warns instead of denying
    # max_new_issues: {BLOCKER: 0, CRITICAL: 0, HIGH: 0}   # caps on open new-code issues per severity
    # report_task: target/sonar/report-task.txt            # the scanner's report-task.txt, relative to this file
    # timeout: 5m             # how long to wait for the analysis [300s]
    # poll_interval: 1s       # first wait between polls of api/ce/task [1s]
  pii:
    default_max: 0            # threshold of the entities not in max: any personal data denies
    deny_secrets: true        # keys and tokens always deny, critical
    # max: {IP_ADDRESS: 100}  # per-entity thresholds: an entity denies when its count exceeds them
    # warn_only: [PERSON]     # entities that warn instead of deny above their threshold
    # skipped: warn           # files the scanner cannot read (images, archives): warn|deny [warn]
    # sample_rows: 0          # scan only this many rows per file [0 = all]
    # sample_bytes: 0         # scan only this many bytes per file [0 = all]
  # license:
  #   allow: [Apache-2.0, MIT, BSD-3-Clause]   # licence ids or globs that pass (replaces the defaults)
  #   deny: ["AGPL-*", "CC-BY-NC-*"]           # licence ids or globs that deny; deny wins over allow
  #   unknown: warn           # licences that could not be named: warn|deny [warn]
  #   unlisted: warn          # licences neither allowed nor denied: warn|deny [warn]
  #   sbom: sbom.spdx.json    # SBOM file(s) for image subjects, relative to this file
  #   min_coverage: 75        # percent of a licence text that must match to name it [75]
  # model_card:
  #   required: [intended_use, training_data, evaluation, limitations, ethical_considerations]
  #   enforce: false          # deny gaps in every environment, not only prod [false]
  #
  # The signature and provenance gates deny until they have trust roots
  # (fail closed). Keys or keyless identities, for example:
  # signature:
  #   keys: [keys/cosign.pub]                  # PEM public keys, relative to this file (or inline PEM)
  #   identities:                              # keyless: Fulcio certificate identities
  #     - {issuer: https://token.actions.githubusercontent.com, subject_regexp: "^https://github.com/acme/.*$"}
  #     # also issuer_regexp, subject (exact)
  #   trusted_root: keys/trusted_root.json     # Sigstore trusted root for keyless, checked offline
  #   formats: [cosign-tag, cosign-referrer, bundle-referrer, blob-bundle]   # accepted signature formats [all four]
  #   require_tlog: false     # key-based signatures must carry a transparency-log promise
  #   ignore_sct: false       # skip the certificate-transparency check (private CAs only)
  # provenance:
  #   builders: [https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0]
  #   repositories: [https://github.com/acme/*]   # source repositories, globs; empty denies
  #   # keys, identities, trusted_root, require_tlog, ignore_sct: as for signature
  #   # (without keys and identities here, the signature gate's apply)
  #
  # Score workload specs (docs/score.md): route hosts deny until their domains are listed.
  # score:
  #   allowed_route_domains: ["*.apps.example.com"]   # "*.d" any subdomain of d, "d" that host only [none]
  #   unresolved_hosts: deny    # a route host known only at deploy time: deny|warn [deny]
  #   allowed_resource_types: [postgres, redis, dns, route, s3, amqp, volume]   # [score-k8s's provisioners]
  #   require_digest: true      # images pinned by @sha256 digest [true]
  #   require_limits: true      # containers set cpu and memory limits [true]
  #   deny_literal_secrets: true  # a literal secret denies, critical [true]
  # Kubeflow pipelines (docs/pipelines.md):
  # kfp:
  #   require_digest: true      # executor images pinned by digest [true]
  #   allowed_registries: [europe-docker.pkg.dev/acme/]   # image prefixes executors may pull from [any]
  #   runtime_images: deny      # an image chosen by a run parameter: deny|warn [deny]
  #   unresolved_artifacts: deny   # an importer URI known only at run time: deny|warn [deny]
  #   overridable_artifacts: warn  # a URI from a pipeline input default: deny|warn [warn]
  # Fairness of a model's predictions (docs/fairness.md), read from predictions.* beside the model:
  # fairness:
  #   label: label              # column of true labels [label]
  #   prediction: prediction    # column of predicted labels [prediction]
  #   score: score              # column of scores in [0,1], for ROC AUC [none]
  #   positive: "1"             # the positive label value ["1"]
  #   required_groups: [sex, age_band]   # group columns the evidence must have and the gate judges
  #   groups: [region]          # further group columns the collector reads
  #   thresholds: {demographic_parity_ratio: 0.8, equalized_odds_difference: 0.1}   # also demographic_parity_difference, equal_opportunity_difference
  #   min_group_size: 30        # smaller groups are too small to judge [30]
  #   small_groups: warn        # too-small groups and gaps that cannot be computed: warn|deny [deny in prod]
  #   intersectional: false     # also judge the intersections of the group columns [false]
  #   missing: group            # empty group values: their own group, or an error: group|error [group]
  # Evaluation metrics and no regression against production (docs/evaluation.md):
  # evaluation:
  #   required: {accuracy: {min: 0.9}, f1: {min: 0.8, slice: overall}}   # also max, dataset, split, class
  #   max_regression: {accuracy: {absolute: 0.01}}   # per metric, absolute and/or relative, vs --evidence evaluation_baseline=FILE
  #   default_max_regression: {absolute: 0.01}       # for metrics not in max_regression
  #   compare: all              # baseline metrics compared: all|listed [all]
  #   lower_is_better: [latency_ms]    # beside the known names (loss, rmse, fpr, ...)
  #   higher_is_better: []
  #   require_baseline: false   # deny when no baseline is given [false]
  #   unmatched_baseline: warn  # a baseline metric with no counterpart: warn|deny [deny in prod]
  #   dataset: validation       # dataset name of metrics whose source names none
  #   split: test               # split of metrics whose source names none

environments:
  dev:
    gates:                    # gates required per subject kind: image, model, dataset, score, pipeline
      image: [sonarqube]
      model: [model_scan]
      dataset: [pii]
      score: [score]
      pipeline: [kfp]
  staging:
    gates:
      image: [sonarqube, signature]
      model: [model_scan, license, signature]
      dataset: [pii, license, signature]
      score: [score]
      pipeline: [kfp]
    params:
      sonarqube: {allow_warn: false}
  prod:
    gates:
      image: [sonarqube, signature, provenance]
      model: [model_scan, license, model_card, signature, fairness, evaluation]
      dataset: [pii, license, signature]
      score: [score]
      pipeline: [kfp]
    params:
      sonarqube: {allow_warn: false}
      license: {unknown: deny}
      pii: {skipped: deny}    # a dataset file the scanner cannot read denies
    # Waivers turn one gate's findings off for one subject until they expire.
    # Create the file, then uncomment this line (relative to this file):
    # waivers: waivers.yaml
    #
    #   waivers:
    #     - subject: models/fraud-v3      # a path (./m, m and /abs/m are one), a glob, or a digest
    #       gate: model_scan              # must be a gate the policy defines
    #       rule: finding                 # optional: every rule of the gate when left out
    #       reason: torch.jit code reviewed in SEC-42
    #       approver: alice@example.com
    #       ticket: https://jira.example.com/browse/SEC-42
    #       expires: 2027-01-31T00:00:00Z # required: no waiver lasts for ever
    #
    # A gate of your own: a Rego package gatehouse.gates.<name> in a folder,
    # e.g. policies/max_size.rego (docs/policies.md), that may import
    # data.gatehouse.lib (lib.params, lib.evidence_denials) and declares its
    # parameters in METADATA custom.params. Test it with
    #   gatehouse policy test policies
    # then load the folder and require the gate here:
    # policies: [policies]
    # (and add max_size to a gates list above, e.g. model: [..., max_size])
`

func init() {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [--force] [DIR]",
		Short: "Write a commented gatehouse.yaml for a new repository",
		Long: `init writes DIR/gatehouse.yaml (DIR defaults to the current folder): the
environments dev, staging and prod with the default gates, every gate's
parameters shown commented, where waivers go and how to add a gate of your own.
It refuses to replace an existing file unless --force is given.

Exit codes: 0 written, 2 not written (the file exists, or DIR cannot be written).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			p, err := writeInitConfig(dir, force)
			if err != nil {
				return undecided(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\nnext: gatehouse check --config %s --env dev model:PATH (or image:REF, dataset:PATH)\n", p, p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing gatehouse.yaml")
	rootCmd.AddCommand(cmd)
}

// writeInitConfig writes dir/gatehouse.yaml. Without force an existing
// file (of any type) is left alone; with force the new file replaces it
// by rename, so a FIFO or symlink in its place is never opened.
func writeInitConfig(dir string, force bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	p := filepath.Join(dir, "gatehouse.yaml")
	if !force {
		// O_EXCL: fails on anything already there, never follows or blocks.
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("init: %s already exists; give --force to replace it", p)
		}
		if err != nil {
			return "", fmt.Errorf("init: %w", err)
		}
		if _, err := f.WriteString(initConfig); err != nil {
			f.Close()
			os.Remove(p)
			return "", fmt.Errorf("init: write %s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			os.Remove(p)
			return "", fmt.Errorf("init: write %s: %w", p, err)
		}
		return p, nil
	}
	if st, err := os.Lstat(p); err == nil && st.IsDir() {
		return "", fmt.Errorf("init: %s is a folder", p)
	}
	if err := atomicfile.WriteBytes(p, []byte(initConfig)); err != nil {
		return "", fmt.Errorf("init: write %s: %w", p, err)
	}
	return p, nil
}
