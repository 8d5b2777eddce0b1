package score

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/score-spec/score-go/types"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Schema names the version of the evidence format.
const Schema = "score/v1"

// Evidence is what a Score workload declares (input.evidence.score).
// It never holds a secret value or a file's content: literal secrets are
// reported by container, name and why only.
type Evidence struct {
	Schema string `json:"schema"`
	// File is the spec's path; Workload its metadata.name.
	File       string `json:"file"`
	Workload   string `json:"workload"`
	APIVersion string `json:"api_version"`
	// Upgrades lists what score-go's upgrade transforms rewrote.
	Upgrades []string `json:"upgrades"`
	// Containers are sorted by name.
	Containers []Container `json:"containers"`
	// BuildPlaceholders names the containers whose image is "." (built
	// at deploy time): no image to judge, so no subject.
	BuildPlaceholders []string `json:"build_placeholders"`
	// Ports are the service's ports, sorted by name.
	Ports []Port `json:"ports"`
	// Resources are sorted by name.
	Resources []Resource `json:"resources"`
	// Routes are the route resources' hosts, sorted by resource name.
	Routes []Route `json:"routes"`
	// Secrets lists every literal secret found, in container, variable
	// and file order (the same findings as in Containers).
	Secrets []Secret `json:"secrets"`
}

// Container is one of the workload's containers.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Pinned is true when the image names a sha256 digest (@sha256:…).
	Pinned bool `json:"pinned"`
	// Build is true for the "." placeholder (image built at deploy time).
	Build    bool       `json:"build,omitempty"`
	Requests Quantities `json:"requests"`
	Limits   Quantities `json:"limits"`
	// Missing lists the absent quantities: "requests.cpu",
	// "requests.memory", "limits.cpu", "limits.memory".
	Missing   []string   `json:"missing"`
	Liveness  *Probe     `json:"liveness,omitempty"`
	Readiness *Probe     `json:"readiness,omitempty"`
	Variables []Variable `json:"variables"`
	Files     []File     `json:"files"`
	Volumes   []Volume   `json:"volumes"`
}

// Quantities are a container's cpu and memory ("" when absent).
type Quantities struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// Probe is a liveness or readiness probe.
type Probe struct {
	// Kind is "httpGet", "exec" or "httpGet+exec".
	Kind string `json:"kind"`
	Path string `json:"path,omitempty"`
	Port int    `json:"port,omitempty"`
}

// Variable is one environment variable; its value is not reported.
type Variable struct {
	Name string `json:"name"`
	// Placeholders is true when the value holds ${…} placeholders.
	Placeholders bool `json:"placeholders"`
	// Secret says why the value is a literal secret ("" when it is not).
	Secret string `json:"secret,omitempty"`
}

// File is one file mounted into a container; its content is not reported.
type File struct {
	Target string `json:"target"`
	Mode   string `json:"mode,omitempty"`
	// Source is "embedded" (read from a file beside the spec) or "inline"
	// (content or binaryContent in the spec).
	Source string `json:"source"`
	Binary bool   `json:"binary,omitempty"`
	// Size is the content's size in bytes (decoded, for binary content).
	Size     int  `json:"size"`
	NoExpand bool `json:"no_expand,omitempty"`
	// Secrets say why the content holds literal secrets.
	Secrets []string `json:"secrets,omitempty"`
}

// Volume is one volume mounted into a container.
type Volume struct {
	Target   string `json:"target"`
	Source   string `json:"source"`
	Path     string `json:"path,omitempty"`
	ReadOnly bool   `json:"read_only"`
}

// Port is one of the service's ports.
type Port struct {
	Name       string `json:"name"`
	Port       int    `json:"port"`
	TargetPort int    `json:"target_port"`
	Protocol   string `json:"protocol"`
}

// Resource is one of the workload's resource dependencies.
type Resource struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Class string `json:"class,omitempty"`
	ID    string `json:"id,omitempty"`
	// Params are the names of its params, sorted (not their values).
	Params []string `json:"params"`
}

// Route is a route resource's host.
type Route struct {
	Resource string `json:"resource"`
	// Declared is params.host as written (placeholders and all).
	Declared string `json:"declared"`
	// Host is the resolved host name, lower case, or "unresolved".
	Host string `json:"host"`
	// Resolved is false when the host is only known at deploy time or
	// is no host name; Reason then says why.
	Resolved bool   `json:"resolved"`
	Reason   string `json:"reason,omitempty"`
	Path     string `json:"path,omitempty"`
}

// Secret is one literal secret: where and why, never the value.
type Secret struct {
	Container string `json:"container"`
	// Kind is "variable" or "file"; Name the variable or file target.
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Unresolved is Route.Host when the host cannot be known from the spec.
const Unresolved = "unresolved"

var (
	digestRef = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	hostName  = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// placeholder is one ${…} (score-go's framework.SubstituteString
	// grammar: no nesting, $$ escapes a dollar).
	placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)
)

