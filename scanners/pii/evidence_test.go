package pii

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseEvidenceRefuses(t *testing.T) {
	c := &Collector{}
	for _, tt := range []struct{ name, doc, want string }{
		{"collection error", `{"schema":"pii/v1","mode":"full","files_scanned":1,"error":"dataset x: context canceled"}`, "collection error"},
		{"no scan", `{"schema":"pii/v1","mode":"full"}`, "records no scan"},
		{"subject without path", `{"schema":"pii/v1","mode":"full","files_scanned":1,"subject":{}}`, `"subject" without a "path"`},
		{"too large", `{"schema":"pii/v1","mode":"full","files_scanned":1,"x":"` + strings.Repeat("a", MaxEvidenceBytes) + `"}`, "more than the limit"},
		{"wrong schema", `{"schema":"pii/v2","mode":"full","files_scanned":1}`, "schema"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ParseEvidence([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestParseEvidenceKeepsSubject(t *testing.T) {
	doc := `{"schema":"pii/v1","subject":{"path":"data/train.csv","digest":"sha256:ab"},"mode":"full","files_scanned":1}`
	v, err := (&Collector{}).ParseEvidence([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	if !strings.Contains(string(out), `"subject":{"path":"data/train.csv","digest":"sha256:ab"}`) {
		t.Fatalf("subject lost: %s", out)
	}
}

func FuzzParseEvidence(f *testing.F) {
	for _, s := range []string{
		`{"schema":"pii/v1","subject":{"path":"d.csv"},"mode":"full","files_scanned":1,"findings":[{"file":"d.csv","column":"email","entity":"EMAIL_ADDRESS","count":2}],"totals":{"EMAIL_ADDRESS":2}}`,
		`{"schema":"pii/v1","mode":"sample","sample_rows":10,"files_scanned":0,"not_verified":[{"location":"x","reason":"empty"}]}`,
		`{"schema":"pii/v1","mode":"full","error":"boom"}`,
		`{"schema":"pii/v1","mode":"full","files_scanned":-1}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	c := &Collector{}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.ParseEvidence(data)
		if err != nil {
			return
		}
		ev := v.(*Evidence)
		if ev.Schema != Schema || (ev.FilesScanned <= 0 && len(ev.NotVerified) == 0) {
			t.Fatalf("accepted %q as %+v", data, ev)
		}
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted evidence does not marshal: %v", err)
		}
		if _, err := c.ParseEvidence(out); err != nil {
			t.Fatalf("evidence %s does not parse back: %v", out, err)
		}
	})
}
