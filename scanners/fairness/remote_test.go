package fairness

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// remoteDoc is fairness/v1 evidence as gatehouse check writes it for a
// remote model: a scan's evidence with "remote" (the raw JSON r) added.
func remoteDoc(tb testing.TB, r string) []byte {
	tb.Helper()
	o := Options{Label: "y", Prediction: "yhat", Groups: []string{"g"}, MinGroupSize: 1}
	ev, err := ScanReader(context.Background(), strings.NewReader("y,yhat,g\n1,1,A\n0,1,B\n1,0,A\n0,0,B\n"), "csv", o)
	if err != nil {
		tb.Fatal(err)
	}
	ev.Predictions = &Predictions{Path: "predictions.csv", SHA256: hex64, Bytes: 40, Format: "csv"}
	ev.Subject = &Subject{Path: "oci://r.example/m:v1", Digest: "sha256:" + hex64}
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	m["remote"] = json.RawMessage(r)
	b, err = json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const (
	remoteOCI = `{"source":{"kind":"oci","ref":"oci://r.example/m:v1","digest":"sha256:` + hex64 + `","format":"modelpack"},"origins":[{"path":"predictions.csv","layer":"sha256:` + hex64 + `","layer_path":"predictions.csv"}]}`
	remoteGCS = `{"source":{"kind":"gcs","ref":"gs://b/m/","digest":"sha256:` + hex64 + `"},"origins":[{"path":"predictions.csv","bucket":"b","object":"m/predictions.csv","generation":3,"crc32c":"0badf00d"}]}`
)

func TestParseEvidenceKeepsRemote(t *testing.T) {
	for name, r := range map[string]string{"oci": remoteOCI, "gcs": remoteGCS} {
		v, err := (&Collector{}).ParseEvidence(remoteDoc(t, r))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ev := v.(Evidence)
		want := new(remote.Evidence)
		if err := json.Unmarshal([]byte(r), want); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(ev.Remote)
		exp, _ := json.Marshal(want)
		if string(got) != string(exp) {
			t.Fatalf("%s: remote %s, want %s", name, got, exp)
		}
	}
}

func TestParseEvidenceRemoteStrict(t *testing.T) {
	for name, r := range map[string]string{
		"unknown field in source": strings.Replace(remoteOCI, `"kind":"oci"`, `"kind":"oci","extra":1`, 1),
		"unknown field in origin": strings.Replace(remoteOCI, `"path":"predictions.csv"`, `"path":"predictions.csv","url":"x"`, 1),
		"unknown field in remote": strings.Replace(remoteOCI, `"origins"`, `"note":"x","origins"`, 1),
		"no origins":              `{"source":{"kind":"oci","ref":"oci://r/m"}}`,
		"origin neither":          `{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[{"path":"a"}]}`,
		"remote a list":           `[]`,
	} {
		if _, err := (&Collector{}).ParseEvidence(remoteDoc(t, r)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzEvidence feeds documents given with --evidence fairness=FILE: what
// is accepted marshals and reads back.
func FuzzEvidence(f *testing.F) {
	f.Add(remoteDoc(f, remoteOCI))
	f.Add(remoteDoc(f, remoteGCS))
	f.Add(remoteDoc(f, `{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[]}`))
	f.Add(remoteDoc(f, `null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := (&Collector{}).ParseEvidence(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
		if _, err := (&Collector{}).ParseEvidence(b); err != nil {
			t.Fatalf("accepted evidence does not read back: %v\n%s", err, b)
		}
	})
}
