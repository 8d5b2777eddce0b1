package scan

import (
	"reflect"
	"testing"

	"github.com/gatehouse-dev/gatehouse/sources/scan/remote"
)

// The "remote" object the evidence readers accept back (package remote)
// must have exactly the JSON shape of Source, Origin and ArtifactRegistry:
// a field added here and not there would make gatehouse's own evidence
// unreadable with --evidence.
func TestRemoteShapeMatches(t *testing.T) {
	for _, p := range [][2]any{{Source{}, remote.Source{}}, {Origin{}, remote.Origin{}}, {ArtifactRegistry{}, remote.ArtifactRegistry{}}} {
		a, b := jsonFields(reflect.TypeOf(p[0])), jsonFields(reflect.TypeOf(p[1]))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%T has JSON fields %v, %T has %v", p[0], a, p[1], b)
		}
	}
}

// jsonFields maps each JSON tag of t to its field's type kind.
func jsonFields(t reflect.Type) map[string]reflect.Kind {
	m := map[string]reflect.Kind{}
	for i := range t.NumField() {
		f := t.Field(i)
		m[f.Tag.Get("json")] = f.Type.Kind()
	}
	return m
}
