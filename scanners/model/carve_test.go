package model

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// TestCarveWindows: a pickle hidden in unrecognised data is found wherever
// it sits relative to carve's 1 MiB windows (its marker split across two,
// at the very start (then the file is a pickle), past the first window, right before the 64 MiB end of
// the search), a second one after the first is found too, and one past
// the searched region is not claimed.
func TestCarveWindows(t *testing.T) {
	const w = 1 << 20
	for _, tc := range []struct {
		offsets []int
		size    int
		want    int // findings naming posix.system
	}{
		{[]int{0}, 3 * w, 1},
		{[]int{w - 1}, 3 * w, 1},
		{[]int{w}, 3 * w, 1},
		{[]int{w + 1}, 3 * w, 1},
		{[]int{2*w - 40}, 3 * w, 1},
		{[]int{10, w + 5}, 3 * w, 2},
		{[]int{(64 << 20) - 200}, 65 << 20, 1},
		{[]int{(64 << 20) + 10}, 65 << 20, 0},
	} {
		t.Run(fmt.Sprint(tc.offsets), func(t *testing.T) {
			data := bytes.Repeat([]byte{0x11}, tc.size)
			for _, off := range tc.offsets {
				copy(data[off:], evilPickle)
			}
			rep := ScanReader(context.Background(), bytes.NewReader(data), int64(len(data)), "blob.bin", DefaultOptions())
			got := 0
			for _, f := range rep.Findings {
				if f.Module == "posix" && f.Name == "system" && strings.HasPrefix(f.Location, "blob.bin@") {
					got++
				}
			}
			if got != tc.want {
				t.Fatalf("pickles at %v in %d bytes: %d findings, want %d: %+v", tc.offsets, tc.size, got, tc.want, rep.Findings)
			}
		})
	}
}

// TestCarveRandomDataIsNoise: random bytes (a raw tensor dump, external
// weights) hold pickle markers that parse now and then; what they "import"
// could never be resolved by CPython (names that are no UTF-8 or hold
// control characters, extension codes nobody registered), so no finding is
// made of it. The file is still not verified: nothing recognised it.
func TestCarveRandomDataIsNoise(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		data := make([]byte, 16<<20)
		rand.New(rand.NewSource(seed)).Read(data)
		copy(data[5<<20:], evilPickle) // and a real payload among them
		rep := ScanReader(context.Background(), bytes.NewReader(data), int64(len(data)), "weights.bin", DefaultOptions())
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.Module+"."+f.Name)
		}
		if len(got) != 1 || got[0] != "posix.system" {
			t.Errorf("seed %d: findings %q, want only the hidden posix.system", seed, got)
		}
		if len(rep.NotVerified) == 0 {
			t.Errorf("seed %d: unrecognised data reported verified", seed)
		}
	}
}
