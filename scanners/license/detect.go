package license

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/scanners/license/internal/shingle"
)

// Detected is a licence found in a licence text, or (Reason set) why none
// could be named.
type Detected struct {
	ID         string
	Confidence float64 // share of the text's words the named licences cover, 0..1
	Reason     string
	// Unresolved lists the other ids the text may equally be: a GNU
	// licence text does not say "-only" or "-or-later", and a few SPDX
	// licences share one text. The policy judges the strictest reading.
	Unresolved []string
}

// Matching parameters.
const (
	// minContainment is the share of a licence's shingles that must occur
	// in the text for the licence to be named.
	minContainment = 0.75
	// maxPerText bounds the licences named in one text.
	maxPerText = 16
	// extraTermsWords: a run of this many words that belong to none of the
	// named licences is reported, since it may add or change terms.
	extraTermsWords = 25
	// maxChangedShare: above this share of the text's 5-word sequences
	// outside every named licence, the text is reported as possibly modified.
	maxChangedShare = 0.12
)

// Detect names the licences in a licence text by matching its 5-word
// shingles against every text of the SPDX License List (spdx_index.bin).
// The licence whose text the input holds best (most shared shingles, fewest
// missing) is named first, so a variant with an extra clause
// (BSD-3-Clause-No-Military-License) wins over its neighbour without it;
// further licences in a concatenated file are named while they add text
// not already covered. Confidence is the share of the text's words the
// named licences cover; below minCoverage percent the text is unknown
// rather than guessed. A run of extraTermsWords or more words that no named
// licence covers is reported as an unknown entry beside the licences (it
// may add or change terms).
func Detect(text []byte, minCoverage float64) []Detected {
	ix, err := loadIndex()
	if err != nil {
		return []Detected{{Reason: err.Error()}}
	}
	words := shingle.Words(shingle.StripCopyright(string(text)))
	if len(words) == 0 {
		return []Detected{{Reason: "the file holds no words"}}
	}
	hs := shingle.Hashes(words)
	type distinct struct {
		post    []byte
		covered bool
	}
	where := make(map[uint32]int, len(hs))
	inputHas := make([]uint64, (ix.n+63)/64) // hash numbers the input holds
	var ds []distinct
	pos := make([]int, len(hs))
	for i, h := range hs {
		j, ok := where[h]
		if !ok {
			j = len(ds)
			where[h] = j
			k, post := ix.lookup(h)
			ds = append(ds, distinct{post: post})
			if k >= 0 {
				inputHas[k>>6] |= 1 << (k & 63)
			}
		}
		pos[i] = j
	}
	inter := make([]int32, len(ix.entries))
	fresh := make([]int32, len(ix.entries))
	var picked []int
	bestMiss, bestMissShare := -1, 0.0
	for len(picked) < maxPerText {
		clear(inter)
		clear(fresh)
		for _, d := range ds {
			for k := 0; k+1 < len(d.post); k += 2 {
				e := binary.LittleEndian.Uint16(d.post[k:])
				inter[e]++
				if !d.covered {
					fresh[e]++
				}
			}
		}
		var cands []cand
		for e, n := range inter {
			if n == 0 {
				continue
			}
			c := ix.entries[e].shingles
			share := float64(n) / float64(c)
			if share < minContainment {
				if len(picked) == 0 && share > bestMissShare {
					bestMiss, bestMissShare = e, share
				}
				continue
			}
			if f := int(fresh[e]); f < 5 || float64(f) < 0.25*float64(c) {
				continue // adds nothing a named licence does not already cover
			}
			cands = append(cands, cand{e: e, n: int(n), score: 2*int(n) - c})
		}
		best := -1
		if len(cands) > 0 {
			slices.SortFunc(cands, func(a, b cand) int { return cmp.Or(b.score-a.score, b.n-a.n, a.e-b.e) })
			w := cands[0]
			for _, c := range cands[1:min(len(cands), 8)] {
				if ix.beats(c, w, inputHas) {
					w = c
				}
			}
			best = w.e
		}
		if best < 0 {
			break
		}
		picked = append(picked, best)
		for j := range ds {
			if !ds[j].covered && hasEntry(ds[j].post, best) {
				ds[j].covered = true
			}
		}
	}
	if len(picked) == 0 {
		if bestMiss >= 0 {
			return []Detected{{Reason: fmt.Sprintf("no licence text of the SPDX License List %s matched (closest: %s, %.0f%% of its text found, %.0f%% needed)", ix.version, ix.entries[bestMiss].id, 100*bestMissShare, 100*minContainment)}}
		}
		return []Detected{{Reason: fmt.Sprintf("no licence text of the SPDX License List %s matched", ix.version)}}
	}
	// Name the licences in the order their texts start.
	first := map[int]int{}
	for i := range hs {
		for _, e := range picked {
			if _, ok := first[e]; !ok && hasEntry(ds[pos[i]].post, e) {
				first[e] = i
			}
		}
	}
	slices.SortStableFunc(picked, func(a, b int) int { return first[a] - first[b] })
	// A word is covered when a covered shingle holds it.
	covered := make([]bool, len(words))
	for i := range hs {
		if ds[pos[i]].covered {
			for w := i; w < i+shingle.Size && w < len(words); w++ {
				covered[w] = true
			}
		}
	}
	n := 0
	for _, c := range covered {
		if c {
			n++
		}
	}
	pct := 100 * float64(n) / float64(len(words))
	var ids []string
	for _, e := range picked {
		ids = append(ids, ix.entries[e].id)
	}
	if pct < minCoverage {
		return []Detected{{Reason: fmt.Sprintf("the licence texts found (%s) cover only %.0f%% of the text, below the %.0f%% needed to name it", strings.Join(ids, ", "), pct, minCoverage)}}
	}
	conf := math.Round(pct) / 100
	out := make([]Detected, 0, len(picked)+1)
	for _, e := range picked {
		en := ix.entries[e]
		out = append(out, Detected{ID: en.id, Confidence: conf, Unresolved: append([]string(nil), en.unresolved...)})
	}
	out = mergeExceptions(out)
	// A licence whose wording was changed in many places is not that
	// licence: say so beside it.
	if nd := len(ds); nd >= 20 {
		un := 0
		for _, d := range ds {
			if !d.covered {
				un++
			}
		}
		if share := float64(un) / float64(nd); share > maxChangedShare {
			out = append(out, Detected{Reason: fmt.Sprintf("%.0f%% of the text's word sequences are not in %s: it may be a modified licence", 100*share, strings.Join(ids, ", "))})
		}
	}
	// Runs of words no named licence covers.
	for i := 0; i < len(words); {
		if covered[i] {
			i++
			continue
		}
		j := i
		for j < len(words) && !covered[j] {
			j++
		}
		if j-i >= extraTermsWords {
			snippet := words[i:min(j, i+12)]
			out = append(out, Detected{Reason: fmt.Sprintf("%d words (from word %d: %q…) are not part of %s and may add or change terms", j-i, i+1, strings.Join(snippet, " "), strings.Join(ids, ", "))})
		}
		i = j
	}
	return out
}

