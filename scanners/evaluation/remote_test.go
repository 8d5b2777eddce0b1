package evaluation

import (
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// remoteEvalOCI is the "remote" object gatehouse check writes for a
// remote model's metrics file (cmd/gatehouse/remote_side.go).
const remoteEvalOCI = `{"source":{"kind":"oci","ref":"oci://r.example/m:v1","digest":"sha256:` + hex64 + `","format":"modelpack"},"origins":[{"path":"metrics.json","layer":"sha256:` + hex64 + `","layer_path":"metrics.json"}]}`

func remoteEval(r string) []byte {
	return []byte(`{"schema":"evaluation/v1","subject":{"path":"oci://r.example/m:v1","digest":"sha256:` + hex64 + `"},"sources":[{"path":"metrics.json","format":"metrics-list"}],"metrics":[{"name":"accuracy","value":0.9,"slice":"overall","source":"metrics.json"}],"remote":` + r + `}`)
}

func TestParseEvidenceKeepsRemote(t *testing.T) {
	v, err := (&Collector{}).ParseEvidence(remoteEval(remoteEvalOCI))
	if err != nil {
		t.Fatal(err)
	}
	ev := v.(*Evidence)
	if ev.Remote == nil || ev.Remote.Source.Ref != "oci://r.example/m:v1" || len(ev.Remote.Origins) != 1 || ev.Remote.Origins[0].Layer != "sha256:"+hex64 {
		t.Fatalf("remote not kept: %+v", ev.Remote)
	}
	if ev.Subject == nil || ev.Subject.Digest != "sha256:"+hex64 {
		t.Fatalf("subject %+v", ev.Subject)
	}
}

func TestParseEvidenceRemoteStrict(t *testing.T) {
	for name, r := range map[string]string{
		"unknown field in source": strings.Replace(remoteEvalOCI, `"kind":"oci"`, `"kind":"oci","extra":1`, 1),
		"unknown field in origin": strings.Replace(remoteEvalOCI, `"path":"metrics.json"`, `"path":"metrics.json","url":"x"`, 1),
		"unknown field in remote": strings.Replace(remoteEvalOCI, `"origins"`, `"note":"x","origins"`, 1),
		"no origins":              `{"source":{"kind":"oci","ref":"oci://r/m"}}`,
		"no kind":                 `{"source":{"ref":"oci://r/m"},"origins":[]}`,
		"origin neither":          `{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[{"path":"a"}]}`,
	} {
		if _, err := (&Collector{}).ParseEvidence(remoteEval(r)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
