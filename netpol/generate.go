// Package netpol turns Score workload specs into CiliumNetworkPolicies
// (cilium.io/v2): default deny for each workload's pods, ingress only on
// its declared service ports, egress only to cluster DNS and to the
// resources it declares, each by a configurable type → peer/port mapping.
// Policies are built with Cilium's own Go types and pass Cilium's own
// rule validation (Rule.Sanitize and CiliumNetworkPolicy.Parse) before
// anything is written.
package netpol

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	"github.com/cilium/cilium/pkg/policy/api"
	"github.com/score-spec/score-go/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gatehouse-dev/gatehouse/scanners/score"
)

// Options configure Generate.
type Options struct {
	// Namespace is written into each policy's metadata; empty leaves it
	// out (kubectl apply -n chooses).
	Namespace string
	// Config is the cluster and type mapping; nil means Default().
	Config *Config
	// AllowKubeAPIServer adds egress to the kube-apiserver entity.
	AllowKubeAPIServer bool
}

// Policy is the policy of one workload.
type Policy struct {
	// Workload is the Score workload name; Source the spec's file.
	Workload, Source string
	// CNP is the policy, already accepted by Validate.
	CNP *ciliumv2.CiliumNetworkPolicy
	// Notes say, one line each, what each rule of the policy is for and
	// what got no rule; written as comments above the document.
	Notes []string
}

// Warning is something the user should know that did not stop the run:
// a resource that got no egress (fail closed).
type Warning struct {
	Source, Workload, Resource, Message string
}

func (w Warning) String() string {
	return fmt.Sprintf("%s: workload %s: resource %s: %s", w.Source, w.Workload, w.Resource, w.Message)
}

// Result is every policy, in workload name order, and the warnings.
type Result struct {
	Policies []Policy
	Warnings []Warning
}

// ManagedByLabel marks the policies gatehouse writes.
const ManagedByLabel = "app.kubernetes.io/managed-by"

var namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// portRef is a resolved service port of a workload.
type portRef struct {
	name  string
	port  int
	proto api.L4Proto
}

// workload is a spec under generation.
type workload struct {
	name string
	spec *score.Spec
	// ports by service port name (targetPort, else port), and the
	// published port numbers by name.
	ports     map[string]portRef
	published map[string]int
	// clients are the ingress rules other workloads earned through
	// service-port resources: client workload → ports.
	clients map[string][]portRef
}

