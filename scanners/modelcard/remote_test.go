package modelcard

import (
	"strings"
	"testing"
)

// remoteOCI and remoteGCS are "remote" objects as gatehouse check writes
// them for a remote model's card (cmd/gatehouse/remote_side.go).
const (
	remoteOCI = `{"source":{"kind":"oci","ref":"oci://r.example/m:v1","digest":"sha256:` + hex64 + `","pinned":"oci://r.example/m@sha256:` + hex64 + `","format":"modelpack"},"origins":[{"path":"README.md","layer":"sha256:` + hex64 + `","layer_media_type":"application/vnd.cncf.model.doc.v1.tar","layer_path":"README.md"}]}`
	remoteGCS = `{"source":{"kind":"gcs","ref":"gs://b/m/","digest":"sha256:` + hex64 + `"},"origins":[{"path":"README.md","bucket":"b","object":"m/README.md","generation":17,"crc32c":"0badf00d","md5":"00112233445566778899aabbccddeeff"}]}`
	hex64     = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func remoteCard(remote string) []byte {
	return []byte(`{"schema":"model_card/v1","subject":{"path":"oci://r.example/m:v1","digest":"sha256:` + hex64 + `"},"found":true,"file":"README.md","sections":{},"metrics":[],"remote":` + remote + `}`)
}

func TestParseEvidenceKeepsRemote(t *testing.T) {
	for name, r := range map[string]string{"oci": remoteOCI, "gcs": remoteGCS} {
		v, err := (&Collector{}).ParseEvidence(remoteCard(r))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ev := v.(Evidence)
		if ev.Remote == nil || ev.Remote.Source.Ref == "" || len(ev.Remote.Origins) != 1 || ev.Remote.Origins[0].Path != "README.md" {
			t.Fatalf("%s: remote not kept: %+v", name, ev.Remote)
		}
	}
}

func TestParseEvidenceRemoteStrict(t *testing.T) {
	for name, r := range map[string]string{
		"unknown field in source": strings.Replace(remoteOCI, `"kind":"oci"`, `"kind":"oci","extra":1`, 1),
		"unknown field in origin": strings.Replace(remoteOCI, `"path":"README.md"`, `"path":"README.md","url":"x"`, 1),
		"unknown field in remote": strings.Replace(remoteOCI, `"origins"`, `"note":"x","origins"`, 1),
		"no origins":              `{"source":{"kind":"oci","ref":"oci://r/m"}}`,
		"no ref":                  `{"source":{"kind":"oci"},"origins":[]}`,
		"origin without path":     `{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[{"layer":"sha256:x"}]}`,
		"origin layer and object": `{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[{"path":"a","layer":"sha256:x","object":"a"}]}`,
		"origin neither":          `{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[{"path":"a"}]}`,
		"remote not an object":    `"oci://r/m"`,
		"generation not a number": strings.Replace(remoteGCS, `"generation":17`, `"generation":"17"`, 1),
	} {
		if _, err := (&Collector{}).ParseEvidence(remoteCard(r)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
