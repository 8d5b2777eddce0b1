package fairness

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
)

// Slots of a row: the values a reader hands to the accumulator.
const (
	slotLabel = iota
	slotPred
	slotScore
	slotGroup0 // group columns follow
)

// counts are one cell's counters: the only per-row state kept.
type counts struct {
	tp, fp, tn, fn int64
	// score histograms of label-positive and label-negative rows (nil
	// without a score column)
	hpos, hneg []uint64
}

func (c *counts) add(o *counts) {
	c.tp += o.tp
	c.fp += o.fp
	c.tn += o.tn
	c.fn += o.fn
	if o.hpos != nil {
		if c.hpos == nil {
			c.hpos, c.hneg = make([]uint64, AUCBins), make([]uint64, AUCBins)
		}
		for i := range o.hpos {
			c.hpos[i] += o.hpos[i]
			c.hneg[i] += o.hneg[i]
		}
	}
}

// binaryCol tracks the two values a label or prediction column may hold.
type binaryCol struct {
	name     string
	sawPos   bool
	other    []byte
	hasOther bool
}

// accum counts rows per cell (one combination of group values).
type accum struct {
	o        Options
	pos      []byte
	label    binaryCol
	pred     binaryCol
	colIDs   []map[string]uint32 // per group column: value -> id
	colVals  [][]string          // per group column: id -> value
	colBytes [][][]byte          // colVals as bytes, scanned while short
	cellIdx  map[string]int32    // encoded ids -> cell (when ids do not pack)
	cellPack map[uint64]int32    // packed ids -> cell
	packBits int                 // bits per id in a packed key; 0: no packing
	cellKeys [][]uint32
	cells    []counts
	key      []byte
	rows     int64
}

func newAccum(o Options) *accum {
	a := &accum{o: o, pos: []byte(o.Positive), cellIdx: map[string]int32{}}
	a.label.name, a.pred.name = o.Label, o.Prediction
	a.colIDs = make([]map[string]uint32, len(o.Groups))
	a.colVals = make([][]string, len(o.Groups))
	a.colBytes = make([][][]byte, len(o.Groups))
	// ids are below MaxGroupValues: pack them into one uint64 key when they fit
	if bits := bitsFor(o.Limits.MaxGroupValues); bits*len(o.Groups) <= 64 {
		a.packBits, a.cellPack = bits, map[uint64]int32{}
	}
	for i := range a.colIDs {
		a.colIDs[i] = map[string]uint32{}
	}
	return a
}

func bitsFor(n int) int {
	b := 1
	for 1<<b < n {
		b++
	}
	return b
}

// shortScan: columns with at most this many values are searched by
// comparing bytes, faster than hashing for a handful of short values.
const shortScan = 16

// valueID returns the id of group value v in column g.
func (a *accum) valueID(g int, v []byte) (uint32, bool) {
	if vals := a.colBytes[g]; len(vals) <= shortScan {
		for i, x := range vals {
			if bytes.Equal(x, v) {
				return uint32(i), true
			}
		}
		return 0, false
	}
	id, ok := a.colIDs[g][string(v)]
	return id, ok
}

func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

func (b *binaryCol) isPos(v, pos []byte, where rowRef) (bool, error) {
	if bytes.Equal(v, pos) {
		b.sawPos = true
		return true, nil
	}
	if !b.hasOther {
		b.other, b.hasOther = append([]byte(nil), v...), true
		return false, nil
	}
	if bytes.Equal(v, b.other) {
		return false, nil
	}
	if !b.sawPos {
		return false, badInput("%s: column %q holds %q and %q and neither is the positive value %q: pass --positive with the positive class's value",
			where, b.name, textsafe.Escape(string(b.other)), textsafe.Escape(string(v)), textsafe.Escape(string(pos)))
	}
	return false, badInput("%s: column %q has a third value %q (besides %q and %q): label and prediction must be binary; --positive names the positive value",
		where, b.name, textsafe.Escape(string(v)), textsafe.Escape(string(pos)), textsafe.Escape(string(b.other)))
}

// rowRef names a row for errors ("data row 12", "record 3"), formatted
// only when there is an error.
type rowRef struct {
	kind string
	n    int64
}

func (r rowRef) String() string { return r.kind + " " + strconv.FormatInt(r.n, 10) }