// Generate builds and validates one policy per workload. Any error (a
// duplicate workload, an unknown resource type, a policy Cilium refuses)
// fails the whole run: nothing is half generated.
func Generate(specs []*score.Spec, o Options) (*Result, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = Default()
	} else if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Namespace != "" && !namespaceRE.MatchString(o.Namespace) {
		return nil, fmt.Errorf("namespace %q is not a Kubernetes namespace name", o.Namespace)
	}
	byName := make(map[string]*workload, len(specs))
	for _, s := range specs {
		if s == nil {
			return nil, fmt.Errorf("netpol: nil spec")
		}
		name, _ := s.Workload.Metadata["name"].(string)
		if !labelValueRE.MatchString(name) || name == "" {
			return nil, fmt.Errorf("%s: metadata.name %q is not a valid workload name", s.Path, name)
		}
		if prev, ok := byName[name]; ok {
			return nil, fmt.Errorf("%s: workload %s is also defined in %s", s.Path, name, prev.spec.Path)
		}
		w := &workload{name: name, spec: s, ports: map[string]portRef{}, published: map[string]int{}, clients: map[string][]portRef{}}
		if s.Workload.Service != nil {
			for pn, p := range s.Workload.Service.Ports {
				target := p.Port
				if p.TargetPort != nil && *p.TargetPort > 0 {
					target = *p.TargetPort
				}
				proto := api.ProtoTCP
				if p.Protocol != nil && *p.Protocol != "" {
					proto = api.L4Proto(strings.ToUpper(string(*p.Protocol)))
				}
				w.ports[pn] = portRef{name: pn, port: target, proto: proto}
				w.published[pn] = p.Port
			}
		}
		byName[name] = w
	}
	names := slices.Sorted(maps.Keys(byName))

	res := &Result{}
	// First pass: egress (and the clients each peer must admit).
	egress := make(map[string][]api.EgressRule, len(byName))
	notes := make(map[string][]string, len(byName))
	for _, name := range names {
		w := byName[name]
		rules, n, warns, err := egressFor(w, byName, cfg)
		if err != nil {
			return nil, err
		}
		egress[name], notes[name] = rules, n
		res.Warnings = append(res.Warnings, warns...)
	}
	if o.AllowKubeAPIServer {
		for _, name := range names {
			egress[name] = append(egress[name], api.EgressRule{EgressCommonRule: api.EgressCommonRule{ToEntities: api.EntitySlice{api.EntityKubeAPIServer}}})
			notes[name] = append(notes[name], "egress to the kube-apiserver entity (--allow-kube-apiserver)")
		}
	}
	for _, name := range names {
		w := byName[name]
		ingress, in, err := ingressFor(w, cfg)
		if err != nil {
			return nil, err
		}
		rule := &api.Rule{
			EndpointSelector:  workloadSelector(cfg, name),
			Ingress:           ingress,
			Egress:            egress[name],
			EnableDefaultDeny: api.DefaultDenyConfig{Ingress: ptr(true), Egress: ptr(true)},
			Description:       "gatehouse netpol: Score workload " + name,
		}
		cnp := &ciliumv2.CiliumNetworkPolicy{
			TypeMeta: metav1.TypeMeta{APIVersion: "cilium.io/v2", Kind: "CiliumNetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      name,
				Namespace: o.Namespace,
				Labels:    map[string]string{ManagedByLabel: "gatehouse", "app.kubernetes.io/name": name},
			},
			Spec: rule,
		}
		if err := Validate(cnp); err != nil {
			return nil, fmt.Errorf("%s: workload %s: %w", w.spec.Path, name, err)
		}
		res.Policies = append(res.Policies, Policy{Workload: name, Source: w.spec.Path, CNP: cnp, Notes: append(in, notes[name]...)})
	}
	return res, nil
}

func ptr[T any](v T) *T { return &v }

// workloadSelector selects a workload's pods by the labels its deployer
// sets.
func workloadSelector(cfg *Config, name string) api.EndpointSelector {
	m := make(map[string]string, len(cfg.MatchLabels)+1)
	maps.Copy(m, cfg.MatchLabels)
	m[cfg.WorkloadLabel] = name
	return api.NewESFromMatchRequirements(m, nil)
}

// portRules groups ports into toPorts entries of at most Cilium's 40.
func portRules(ps []api.PortProtocol) api.PortRules {
	var out api.PortRules
	for len(ps) > 0 {
		n := min(len(ps), maxTypePorts)
		out = append(out, api.PortRule{Ports: ps[:n]})
		ps = ps[n:]
	}
	return out
}

func describePorts(ps []api.PortProtocol) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p.Protocol) + " " + p.Port
		if p.EndPort != 0 {
			s[i] += "-" + strconv.Itoa(int(p.EndPort))
		}
	}
	return strings.Join(s, ", ")
}

// resolvePort finds a workload's service port by name, or by its port
// number (an int or a decimal string), as score-k8s's route and
// service-port provisioners accept.
func (w *workload) resolvePort(v any) (portRef, bool) {
	var num int
	switch t := v.(type) {
	case string:
		if p, ok := w.ports[t]; ok {
			return p, true
		}
		n, err := strconv.Atoi(t)
		if err != nil {
			return portRef{}, false
		}
		num = n
	case int:
		num = t
	case int64:
		num = int(t)
	case uint64:
		num = int(t)
	case float64:
		num = int(t)
		if float64(num) != t {
			return portRef{}, false
		}
	default:
		return portRef{}, false
	}
	for _, pn := range slices.Sorted(maps.Keys(w.ports)) {
		if w.published[pn] == num {
			return w.ports[pn], true
		}
	}
	return portRef{}, false
}

