package savedmodel

import (
	"path"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// More field numbers (meta_graph.proto, node_def.proto, attr_value.proto,
// tensor.proto).
const (
	metaAssetFileDef = 6
	assetTensorInfo  = 1
	assetFilename    = 2
	tensorInfoName   = 1
	nodeInput        = 3
	nodeAttr         = 5
	attrList         = 1
	attrS            = 2
	attrTensor       = 8
	listS            = 2
	tensorStringVal  = 8
)

// node is a NodeDef the rules look at.
type node struct {
	name, op string
	inputs   []string
	attrs    map[string]attrValue
}

// attrValue holds the string parts of an AttrValue: s, list.s and a
// string tensor's string_val.
type attrValue struct {
	s    string
	hasS bool
	list []string
	strs []string
}

// graph is the main graph or one library function.
type graph struct {
	fn      string // "" for the main graph
	inSaver bool
	judged  []*node
	resolv  map[string]*node // constants and pass-throughs, by name
}

func (g *graph) add(n *node, judged bool) {
	if judged {
		g.judged = append(g.judged, n)
	}
	if passThrough[n.op] || n.op == "Const" {
		g.resolv[n.name] = n
	}
}

// meta is one MetaGraphDef: its graphs and the tensors its asset files
// are fed into.
type meta struct {
	graphs    []*graph
	assets    map[string]bool // node names of AssetFileDef tensors
	hasAssets bool
}

// passThrough ops forward their first input: a judged op's path input is
// followed through them to a constant.
var passThrough = map[string]bool{"Identity": true, "PlaceholderWithDefault": true, "Snapshot": true, "StopGradient": true}

// usedAttrs are the attributes the rules read.
var usedAttrs = map[string]bool{"output_stream": true, "debug_urls": true, "dump_root": true,
	"descriptor_source": true, "value": true, "memory_region_name": true}

// pathInput is the input holding the file path of ops that take one.
var pathInput = map[string]int{
	"ReadFile": 0, "WriteFile": 0, "Save": 0, "SaveV2": 0, "SaveSlices": 0, "Restore": 0, "RestoreV2": 0,
	"RestoreSlice": 0, "MergeV2Checkpoints": 1, "InitializeTableFromTextFile": 1, "InitializeTableFromTextFileV2": 1,
	"MatchingFiles": 0, "CreateSummaryFileWriter": 1, "LoadAndRemapMatrix": 0,
}

// nodeOfInput turns "name", "name:0", "^name" or "name:output:0" into the node name.
func nodeOfInput(in string) string {
	in = strings.TrimPrefix(in, "^")
	if i := strings.IndexByte(in, ':'); i >= 0 {
		in = in[:i]
	}
	return in
}

// resolve follows input i of n through pass-throughs to a constant; ok is
// false when it does not end at one (a placeholder, a function argument).
func (g *graph) resolve(n *node, i int) (string, *node, bool) {
	if i >= len(n.inputs) {
		return "", nil, false
	}
	name := nodeOfInput(n.inputs[i])
	for hops := 0; hops < 16; hops++ {
		m, ok := g.resolv[name]
		if !ok {
			return "", nil, false
		}
		if m.op == "Const" {
			v := m.attrs["value"]
			if len(v.strs) == 0 {
				return "", nil, false
			}
			return v.strs[0], m, true
		}
		if len(m.inputs) == 0 {
			return "", nil, false
		}
		name = nodeOfInput(m.inputs[0])
	}
	return "", nil, false
}

// outsidePath says why a file path a graph uses leaves the model: an
// absolute path, "..", a home folder or a URL scheme (gs://, s3://,
// hdfs://, file://); "" for a relative path.
func outsidePath(p string) string {
	slash := strings.ReplaceAll(p, `\`, "/")
	switch {
	case strings.Contains(slash, "://"):
		return "a URL"
	case strings.HasPrefix(slash, "/"), len(slash) >= 2 && slash[1] == ':':
		return "an absolute path"
	case strings.HasPrefix(slash, "~"):
		return "a home-folder path"
	}
	for _, part := range strings.Split(path.Clean("x/"+slash), "/") {
		if part == ".." {
			return `a path climbing out with ".."`
		}
	}
	return ""
}

// judgeMeta applies the op rules to every graph of one meta graph.
func (s *scan) judgeMeta(m *meta) {
	for _, g := range m.graphs {
		for _, n := range g.judged {
			s.judgeNode(m, g, n)
		}
	}
}

func (s *scan) once(op, where string) bool {
	if s.seen[op+where] {
		return false
	}
	s.seen[op+where] = true
	return true
}

// judgeNode rates one node by its op, and by where its attributes and
// path inputs point.
func (s *scan) judgeNode(m *meta, g *graph, n *node) {
	r := dangerousOps[n.op]
	where := "#" + n.name
	if g.fn != "" {
		where = "#" + g.fn + "/" + n.name
	}
	inSaver := g.inSaver || g.fn == "" && saverNode.MatchString(n.name)
	sev, reason := r.sev, r.reason
	fixed, _, isConst := "", (*node)(nil), false
	if i, ok := pathInput[n.op]; ok {
		fixed, _, isConst = g.resolve(n, i)
	}
	switch n.op {
	case "PrintV2":
		if out := n.attrs["output_stream"].s; strings.HasPrefix(out, "file://") {
			sev, reason = finding.High, "writes to the host file "+quote(strings.TrimPrefix(out, "file://"))+" (attribute output_stream="+quote(out)+")"
		}
	case "DebugIdentity", "DebugIdentityV2", "DebugNanCount", "DebugNumericSummary", "DebugNumericSummaryV2":
		for _, u := range n.attrs["debug_urls"].list {
			if strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "grpc://") {
				sev, reason = finding.High, "sends tensors to "+quote(u)+" (attribute debug_urls): writes host files or connects out"
			}
		}
		if d := n.attrs["dump_root"].s; d != "" {
			sev, reason = finding.High, "dumps tensors under the host folder "+quote(d)+" (attribute dump_root)"
		}
	case "ImmutableConst":
		if p := n.attrs["memory_region_name"].s; p != "" {
			reason += " (" + quote(p) + ")"
		}
	case "InitializeTableFromTextFile", "InitializeTableFromTextFileV2":
		switch {
		case isConst && m.assets[nodeOfInput(n.inputs[pathInput[n.op]])]:
			return // fed the path of the SavedModel's own assets/ file on load
		case isConst && outsidePath(fixed) != "":
			sev, reason = finding.High, "reads the host file "+quote(fixed)+" ("+outsidePath(fixed)+") into a lookup table"
		case isConst:
			reason = "reads the file " + quote(fixed) + " (relative to the loader's working folder, not an asset of the model) into a lookup table"
		case g.fn != "" && m.hasAssets:
			// TF2: the asset path is captured into the initializer function
			// as an argument; the meta graph lists the asset files.
			return
		}
	}
	if r.saver && inSaver {
		if !isConst || outsidePath(fixed) == "" {
			return
		}
		sev, reason = finding.High, "of the checkpoint saver uses the fixed path "+quote(fixed)+" ("+outsidePath(fixed)+"), not the checkpoint folder the loader passes"
	} else if isConst && n.op != "InitializeTableFromTextFile" && n.op != "InitializeTableFromTextFileV2" {
		if why := outsidePath(fixed); why != "" {
			sev = max(sev, finding.High)
			reason += " at " + quote(fixed) + " (" + why + ")"
		} else {
			reason += " at " + quote(fixed)
		}
	}
	if !s.once(n.op, where) {
		return
	}
	ctx := ""
	if r.saver && !inSaver {
		ctx = " outside the checkpoint saver"
	}
	s.add(sev, where, "operation %s%s %s", n.op, ctx, reason)
}

func quote(s string) string { return `"` + s + `"` }