func hasEntry(post []byte, e int) bool {
	for k := 0; k+1 < len(post); k += 2 {
		if int(binary.LittleEndian.Uint16(post[k:])) == e {
			return true
		}
	}
	return false
}

type cand struct{ e, n, score int }

// beats decides between two licences whose texts the input both holds
// (each above minContainment): the one whose own wording (shingles the
// other lacks: the No-Military clause, the AGPL's network clause) the
// input holds in the clearly larger share wins, so a BSD-3-Clause text is
// not the No-Military licence and the No-Military text is not
// BSD-3-Clause; when the shares are close, the licence with more shared
// and fewer missing shingles wins.
func (ix *index) beats(b, a cand, inputHas []uint64) bool {
	ownA, foundA := ix.ownShingles(a.e, b.e, inputHas)
	ownB, foundB := ix.ownShingles(b.e, a.e, inputHas)
	ra, rb := share(foundA, ownA), share(foundB, ownB)
	switch {
	case rb-ra > 0.15 && foundB >= 3:
		return true
	case ra-rb > 0.15 && foundA >= 3:
		return false
	}
	return b.score > a.score
}

func share(found, own int) float64 {
	if own == 0 {
		return 1
	}
	return float64(found) / float64(own)
}

// ownShingles counts a's shingles that b lacks, and how many of them the
// input holds.
func (ix *index) ownShingles(a, b int, inputHas []uint64) (own, found int) {
	fwd := ix.forward()
	la, lb := fwd[a], fwd[b]
	j := 0
	for _, k := range la {
		for j < len(lb) && lb[j] < k {
			j++
		}
		if j < len(lb) && lb[j] == k {
			continue
		}
		own++
		if inputHas[k>>6]&(1<<(k&63)) != 0 {
			found++
		}
	}
	return own, found
}

// forward lists each entry's shingles (as hash numbers, ascending), built
// from the postings once, when two candidates first need comparing.
func (ix *index) forward() [][]uint32 {
	ix.fwdOnce.Do(func() {
		ix.fwd = make([][]uint32, len(ix.entries))
		for i := range ix.fwd {
			ix.fwd[i] = make([]uint32, 0, ix.entries[i].shingles)
		}
		for k := 0; k < ix.n; k++ {
			a := binary.LittleEndian.Uint32(ix.offsets[4*k:])
			z := binary.LittleEndian.Uint32(ix.offsets[4*k+4:])
			for p := a; p < z; p++ {
				e := binary.LittleEndian.Uint16(ix.postings[2*p:])
				ix.fwd[e] = append(ix.fwd[e], uint32(k))
			}
		}
	})
	return ix.fwd
}

// mergeExceptions folds a GNU licence into the "X WITH exception" entry
// found beside it (the list's "-with-…-exception" texts hold the exception
// only): GPL-2.0 text + Classpath exception is one licence,
// "GPL-2.0-only WITH Classpath-exception-2.0".
func mergeExceptions(ds []Detected) []Detected {
	out := ds[:0:0]
	for i, d := range ds {
		drop := false
		for j, w := range ds {
			if j == i || !strings.Contains(w.ID, " WITH ") || strings.Contains(d.ID, " WITH ") {
				continue
			}
			base, _, _ := strings.Cut(w.ID, " WITH ")
			other, _ := OrLaterPair(base)
			if d.ID == base || d.ID == other {
				drop = true
			}
		}
		if !drop {
			out = append(out, d)
		}
	}
	return out
}
