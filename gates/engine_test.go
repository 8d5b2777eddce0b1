package gates

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testConfig = `
default_environment: dev
params:
  demo: {limit: 5}
environments:
  dev:
    gates:
      model: [demo]
      dataset: [strings]
  prod:
    gates:
      model: [demo]
    params:
      demo: {limit: 9}
`

var fixedNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func newTestEngine(t testing.TB, opts ...Option) *Engine {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	base := []Option{WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies("testdata/policies", "../policies/lib.rego"), WithClock(func() time.Time { return fixedNow })}
	e, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type fakeCollector struct {
	name  string
	kinds []Kind
	fn    func(ctx context.Context) (any, error)
	calls int
}

func (f *fakeCollector) Name() string { return f.name }
func (f *fakeCollector) Applies(s Subject) bool {
	for _, k := range f.kinds {
		if k == s.Kind {
			return true
		}
	}
	return false
}
func (f *fakeCollector) Collect(ctx context.Context, s Subject) (any, error) {
	f.calls++
	return f.fn(ctx)
}

func model(ref string) Subject { return Subject{Kind: KindModel, Ref: ref, Name: ref} }

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		env        string
		evidence   map[string]any
		wantAllow  bool
		wantRules  []string
		wantWarn   []string
		wantMsgSub string
	}{
		{"clean", "", map[string]any{"demo": map[string]any{"bad": []any{}}}, true, nil, nil, ""},
		{"bad item names param from shared config", "", map[string]any{"demo": map[string]any{"bad": []any{"x"}}}, false, []string{"bad_item"}, nil, "limit 5"},
		{"env params override shared ones", "prod", map[string]any{"demo": map[string]any{"bad": []any{"x"}}}, false, []string{"bad_item"}, nil, "limit 9"},
		{"missing evidence fails closed", "", nil, false, []string{"evidence_missing"}, nil, "no demo evidence"},
		{"errored evidence fails closed", "", map[string]any{"demo": map[string]any{"error": "scanner crashed"}}, false, []string{"evidence_error"}, nil, "scanner crashed"},
		{"warnings do not deny", "", map[string]any{"demo": map[string]any{"note": "look"}}, true, nil, []string{"note"}, ""},
	}
	e := newTestEngine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), Request{Subject: model("m"), Environment: tt.env, Evidence: tt.evidence})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.wantAllow {
				t.Errorf("allowed = %v, want %v (violations %+v)", d.Allowed, tt.wantAllow, d.Violations)
			}
			if diff := cmp.Diff(tt.wantRules, rules(d.Violations)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarn, rules(d.Warnings)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tt.wantMsgSub != "" && (len(d.Violations) == 0 || !strings.Contains(d.Violations[0].Message, tt.wantMsgSub)) {
				t.Errorf("message %+v does not contain %q", d.Violations, tt.wantMsgSub)
			}
			if d.PolicyDigest != e.PolicyDigest() || !strings.HasPrefix(d.PolicyDigest, "sha256:") {
				t.Errorf("policy digest %q", d.PolicyDigest)
			}
			if !d.Time.Equal(fixedNow) {
				t.Errorf("time %v", d.Time)
			}
			for k := range tt.evidence {
				if !strings.HasPrefix(d.EvidenceDigests[k], "sha256:") {
					t.Errorf("no digest for evidence %s: %v", k, d.EvidenceDigests)
				}
			}
		})
	}
}

