package savedmodel

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sAttr(key, v string) []byte {
	return msg(str(nil, 1, key), 2, str(nil, attrS, v))
}

func listAttr(key string, vs ...string) []byte {
	var l []byte
	for _, v := range vs {
		l = str(l, listS, v)
	}
	return msg(str(nil, 1, key), 2, msg(nil, attrList, l))
}

func constString(name, v string) []byte {
	n := str(nil, nodeName, name)
	n = str(n, nodeOp, "Const")
	return msg(n, nodeAttr, msg(str(nil, 1, "value"), 2, msg(nil, attrTensor, str(nil, tensorStringVal, v))))
}

func opNode(name, op string, inputs []string, attrs ...[]byte) []byte {
	n := str(nil, nodeName, name)
	n = str(n, nodeOp, op)
	for _, in := range inputs {
		n = str(n, nodeInput, in)
	}
	for _, a := range attrs {
		n = msg(n, nodeAttr, a)
	}
	return n
}

func TestAttrsAndPaths(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want []string
	}{
		{"PrintV2 to stderr is low", savedModel([][]byte{opNode("p", "PrintV2", []string{"x"}, sAttr("output_stream", "stderr"))}), []string{"low saved_model.pb#p"}},
		{"PrintV2 to a file is high", savedModel([][]byte{opNode("p", "PrintV2", []string{"x"}, sAttr("output_stream", "file:///home/u/.bashrc"))}), []string{"high saved_model.pb#p"}},
		{"DebugIdentity to a file URL is high", savedModel([][]byte{opNode("d", "DebugIdentity", []string{"x"}, listAttr("debug_urls", "file:///tmp/dump"))}), []string{"high saved_model.pb#d"}},
		{"saver op named save/ writing to an absolute path is high", savedModel([][]byte{constString("save/Const", "/etc/cron.d/x"), opNode("save/SaveV2", "SaveV2", []string{"save/Const", "a", "b"})}), []string{"high saved_model.pb#save/SaveV2"}},
		{"saver with its default relative filename is clean", savedModel([][]byte{constString("save/filename/input", "model"), opNode("save/filename", "PlaceholderWithDefault", []string{"save/filename/input"}), opNode("save/SaveV2", "SaveV2", []string{"save/filename:0", "a", "b"})}), nil},
		{"table from an absolute path is high", savedModel([][]byte{constString("c", "/etc/passwd"), opNode("t", "InitializeTableFromTextFileV2", []string{"table", "c"})}), []string{"high saved_model.pb#t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(input(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, summary(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, res)
			}
		})
	}
}

func TestAssetTable(t *testing.T) {
	nodes := [][]byte{constString("asset_path/Const", "/tmp/export/vocab.txt"), opNode("init", "InitializeTableFromTextFileV2", []string{"hash_table", "asset_path/Const:0"})}
	var g []byte
	for _, n := range nodes {
		g = msg(g, graphNode, n)
	}
	meta := msg(nil, metaGraphDef, g)
	asset := msg(nil, assetTensorInfo, str(nil, tensorInfoName, "asset_path/Const:0"))
	asset = str(asset, assetFilename, "vocab.txt")
	meta = msg(meta, metaAssetFileDef, asset)
	file := msg(protowireVersion(), savedMetaGraphs, meta)
	res, err := Scan(input(file))
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("asset-initialised table: %v %+v", err, res)
	}
	// The same graph without the AssetFileDef reads a host file.
	res, _ = Scan(input(savedModel(nodes)))
	if len(res.Findings) != 1 || res.Findings[0].Severity.String() != "high" {
		t.Fatalf("without asset: %+v", res)
	}
}

func protowireVersion() []byte { return []byte{0x08, 0x01} }

const textModel = `# comment
saved_model_schema_version: 1
meta_graphs {
  meta_info_def { tags: "serve" }
  graph_def {
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node {
      name: "p"
      op: "PrintV2"
      input: "x"
      attr { key: "output_stream" value { s: "file:///tmp/\x6fut" } }
    }
    library {
      function {
        signature { name: "__inference_f_1" }
        node_def { name: "cb" op: "EagerPyFunc" input: [ "a", "b" ] }
      }
    }
  }
}
`

func TestScanText(t *testing.T) {
	if !DetectText([]byte(textModel)) || DetectText([]byte("hello")) {
		t.Fatal("DetectText")
	}
	res, err := ScanText(input([]byte(textModel)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"high saved_model.pb#p", "critical saved_model.pb#__inference_f_1/cb"}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(res.Findings[0].Reason, "/tmp/out") {
		t.Errorf("escape not decoded: %s", res.Findings[0].Reason)
	}
	for i := 1; i < len(textModel)-2; i += 7 {
		if _, err := ScanText(input([]byte(textModel[:i]))); err == nil && i < strings.LastIndex(textModel, "}") {
			t.Errorf("prefix of %d bytes parsed without error", i)
		}
	}
}