func protoPorts(refs []portRef) []api.PortProtocol {
	var ps []api.PortProtocol
	for _, p := range refs {
		pp := api.PortProtocol{Port: strconv.Itoa(p.port), Protocol: p.proto}
		if !slices.Contains(ps, pp) {
			ps = append(ps, pp)
		}
	}
	return ps
}

// ingressFor admits the workload's service ports: a port a route
// resource names (every port when the route names none) from the ingress
// entity and the gateway namespaces; the other ports from the workload's
// own namespace; plus, in any case, each workload that declared this one
// as a service-port dependency, on that port.
func ingressFor(w *workload, cfg *Config) ([]api.IngressRule, []string, error) {
	routed := map[string]bool{}
	var routes []string
	for _, rn := range slices.Sorted(maps.Keys(w.spec.Workload.Resources)) {
		r := w.spec.Workload.Resources[rn]
		if !slices.Contains(cfg.Ingress.RouteTypes, r.Type) {
			continue
		}
		routes = append(routes, strconv.Quote(rn))
		v, ok := r.Params["port"]
		if !ok {
			for pn := range w.ports {
				routed[pn] = true
			}
			continue
		}
		p, ok := w.resolvePort(v)
		if !ok {
			return nil, nil, fmt.Errorf("%s: workload %s: resources.%s (%s): params.port %v is not one of the workload's service ports", w.spec.Path, w.name, rn, r.Type, v)
		}
		routed[p.name] = true
	}
	var viaRoute, local []portRef
	for _, pn := range slices.Sorted(maps.Keys(w.ports)) {
		if routed[pn] {
			viaRoute = append(viaRoute, w.ports[pn])
		} else {
			local = append(local, w.ports[pn])
		}
	}
	var rules []api.IngressRule
	var notes []string
	if len(w.ports) == 0 {
		notes = append(notes, "no ingress: the workload declares no service ports")
	}
	if ps := protoPorts(viaRoute); len(ps) > 0 {
		rules = append(rules, api.IngressRule{
			IngressCommonRule: api.IngressCommonRule{FromEntities: api.EntitySlice{api.EntityIngress}},
			ToPorts:           portRules(ps),
		})
		notes = append(notes, fmt.Sprintf("ingress on %s from the ingress entity (route %s)", describePorts(ps), strings.Join(routes, ", ")))
		if len(cfg.Ingress.GatewayNamespaces) > 0 {
			var from []api.EndpointSelector
			for _, ns := range cfg.Ingress.GatewayNamespaces {
				from = append(from, api.NewESFromMatchRequirements(map[string]string{namespaceLabel: ns}, nil))
			}
			rules = append(rules, api.IngressRule{
				IngressCommonRule: api.IngressCommonRule{FromEndpoints: from},
				ToPorts:           portRules(ps),
			})
			notes = append(notes, fmt.Sprintf("ingress on %s from pods in the gateway namespaces %s", describePorts(ps), strings.Join(cfg.Ingress.GatewayNamespaces, ", ")))
		}
	}
	if ps := protoPorts(local); len(ps) > 0 {
		rules = append(rules, api.IngressRule{
			IngressCommonRule: api.IngressCommonRule{FromEndpoints: []api.EndpointSelector{api.NewESFromMatchRequirements(map[string]string{}, nil)}},
			ToPorts:           portRules(ps),
		})
		notes = append(notes, fmt.Sprintf("ingress on %s from endpoints in the same namespace (no route to them)", describePorts(ps)))
	}
	for _, client := range slices.Sorted(maps.Keys(w.clients)) {
		cps := protoPorts(w.clients[client])
		rules = append(rules, api.IngressRule{
			IngressCommonRule: api.IngressCommonRule{FromEndpoints: []api.EndpointSelector{workloadSelector(cfg, client)}},
			ToPorts:           portRules(cps),
		})
		notes = append(notes, fmt.Sprintf("ingress on %s from workload %s (its service-port resource)", describePorts(cps), client))
	}
	return rules, notes, nil
}

