package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestEvidenceBoundToSubject(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean")
	evil := filepath.Join(dir, "evil")
	for _, p := range []string{clean, evil} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(clean, link); err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	relClean, _ := filepath.Rel(cwd, clean)
	ok := func(subject map[string]any) map[string]any {
		return map[string]any{"bad": []any{}, "subject": subject}
	}
	tests := []struct {
		name    string
		subject Subject
		doc     any
		want    string // verdict
		msg     string
	}{
		{"same path", Subject{Kind: KindModel, Ref: clean}, ok(map[string]any{"path": clean}), VerdictAllowed, ""},
		{"relative and absolute", Subject{Kind: KindModel, Ref: clean}, ok(map[string]any{"path": relClean}), VerdictAllowed, ""},
		{"dot slash", Subject{Kind: KindModel, Ref: relClean}, ok(map[string]any{"path": "./" + relClean + "/"}), VerdictAllowed, ""},
		{"through a symlink", Subject{Kind: KindModel, Ref: link}, ok(map[string]any{"path": clean}), VerdictAllowed, ""},
		{"another model", Subject{Kind: KindModel, Ref: evil}, ok(map[string]any{"path": clean}), VerdictDenied, "demo evidence is about " + clean + ", not model:" + evil},
		{"top-level path (model_scan/v1)", Subject{Kind: KindModel, Ref: evil}, map[string]any{"bad": []any{}, "path": clean}, VerdictDenied, "is about " + clean},
		{"raw JSON", Subject{Kind: KindModel, Ref: evil}, json.RawMessage(`{"bad":[],"subject":{"path":"` + clean + `"}}`), VerdictDenied, "is about " + clean},
		{"digest matches", Subject{Kind: KindImage, Ref: "r@sha256:aa", Digest: "sha256:aa"}, ok(map[string]any{"digest": "sha256:AA"}), VerdictAllowed, ""},
		{"digest differs", Subject{Kind: KindImage, Ref: "r@sha256:aa", Digest: "sha256:aa"}, ok(map[string]any{"digest": "sha256:bb"}), VerdictDenied, "is about sha256:bb"},
		{"top-level digest (signatures/v1)", Subject{Kind: KindImage, Ref: "r@sha256:aa", Digest: "sha256:aa"}, map[string]any{"bad": []any{}, "digest": "sha256:bb"}, VerdictDenied, "is about sha256:bb"},
		{"digest named, subject digest unknown", Subject{Kind: KindModel, Ref: clean}, ok(map[string]any{"path": clean, "digest": "sha256:aa"}), VerdictDenied, "is about"},
		{"path named for an image", Subject{Kind: KindImage, Ref: "r@sha256:aa", Digest: "sha256:aa"}, ok(map[string]any{"path": clean}), VerdictDenied, "is about"},
		{"names nothing: the caller bound it", Subject{Kind: KindModel, Ref: evil}, map[string]any{"bad": []any{}}, VerdictAllowed, ""},
	}
	cfg, err := ParseConfig("t.yaml", []byte("environments:\n  dev:\n    gates:\n      model: [demo]\n      image: [demo]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies("testdata/policies", "../policies/lib.rego"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), Request{Subject: tt.subject, Evidence: map[string]any{"demo": tt.doc}})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Verdict(); got != tt.want {
				t.Fatalf("verdict %q, want %q (violations %+v)", got, tt.want, d.Violations)
			}
			if tt.msg != "" && !strings.Contains(messages(d.Violations), tt.msg) {
				t.Errorf("violations %q do not say %q", messages(d.Violations), tt.msg)
			}
		})
	}
}

func messages(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Rule + ": " + f.Message + "\n")
	}
	return b.String()
}

