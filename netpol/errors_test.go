package netpol

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/policy/api"
	"github.com/score-spec/score-go/types"

	"github.com/gatehouse-dev/gatehouse/scanners/score"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigErrors: typos, bad values and hostile files are errors that
// name the file and the line at fault.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"unknown top-level key", "workloadLabel: app\ntypez: {}\n", []string{"cfg.yaml", "line 2", "field typez not found"}},
		{"unknown type key", "types:\n  nats:\n    peer: cluster\n    port: [{port: 4222}]\n", []string{"line 4", "field port not found"}},
		{"unknown port key", "types:\n  nats:\n    peer: cluster\n    ports: [{port: 4222, proto: TCP}]\n", []string{"line 4", "field proto not found"}},
		{"wrong type", "types:\n  nats:\n    peer: cluster\n    ports: [{port: high}]\n", []string{"line 4", "high"}},
		{"port zero", "types:\n  nats:\n    peer: cluster\n    ports:\n      - {port: 0}\n", []string{"cfg.yaml:5", "types.nats.ports[0].port 0: want 1-65535"}},
		{"port too high", "types:\n  nats:\n    peer: cluster\n    ports:\n      - {port: 70000}\n", []string{"cfg.yaml:5", "want 1-65535"}},
		{"end below start", "types:\n  nats:\n    peer: cluster\n    ports:\n      - {port: 6222, endPort: 6000}\n", []string{"cfg.yaml:5", "endPort 6000"}},
		{"end too high", "types:\n  nats:\n    peer: cluster\n    ports:\n      - {port: 6222, endPort: 65536}\n", []string{"cfg.yaml:5", "endPort 65536"}},
		{"bad protocol", "types:\n  nats:\n    peer: cluster\n    ports:\n      - {port: 4222, protocol: HTTP}\n", []string{"cfg.yaml:5", `protocol "HTTP"`}},
		{"unknown peer", "types:\n  nats:\n    peer: world\n    ports: [{port: 4222}]\n", []string{"cfg.yaml:3", `peer "world"`, "namespace, cluster"}},
		{"no peer", "types:\n  nats:\n    ports: [{port: 4222}]\n", []string{`peer ""`}},
		{"ports missing", "types:\n  nats:\n    peer: namespace\n", []string{"cfg.yaml:3", "needs ports"}},
		{"ports on workload", "types:\n  svc:\n    peer: workload\n    ports: [{port: 80}]\n", []string{"cfg.yaml:4", "takes no ports"}},
		{"endpoints without labels", "types:\n  db:\n    peer: endpoints\n    ports: [{port: 5432}]\n", []string{"needs matchLabels"}},
		{"bad label key", "types:\n  db:\n    peer: endpoints\n    matchLabels: {\"bad key\": x}\n    ports: [{port: 5432}]\n", []string{"cfg.yaml:4", `label key "bad key"`}},
		{"fqdn without keys", "types:\n  vault:\n    peer: fqdn\n    ports: [{port: 8200}]\n", []string{"needs hostKeys"}},
		{"hostKeys on namespace", "types:\n  db:\n    peer: namespace\n    hostKeys: [host]\n    ports: [{port: 1}]\n", []string{"cfg.yaml:4", "only for peer fqdn"}},
		{"bad workload label", "workloadLabel: \"not a label\"\n", []string{"cfg.yaml:1", "workloadLabel"}},
		{"matchLabels sets workload label", "matchLabels: {app.kubernetes.io/name: x}\n", []string{"cfg.yaml:1", "must not set workloadLabel"}},
		{"empty dns", "dns: {matchPattern: \"*\"}\n", []string{"dns.matchLabels"}},
		{"bad dns pattern", "dns:\n  matchLabels: {k8s:k8s-app: kube-dns}\n  matchPattern: \"a b\"\n", []string{"cfg.yaml:3", "matchPattern"}},
		{"route type unknown", "ingress:\n  routeTypes: [route, ingress-route]\n", []string{"cfg.yaml:2", `"ingress-route" is not a type`}},
		{"bad gateway namespace", "ingress:\n  routeTypes: [route]\n  gatewayNamespaces: [\"Gateway System\"]\n", []string{"cfg.yaml:3", "not a namespace"}},
		{"empty file", "", []string{"cfg.yaml", "empty"}},
		{"two documents", "workloadLabel: a\n---\nworkloadLabel: b\n", []string{"more than 1"}},
		{"not a mapping", "- a\n- b\n", []string{"not a YAML mapping"}},
		{"alias bomb", aliasBomb(), []string{"nodes"}},
		{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), []string{"deeper"}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, "cfg.yaml", tc.body)
			_, err := LoadConfig(p)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for i := range 8 {
		name := string(rune('b' + i))
		b.WriteString(name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n")
		prev = name
	}
	return b.String()
}

