package netpol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/internal/yamlbound"
)

// Limits on a configuration file. Real ones are a few dozen lines.
const (
	MaxConfigSize  = 256 << 10
	maxConfigDepth = 16
	maxConfigNodes = 20_000
	maxTypePorts   = 40 // Cilium's own limit on ports in one toPorts entry
)

// Peer says where egress for a resource type may go.
type Peer string

const (
	// PeerNone grants no egress (volume, dns, route: nothing to reach).
	PeerNone Peer = "none"
	// PeerNamespace allows the ports to any endpoint of the policy's
	// namespace (where score-k8s provisions databases and queues).
	PeerNamespace Peer = "namespace"
	// PeerCluster allows the ports to any endpoint in the cluster
	// (toEntities: cluster), for shared services in other namespaces.
	PeerCluster Peer = "cluster"
	// PeerEndpoints allows the ports to the endpoints that MatchLabels
	// selects (add k8s:io.kubernetes.pod.namespace for another namespace).
	PeerEndpoints Peer = "endpoints"
	// PeerFQDN allows the ports to the literal host named in the
	// resource's params or metadata (toFQDNs); no host, no egress.
	PeerFQDN Peer = "fqdn"
	// PeerWorkload allows egress to another Score workload named by
	// params.workload, on its service port named by params.port.
	PeerWorkload Peer = "workload"
)

var peers = []Peer{PeerNone, PeerNamespace, PeerCluster, PeerEndpoints, PeerFQDN, PeerWorkload}

// Port is one port or port range of a resource type.
type Port struct {
	Port     int    `yaml:"port"`
	EndPort  int    `yaml:"endPort,omitempty"`
	Protocol string `yaml:"protocol,omitempty"` // TCP (default), UDP, SCTP or ANY
}

// TypeRule maps a Score resource type to the egress it needs.
type TypeRule struct {
	Peer        Peer              `yaml:"peer"`
	Ports       []Port            `yaml:"ports,omitempty"`
	MatchLabels map[string]string `yaml:"matchLabels,omitempty"` // peer: endpoints
	HostKeys    []string          `yaml:"hostKeys,omitempty"`    // peer: fqdn; params/metadata keys holding the host
}

// Config is what the generator needs to know about the cluster: how
// workload pods are labelled, where DNS and the gateway run, and the
// resource type → peer/port mapping.
type Config struct {
	// WorkloadLabel is the pod label whose value is the workload name
	// (score-k8s sets app.kubernetes.io/name).
	WorkloadLabel string `yaml:"workloadLabel"`
	// MatchLabels are constant labels every workload pod carries, added
	// to each workload selector (e.g. app.kubernetes.io/managed-by: score-k8s).
	MatchLabels map[string]string `yaml:"matchLabels,omitempty"`
	// DNS selects the cluster DNS pods (namespace label included).
	DNS DNSConfig `yaml:"dns"`
	// Ingress says where traffic for a routed workload comes from.
	Ingress IngressConfig `yaml:"ingress"`
	// Types maps Score resource types to peers and ports.
	Types map[string]TypeRule `yaml:"types"`
}

// DNSConfig selects the DNS server pods every workload may query.
type DNSConfig struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
	// MatchPattern limits the names looked up ("*" for any).
	MatchPattern string `yaml:"matchPattern"`
}

// IngressConfig says who reaches a workload that has a route.
type IngressConfig struct {
	// RouteTypes are the resource types that expose a workload through
	// the ingress/gateway.
	RouteTypes []string `yaml:"routeTypes"`
	// GatewayNamespaces are namespaces whose pods (a gateway
	// implementation's proxies) may reach routed workloads, besides
	// Cilium's own ingress entity.
	GatewayNamespaces []string `yaml:"gatewayNamespaces,omitempty"`
}

// fileConfig is the file form: every field optional, merged over Default.
type fileConfig struct {
	WorkloadLabel *string             `yaml:"workloadLabel"`
	MatchLabels   map[string]string   `yaml:"matchLabels"`
	DNS           *DNSConfig          `yaml:"dns"`
	Ingress       *IngressConfig      `yaml:"ingress"`
	Types         map[string]TypeRule `yaml:"types"`
}

const namespaceLabel = "k8s:io.kubernetes.pod.namespace"