// egressFor allows DNS and each declared resource by its type's rule.
func egressFor(w *workload, all map[string]*workload, cfg *Config) ([]api.EgressRule, []string, []Warning, error) {
	rules := []api.EgressRule{{
		EgressCommonRule: api.EgressCommonRule{ToEndpoints: []api.EndpointSelector{api.NewESFromMatchRequirements(maps.Clone(cfg.DNS.MatchLabels), nil)}},
		ToPorts: api.PortRules{{
			Ports: []api.PortProtocol{{Port: "53", Protocol: api.ProtoAny}},
			Rules: &api.L7Rules{DNS: []api.PortRuleDNS{{MatchPattern: cfg.DNS.MatchPattern}}},
		}},
	}}
	notes := []string{"egress to cluster DNS on port 53 (DNS rules: toFQDNs needs them)"}
	var warns []Warning
	src := w.spec.Path
	for _, rn := range slices.Sorted(maps.Keys(w.spec.Workload.Resources)) {
		r := w.spec.Workload.Resources[rn]
		tr, ok := cfg.Types[r.Type]
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s: workload %s: resources.%s: type %q has no network mapping: add it under types in the --config file (peer: none if it needs no traffic)", src, w.name, rn, r.Type)
		}
		ps := make([]api.PortProtocol, 0, len(tr.Ports))
		for _, p := range tr.Ports {
			proto := api.L4Proto(p.Protocol)
			if proto == "" {
				proto = api.ProtoTCP
			}
			ps = append(ps, api.PortProtocol{Port: strconv.Itoa(p.Port), EndPort: int32(p.EndPort), Protocol: proto})
		}
		warn := func(msg string) {
			warns = append(warns, Warning{Source: src, Workload: w.name, Resource: rn, Message: msg})
			notes = append(notes, fmt.Sprintf("no egress for resource %q (%s): %s", rn, r.Type, msg))
		}
		switch tr.Peer {
		case PeerNone:
			continue
		case PeerNamespace:
			rules = append(rules, api.EgressRule{
				EgressCommonRule: api.EgressCommonRule{ToEndpoints: []api.EndpointSelector{api.NewESFromMatchRequirements(map[string]string{}, nil)}},
				ToPorts:          portRules(ps),
			})
			notes = append(notes, fmt.Sprintf("egress on %s to endpoints in the same namespace for resource %q (%s)", describePorts(ps), rn, r.Type))
		case PeerCluster:
			rules = append(rules, api.EgressRule{
				EgressCommonRule: api.EgressCommonRule{ToEntities: api.EntitySlice{api.EntityCluster}},
				ToPorts:          portRules(ps),
			})
			notes = append(notes, fmt.Sprintf("egress on %s to the cluster entity for resource %q (%s)", describePorts(ps), rn, r.Type))
		case PeerEndpoints:
			rules = append(rules, api.EgressRule{
				EgressCommonRule: api.EgressCommonRule{ToEndpoints: []api.EndpointSelector{api.NewESFromMatchRequirements(maps.Clone(tr.MatchLabels), nil)}},
				ToPorts:          portRules(ps),
			})
			notes = append(notes, fmt.Sprintf("egress on %s to the endpoints of type %s for resource %q", describePorts(ps), r.Type, rn))
		case PeerFQDN:
			host, why := literalHost(r, tr.HostKeys)
			if host == "" {
				warn(why + "; egress is not granted (fail closed): set a literal host in params or metadata, or map the type to another peer in --config")
				continue
			}
			rules = append(rules, api.EgressRule{
				ToFQDNs: api.FQDNSelectorSlice{{MatchName: host}},
				ToPorts: portRules(ps),
			})
			notes = append(notes, fmt.Sprintf("egress on %s to %s for resource %q (%s)", describePorts(ps), host, rn, r.Type))
		case PeerWorkload:
			peerName, ok := r.Params["workload"].(string)
			if !ok || peerName == "" {
				return nil, nil, nil, fmt.Errorf("%s: workload %s: resources.%s (%s): params.workload must name the target workload", src, w.name, rn, r.Type)
			}
			portParam, ok := r.Params["port"]
			if !ok {
				return nil, nil, nil, fmt.Errorf("%s: workload %s: resources.%s (%s): params.port must name a service port of workload %s", src, w.name, rn, r.Type, peerName)
			}
			portName := fmt.Sprint(portParam)
			if strings.Contains(peerName, "${") || strings.Contains(portName, "${") {
				warn("params.workload or params.port is a placeholder; egress is not granted (fail closed)")
				continue
			}
			peer, ok := all[peerName]
			if !ok {
				warn(fmt.Sprintf("workload %s is not among the specs given, so its port %s is unknown; egress is not granted (fail closed): pass its spec too", peerName, portName))
				continue
			}
			p, ok := peer.resolvePort(portParam)
			if !ok {
				return nil, nil, nil, fmt.Errorf("%s: workload %s: resources.%s (%s): workload %s (%s) has no service port %q", src, w.name, rn, r.Type, peerName, peer.spec.Path, portName)
			}
			pp := []api.PortProtocol{{Port: strconv.Itoa(p.port), Protocol: p.proto}}
			rules = append(rules, api.EgressRule{
				EgressCommonRule: api.EgressCommonRule{ToEndpoints: []api.EndpointSelector{workloadSelector(cfg, peerName)}},
				ToPorts:          portRules(pp),
			})
			notes = append(notes, fmt.Sprintf("egress on %s to workload %s for resource %q (%s)", describePorts(pp), peerName, rn, r.Type))
			if peerName != w.name {
				peer.clients[w.name] = append(peer.clients[w.name], p)
			}
		}
	}
	return rules, notes, warns, nil
}

