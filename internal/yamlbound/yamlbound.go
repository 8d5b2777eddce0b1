// Package yamlbound decodes YAML from outside into nodes while bounding
// what a hostile file can cost: the number of documents, how deep they
// nest and how many nodes they hold once aliases are expanded (so an alias
// bomb is refused after at most MaxNodes steps instead of exhausting
// memory in a later Decode).
package yamlbound

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Limits bounds one file.
type Limits struct {
	Documents int // at most this many documents
	Depth     int // no document nests deeper
	Nodes     int // no document holds more nodes, aliases expanded
}

// Mappings decodes data into its documents, each of which must be a
// mapping within lim; it returns each document's root mapping node.
// Errors name the file (name) and the document at fault.
func Mappings(name string, data []byte, lim Limits) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not YAML: %w", name, err)
		}
		if len(docs) == lim.Documents {
			return nil, fmt.Errorf("%s: more than %d YAML document(s)", name, lim.Documents)
		}
		sh := shape{lim: lim}
		sh.walk(&n, 0)
		if sh.depth > lim.Depth {
			return nil, fmt.Errorf("%s: document %d nests deeper than %d levels", name, len(docs)+1, lim.Depth)
		}
		if sh.nodes > lim.Nodes {
			return nil, fmt.Errorf("%s: document %d has more than %d YAML nodes once aliases are expanded", name, len(docs)+1, lim.Nodes)
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s: document %d is not a YAML mapping", name, len(docs)+1)
		}
		docs = append(docs, root)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	return docs, nil
}

// shape measures a document, stopping as soon as either limit is passed.
type shape struct {
	lim          Limits
	depth, nodes int
}

func (sh *shape) walk(n *yaml.Node, d int) {
	if n == nil || sh.depth > sh.lim.Depth || sh.nodes > sh.lim.Nodes {
		return
	}
	sh.nodes++
	if d > sh.depth {
		sh.depth = d
	}
	if n.Kind == yaml.AliasNode {
		sh.walk(n.Alias, d+1)
		return
	}
	for _, c := range n.Content {
		sh.walk(c, d+1)
	}
}