// Default is the built-in configuration: score-k8s's pod labels, kube-dns
// in kube-system, Cilium's ingress entity, and the resource types of
// score-k8s's default provisioners.
func Default() *Config {
	tcp := func(p int) []Port { return []Port{{Port: p, Protocol: "TCP"}} }
	return &Config{
		WorkloadLabel: "app.kubernetes.io/name",
		DNS: DNSConfig{
			MatchLabels:  map[string]string{namespaceLabel: "kube-system", "k8s:k8s-app": "kube-dns"},
			MatchPattern: "*",
		},
		Ingress: IngressConfig{RouteTypes: []string{"route"}},
		Types: map[string]TypeRule{
			"postgres":          {Peer: PeerNamespace, Ports: tcp(5432)},
			"postgres-instance": {Peer: PeerNamespace, Ports: tcp(5432)},
			"mysql":             {Peer: PeerNamespace, Ports: tcp(3306)},
			"mssql":             {Peer: PeerNamespace, Ports: tcp(1433)},
			"redis":             {Peer: PeerNamespace, Ports: tcp(6379)},
			"amqp":              {Peer: PeerNamespace, Ports: tcp(5672)},
			"mongodb":           {Peer: PeerNamespace, Ports: tcp(27017)},
			"kafka-topic":       {Peer: PeerNamespace, Ports: tcp(9092)},
			"s3":                {Peer: PeerFQDN, Ports: tcp(443), HostKeys: []string{"host", "endpoint"}},
			"service-port":      {Peer: PeerWorkload},
			"route":             {Peer: PeerNone},
			"dns":               {Peer: PeerNone},
			"volume":            {Peer: PeerNone},
		},
	}
}

// LoadConfig reads a configuration file (at most MaxConfigSize, no FIFOs
// or devices) and merges it over Default.
func LoadConfig(path string) (*Config, error) {
	data, err := readlimit.File(path, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("netpol config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses a configuration held in data (name is the file, for
// errors) and merges it over Default: scalar fields and the dns and
// ingress sections replace the defaults when present; each entry of types
// adds a type or replaces the built-in one of that name. Unknown keys,
// unknown peers or protocols and bad port ranges are errors naming the
// file and line.
func ParseConfig(name string, data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("netpol config: %s is %d bytes, limit %d", name, len(data), MaxConfigSize)
	}
	docs, err := yamlbound.Mappings(name, data, yamlbound.Limits{Documents: 1, Depth: maxConfigDepth, Nodes: maxConfigNodes})
	if err != nil {
		return nil, fmt.Errorf("netpol config: %w", err)
	}
	root := docs[0]
	// The bounded node tree is only for the limits and line numbers;
	// decoding again with KnownFields is what refuses unknown keys
	// (node.Decode cannot).
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("netpol config: %s: %s", name, yamlError(err))
	}
	c := Default()
	if fc.WorkloadLabel != nil {
		c.WorkloadLabel = *fc.WorkloadLabel
	}
	if fc.MatchLabels != nil {
		c.MatchLabels = fc.MatchLabels
	}
	if fc.DNS != nil {
		c.DNS = *fc.DNS
	}
	if fc.Ingress != nil {
		c.Ingress = *fc.Ingress
	}
	maps.Copy(c.Types, fc.Types)
	if err := c.validate(func(path ...string) string {
		if l := lineOf(root, path); l > 0 {
			return fmt.Sprintf("%s:%d", name, l)
		}
		return name
	}); err != nil {
		return nil, fmt.Errorf("netpol config: %w", err)
	}
	return c, nil
}

// Validate checks a configuration built in code (Default, or one changed
// after ParseConfig).
func (c *Config) Validate() error {
	return c.validate(func(...string) string { return "configuration" })
}

// yamlError turns yaml.v3's "yaml: unmarshal errors:\n  line 3: ..." into
// one line per problem, each starting with "line N".
func yamlError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// lineOf finds the line of the value at path (mapping keys, or list
// indexes as decimal strings) in a YAML tree; 0 when absent.
func lineOf(n *yaml.Node, path []string) int {
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n.Line
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n.Line
			}
			n = n.Content[i]
		default:
			return n.Line
		}
	}
	return n.Line
}

var (
	// Kubernetes label keys ([prefix/]name), with Cilium's optional
	// "source:" prefix (k8s:, any:).
	labelKeyRE   = regexp.MustCompile(`^([a-z0-9]+:)?([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
	typeNameRE   = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_./]{0,252}$`)
	dnsPatternRE = regexp.MustCompile(`^([-a-zA-Z0-9_*]+[.]?)+$`)
)

func checkLabels(at string, m map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !labelKeyRE.MatchString(k) {
			return fmt.Errorf("%s: label key %q is not a Kubernetes label key", at, k)
		}
		if !labelValueRE.MatchString(m[k]) {
			return fmt.Errorf("%s: label %s's value %q is not a Kubernetes label value", at, k, m[k])
		}
	}
	return nil
}

