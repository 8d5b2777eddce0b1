package main

import (
	"strings"
	"testing"
)

// A bucket has no place for a VSA: --attest on a gs:// model or dataset is
// refused before anything is read (exit 2), with what to do instead.
func TestCheckAttestRefusesBuckets(t *testing.T) {
	for _, subject := range []string{"model:gs://models/fraud/", "dataset:gs://data/claims.csv"} {
		r := gatehouse(t, remoteEnv(t), "check", "--env", "dev", "--attest", "--key", "no-such.key", subject)
		if r.code != 2 || !strings.Contains(r.stderr, "a bucket is neither") || !strings.Contains(r.stderr, "gatehouse push model") {
			t.Errorf("check --attest %s: exit %d, stderr %q; want exit 2 refusing the bucket", subject, r.code, r.stderr)
		}
	}
}