// row counts one row. vals[s] is slot s's value when has[s].
func (a *accum) row(vals [][]byte, has []bool, where rowRef) error {
	lim := a.o.Limits
	for s, role := range []string{"label", "prediction"} {
		if !has[s] || len(vals[s]) == 0 {
			col := a.o.Label
			if s == slotPred {
				col = a.o.Prediction
			}
			return badInput("%s: no %s (column %q is empty)", where, role, col)
		}
		if len(vals[s]) > lim.MaxValueBytes {
			return fmt.Errorf("%s: %s value longer than %d bytes: %w", where, role, lim.MaxValueBytes, ErrLimit)
		}
	}
	y, err := a.label.isPos(vals[slotLabel], a.pos, where)
	if err != nil {
		return err
	}
	yhat, err := a.pred.isPos(vals[slotPred], a.pos, where)
	if err != nil {
		return err
	}
	bin := -1
	if a.o.Score != "" {
		if !has[slotScore] || len(vals[slotScore]) == 0 {
			return badInput("%s: no score (column %q is empty)", where, a.o.Score)
		}
		s, err := parseScore(vals[slotScore])
		if err != nil || math.IsNaN(s) || s < 0 || s > 1 {
			return badInput("%s: score %q in column %q is not a number between 0 and 1: give probabilities (apply a sigmoid to raw scores)",
				where, textsafe.Escape(string(vals[slotScore])), a.o.Score)
		}
		bin = int(s * AUCBins)
		if bin >= AUCBins {
			bin = AUCBins - 1
		}
	}
	a.key = a.key[:0]
	var packed uint64
	for g := range a.o.Groups {
		s := slotGroup0 + g
		v := vals[s]
		if !has[s] || len(v) == 0 {
			if a.o.Missing == "error" {
				return badInput("%s: no value in group column %q (--missing error; --missing group makes it the group %q)", where, a.o.Groups[g], MissingGroup)
			}
			v = missingBytes
		} else if bytes.Equal(v, missingBytes) {
			return badInput("%s: group column %q holds the value %q, which is the name of the missing-value group", where, a.o.Groups[g], MissingGroup)
		}
		id, ok := a.valueID(g, v)
		if !ok {
			if len(v) > lim.MaxValueBytes {
				return fmt.Errorf("%s: group value in column %q longer than %d bytes: %w", where, a.o.Groups[g], lim.MaxValueBytes, ErrLimit)
			}
			if len(a.colVals[g]) >= lim.MaxGroupValues {
				return fmt.Errorf("%s: group column %q has more than %d distinct values (is it a group column?): %w", where, a.o.Groups[g], lim.MaxGroupValues, ErrLimit)
			}
			id = uint32(len(a.colVals[g]))
			a.colIDs[g][string(v)] = id
			a.colVals[g] = append(a.colVals[g], string(v))
			a.colBytes[g] = append(a.colBytes[g], []byte(string(v)))
		}
		if a.packBits > 0 {
			packed |= uint64(id) << (g * a.packBits)
		} else {
			a.key = binary.AppendUvarint(a.key, uint64(id))
		}
	}
	var ci int32
	var ok bool
	if a.packBits > 0 {
		ci, ok = a.cellPack[packed]
	} else {
		ci, ok = a.cellIdx[string(a.key)]
	}
	if !ok {
		if len(a.cells) >= lim.MaxCells {
			return fmt.Errorf("%s: more than %d intersections of the group columns: %w", where, lim.MaxCells, ErrLimit)
		}
		ids := make([]uint32, 0, len(a.o.Groups))
		ci = int32(len(a.cells))
		if a.packBits > 0 {
			for g := range a.o.Groups {
				ids = append(ids, uint32(packed>>(g*a.packBits)&(1<<a.packBits-1)))
			}
			a.cellPack[packed] = ci
		} else {
			for k := a.key; len(k) > 0; {
				v, n := binary.Uvarint(k)
				ids = append(ids, uint32(v))
				k = k[n:]
			}
			a.cellIdx[string(a.key)] = ci
		}
		a.cellKeys = append(a.cellKeys, ids)
		c := counts{}
		if bin >= 0 {
			c.hpos, c.hneg = make([]uint64, AUCBins), make([]uint64, AUCBins)
		}
		a.cells = append(a.cells, c)
	}
	c := &a.cells[ci]
	switch {
	case y && yhat:
		c.tp++
	case y:
		c.fn++
	case yhat:
		c.fp++
	default:
		c.tn++
	}
	if bin >= 0 {
		if y {
			c.hpos[bin]++
		} else {
			c.hneg[bin]++
		}
	}
	a.rows++
	return nil
}

var missingBytes = []byte(MissingGroup)

// parseScore parses a decimal number without allocating in the common case.
func parseScore(b []byte) (float64, error) {
	var arr [32]byte
	if len(b) <= len(arr) {
		n := copy(arr[:], b)
		return strconv.ParseFloat(string(arr[:n]), 64)
	}
	return strconv.ParseFloat(string(b), 64)
}