func rules(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func TestDecideFindingFields(t *testing.T) {
	e := newTestEngine(t)
	d, err := e.Decide(context.Background(), Request{Subject: model("m"), Evidence: map[string]any{"demo": map[string]any{"bad": []any{"x"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{Gate: "demo", Rule: "bad_item", Severity: "high", Message: "item x is bad (limit 5)", Remediation: "remove it", Location: "data/items.txt:3"}}
	if diff := cmp.Diff(want, d.Violations); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlainStringPolicies(t *testing.T) {
	e := newTestEngine(t)
	d, err := e.Decide(context.Background(), Request{Subject: Subject{Kind: KindDataset, Ref: "d"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{Gate: "strings", Rule: "strings", Severity: "high", Message: "always denied"}}
	if diff := cmp.Diff(want, d.Violations); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestUndecided(t *testing.T) {
	e := newTestEngine(t)
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"unknown environment", Request{Subject: model("m"), Environment: "qa"}, `environment "qa" is not in the configuration`},
		{"no gates for kind", Request{Subject: Subject{Kind: KindScore, Ref: "s.yaml"}}, "requires no gates for score subjects"},
		{"gate without policy", Request{Subject: model("m"), Gates: []string{"nope"}}, `gate "nope" has no policy`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Decide(context.Background(), tt.req)
			if err == nil || !errors.Is(err, ErrUndecided) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrUndecided containing %q", err, tt.want)
			}
		})
	}
}

func TestCollectors(t *testing.T) {
	good := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) {
		return struct {
			Bad []string `json:"bad"`
		}{Bad: []string{"y"}}, nil
	}}
	failing := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return nil, errors.New("registry down") }}
	slow := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(ctx context.Context) (any, error) {
		time.Sleep(2 * time.Second) // ignores its context on purpose
		return map[string]any{}, nil
	}}
	panicky := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { panic("boom") }}
	notObject := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return []int{1}, nil }}
	tests := []struct {
		name string
		c    *fakeCollector
		want string // substring of the violation message
	}{
		{"collected evidence is judged", good, "item y is bad"},
		{"error recorded as evidence", failing, "registry down"},
		{"panic recorded", panicky, "panicked: boom"},
		{"non-object evidence recorded", notObject, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, WithCollectors(tt.c), WithTimeout(200*time.Millisecond))
			start := time.Now()
			d, err := e.Decide(context.Background(), Request{Subject: model("m")})
			if err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > 1500*time.Millisecond {
				t.Errorf("decision waited %v for a collector past its deadline", time.Since(start))
			}
			if d.Allowed || len(d.Violations) == 0 || !strings.Contains(d.Violations[0].Message, tt.want) {
				t.Fatalf("violations %+v, want one containing %q", d.Violations, tt.want)
			}
		})
	}
	t.Run("timeout: not decided, not waited for", func(t *testing.T) {
		e := newTestEngine(t, WithCollectors(slow), WithTimeout(200*time.Millisecond))
		start := time.Now()
		_, err := e.Decide(context.Background(), Request{Subject: model("m")})
		if !errors.Is(err, ErrUndecided) || !strings.Contains(err.Error(), "took longer than its timeout of 200ms") || !strings.Contains(err.Error(), "demo evidence") {
			t.Fatalf("err = %v, want not decided naming the timeout and the collector", err)
		}
		if time.Since(start) > 1500*time.Millisecond {
			t.Errorf("decision waited %v for a collector past its deadline", time.Since(start))
		}
	})
	t.Run("supplied evidence skips the collector", func(t *testing.T) {
		c := &fakeCollector{name: "demo", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return map[string]any{}, nil }}
		e := newTestEngine(t, WithCollectors(c))
		if _, err := e.Decide(context.Background(), Request{Subject: model("m"), Evidence: map[string]any{"demo": map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		if c.calls != 0 {
			t.Errorf("collector ran %d times despite supplied evidence", c.calls)
		}
	})
	t.Run("collector for an unused evidence key is not run", func(t *testing.T) {
		c := &fakeCollector{name: "unused", kinds: []Kind{KindModel}, fn: func(context.Context) (any, error) { return map[string]any{}, nil }}
		e := newTestEngine(t, WithCollectors(c))
		if _, err := e.Decide(context.Background(), Request{Subject: model("m"), Evidence: map[string]any{"demo": map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		if c.calls != 0 {
			t.Errorf("collector of evidence no gate reads ran %d times", c.calls)
		}
	})
}

func TestWaivers(t *testing.T) {
	ws, err := ParseWaivers("w.yaml", []byte(`
waivers:
  - subject: "models/fraud-*"
    gate: demo
    rule: bad_item
    reason: false positive on a fixture
    approver: alice@example.com
    ticket: https://jira.example.com/SEC-1
    expires: 2027-01-01T00:00:00Z
  - subject: "sha256:abcd"
    gate: demo
    reason: old exception
    approver: bob@example.com
    expires: 2026-01-01T00:00:00Z
`))
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, WithWaivers(ws))
	bad := map[string]any{"demo": map[string]any{"bad": []any{"x"}}}
	tests := []struct {
		name        string
		subject     Subject
		wantAllowed bool
		wantWaived  int
		wantExpired int
	}{
		{"glob match waives", model("models/fraud-v3"), true, 1, 0},
		{"no match keeps the violation", model("models/other"), false, 0, 0},
		{"expired waiver does not apply and is listed", Subject{Kind: KindModel, Ref: "x", Digest: "sha256:abcd"}, false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), Request{Subject: tt.subject, Evidence: bad})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.wantAllowed || len(d.Waived) != tt.wantWaived || len(d.ExpiredWaivers) != tt.wantExpired {
				t.Fatalf("allowed=%v waived=%d expired=%d, want %v %d %d", d.Allowed, len(d.Waived), len(d.ExpiredWaivers), tt.wantAllowed, tt.wantWaived, tt.wantExpired)
			}
		})
	}
}

func TestParseWaiversErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"missing approver", "waivers:\n  - subject: a\n    gate: g\n    reason: r\n    expires: 2027-01-01\n", "line 2: waiver 1 has no approver"},
		{"unknown field", "waivers:\n  - subject: a\n    gate: g\n    reason: r\n    approver: x\n    expires: 2027-01-01\n    expiry: 2027-01-01\n", "field expiry not found"},
		{"bad glob", "waivers:\n  - subject: \"[\"\n    gate: g\n    reason: r\n    approver: x\n    expires: 2027-01-01\n", "not a valid glob"},
		{"bad date", "waivers:\n  - subject: a\n    gate: g\n    reason: r\n    approver: x\n    expires: soon\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWaivers("w.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown kind names its line", "environments:\n  dev:\n    gates:\n      imag: [sonarqube]\n", "line 4: gates: unknown subject kind \"imag\""},
		{"unknown field names its line", "environments:\n  dev:\n    gatez: {}\n", "line 3: field gatez not found"},
		{"bad gate name", "environments:\n  dev:\n    gates:\n      image: [\"a.b\"]\n", "line 4: gates.image: \"a.b\" is not a gate name"},
		{"no environments", "params: {}\n", "no environments"},
		{"bad default", "default_environment: qa\nenvironments:\n  dev: {gates: {}}\n", "default_environment \"qa\""},
		{"not yaml", "environments: [\n", "test.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("test.yaml", []byte(tt.src), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPolicySources(t *testing.T) {
	cfg, err := ParseConfig("t", []byte(testConfig), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no policies at all", func(t *testing.T) {
		_, err := New(WithConfig(cfg), WithoutDefaultPolicies())
		if !errors.Is(err, ErrUndecided) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("policy that does not compile names the file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/bad.rego", []byte("package gatehouse.gates.bad\ndeny contains x if { x := y }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := New(WithConfig(cfg), WithoutDefaultPolicies(), WithPolicies(dir))
		if err == nil || !strings.Contains(err.Error(), "bad.rego") {
			t.Fatalf("err = %v, want the file named", err)
		}
	})
	t.Run("digest changes with content", func(t *testing.T) {
		a := newTestEngine(t).PolicyDigest()
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/x.rego", []byte("package gatehouse.gates.x\ndeny contains 1 if false\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		b := newTestEngine(t, WithPolicies(dir)).PolicyDigest()
		if a == b {
			t.Fatal("policy digest did not change when a policy was added")
		}
	})
}

func TestEncodedEvidence(t *testing.T) {
	e := newTestEngine(t)
	tests := []struct {
		name string
		raw  string
		want string // rule of the first violation
	}{
		{"judged like decoded evidence", ` {"bad": ["x"]} `, "bad_item"},
		{"invalid JSON fails closed", `{"bad": [`, "evidence_error"},
		{"not an object fails closed", `["x"]`, "evidence_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), Request{Subject: model("m"), Evidence: map[string]any{"demo": json.RawMessage(tt.raw)}})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed || d.Violations[0].Rule != tt.want {
				t.Fatalf("violations %+v, want %s", d.Violations, tt.want)
			}
		})
	}
}
