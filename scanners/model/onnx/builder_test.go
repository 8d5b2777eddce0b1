package onnx

import (
	"github.com/gatehouse-dev/gatehouse/scanners/model/protowire"
)

// Builders of ONNX protobuf messages for tests.

func str(b []byte, num int, s string) []byte {
	return protowire.AppendBytesField(b, protowireNum(num), []byte(s))
}

func msg(b []byte, num int, m []byte) []byte {
	return protowire.AppendBytesField(b, protowireNum(num), m)
}

func varint(b []byte, num int, v uint64) []byte {
	return protowire.AppendVarintField(b, protowireNum(num), v)
}

func node(name, op, domain string, attrs ...[]byte) []byte {
	b := str(nil, 1, "x")
	b = str(b, 2, "y")
	b = str(b, nodeName, name)
	b = str(b, nodeOpType, op)
	for _, a := range attrs {
		b = msg(b, nodeAttribute, a)
	}
	if domain != "" {
		b = str(b, nodeDomain, domain)
	}
	return b
}

// graphAttr is an AttributeProto holding a subgraph.
func graphAttr(name string, g []byte) []byte {
	return msg(str(nil, 1, name), attrG, g)
}

func graph(parts ...[]byte) []byte {
	b := str(nil, 2, "main")
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func nodeField(n []byte) []byte { return msg(nil, graphNode, n) }

func initializer(name string, raw []byte) []byte {
	t := varint(nil, 1, uint64(len(raw)))
	t = varint(t, 2, 2) // UINT8
	t = str(t, tensorName, name)
	t = msg(t, 9, raw)
	return msg(nil, graphInitializer, t)
}

func externalInit(name, location string) []byte {
	t := varint(nil, 1, 4)
	t = varint(t, 2, 1)
	t = str(t, tensorName, name)
	t = msg(t, tensorExternal, str(str(nil, entryKey, "location"), entryValue, location))
	t = msg(t, tensorExternal, str(str(nil, entryKey, "offset"), entryValue, "0"))
	t = varint(t, tensorLocation, 1)
	return msg(nil, graphInitializer, t)
}

func model(g []byte, extra ...[]byte) []byte {
	b := varint(nil, modelIRVersion, 8)
	b = str(b, 2, "pytorch")
	b = str(b, 3, "2.3")
	b = msg(b, modelGraph, g)
	b = msg(b, modelOpset, varint(str(nil, 1, ""), 2, 17))
	for _, e := range extra {
		b = append(b, e...)
	}
	return b
}

func function(domain, name string, nodes ...[]byte) []byte {
	f := str(nil, funcName, name)
	for _, n := range nodes {
		f = msg(f, funcNode, n)
	}
	f = str(f, funcDomain, domain)
	return msg(nil, modelFunctions, f)
}