// Scan loads the spec at path and builds its evidence.
func Scan(path string) (*Evidence, error) {
	spec, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return spec.Evidence(), nil
}

// Evidence builds the gate's view of a loaded spec.
func (s *Spec) Evidence() *Evidence {
	w := &s.Workload
	ev := &Evidence{
		Schema:            Schema,
		File:              s.Path,
		APIVersion:        w.ApiVersion,
		Upgrades:          append([]string{}, s.Upgrades...),
		Containers:        []Container{},
		BuildPlaceholders: []string{},
		Ports:             []Port{},
		Resources:         []Resource{},
		Routes:            []Route{},
		Secrets:           []Secret{},
	}
	sort.Strings(ev.Upgrades)
	if name, ok := w.Metadata["name"].(string); ok {
		ev.Workload = name
	}
	for _, cname := range sortedKeys(w.Containers) {
		c := s.container(cname, w.Containers[cname])
		if c.Build {
			ev.BuildPlaceholders = append(ev.BuildPlaceholders, cname)
		}
		for _, v := range c.Variables {
			if v.Secret != "" {
				ev.Secrets = append(ev.Secrets, Secret{Container: cname, Kind: "variable", Name: v.Name, Reason: v.Secret})
			}
		}
		for _, f := range c.Files {
			for _, why := range f.Secrets {
				ev.Secrets = append(ev.Secrets, Secret{Container: cname, Kind: "file", Name: f.Target, Reason: why})
			}
		}
		ev.Containers = append(ev.Containers, c)
	}
	if w.Service != nil {
		for _, pname := range sortedKeys(w.Service.Ports) {
			p := w.Service.Ports[pname]
			port := Port{Name: pname, Port: p.Port, TargetPort: p.Port, Protocol: "TCP"}
			if p.TargetPort != nil {
				port.TargetPort = *p.TargetPort
			}
			if p.Protocol != nil {
				port.Protocol = string(*p.Protocol)
			}
			ev.Ports = append(ev.Ports, port)
		}
	}
	for _, rname := range sortedKeys(w.Resources) {
		r := w.Resources[rname]
		res := Resource{Name: rname, Type: r.Type, Params: sortedKeys(r.Params)}
		if r.Class != nil {
			res.Class = *r.Class
		}
		if r.Id != nil {
			res.ID = *r.Id
		}
		ev.Resources = append(ev.Resources, res)
		if r.Type == "route" {
			ev.Routes = append(ev.Routes, route(w, rname, r))
		}
	}
	return ev
}

func (s *Spec) container(name string, c types.Container) Container {
	out := Container{
		Name:      name,
		Image:     c.Image,
		Pinned:    digestRef.MatchString(c.Image),
		Build:     c.Image == ".",
		Missing:   []string{},
		Variables: []Variable{},
		Files:     []File{},
		Volumes:   []Volume{},
	}
	if r := c.Resources; r != nil {
		out.Requests = quantities(r.Requests)
		out.Limits = quantities(r.Limits)
	}
	for _, m := range []struct {
		key string
		val string
	}{{"requests.cpu", out.Requests.CPU}, {"requests.memory", out.Requests.Memory},
		{"limits.cpu", out.Limits.CPU}, {"limits.memory", out.Limits.Memory}} {
		if m.val == "" {
			out.Missing = append(out.Missing, m.key)
		}
	}
	out.Liveness = probe(c.LivenessProbe)
	out.Readiness = probe(c.ReadinessProbe)
	for _, vname := range sortedKeys(c.Variables) {
		val := c.Variables[vname]
		out.Variables = append(out.Variables, Variable{
			Name:         vname,
			Placeholders: placeholder.MatchString(val),
			Secret:       variableSecret(vname, val),
		})
	}
	for _, target := range sortedKeys(c.Files) {
		f := c.Files[target]
		file := File{Target: target, Source: "inline"}
		if f.Mode != nil {
			file.Mode = *f.Mode
		}
		if f.NoExpand != nil {
			file.NoExpand = *f.NoExpand
		}
		if _, ok := s.Embedded[name+"/"+target]; ok {
			file.Source = "embedded"
		}
		switch {
		case f.Content != nil:
			file.Size = len(*f.Content)
			file.Secrets = contentSecrets(*f.Content)
		case f.BinaryContent != nil:
			file.Binary = true
			raw, err := base64.StdEncoding.DecodeString(*f.BinaryContent)
			if err != nil {
				// The schema does not check the encoding: report what
				// the spec holds, and scan it as text.
				raw = []byte(*f.BinaryContent)
			}
			file.Size = len(raw)
			file.Secrets = contentSecrets(string(raw))
		}
		out.Files = append(out.Files, file)
	}
	for _, target := range sortedKeys(c.Volumes) {
		v := c.Volumes[target]
		vol := Volume{Target: target, Source: v.Source}
		if v.Path != nil {
			vol.Path = *v.Path
		}
		if v.ReadOnly != nil {
			vol.ReadOnly = *v.ReadOnly
		}
		out.Volumes = append(out.Volumes, vol)
	}
	return out
}

