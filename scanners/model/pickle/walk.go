// Package pickle walks Python pickle opcode streams (protocols 0 to 5)
// without executing them, resolves every global they import (GLOBAL, INST,
// STACK_GLOBAL through the memo, extension codes) and judges each import
// against an allow list of what ML frameworks use and deny lists of known
// gadgets. It never unpickles anything.
package pickle

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// maxKeep is the longest string argument the walker keeps; longer strings
// can never be a module or global name and are skipped unread.
const maxKeep = 1024

// Import is one global the pickle makes the loader import.
type Import struct {
	Module string
	Name   string
	Offset int64  // absolute offset of the opcode
	Opcode string // GLOBAL, INST, STACK_GLOBAL, EXT1, EXT2, EXT4
	// Unresolved says why module/name could not be known statically
	// (a non-string STACK_GLOBAL argument, an extension code); empty when
	// Module and Name are exact.
	Unresolved string
}

// Pickle is what one walk over one pickle found.
type Pickle struct {
	Offset   int64 // where the pickle starts
	End      int64 // offset after STOP, or where the walk stopped
	Protocol int   // from PROTO, 0 when absent
	Opcodes  int64
	Imports  []Import
	// Builds are BUILD opcodes applied to an imported global itself (they
	// set attributes on a module, class or function: a known gadget).
	Builds []Import
	// Calls counts REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST.
	Calls int
	// Persistent counts PERSID and BINPERSID (torch storages use them).
	Persistent int
	// Err is nil when the pickle ended with STOP.
	Err       error
	ErrOffset int64
}

// Limits bound one walk.
type Limits struct {
	MaxOpcodes int64 // opcodes in one pickle
	MaxMemo    int   // memo entries, and stack depth
	// Partial says the bytes handed to Walk end before the real data does
	// (a peek at a tensor storage, a carve window): FRAME lengths are then
	// not checked against that end.
	Partial bool
}

// ErrLimit marks a walk stopped by a limit (not a malformed pickle).
var ErrLimit = errors.New("limit reached")

type vkind uint8

const (
	vEmpty   vkind = iota // unset memo slot
	vOther                // any value the walker does not follow
	vStr                  // a string it kept
	vLongStr              // a string too long to be a name
	vGlobal               // an imported global (index g into Imports)
)

type value struct {
	k vkind
	g int32
	s string
}

type walker struct {
	src   *source
	lim   Limits
	p     *Pickle
	stack []value
	marks []int
	dense []value
	memo  map[uint64]value
	nmemo int
}

// Walk walks the pickle that starts at off in r (reading no further than
// end). It stops at STOP, at the first error, or at a limit.
func Walk(r io.ReaderAt, off, end int64, lim Limits) Pickle {
	w := walker{src: newSource(r, off, end), lim: lim, p: &Pickle{Offset: off}}
	w.stack = make([]value, 0, 64)
	err := w.run()
	w.p.End = w.src.offset()
	if err != nil {
		w.p.Err = err
	}
	return *w.p
}

func (w *walker) errorf(op int64, format string, args ...any) error {
	w.p.ErrOffset = op
	return fmt.Errorf("offset %d: "+format, append([]any{op}, args...)...)
}

func (w *walker) push(v value) error {
	if len(w.stack) >= w.lim.MaxMemo && w.lim.MaxMemo > 0 {
		return fmt.Errorf("stack deeper than %d entries: %w", w.lim.MaxMemo, ErrLimit)
	}
	w.stack = append(w.stack, v)
	return nil
}

func (w *walker) pop() (value, bool) {
	n := len(w.stack)
	if n == 0 || (len(w.marks) > 0 && w.marks[len(w.marks)-1] == n) {
		return value{}, false
	}
	v := w.stack[n-1]
	w.stack = w.stack[:n-1]
	return v, true
}

func (w *walker) top() (value, bool) {
	n := len(w.stack)
	if n == 0 || (len(w.marks) > 0 && w.marks[len(w.marks)-1] == n) {
		return value{}, false
	}
	return w.stack[n-1], true
}