// TestConfigMerge: a file's types add to and replace the built-in ones;
// the rest of the built-ins stay.
func TestConfigMerge(t *testing.T) {
	c, err := ParseConfig("c.yaml", []byte("types:\n  redis: {peer: cluster, ports: [{port: 6380}]}\n  nats: {peer: cluster, ports: [{port: 4222}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Types["redis"]; r.Peer != PeerCluster || r.Ports[0].Port != 6380 {
		t.Errorf("redis %+v", r)
	}
	if _, ok := c.Types["nats"]; !ok {
		t.Error("nats not added")
	}
	if r := c.Types["postgres"]; r.Peer != PeerNamespace || r.Ports[0].Port != 5432 {
		t.Errorf("postgres lost its default: %+v", r)
	}
	if c.WorkloadLabel != "app.kubernetes.io/name" || c.DNS.MatchPattern != "*" {
		t.Errorf("defaults lost: %+v", c)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default() does not validate: %v", err)
	}
}

// TestConfigFIFOAndSize: a FIFO is refused without blocking, an
// oversized file is refused.
func TestConfigFIFOAndSize(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "cfg.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadConfig(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("FIFO accepted")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LoadConfig blocked on a FIFO")
	}
	big := writeFile(t, dir, "big.yaml", "# "+strings.Repeat("x", MaxConfigSize)+"\n")
	if _, err := LoadConfig(big); err == nil || !strings.Contains(err.Error(), "big.yaml") {
		t.Errorf("oversized config: %v", err)
	}
	if _, err := LoadConfig("/dev/zero"); err == nil {
		t.Error("/dev/zero accepted")
	}
}

func spec(t *testing.T, dir, name, body string) string {
	t.Helper()
	return writeFile(t, dir, name, "apiVersion: score.dev/v1b1\n"+body)
}