// finish turns the counters into evidence.
func (a *accum) finish() (*Evidence, error) {
	if a.rows == 0 {
		return nil, badInput("no data rows: there is nothing to judge")
	}
	if !a.label.sawPos && !a.pred.sawPos {
		seen := "nothing"
		if a.label.hasOther {
			seen = strconv.Quote(textsafe.Escape(string(a.label.other)))
		}
		return nil, badInput("the positive value %q appears in neither the label column %q nor the prediction column %q (the label column holds %s): pass --positive with the positive class's value",
			textsafe.Escape(a.o.Positive), a.o.Label, a.o.Prediction, seen)
	}
	ev := &Evidence{
		Schema: Schema,
		Settings: Settings{
			Label: a.o.Label, Prediction: a.o.Prediction, Score: a.o.Score,
			Groups: append([]string(nil), a.o.Groups...), Positive: a.o.Positive,
			Missing: a.o.Missing, MinGroupSize: a.o.MinGroupSize, Confidence: Confidence,
			RateInterval: "wilson",
		},
		Rows: a.rows,
	}
	if a.label.hasOther {
		ev.Settings.Negative = string(a.label.other)
	} else if a.pred.hasOther {
		ev.Settings.Negative = string(a.pred.other)
	}
	if a.o.Score != "" {
		ev.Settings.AUCMethod = fmt.Sprintf("histogram of %d equal-width score bins over [0,1]; ties within a bin count one half; max_error bounds the distance from the exact AUC", AUCBins)
	}
	for g, col := range a.o.Groups {
		m := map[uint32]*counts{}
		for i, key := range a.cellKeys {
			c := m[key[g]]
			if c == nil {
				c = &counts{}
				m[key[g]] = c
			}
			c.add(&a.cells[i])
		}
		var groups []rawGroup
		for id, c := range m {
			groups = append(groups, rawGroup{values: []string{a.colVals[g][id]}, c: c})
		}
		ev.Groupings = append(ev.Groupings, a.grouping([]string{col}, false, groups))
	}
	if len(a.o.Groups) > 1 {
		var groups []rawGroup
		for i, key := range a.cellKeys {
			vals := make([]string, len(key))
			for g, id := range key {
				vals[g] = a.colVals[g][id]
			}
			groups = append(groups, rawGroup{values: vals, c: &a.cells[i]})
		}
		ev.Groupings = append(ev.Groupings, a.grouping(a.o.Groups, true, groups))
	}
	return ev, nil
}

type rawGroup struct {
	values []string
	c      *counts
}

func (a *accum) grouping(cols []string, inter bool, raw []rawGroup) Grouping {
	sort.Slice(raw, func(i, j int) bool {
		x, y := raw[i].values, raw[j].values
		for k := range x {
			if x[k] != y[k] {
				return x[k] < y[k]
			}
		}
		return false
	})
	gr := Grouping{Name: joinName(cols), Columns: append([]string(nil), cols...), Intersection: inter}
	z := zFor(Confidence)
	for _, r := range raw {
		gr.Groups = append(gr.Groups, makeGroup(r, a.o.MinGroupSize, z, a.o.Score != ""))
	}
	gr.Gaps = gaps(gr.Groups, raw)
	return gr
}

func rate(x, n int64, z float64) *Rate {
	if n <= 0 {
		return nil
	}
	w := wilson(x, n, z)
	return &Rate{Value: round6(float64(x) / float64(n)), CI: Interval{round6(w[0]), round6(w[1])}}
}

func makeGroup(r rawGroup, minSize int, z float64, score bool) Group {
	c := r.c
	n := c.tp + c.fp + c.tn + c.fn
	pos, neg := c.tp+c.fn, c.fp+c.tn
	g := Group{
		Name: joinName(r.values), Values: r.values, Count: n, Positives: pos, Negatives: neg,
		TP: c.tp, FP: c.fp, TN: c.tn, FN: c.fn,
		BaseRate:      rate(pos, n, z),
		SelectionRate: rate(c.tp+c.fp, n, z),
		TPR:           rate(c.tp, pos, z),
		FPR:           rate(c.fp, neg, z),
		FNR:           rate(c.fn, pos, z),
		Precision:     rate(c.tp, c.tp+c.fp, z),
		Accuracy:      rate(c.tp+c.tn, n, z),
	}
	if n < int64(minSize) {
		g.TooSmall = true
		g.Notes = append(g.Notes, fmt.Sprintf("%d rows, fewer than the minimum group size of %d: too small to judge, left out of the gaps", n, minSize))
	}
	if pos == 0 {
		g.Notes = append(g.Notes, "no positive labels: TPR, FNR and ROC AUC are undefined; left out of the equal opportunity and TPR gaps")
	}
	if neg == 0 {
		g.Notes = append(g.Notes, "no negative labels: FPR and ROC AUC are undefined; left out of the FPR gap")
	}
	if c.tp+c.fp == 0 {
		g.Notes = append(g.Notes, "no positive predictions: precision is undefined")
	}
	if score && pos > 0 && neg > 0 {
		g.ROCAUC = binnedAUC(c.hpos, c.hneg, pos, neg)
	}
	return g
}

// binnedAUC is the Mann-Whitney AUC over the histogram: a positive in a
// higher bin than a negative counts 1, in the same bin 1/2. Exactly, a
// same-bin pair counts 0, 1/2 or 1, so the error is at most
// (1/2)·Σ_b pos_b·neg_b / (P·N).
func binnedAUC(hpos, hneg []uint64, pos, neg int64) *AUC {
	var below, wins, ties float64
	for b := range hpos {
		p, n := float64(hpos[b]), float64(hneg[b])
		wins += p * below
		ties += p * n
		below += n
	}
	pn := float64(pos) * float64(neg)
	return &AUC{Value: round6((wins + ties/2) / pn), MaxError: round6(ties / 2 / pn)}
}
