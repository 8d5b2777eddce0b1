package scan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/gatehouse-dev/gatehouse/internal/testregistry"
	"github.com/gatehouse-dev/gatehouse/scanners/model"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// streamFiles are safetensors and GGUF files (judged as they stream past,
// see model.ScanMemberSized) next to a file that is copied: clean,
// hostile and malformed.
func streamFiles() map[string][]byte {
	data := make([]byte, 50000)
	rand.NewChaCha8([32]byte{9}).Read(data)
	st := func(hdr string, data []byte) []byte {
		for len(hdr)%8 != 0 {
			hdr += " "
		}
		return append(append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), hdr...), data...)
	}
	tens := func(b, e int) string {
		return fmt.Sprintf(`{"w":{"dtype":"U8","shape":[%d],"data_offsets":[%d,%d]}}`, e-b, b, e)
	}
	gs := func(b []byte, s string) []byte {
		return append(binary.LittleEndian.AppendUint64(b, uint64(len(s))), s...)
	}
	g := []byte("GGUF")
	g = binary.LittleEndian.AppendUint32(g, 3)
	g = binary.LittleEndian.AppendUint64(g, 1) // tensors
	g = binary.LittleEndian.AppendUint64(g, 1) // kv
	g = gs(g, "tokenizer.chat_template")
	g = binary.LittleEndian.AppendUint32(g, 8)
	g = gs(g, "{{ cycler.__init__.__globals__.os.popen('id').read() }}")
	g = gs(g, "w")
	g = binary.LittleEndian.AppendUint32(g, 1)
	g = binary.LittleEndian.AppendUint64(g, 10000)
	g = binary.LittleEndian.AppendUint32(g, 0) // F32
	g = binary.LittleEndian.AppendUint64(g, 0)
	for len(g)%32 != 0 {
		g = append(g, 0)
	}
	g = append(g, data[:40000]...)
	return map[string][]byte{
		"model.safetensors":                       st(tens(0, len(data)), data),
		"hidden/model-00001.safetensors":          st(tens(0, len(data)-1000), data),
		"truncated/model.safetensors":             st(tens(0, len(data)+64), data),
		"gguf/model.gguf":                         g,
		"pickle/pytorch_model.bin":                evilPickle,
		"config.json":                             []byte(`{"architectures": ["Llama"]}`),
		"not-a-model/model.safetensors.README":    []byte("notes\n"),
		"random/model.safetensors":                data[:5000],
		"gguf/model-truncated-in-header.gguf":     g[:60],
		"hidden/model-00002-of-00002.safetensors": st(tens(100, len(data)), data),
	}
}

// strip drops the origin suffix a tree's location gains.
func strip(loc string) string {
	if i := strings.Index(loc, " [layer "); i >= 0 {
		return loc[:i]
	}
	return loc
}

// compareWithFolderScan: scan.Model over t judges every file as a scan of
// the folder on disk does.
func compareWithFolderScan(t *testing.T, dir string, tree sources.Tree) {
	t.Helper()
	want, err := model.Scan(context.Background(), dir, model.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Model(context.Background(), tree, model.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var gotF []finding.Finding
	for _, f := range got.Findings {
		f.Location = strip(f.Location)
		gotF = append(gotF, f.Finding)
	}
	var gotN []finding.NotVerified
	for _, n := range got.NotVerified {
		n.Location = strip(n.Location)
		gotN = append(gotN, n.NotVerified)
	}
	if len(want.Findings) == 0 || len(want.NotVerified) == 0 {
		t.Fatalf("the folder scan should find and miss something: %+v", want)
	}
	if !reflect.DeepEqual(gotF, want.Findings) || !reflect.DeepEqual(gotN, want.NotVerified) ||
		got.FilesScanned != want.FilesScanned || got.BytesScanned != want.BytesScanned || got.Verified != want.Verified {
		t.Errorf("tree scan differs from the folder scan:\nwant %d files %d bytes\n  %+v\n  %+v\ngot %d files %d bytes\n  %+v\n  %+v",
			want.FilesScanned, want.BytesScanned, want.Findings, want.NotVerified, got.FilesScanned, got.BytesScanned, gotF, gotN)
	}
}

// TestModelStreamedLocalTree: files of a local tree (sizes from stat).
func TestModelStreamedLocalTree(t *testing.T) {
	dir := writeTree(t, streamFiles())
	tree, err := sources.Open(context.Background(), dir, sources.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	compareWithFolderScan(t, dir, tree)
}

// TestModelStreamedOCI: files of an OCI artifact in a loopback registry
// (sizes from the tar headers), streamed from the registry.
func TestModelStreamedOCI(t *testing.T) {
	addr, stop, err := testregistry.Distribution()
	if errors.Is(err, testregistry.ErrNoBinary) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := writeTree(t, streamFiles())
	opts := sources.Options{Registry: sources.RegistryOptions{Keychain: authn.NewMultiKeychain()}}
	ref := "oci://" + addr + "/stream/model:v1"
	if _, err := sources.Push(context.Background(), dir, ref, opts); err != nil {
		t.Fatal(err)
	}
	tree, err := sources.Open(context.Background(), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	compareWithFolderScan(t, dir, tree)
}
