package pickle

import "testing"

func TestLoadable(t *testing.T) {
	for _, tc := range []struct {
		imp  Import
		want bool
	}{
		{Import{Module: "posix", Name: "system", Opcode: "GLOBAL"}, true},
		{Import{Module: "torch._utils", Name: "_rebuild_tensor_v2", Opcode: "STACK_GLOBAL"}, true},
		{Import{Module: "módulo", Name: "función", Opcode: "GLOBAL"}, true},
		{Import{Opcode: "STACK_GLOBAL", Unresolved: "a non-string argument"}, true},
		{Import{Module: "os", Name: "sys" + string(make([]byte, 3)), Opcode: "GLOBAL", Unresolved: "too long"}, false},
		{Import{Module: "", Name: "abc\xe2\x82", Opcode: "GLOBAL", Unresolved: "too long"}, true}, // a prefix cut inside €
		{Import{Opcode: "EXT1", Unresolved: "extension code 10"}, false},
		{Import{Module: "os", Name: "", Opcode: "GLOBAL"}, false},
		{Import{Module: "\xa8O\xbe", Name: "system", Opcode: "GLOBAL"}, false},
		{Import{Module: "os", Name: "sys\ttem", Opcode: "GLOBAL"}, false},
		{Import{Module: "o\x00s", Name: "system", Opcode: "INST"}, false},
		{Import{Module: "os", Name: "system\x7f", Opcode: "GLOBAL"}, false},
	} {
		if got := Loadable(tc.imp); got != tc.want {
			t.Errorf("Loadable(%+v) = %v, want %v", tc.imp, got, tc.want)
		}
	}
}