func quantities(l *types.ResourcesLimits) Quantities {
	var q Quantities
	if l == nil {
		return q
	}
	if l.Cpu != nil {
		q.CPU = *l.Cpu
	}
	if l.Memory != nil {
		q.Memory = *l.Memory
	}
	return q
}

func probe(p *types.ContainerProbe) *Probe {
	if p == nil || (p.HttpGet == nil && p.Exec == nil) {
		return nil
	}
	out := &Probe{}
	var kinds []string
	if p.HttpGet != nil {
		kinds = append(kinds, "httpGet")
		out.Path, out.Port = p.HttpGet.Path, p.HttpGet.Port
	}
	if p.Exec != nil {
		kinds = append(kinds, "exec")
	}
	out.Kind = strings.Join(kinds, "+")
	return out
}

// route resolves a route resource's params.host: a literal host name, or
// placeholders that the spec itself resolves (${metadata.…} strings, and
// ${resources.<dns>.host} when that dns resource sets a literal
// params.host). Anything else is known only at deploy time: unresolved.
func route(w *types.Workload, name string, r types.Resource) Route {
	out := Route{Resource: name, Host: Unresolved}
	if p, ok := r.Params["path"].(string); ok {
		out.Path = p
	}
	raw, ok := r.Params["host"]
	if !ok {
		out.Reason = "the route has no params.host"
		return out
	}
	declared, ok := raw.(string)
	if !ok {
		out.Declared = fmt.Sprint(raw)
		out.Reason = "params.host is not a string"
		return out
	}
	out.Declared = declared
	var why string
	host := placeholder.ReplaceAllStringFunc(strings.ReplaceAll(declared, "$$", "\x00"), func(m string) string {
		if why != "" {
			return m
		}
		v, reason := resolve(w, m[2:len(m)-1])
		if reason != "" {
			why = fmt.Sprintf("%s: %s", m, reason)
		}
		return v
	})
	if why != "" {
		out.Reason = why
		return out
	}
	host = strings.TrimSuffix(strings.ToLower(strings.ReplaceAll(host, "\x00", "$")), ".")
	if len(host) > 253 || !hostName.MatchString(host) {
		out.Reason = fmt.Sprintf("%q is not a host name", host)
		return out
	}
	out.Host, out.Resolved = host, true
	return out
}

// resolve gives the value of one placeholder when the spec fixes it.
func resolve(w *types.Workload, ref string) (string, string) {
	parts := strings.Split(ref, ".")
	switch {
	case len(parts) >= 2 && parts[0] == "metadata":
		var cur any = map[string]any(w.Metadata)
		for _, p := range parts[1:] {
			m, ok := cur.(map[string]any)
			if !ok {
				return "", "no such metadata"
			}
			if cur, ok = m[p]; !ok {
				return "", "no such metadata"
			}
		}
		s, ok := cur.(string)
		if !ok {
			return "", "the metadata is not a string"
		}
		return s, ""
	case len(parts) == 3 && parts[0] == "resources":
		r, ok := w.Resources[parts[1]]
		if !ok {
			return "", "no such resource"
		}
		if r.Type != "dns" {
			return "", fmt.Sprintf("an output of a %q resource, known only at deploy time", r.Type)
		}
		if parts[2] != "host" {
			return "", fmt.Sprintf("dns resources have no %q output the spec fixes", parts[2])
		}
		if h, ok := r.Params["host"].(string); ok && h != "" && !strings.Contains(h, "$") {
			return h, ""
		}
		return "", "the dns resource's host is chosen by its provisioner at deploy time"
	}
	return "", "not a placeholder the spec can resolve"
}

// Subjects returns every container image as an image subject (build
// placeholders excluded: they name no image). Labels name the workload
// and the containers that run each image.
func (e *Evidence) Subjects() []gates.Subject {
	var out []gates.Subject
	index := map[string]int{}
	for _, c := range e.Containers {
		if c.Build || c.Image == "" {
			continue
		}
		i, ok := index[c.Image]
		if !ok {
			i = len(out)
			index[c.Image] = i
			out = append(out, gates.Subject{Kind: gates.KindImage, Ref: c.Image, Name: c.Image,
				Labels: map[string]string{"score.workload": e.Workload, "score.containers": c.Name}})
			continue
		}
		out[i].Labels["score.containers"] += "," + c.Name
	}
	return out
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
