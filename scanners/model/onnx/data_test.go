package onnx

import (
	"errors"
	"testing"
)

// tensorInit is an initializer with dims, a data type and optional raw data.
func tensorInit(name string, dtype uint64, raw []byte, hasRaw bool, dims ...uint64) []byte {
	var t []byte
	for _, d := range dims {
		t = varint(t, tensorDims, d)
	}
	t = varint(t, tensorDataType, dtype)
	t = str(t, tensorName, name)
	if hasRaw {
		t = msg(t, tensorRawData, raw)
	}
	return msg(nil, graphInitializer, t)
}

func TestTensorData(t *testing.T) {
	tests := []struct {
		name    string
		init    []byte
		wantErr bool
	}{
		{"raw data of the right size", tensorInit("w", 1, make([]byte, 16), true, 2, 2), false},
		{"empty tensor without data", tensorInit("w", 1, nil, false, 0, 4), false},
		{"2^40 elements and no data", tensorInit("w", 1, nil, false, 1<<20, 1<<20), true},
		{"raw data too short", tensorInit("w", 1, make([]byte, 15), true, 2, 2), true},
		{"scalar without data", tensorInit("w", 7, nil, false), true},
		{"4-bit type, rounded up", tensorInit("w", 22, make([]byte, 2), true, 3), false},
		{"dims overflow", tensorInit("w", 1, nil, false, 1<<40, 1<<40), true},
		{"string tensor with raw data is not size-checked", tensorInit("s", 8, []byte("abc"), true, 2), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan(input(model(graph(nodeField(node("n", "Relu", "")), tc.init)), ""))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestWrongWireType(t *testing.T) {
	bad := msg(nil, graphInitializer, str(str(nil, tensorName, "w"), tensorDataType, "x"))
	if _, err := Scan(input(model(graph(nodeField(node("n", "Relu", "")), bad)), "")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("data_type as bytes: err = %v", err)
	}
}