// TestGenerateErrors: what cannot be turned into a policy stops the run
// with an error naming the spec, resource and type; nothing is returned.
func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	ok := spec(t, dir, "ok.yaml", "metadata: {name: ok}\ncontainers: {main: {image: x}}\n")
	tests := []struct {
		name  string
		specs []string
		o     Options
		want  []string
	}{
		{"unknown type", []string{spec(t, dir, "u.yaml", "metadata: {name: uu}\ncontainers: {main: {image: x}}\nresources:\n  cache: {type: memcached}\n")},
			Options{}, []string{"u.yaml", "workload uu", "resources.cache", `type "memcached"`, "--config"}},
		{"duplicate workload", []string{ok, spec(t, dir, "ok2.yaml", "metadata: {name: ok}\ncontainers: {main: {image: x}}\n")},
			Options{}, []string{"ok2.yaml", "workload ok is also defined in", "ok.yaml"}},
		{"service-port without workload", []string{spec(t, dir, "sp.yaml", "metadata: {name: sp}\ncontainers: {main: {image: x}}\nresources:\n  api: {type: service-port, params: {port: web}}\n")},
			Options{}, []string{"sp.yaml", "resources.api", "params.workload"}},
		{"service-port without port", []string{spec(t, dir, "sp2.yaml", "metadata: {name: sp2}\ncontainers: {main: {image: x}}\nresources:\n  api: {type: service-port, params: {workload: ok}}\n"), ok},
			Options{}, []string{"sp2.yaml", "params.port"}},
		{"service-port to a port the peer lacks", []string{spec(t, dir, "sp3.yaml", "metadata: {name: sp3}\ncontainers: {main: {image: x}}\nresources:\n  api: {type: service-port, params: {workload: ok, port: grpc}}\n"), ok},
			Options{}, []string{"sp3.yaml", "workload ok", "ok.yaml", `no service port "grpc"`}},
		{"route to an unknown port", []string{spec(t, dir, "r.yaml", "metadata: {name: rr}\nservice: {ports: {web: {port: 80}}}\ncontainers: {main: {image: x}}\nresources:\n  route: {type: route, params: {host: a.example.com, path: /, port: 8080}}\n")},
			Options{}, []string{"r.yaml", "resources.route", "params.port 8080"}},
		{"bad namespace", []string{ok}, Options{Namespace: "Bad_NS"}, []string{`namespace "Bad_NS"`}},
		{"bad config in code", []string{ok}, Options{Config: &Config{WorkloadLabel: "x"}}, []string{"dns.matchLabels"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := GenerateFiles(context.Background(), tc.specs, tc.o)
			if err == nil {
				t.Fatalf("accepted: %+v", res)
			}
			if res != nil {
				t.Error("a result came back with the error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestSpecLoadFailureWritesNothing: one bad spec among good ones fails
// the run with score-go's error and the file name.
func TestSpecLoadFailureWritesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := spec(t, dir, "bad.yaml", "metadata: {name: bad}\ncontainers: {main: {image: x, variables: {A: \"${resources.nope.host}\"}}}\n")
	res, err := GenerateFiles(context.Background(), []string{"testdata/web.score.yaml", bad}, Options{})
	if err == nil || res != nil {
		t.Fatalf("accepted: %v", err)
	}
	for _, w := range []string{"bad.yaml", `no resource with name "nope"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if _, err := GenerateFiles(context.Background(), nil, Options{}); err == nil {
		t.Error("no specs accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := GenerateFiles(ctx, []string{"testdata/web.score.yaml"}, Options{}); err == nil {
		t.Error("a cancelled run succeeded")
	}
}

// TestLiteralHost: only a literal DNS name becomes toFQDNs; placeholders,
// IPs and junk leave the resource without egress, with the reason.
func TestLiteralHost(t *testing.T) {
	tests := []struct {
		params   map[string]any
		metadata map[string]any
		host     string
		why      string
	}{
		{map[string]any{"endpoint": "https://s3.eu-west-1.amazonaws.com/bucket"}, nil, "s3.eu-west-1.amazonaws.com", ""},
		{map[string]any{"host": "Minio.Storage.example.com:9000"}, nil, "minio.storage.example.com", ""},
		{map[string]any{"host": "bucket.example.com."}, nil, "bucket.example.com", ""},
		{nil, map[string]any{"host": "meta.example.com"}, "meta.example.com", ""},
		{map[string]any{"host": "p.example.com"}, map[string]any{"host": "m.example.com"}, "p.example.com", ""},
		{map[string]any{"host": "${resources.dns.host}"}, nil, "", "placeholder"},
		{map[string]any{"host": "10.0.0.7"}, nil, "", "IP address"},
		{map[string]any{"endpoint": "https://[::1]:9000"}, nil, "", "IP address"},
		{map[string]any{"host": "minio"}, nil, "", "not a DNS host name"},
		{map[string]any{"host": "a\nb.example.com"}, nil, "", "not a DNS host name"},
		{map[string]any{"host": "*.example.com"}, nil, "", "not a DNS host name"},
		{map[string]any{"host": 42}, nil, "", "no literal host"},
		{nil, nil, "", "no literal host"},
	}
	for _, tc := range tests {
		var r = struct{ p, m map[string]any }{tc.params, tc.metadata}
		res := resourceWith(r.p, r.m)
		host, why := literalHost(res, []string{"host", "endpoint"})
		if host != tc.host || (tc.why != "" && !strings.Contains(why, tc.why)) {
			t.Errorf("%v %v: host %q why %q, want %q / %q", tc.params, tc.metadata, host, why, tc.host, tc.why)
		}
	}
}

// TestHostileNamesStayInComments: names with newlines (score-go's schema
// refuses them in resource names, but Generate takes specs from any
// caller, and file names are free) cannot start a YAML line of their own.
func TestHostileNamesStayInComments(t *testing.T) {
	s := &score.Spec{Path: "dir\nkind: Secret\n/h.yaml", Workload: types.Workload{
		Metadata:  types.WorkloadMetadata{"name": "h"},
		Resources: types.WorkloadResources{"db\nkind: Secret\u2028x": {Type: "s3", Params: map[string]any{"host": "a\nkind: Secret"}}},
	}}
	res, err := Generate([]*score.Spec{s}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.Write(&b); err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(b.String()) {
		if strings.HasPrefix(l, "kind: Secret") || strings.ContainsRune(l, '\u2028') {
			t.Fatalf("an outside string started a line:\n%s", b.String())
		}
	}
	if len(res.Warnings) != 1 {
		t.Errorf("warnings %v", res.Warnings)
	}
}

func resourceWith(params, metadata map[string]any) types.Resource {
	return types.Resource{Type: "s3", Params: params, Metadata: metadata}
}

// TestValidateRefuses: Validate is Cilium's judgement, not a formality:
// policies Cilium refuses are refused.
func TestValidateRefuses(t *testing.T) {
	base := func() *ciliumv2.CiliumNetworkPolicy {
		res, err := GenerateFiles(context.Background(), []string{"testdata/web.score.yaml"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Policies[0].CNP
	}
	tests := []struct {
		name   string
		break_ func(*ciliumv2.CiliumNetworkPolicy)
		want   string
	}{
		{"no rules", func(c *ciliumv2.CiliumNetworkPolicy) { c.Spec.Ingress, c.Spec.Egress = nil, nil }, "at least one"},
		{"port out of range", func(c *ciliumv2.CiliumNetworkPolicy) { c.Spec.Egress[1].ToPorts[0].Ports[0].Port = "70000" }, "port"},
		{"unknown entity", func(c *ciliumv2.CiliumNetworkPolicy) { c.Spec.Ingress[0].FromEntities = api.EntitySlice{"internet"} }, "unsupported entity"},
		{"DNS rules on ingress", func(c *ciliumv2.CiliumNetworkPolicy) {
			c.Spec.Ingress[0].ToPorts[0].Rules = &api.L7Rules{DNS: []api.PortRuleDNS{{MatchPattern: "*"}}}
		}, "DNS is not supported on ingress"},
		{"bad FQDN", func(c *ciliumv2.CiliumNetworkPolicy) {
			c.Spec.Egress = append(c.Spec.Egress, api.EgressRule{ToFQDNs: api.FQDNSelectorSlice{{MatchName: "bad name!"}}})
		}, "Invalid characters in MatchName"},
		{"no name", func(c *ciliumv2.CiliumNetworkPolicy) { c.Name = "" }, "name"},
		{"no spec", func(c *ciliumv2.CiliumNetworkPolicy) { c.Spec = nil }, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if err := Validate(c); err != nil {
				t.Fatalf("the unbroken policy: %v", err)
			}
			tc.break_(c)
			err := Validate(c)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Errorf("Validate: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
