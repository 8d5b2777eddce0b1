package modelcard

import (
	"encoding/json"
	"testing"
)

// FuzzEvidence feeds documents given with --evidence model_card=FILE,
// model_card/v1 with a "remote" object among them: it must return
// evidence or an error, never panic, and what it accepts marshals and
// reads back the same.
func FuzzEvidence(f *testing.F) {
	f.Add(remoteCard(remoteOCI))
	f.Add(remoteCard(remoteGCS))
	f.Add(remoteCard(`{"source":{"kind":"oci","ref":"oci://r/m"},"origins":[]}`))
	f.Add([]byte(`{"schema":"model_card/v1","found":false,"sections":{},"metrics":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := (&Collector{}).ParseEvidence(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
		ev, ok := v.(Evidence)
		if !ok || ev.Schema != Schema {
			return // a Markdown or Model Card Toolkit card
		}
		if _, err := (&Collector{}).ParseEvidence(b); err != nil {
			t.Fatalf("accepted evidence does not read back: %v\n%s", err, b)
		}
	})
}