// popMark removes everything above the last MARK and the mark itself and
// returns the removed items.
func (w *walker) popMark() ([]value, bool) {
	if len(w.marks) == 0 {
		return nil, false
	}
	m := w.marks[len(w.marks)-1]
	w.marks = w.marks[:len(w.marks)-1]
	items := w.stack[m:]
	w.stack = w.stack[:m]
	return items, true
}

func (w *walker) memoGet(i uint64) (value, bool) {
	if i < uint64(len(w.dense)) {
		v := w.dense[i]
		return v, v.k != vEmpty
	}
	v, ok := w.memo[i]
	return v, ok
}

func (w *walker) memoPut(i uint64, v value) error {
	if v.k == vEmpty {
		v.k = vOther
	}
	if i < uint64(len(w.dense)) {
		if w.dense[i].k == vEmpty {
			w.nmemo++
		}
		w.dense[i] = v
	} else if i == uint64(len(w.dense)) && i < 1<<24 {
		if _, ok := w.memo[i]; ok {
			delete(w.memo, i)
		} else {
			w.nmemo++
		}
		w.dense = append(w.dense, v)
	} else {
		if w.memo == nil {
			w.memo = make(map[uint64]value)
		}
		if _, ok := w.memo[i]; !ok {
			w.nmemo++
		}
		w.memo[i] = v
	}
	if w.lim.MaxMemo > 0 && w.nmemo > w.lim.MaxMemo {
		return fmt.Errorf("memo holds more than %d entries: %w", w.lim.MaxMemo, ErrLimit)
	}
	return nil
}

func (w *walker) addImport(im Import) value {
	w.p.Imports = append(w.p.Imports, im)
	return value{k: vGlobal, g: int32(len(w.p.Imports) - 1)}
}

func strValue(b []byte) value {
	if len(b) > maxKeep {
		return value{k: vLongStr}
	}
	return value{k: vStr, s: string(b)}
}

