package savedmodel

import (
	"github.com/gatehouse-dev/gatehouse/scanners/model/protowire"
	pw "google.golang.org/protobuf/encoding/protowire"
)

func str(b []byte, num int, s string) []byte {
	return protowire.AppendBytesField(b, pw.Number(num), []byte(s))
}

func msg(b []byte, num int, m []byte) []byte {
	return protowire.AppendBytesField(b, pw.Number(num), m)
}

func nodeDef(name, op string) []byte {
	n := str(nil, nodeName, name)
	n = str(n, nodeOp, op)
	n = str(n, 3, "input:0")
	n = str(n, 4, "/device:CPU:0")
	return n
}

func function(name string, nodes ...[]byte) []byte {
	f := msg(nil, funcSignature, str(nil, opDefName, name))
	for _, n := range nodes {
		f = msg(f, funcNodeDef, n)
	}
	return f
}

// savedModel builds a SavedModel with one meta graph holding nodes and a
// function library.
func savedModel(nodes [][]byte, fns ...[]byte) []byte {
	var g []byte
	for _, n := range nodes {
		g = msg(g, graphNode, n)
	}
	if len(fns) > 0 {
		var lib []byte
		for _, f := range fns {
			lib = msg(lib, libFunction, f)
		}
		g = msg(g, graphLibrary, lib)
	}
	meta := msg(nil, 1, str(nil, 1, "tags"))
	meta = msg(meta, metaGraphDef, g)
	b := protowire.AppendVarintField(nil, savedSchemaVersion, 1)
	return msg(b, savedMetaGraphs, meta)
}

// tf2Saver is the library of a model saved by tf.saved_model.save.
func tf2Saver() [][]byte {
	return [][]byte{
		function("__inference__traced_save_1234", nodeDef("SaveV2", "SaveV2"), nodeDef("MergeV2Checkpoints", "MergeV2Checkpoints"), nodeDef("ShardedFilename", "ShardedFilename")),
		function("__inference__traced_restore_1250", nodeDef("RestoreV2", "RestoreV2"), nodeDef("RestoreV2_1", "RestoreV2")),
		function("__inference_serving_default_99", nodeDef("dense/MatMul", "MatMul"), nodeDef("dense/BiasAdd", "BiasAdd")),
	}
}