// validate checks every field; at gives "file:line" for a path.
func (c *Config) validate(at func(...string) string) error {
	if !labelKeyRE.MatchString(c.WorkloadLabel) {
		return fmt.Errorf("%s: workloadLabel %q is not a Kubernetes label key", at("workloadLabel"), c.WorkloadLabel)
	}
	if err := checkLabels(at("matchLabels"), c.MatchLabels); err != nil {
		return err
	}
	if _, ok := c.MatchLabels[c.WorkloadLabel]; ok {
		return fmt.Errorf("%s: matchLabels must not set workloadLabel %s (its value is the workload name)", at("matchLabels"), c.WorkloadLabel)
	}
	if len(c.DNS.MatchLabels) == 0 {
		return fmt.Errorf("%s: dns.matchLabels must select the DNS pods (e.g. %s: kube-system, k8s:k8s-app: kube-dns)", at("dns"), namespaceLabel)
	}
	if err := checkLabels(at("dns", "matchLabels"), c.DNS.MatchLabels); err != nil {
		return err
	}
	if c.DNS.MatchPattern == "" || len(c.DNS.MatchPattern) > 255 || !dnsPatternRE.MatchString(c.DNS.MatchPattern) {
		return fmt.Errorf("%s: dns.matchPattern %q: want a Cilium DNS pattern such as \"*\" or \"*.svc.cluster.local\"", at("dns", "matchPattern"), c.DNS.MatchPattern)
	}
	for i, ns := range c.Ingress.GatewayNamespaces {
		if !labelValueRE.MatchString(ns) || ns == "" {
			return fmt.Errorf("%s: ingress.gatewayNamespaces[%d] %q is not a namespace name", at("ingress", "gatewayNamespaces", strconv.Itoa(i)), i, ns)
		}
	}
	for i, t := range c.Ingress.RouteTypes {
		if _, ok := c.Types[t]; !ok {
			return fmt.Errorf("%s: ingress.routeTypes[%d] %q is not a type in types", at("ingress", "routeTypes", strconv.Itoa(i)), i, t)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Types)) {
		r := c.Types[name]
		where := func(p ...string) string { return at(append([]string{"types", name}, p...)...) }
		if !typeNameRE.MatchString(name) {
			return fmt.Errorf("%s: types: %q is not a resource type name", where(), name)
		}
		if !slices.Contains(peers, r.Peer) {
			return fmt.Errorf("%s: types.%s.peer %q: want one of %s", where("peer"), name, r.Peer, joinPeers())
		}
		switch r.Peer {
		case PeerNone, PeerWorkload:
			if len(r.Ports) > 0 {
				return fmt.Errorf("%s: types.%s: peer %s takes no ports (a workload's ports come from its service)", where("ports"), name, r.Peer)
			}
		default:
			if len(r.Ports) == 0 {
				return fmt.Errorf("%s: types.%s: peer %s needs ports", where("peer"), name, r.Peer)
			}
		}
		if len(r.Ports) > maxTypePorts {
			return fmt.Errorf("%s: types.%s: %d ports, at most %d", where("ports"), name, len(r.Ports), maxTypePorts)
		}
		for i, p := range r.Ports {
			pw := where("ports", strconv.Itoa(i))
			if p.Port < 1 || p.Port > 65535 {
				return fmt.Errorf("%s: types.%s.ports[%d].port %d: want 1-65535", pw, name, i, p.Port)
			}
			if p.EndPort != 0 && (p.EndPort <= p.Port || p.EndPort > 65535) {
				return fmt.Errorf("%s: types.%s.ports[%d].endPort %d: want above port %d and at most 65535", pw, name, i, p.EndPort, p.Port)
			}
			switch p.Protocol {
			case "", "TCP", "UDP", "SCTP", "ANY":
			default:
				return fmt.Errorf("%s: types.%s.ports[%d].protocol %q: want TCP, UDP, SCTP or ANY", pw, name, i, p.Protocol)
			}
		}
		if r.Peer == PeerEndpoints {
			if len(r.MatchLabels) == 0 {
				return fmt.Errorf("%s: types.%s: peer endpoints needs matchLabels", where("peer"), name)
			}
			if err := checkLabels(where("matchLabels"), r.MatchLabels); err != nil {
				return err
			}
		} else if len(r.MatchLabels) > 0 {
			return fmt.Errorf("%s: types.%s: matchLabels is only for peer endpoints", where("matchLabels"), name)
		}
		if r.Peer == PeerFQDN {
			if len(r.HostKeys) == 0 {
				return fmt.Errorf("%s: types.%s: peer fqdn needs hostKeys (the params or metadata keys that hold the host)", where("peer"), name)
			}
		} else if len(r.HostKeys) > 0 {
			return fmt.Errorf("%s: types.%s: hostKeys is only for peer fqdn", where("hostKeys"), name)
		}
		for i, k := range r.HostKeys {
			if k == "" || len(k) > 253 {
				return fmt.Errorf("%s: types.%s.hostKeys[%d] is empty or too long", where("hostKeys", strconv.Itoa(i)), name, i)
			}
		}
	}
	return nil
}

func joinPeers() string {
	s := make([]string, len(peers))
	for i, p := range peers {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