func le(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

var errUnderflow = "stack underflow (or an item read across a MARK)"

func (w *walker) run() error {
	s := w.src
	p := w.p
	for {
		op := s.offset()
		c, err := s.readByte()
		if err != nil {
			if err == errTruncated {
				return w.errorf(op, "pickle ended without STOP")
			}
			return w.errorf(op, "%v", err)
		}
		p.Opcodes++
		if w.lim.MaxOpcodes > 0 && p.Opcodes > w.lim.MaxOpcodes {
			return w.errorf(op, "more than %d opcodes: %w", w.lim.MaxOpcodes, ErrLimit)
		}
		if err := w.step(c, op); err != nil {
			if err == errStop {
				return nil
			}
			if errors.Is(err, ErrLimit) {
				return w.errorf(op, "%w", err)
			}
			if err == errTruncated {
				return w.errorf(op, "opcode %s: %v", opName(c), err)
			}
			return w.errorf(op, "opcode %s: %v", opName(c), err)
		}
	}
}

var errStop = errors.New("stop")

// step executes one opcode's effect on the walker's model of the stack.
func (w *walker) step(c byte, op int64) error {
	s := w.src
	p := w.p
	switch c {
	case opMark:
		if w.lim.MaxMemo > 0 && len(w.marks) >= w.lim.MaxMemo {
			return fmt.Errorf("more than %d marks: %w", w.lim.MaxMemo, ErrLimit)
		}
		w.marks = append(w.marks, len(w.stack))
	case opStop:
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		return errStop
	case opPop:
		if _, ok := w.pop(); !ok {
			if _, ok := w.popMark(); !ok {
				return errors.New(errUnderflow)
			}
		}
	case opPopMark:
		if _, ok := w.popMark(); !ok {
			return errors.New("could not find MARK")
		}
	case opDup:
		v, ok := w.top()
		if !ok {
			return errors.New(errUnderflow)
		}
		return w.push(v)
	case opFloat, opInt, opLong:
		line, _, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		if len(line) == 0 && c != opLong {
			return errors.New("empty number")
		}
		return w.push(value{k: vOther})
	case opBinInt:
		if _, err := s.read(4); err != nil {
			return err
		}
		return w.push(value{k: vOther})
	case opBinInt1:
		if _, err := s.read(1); err != nil {
			return err
		}
		return w.push(value{k: vOther})
	case opBinInt2:
		if _, err := s.read(2); err != nil {
			return err
		}
		return w.push(value{k: vOther})
	case opNone, opNewTrue, opNewFalse, opEmptyDict, opEmptyList, opEmptyTuple, opEmptySet, opNextBuffer:
		return w.push(value{k: vOther})
	case opPersID:
		if _, _, err := s.readLine(maxKeep); err != nil {
			return err
		}
		p.Persistent++
		return w.push(value{k: vOther})
	case opBinPersID:
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		p.Persistent++
		return w.push(value{k: vOther})
	case opReduce:
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		p.Calls++
		return w.push(value{k: vOther})
	case opString:
		line, long, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		if long {
			return w.push(value{k: vLongStr})
		}
		v, err := unquote(line)
		if err != nil {
			return err
		}
		return w.push(strValue(v))
	case opBinString, opBinUnicode, opBinBytes:
		b, err := s.read(4)
		if err != nil {
			return err
		}
		n := le(b)
		if c == opBinString && n >= 1<<31 {
			return errors.New("negative BINSTRING length")
		}
		return w.pushData(c, int64(n))
	case opShortBinString, opShortBinUnicode, opShortBinBytes:
		b, err := s.read(1)
		if err != nil {
			return err
		}
		return w.pushData(c, int64(b[0]))
	case opBinUnicode8, opBinBytes8, opByteArray8:
		b, err := s.read(8)
		if err != nil {
			return err
		}
		n := le(b)
		if n > 1<<62 {
			return errors.New("length exceeds the largest size")
		}
		return w.pushData(c, int64(n))
	case opUnicode:
		line, long, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		if long {
			return w.push(value{k: vLongStr})
		}
		return w.push(strValue(unescapeUnicode(line)))
	case opAppend:
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		if _, ok := w.top(); !ok {
			return errors.New(errUnderflow)
		}
	case opBuild:
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		t, ok := w.top()
		if !ok {
			return errors.New(errUnderflow)
		}
		if t.k == vGlobal {
			im := p.Imports[t.g]
			im.Offset = op
			im.Opcode = "BUILD"
			p.Builds = append(p.Builds, im)
		}
	case opGlobal, opInst:
		mod, mlong, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		module := string(mod)
		name, nlong, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		im := Import{Module: module, Name: string(name), Offset: op, Opcode: "GLOBAL"}
		if mlong || nlong {
			im.Unresolved = "module or name longer than 1024 bytes"
		}
		if c == opInst {
			im.Opcode = "INST"
			w.addImport(im)
			if _, ok := w.popMark(); !ok {
				return errors.New("could not find MARK")
			}
			p.Calls++
			return w.push(value{k: vOther})
		}
		return w.push(w.addImport(im))
	case opDict, opList, opTuple, opFrozenSet:
		if _, ok := w.popMark(); !ok {
			return errors.New("could not find MARK")
		}
		return w.push(value{k: vOther})
	case opAppends, opSetItems, opAddItems:
		items, ok := w.popMark()
		if !ok {
			return errors.New("could not find MARK")
		}
		if c == opSetItems && len(items)%2 != 0 {
			return errors.New("odd number of items for SETITEMS")
		}
		if _, ok := w.top(); !ok {
			return errors.New(errUnderflow)
		}
	case opSetItem:
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		if _, ok := w.pop(); !ok {
			return errors.New(errUnderflow)
		}
		if _, ok := w.top(); !ok {
			return errors.New(errUnderflow)
		}
	case opGet:
		line, long, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		i, err := strconv.ParseUint(string(line), 10, 64)
		if err != nil || long {
			return fmt.Errorf("bad memo index %q", truncate(line))
		}
		return w.get(i)
	case opBinGet:
		b, err := s.read(1)
		if err != nil {
			return err
		}
		return w.get(uint64(b[0]))
	case opLongBinGet:
		b, err := s.read(4)
		if err != nil {
			return err
		}
		return w.get(le(b))
	case opPut:
		line, long, err := s.readLine(maxKeep)
		if err != nil {
			return err
		}
		i, err := strconv.ParseUint(string(line), 10, 64)
		if err != nil || long {
			return fmt.Errorf("bad memo index %q", truncate(line))
		}
		return w.put(i)
	case opBinPut:
		b, err := s.read(1)
		if err != nil {
			return err
		}
		return w.put(uint64(b[0]))
	case opLongBinPut:
		b, err := s.read(4)
		if err != nil {
			return err
		}
		return w.put(le(b))
	case opMemoize:
		return w.put(uint64(w.nmemo))
	case opObj:
		items, ok := w.popMark()
		if !ok {
			return errors.New("could not find MARK")
		}
		if len(items) == 0 {
			return errors.New("OBJ without a class")
		}
		p.Calls++
		return w.push(value{k: vOther})
	case opBinFloat:
		if _, err := s.read(8); err != nil {
			return err
		}
		return w.push(value{k: vOther})
	case opProto:
		b, err := s.read(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return fmt.Errorf("unsupported pickle protocol %d", b[0])
		}
		p.Protocol = int(b[0])
	case opNewObj:
		for range 2 {
			if _, ok := w.pop(); !ok {
				return errors.New(errUnderflow)
			}
		}
		p.Calls++
		return w.push(value{k: vOther})
	case opNewObjEx:
		for range 3 {
			if _, ok := w.pop(); !ok {
				return errors.New(errUnderflow)
			}
		}
		p.Calls++
		return w.push(value{k: vOther})
	case opExt1, opExt2, opExt4:
		n := map[byte]int{opExt1: 1, opExt2: 2, opExt4: 4}[c]
		b, err := s.read(n)
		if err != nil {
			return err
		}
		code := le(b)
		if code == 0 || (n == 4 && code >= 1<<31) {
			return errors.New("extension code <= 0")
		}
		return w.push(w.addImport(Import{Offset: op, Opcode: opName(c),
			Unresolved: fmt.Sprintf("extension code %d names a global through copyreg's extension registry", code)}))
	case opTuple1, opTuple2, opTuple3:
		for range int(c-opTuple1) + 1 {
			if _, ok := w.pop(); !ok {
				return errors.New(errUnderflow)
			}
		}
		return w.push(value{k: vOther})
	case opLong1:
		b, err := s.read(1)
		if err != nil {
			return err
		}
		if err := s.skip(int64(b[0])); err != nil {
			return err
		}
		return w.push(value{k: vOther})
	case opLong4:
		b, err := s.read(4)
		if err != nil {
			return err
		}
		n := le(b)
		if n >= 1<<31 {
			return errors.New("LONG pickle has negative byte count")
		}
		if err := s.skip(int64(n)); err != nil {
			return err
		}
		return w.push(value{k: vOther})
	case opStackGlobal:
		name, ok1 := w.pop()
		module, ok2 := w.pop()
		if !ok1 || !ok2 {
			return errors.New(errUnderflow)
		}
		im := Import{Offset: op, Opcode: "STACK_GLOBAL"}
		if module.k == vStr {
			im.Module = module.s
		}
		if name.k == vStr {
			im.Name = name.s
		}
		if module.k != vStr || name.k != vStr {
			im.Unresolved = fmt.Sprintf("STACK_GLOBAL arguments are not both strings (module: %s, name: %s)", kindName(module, p), kindName(name, p))
		}
		return w.push(w.addImport(im))
	case opFrame:
		b, err := s.read(8)
		if err != nil {
			return err
		}
		// CPython's unpickler reads the whole frame before its first
		// opcode: a frame longer than sys.maxsize or than the data left
		// fails to load ("frame size > sys.maxsize", "pickle data was
		// truncated"), so such a pickle is malformed, not clean.
		n := le(b)
		if n > 1<<63-1 {
			return fmt.Errorf("FRAME of %d bytes is larger than sys.maxsize", n)
		}
		if left := s.end - s.offset(); !w.lim.Partial && int64(n) > left {
			return fmt.Errorf("FRAME declares %d bytes but only %d bytes follow: the unpickler fails on it", n, left)
		}
	case opReadonlyBuffer:
		if _, ok := w.top(); !ok {
			return errors.New(errUnderflow)
		}
	default:
		return fmt.Errorf("invalid opcode 0x%02x", c)
	}
	return nil
}

func (w *walker) pushData(c byte, n int64) error {
	isStr := c == opBinString || c == opShortBinString || c == opBinUnicode ||
		c == opShortBinUnicode || c == opBinUnicode8
	if isStr && n <= maxKeep {
		b, err := w.src.read(int(n))
		if err != nil {
			return err
		}
		if (c == opBinUnicode || c == opShortBinUnicode || c == opBinUnicode8) && !utf8.Valid(b) {
			return errors.New("string is not valid UTF-8")
		}
		return w.push(strValue(b))
	}
	if err := w.src.skip(n); err != nil {
		return err
	}
	if isStr {
		return w.push(value{k: vLongStr})
	}
	return w.push(value{k: vOther})
}

func (w *walker) get(i uint64) error {
	v, ok := w.memoGet(i)
	if !ok {
		return fmt.Errorf("memo entry %d not found", i)
	}
	return w.push(v)
}

func (w *walker) put(i uint64) error {
	v, ok := w.top()
	if !ok {
		return errors.New(errUnderflow)
	}
	return w.memoPut(i, v)
}

func kindName(v value, p *Pickle) string {
	switch v.k {
	case vStr:
		return strconv.Quote(v.s)
	case vLongStr:
		return "a long string"
	case vGlobal:
		im := p.Imports[v.g]
		return "the global " + im.Module + "." + im.Name
	}
	return "a computed value"
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// unquote reads a protocol 0 STRING argument: a quoted Python bytes literal.
func unquote(line []byte) ([]byte, error) {
	if len(line) < 2 || (line[0] != '\'' && line[0] != '"') || line[len(line)-1] != line[0] {
		return nil, errors.New("the STRING opcode argument must be quoted")
	}
	return unescapeBytes(line[1 : len(line)-1]), nil
}

// unescapeBytes undoes Python's bytes escapes (\\, \', \", \n, \t, \r, \xNN, octal).
func unescapeBytes(b []byte) []byte {
	if indexBS(b) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		i++
		switch e := b[i]; e {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'x':
			if i+2 < len(b) {
				if v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
					out = append(out, byte(v))
					i += 2
					continue
				}
			}
			out = append(out, '\\', e)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(b) && j < i+3 && b[j] >= '0' && b[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(string(b[i:j]), 8, 16)
			out = append(out, byte(v))
			i = j - 1
		case '\\', '\'', '"':
			out = append(out, e)
		default:
			out = append(out, '\\', e)
		}
	}
	return out
}

// unescapeUnicode undoes raw-unicode-escape (\uXXXX, \UXXXXXXXX), as the UNICODE opcode does.
func unescapeUnicode(b []byte) []byte {
	if indexBS(b) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			n := 4
			if b[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(b) {
				if v, err := strconv.ParseUint(string(b[i+2:i+2+n]), 16, 32); err == nil {
					out = utf8.AppendRune(out, rune(v))
					i += 1 + n
					continue
				}
			}
		}
		out = append(out, b[i])
	}
	return out
}

func indexBS(b []byte) int {
	for i, c := range b {
		if c == '\\' {
			return i
		}
	}
	return -1
}