func TestPartialRun(t *testing.T) {
	cfg, err := ParseConfig("t.yaml", []byte("environments:\n  prod:\n    gates:\n      model: [demo, strings]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies("testdata/policies", "../policies/lib.rego"))
	if err != nil {
		t.Fatal(err)
	}
	ev := map[string]any{"demo": map[string]any{"bad": []any{}}, "strings": map[string]any{}}
	full, err := e.Decide(context.Background(), Request{Subject: model("m"), Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.Decide(context.Background(), Request{Subject: model("m"), Gates: []string{"demo"}, Evidence: ev})
	if err != nil {
		t.Fatal(err)
	}
	if full.Partial || !part.Partial {
		t.Fatalf("partial: full run %v, --gate demo run %v", full.Partial, part.Partial)
	}
	if strings.Join(part.RequiredGates, ",") != "demo,strings" || strings.Join(part.Gates, ",") != "demo" {
		t.Errorf("required %v, ran %v", part.RequiredGates, part.Gates)
	}
	// Both runs are under the same policy and configuration: only the gate
	// set tells them apart, so the decision must carry it.
	if part.PolicyDigest != full.PolicyDigest || part.ConfigDigest != full.ConfigDigest || part.ConfigDigest == "" {
		t.Errorf("digests differ or are empty: %s %s / %s %s", part.PolicyDigest, part.ConfigDigest, full.PolicyDigest, full.ConfigDigest)
	}
}

func TestConfigDigest(t *testing.T) {
	e := newTestEngine(t)
	dev, prod := e.ConfigDigest("dev"), e.ConfigDigest("prod")
	if !strings.HasPrefix(dev, "sha256:") || dev == prod {
		t.Fatalf("dev %q, prod %q: want distinct digests (params differ)", dev, prod)
	}
	if again := newTestEngine(t).ConfigDigest("dev"); again != dev {
		t.Errorf("same configuration, digests %s and %s", dev, again)
	}
	waived := newTestEngine(t, WithWaivers([]Waiver{{Subject: "m", Gate: "demo", Reason: "r", Approver: "a", Expires: fixedNow.Add(time.Hour)}}))
	if waived.ConfigDigest("dev") == dev {
		t.Error("waivers do not change the configuration digest")
	}
}

func TestUndecidedIsNotDenied(t *testing.T) {
	down := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return nil, errors.New("connection refused") }}
	e := newTestEngine(t, WithCollectors(down))
	d, err := e.Decide(context.Background(), Request{Subject: model("m")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Verdict() != VerdictNotDecided || len(d.Undecided) != 1 || !strings.Contains(d.Undecided[0], "connection refused") {
		t.Fatalf("allowed %v verdict %q undecided %q", d.Allowed, d.Verdict(), d.Undecided)
	}
	// A denial on evidence that could be read beats "not decided".
	bad := &fakeCollector{name: "extra", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return nil, errors.New("timeout") }}
	e = newTestEngine(t, WithCollectors(bad))
	d, err = e.Decide(context.Background(), Request{Subject: model("m"), Evidence: map[string]any{"demo": map[string]any{"bad": []any{"x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict() != VerdictDenied || len(d.Undecided) != 1 {
		t.Fatalf("verdict %q undecided %q, want denied with the reason kept", d.Verdict(), d.Undecided)
	}
}

// writePolicy writes one gate into a fresh folder.
func writePolicy(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slow.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func slowEngine(t *testing.T, src string, opts ...Option) *Engine {
	t.Helper()
	cfg, err := ParseConfig("t.yaml", []byte("environments:\n  dev:\n    gates:\n      model: [slow]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(append([]Option{WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies(writePolicy(t, src))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEvaluationBounded(t *testing.T) {
	quadratic := `package gatehouse.gates.slow
deny contains "pair" if {
	some i in numbers.range(1, 30000)
	some j in numbers.range(1, 30000)
	i + j == -1
}
`
	// Many small steps (one huge builtin call could not be interrupted).
	huge := `package gatehouse.gates.slow
deny contains msg if {
	xs := [numbers.range(i, i + 2000) | some i in numbers.range(1, 1000000)]
	msg := sprintf("%d", [count(xs)])
}
`
	ev := map[string]any{"slow": map[string]any{}}
	tests := []struct {
		name string
		e    *Engine
		ctx  func() (context.Context, context.CancelFunc)
		want string
	}{
		{"deadline", slowEngine(t, quadratic, WithTimeout(300*time.Millisecond)), nil, "took longer than its timeout of 300ms"},
		{"interrupt", slowEngine(t, quadratic), func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, "deadline exceeded"},
		{"memory", slowEngine(t, huge, WithEvalMemoryLimit(64<<20)), nil, "past its bound of 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.Background(), func() {}
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			start := time.Now()
			d, err := tt.e.Decide(ctx, Request{Subject: model("m"), Evidence: ev})
			if !errors.Is(err, ErrUndecided) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decision %+v, err %v: want not decided saying %q", d, err, tt.want)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %v to stop", took)
			}
		})
	}
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := slowEngine(t, quadratic).Decide(ctx, Request{Subject: model("m"), Evidence: ev})
		if !errors.Is(err, ErrUndecided) || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("err %v, want interrupted", err)
		}
	})
}

// FuzzNamedSubject: reading the subject an evidence document names never
// panics, and the engine's reading (on the parsed value) agrees with the
// CLI's (on the JSON).
func FuzzNamedSubject(f *testing.F) {
	for _, s := range []string{
		`{"subject":{"path":"models/a","digest":"sha256:aa"}}`,
		`{"path":"m","digest":"sha256:bb"}`,
		`{"subject":{"ref":"r"},"path":"p"}`,
		`{"subject":"x"}`, `{"subject":{"path":1}}`, `{"PATH":"m","Subject":{"Path":"n"}}`, `{"path":"a","path":"b"}`, `[]`, `"s"`, `{}`, `{"subject":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fromJSON := namedSubjectOf(json.RawMessage(b))
		v, err := ast.ValueFromReader(bytes.NewReader(b))
		if err != nil || !json.Valid(b) {
			return
		}
		if fromValue := namedSubjectOfValue(v); fromValue != fromJSON {
			t.Fatalf("%s: value says %+v, JSON says %+v", b, fromValue, fromJSON)
		}
	})
}

// TestWaiversDoNotDecide: a gate-wide waiver does not turn "could not
// decide" into a pass; only a waiver naming the rule does, and a collector
// that failed is never waived.
func TestWaiversDoNotDecide(t *testing.T) {
	waiver := func(rule string) Waiver {
		return Waiver{Subject: "m", Gate: "demo", Rule: rule, Reason: "r", Approver: "a", Expires: fixedNow.Add(time.Hour)}
	}
	errored := map[string]any{"demo": map[string]any{"error": "scanner crashed"}}
	for _, tt := range []struct {
		name    string
		waiver  Waiver
		ev      map[string]any
		collect Collector
		want    string
	}{
		{"gate-wide waiver, errored evidence", waiver(""), errored, nil, VerdictNotDecided},
		{"'*' waiver, missing evidence", waiver("*"), nil, nil, VerdictNotDecided},
		{"waiver naming evidence_error", waiver("evidence_error"), errored, nil, VerdictAllowed},
		{"gate-wide waiver, collector down", waiver(""), nil, &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return nil, errors.New("down") }}, VerdictNotDecided},
		{"waiver naming evidence_error, collector down", waiver("evidence_error"), nil, &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return nil, errors.New("down") }}, VerdictNotDecided},
		{"gate-wide waiver, a finding", waiver(""), map[string]any{"demo": map[string]any{"bad": []any{"x"}}}, nil, VerdictAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := []Option{WithWaivers([]Waiver{tt.waiver})}
			if tt.collect != nil {
				opts = append(opts, WithCollectors(tt.collect))
			}
			d, err := newTestEngine(t, opts...).Decide(context.Background(), Request{Subject: model("m"), Evidence: tt.ev})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Verdict(); got != tt.want {
				t.Fatalf("verdict %q, want %q (violations %+v, waived %+v)", got, tt.want, d.Violations, d.Waived)
			}
		})
	}
}

func TestBindEvidence(t *testing.T) {
	cfg, err := ParseConfig("t.yaml", []byte("environments:\n  dev:\n    gates:\n      model: [demo]\n      image: [strings]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies("testdata/policies", "../policies/lib.rego"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := model("models/a"), model("models/b")
	img := Subject{Kind: KindImage, Ref: "r@sha256:aa", Digest: "sha256:aa"}
	doc := func(s string) json.RawMessage { return json.RawMessage(s) }
	anon := SuppliedEvidence{Source: "anon", Name: "demo", Doc: doc(`{"bad":[]}`)}
	aboutA := SuppliedEvidence{Source: "about a", Name: "demo", Doc: doc(`{"bad":[],"subject":{"path":"./models/a"}}`)}
	aboutC := SuppliedEvidence{Source: "about c", Name: "demo", Doc: doc(`{"bad":[],"path":"models/c"}`)}
	boundB := anon
	boundB.Subject = &Subject{Kind: KindModel, Ref: "models/b/"}
	tests := []struct {
		name     string
		subjects []Subject
		docs     []SuppliedEvidence
		want     []bool // per subject: got the document
		err      string
	}{
		{"anonymous, one reader", []Subject{a, img}, []SuppliedEvidence{anon}, []bool{true, false}, ""},
		{"anonymous, two readers", []Subject{a, b}, []SuppliedEvidence{anon}, nil, "names no subject and 2 subjects read demo evidence"},
		{"names one of two", []Subject{a, b}, []SuppliedEvidence{aboutA}, []bool{true, false}, ""},
		{"names neither: both get it and deny", []Subject{a, b}, []SuppliedEvidence{aboutC}, []bool{true, true}, ""},
		{"bound explicitly", []Subject{a, b}, []SuppliedEvidence{boundB}, []bool{false, true}, ""},
		{"bound to a subject not checked", []Subject{a}, []SuppliedEvidence{boundB}, nil, "is not one of the subjects checked"},
		{"read by no gate", []Subject{img}, []SuppliedEvidence{anon}, nil, "no gate run for these subjects reads demo"},
		{"twice for one subject", []Subject{a}, []SuppliedEvidence{anon, aboutA}, nil, "already has demo evidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := make([]Request, len(tt.subjects))
			for i, s := range tt.subjects {
				reqs[i] = Request{Subject: s}
			}
			err := e.BindEvidence(reqs, tt.docs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				if _, got := reqs[i].Evidence["demo"]; got != want {
					t.Errorf("%s got the document: %v, want %v", tt.subjects[i], got, want)
				}
			}
		})
	}
}

// TestAdmissionPolicyOutsideGatesDigest: the admission webhook's Rego
// (package gatehouse.admission) is not a gate and does not change the
// policy digest every VSA states.
func TestAdmissionPolicyOutsideGatesDigest(t *testing.T) {
	dir := t.TempDir()
	src := "package gatehouse.admission\n\ndeny contains \"x\" if input.request.kind == \"Pod\"\n"
	if err := os.WriteFile(filepath.Join(dir, "admission.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	with := newTestEngine(t, WithPolicies(dir))
	without := newTestEngine(t)
	if with.PolicyDigest() != without.PolicyDigest() {
		t.Errorf("the admission policy changed the gates digest: %s vs %s", with.PolicyDigest(), without.PolicyDigest())
	}
	if slices.Contains(with.Gates(), "admission") {
		t.Errorf("admission listed as a gate: %v", with.Gates())
	}
}

// TestNothingRequiredIsPartial: a --gate run for a kind the environment
// requires no gates for is no verdict for the environment.
func TestNothingRequiredIsPartial(t *testing.T) {
	e := newTestEngine(t) // dev requires nothing for score subjects
	d, err := e.Decide(context.Background(), Request{Subject: Subject{Kind: KindScore, Ref: "s.yaml"}, Gates: []string{"demo"}, Evidence: map[string]any{"demo": map[string]any{"bad": []any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Partial || len(d.RequiredGates) != 0 {
		t.Fatalf("partial %v, required %v: want partial with nothing required", d.Partial, d.RequiredGates)
	}
}