// literalHost returns the first literal DNS host found under keys in the
// resource's params, then its metadata; a URL yields its host and a
// host:port its host. Placeholders, IP addresses and malformed names are
// not hosts: the reason comes back instead.
func literalHost(r types.Resource, keys []string) (host, why string) {
	why = fmt.Sprintf("no literal host under params or metadata keys %s", strings.Join(keys, ", "))
	for _, src := range []map[string]any{r.Params, r.Metadata} {
		for _, k := range keys {
			v, ok := src[k].(string)
			if !ok || v == "" {
				continue
			}
			if strings.Contains(v, "${") {
				why = fmt.Sprintf("%s is a placeholder (%q), resolved only at deploy time", k, v)
				continue
			}
			h := v
			if strings.Contains(h, "://") {
				u, err := url.Parse(h)
				if err != nil {
					why = fmt.Sprintf("%s %q is not a URL", k, v)
					continue
				}
				h = u.Hostname()
			} else if hh, _, err := net.SplitHostPort(h); err == nil {
				h = hh
			}
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if _, err := netip.ParseAddr(h); err == nil {
				why = fmt.Sprintf("%s %q is an IP address, and toFQDNs selects names", k, v)
				continue
			}
			if !isDNSName(h) {
				why = fmt.Sprintf("%s %q is not a DNS host name", k, v)
				continue
			}
			return h, ""
		}
	}
	return "", why
}

var dnsLabelRE = regexp.MustCompile(`^[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?$`)

func isDNSName(h string) bool {
	if h == "" || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for l := range strings.SplitSeq(h, ".") {
		if !dnsLabelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// GenerateFiles loads each Score spec with scanners/score (score-go's
// pipeline, bounded) and generates their policies. A spec that fails to
// load fails the whole run; the error names its file.
func GenerateFiles(ctx context.Context, paths []string, o Options) (*Result, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("netpol: no Score specs given")
	}
	specs := make([]*score.Spec, 0, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := score.LoadFile(p)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return Generate(specs, o)
}
