package callmap

import (
	"slices"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// tree un-flattens dotted keys into nested JSON: `a.b.c=1` → {"a":{"b":{"c":1}}},
// and children named 0..n-1 (`x.0.role`, `x.1.role`) → a list. Entries are
// sorted once by an encoded key in which whole path segments compare before
// anything that extends them and numeric segments compare by value, so every
// subtree is one contiguous run of entries and is emitted in one pass.
//
// Several values at one path (a value beside keys under it, or one key
// twice) keep the path as an object: the keys under it as usual and the
// value(s) under "_value" (a list when several, in entry order). A child
// already named "_value" pushes the generated name to "__value", and so on.
type tree struct {
	ents  []entry
	order []int32   // entry indexes, sorted by path (ties: insertion order)
	sks   []sortKey // per entry: the key it sorts by
	odd   int       // entries whose path is not plain (see plainPath)

	shapes *shapeCache // set: remember object shapes (see shape.go)
	leaves []leafSpan  // where emitLeaf wrote each value, while recording
	record bool        // emitLeaf appends to leaves
	sk     []byte      // arena of sort keys
	keys   []byte      // arena of composed keys

	// Whether the entries repeat the ones last emitted, key for key (the
	// same string at the same address, at the same pos): then they have
	// the shape those had, found without writing their signature. A key's
	// address tells its bytes only for strings that are never written
	// again (constants, the span's and classes' keys); an arena view (join,
	// a JSON member's key) makes the tree volatile until reset.
	same     bool // no entry added since reset changed its key or pos
	volatile bool // a key may be an arena view
	emitted  bool // appendValue ran since reset
	last     int  // the index in shapes of the last emitted entries' shape, -1 for none
	lastLen  int  // how many entries were last emitted
}

// entry is one value to place. key[pos:] is the part of the path still to
// place; pos > len(key) once the whole path is placed (a leaf here).
type entry struct {
	key    string
	raw    string // pre-encoded JSON, when hasRaw
	val    pcommon.Value
	pos    int32
	end    int32 // end of the segment starting at pos
	hasRaw bool  // raw holds the value, else val (the other field is stale)
}

func (t *tree) reset() {
	if !t.emitted {
		t.last = -1 // entries were added and not emitted: they are not the last emitted ones
	}
	t.same, t.volatile, t.emitted = true, false, false
	t.ents = t.ents[:0]
	t.sk = t.sk[:0]
	t.keys = t.keys[:0]
	t.odd = 0
}

// add places v at key[pos:] (pos > len(key): at the root itself).
func (t *tree) add(key string, pos int, v pcommon.Value) {
	e := t.next(key, pos)
	e.val, e.hasRaw = v, false
}

// addRaw places pre-encoded JSON at key[pos:].
func (t *tree) addRaw(key string, pos int, raw string) {
	e := t.next(key, pos)
	setString(&e.raw, raw)
	e.hasRaw = true
}

// next appends an entry for key[pos:], for its value to be set. Entries
// are reused span after span and only the fields in use are written: each
// pointer stored costs a write barrier while the GC marks, and appending a
// whole struct literal costs a bulk one, several times dearer.
func (t *tree) next(key string, pos int) *entry {
	e := grow(&t.ents)
	if len(e.key) != len(key) || unsafe.StringData(e.key) != unsafe.StringData(key) || e.pos != int32(pos) {
		e.key, e.pos, t.same = key, int32(pos), false
	}
	return e
}

// setString stores s in *dst unless *dst already is s (the same bytes at
// the same address). Keys that are constants, classes' or arena strings
// come back at the same entry span after span, and a store skipped is a
// write barrier saved while the GC marks.
func setString(dst *string, s string) {
	if len(*dst) != len(s) || unsafe.StringData(*dst) != unsafe.StringData(s) {
		*dst = s
	}
}

// grow extends *s by one element and returns it as it was (stale fields
// and all) for the caller to set. Within the capacity only the length is
// stored (*s = (*s)[:n] keeps the pointer): storing the slice back whole
// would cost one more write barrier while the GC marks.
func grow[T any](s *[]T) *T {
	if len(*s) == cap(*s) {
		var zero T
		*s = append(*s, zero)
	} else {
		*s = (*s)[:len(*s)+1]
	}
	return &(*s)[len(*s)-1]
}

// countOdd counts the paths that are not plain (see plainPath).
func (t *tree) countOdd() {
	t.odd = 0
	for i := range t.ents {
		if e := &t.ents[i]; int(e.pos) > len(e.key) || !plainPath(e.key[e.pos:]) {
			t.odd++
		}
	}
}

// plainPath reports whether the bytes of path sort the way its segments
// must: no empty segment, no segment starting with a digit (those may be
// list indexes, ordered by number), no byte below '/' other than the dots.
// A tree of plain paths sorts by the paths themselves and, without
// conflicts, is emitted in one pass (emitFlat).
func plainPath(path string) bool {
	segStart := true
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c > '9' {
			segStart = false
			continue
		}
		if c == '.' {
			if segStart {
				return false
			}
			segStart = true
			continue
		}
		if c < '/' || segStart {
			return false
		}
	}
	return !segStart
}

// sortKey is what an entry sorts by: its encoded path and the path's first
// 8 bytes big-endian (most comparisons end there).
type sortKey struct {
	s string
	p uint64
}

// prefix64 packs the first 8 bytes of s big-endian (zero-padded), so that
// comparing two packs orders like comparing the strings' first 8 bytes.
func prefix64(s string) uint64 {
	if len(s) >= 8 {
		return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
			uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
	}
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(s) {
			p |= uint64(s[i])
		}
	}
	return p
}

// join returns prefix+rest, stored in the tree's arena (valid until reset).
func (t *tree) join(prefix, rest string) string {
	t.volatile = true
	start := len(t.keys)
	t.keys = append(t.keys, prefix...)
	t.keys = append(t.keys, rest...)
	return arenaString(t.keys[start:])
}

// arenaString views b as a string; b's bytes must not change while it is used.
func arenaString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Sort-key bytes: the segment separator sorts first, then the marker of a
// numeric segment, then everything else (bytes ≤ skEsc escaped).
const (
	skSep = 0x00
	skNum = 0x01
	skEsc = 0x02
)

func (t *tree) encodeSortKey(key string, pos int) string {
	if pos > len(key) {
		return ""
	}
	start := len(t.sk)
	s := key[pos:]
	if plainKey(s) {
		t.sk = append(t.sk, s...)
		b := t.sk[start:]
		for i := range b {
			if b[i] == '.' {
				b[i] = skSep
			}
		}
		return arenaString(b)
	}
	for {
		i := strings.IndexByte(s, '.')
		seg := s
		if i >= 0 {
			seg = s[:i]
		}
		if isIndex(seg) {
			t.sk = append(t.sk, skNum, byte(len(seg)))
			t.sk = append(t.sk, seg...)
		} else {
			for j := 0; j < len(seg); j++ {
				if c := seg[j]; c <= skEsc {
					t.sk = append(t.sk, skEsc, c)
				} else {
					t.sk = append(t.sk, c)
				}
			}
		}
		if i < 0 {
			break
		}
		t.sk = append(t.sk, skSep)
		s = s[i+1:]
	}
	return arenaString(t.sk[start:])
}

// plainKey reports whether no segment of s starts with a digit and no
// byte needs escaping: its sort key is s with dots turned to skSep.
func plainKey(s string) bool {
	segStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > '9' {
			segStart = false
			continue
		}
		if c == '.' {
			segStart = true
			continue
		}
		if c <= skEsc || (segStart && c >= '0') {
			return false
		}
		segStart = false
	}
	return true
}

// isIndex reports whether seg is a run of at most 18 decimal digits.
func isIndex(seg string) bool {
	if len(seg) == 0 || len(seg) > 18 {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return false
		}
	}
	return true
}

// appendObject appends the entries as one JSON object ({} when there are none).
func (t *tree) appendObject(b []byte, w *valueWriter) []byte {
	if len(t.ents) == 0 {
		return append(b, '{', '}')
	}
	return t.appendValue(b, w)
}

// appendValue appends the entries as one JSON value: the single value at
// the root, or the object (or list) they form.
func (t *tree) appendValue(b []byte, w *valueWriter) []byte {
	last := t.last
	if !t.same || t.volatile || t.emitted || len(t.ents) != t.lastLen {
		last = -1
	}
	t.emitted, t.last, t.lastLen = true, -1, len(t.ents)
	if len(t.ents) == 1 && int(t.ents[0].pos) > len(t.ents[0].key) {
		return t.emitLeaf(b, w, 0) // a value alone at the root (inputs, output)
	}
	if t.shapes != nil {
		if last >= 0 {
			t.last = t.shapes.touch(last)
		} else {
			t.last = t.shapes.find(t.ents)
		}
		if t.last >= 0 {
			return t.shapes.shapes[t.last].emit(b, t, w)
		}
	}
	t.countOdd()
	// sort indexes, not entries: moving entries (which hold pointers)
	// costs write barriers
	t.order, t.sks = t.order[:0], t.sks[:0]
	for i := range t.ents {
		e := &t.ents[i]
		k := ""
		if int(e.pos) <= len(e.key) {
			k = e.key[e.pos:]
		}
		if t.odd > 0 {
			k = t.encodeSortKey(e.key, int(e.pos))
		}
		t.sks = append(t.sks, sortKey{k, prefix64(k)})
		t.order = append(t.order, int32(i))
	}
	sks := t.sks
	slices.SortFunc(t.order, func(a, b int32) int {
		ka, kb := &sks[a], &sks[b]
		if ka.p != kb.p {
			if ka.p < kb.p {
				return -1
			}
			return 1
		}
		if c := strings.Compare(ka.s, kb.s); c != 0 {
			return c
		}
		return int(a - b)
	})
	start := len(b)
	t.record, t.leaves = t.shapes != nil, t.leaves[:0]
	if t.odd == 0 && !t.conflicts() {
		b = t.emitFlat(b, w)
	} else {
		for i := range t.ents {
			t.ents[i].setEnd()
		}
		b = t.emitNode(b, w, t.order)
	}
	if t.record {
		t.record = false
		for i := range t.leaves {
			t.leaves[i].start -= start
			t.leaves[i].end -= start
		}
		t.last = t.shapes.remember(t.ents, b[start:], t.leaves)
	}
	return b
}

// conflicts reports whether, in a sorted tree of plain paths, a path is
// given twice or also has keys under it. Plain paths under p sort right
// after p (no byte sorts between the end of p and its '.'), so looking at
// neighbours is enough.
func (t *tree) conflicts() bool {
	for i := 1; i < len(t.order); i++ {
		prev, cur := t.sks[t.order[i-1]].s, t.sks[t.order[i]].s
		if strings.HasPrefix(cur, prev) && (len(cur) == len(prev) || cur[len(prev)] == '.') {
			return true
		}
	}
	return false
}

// emitFlat appends a sorted tree of plain, conflict-free paths as one
// object in a single pass: close the objects the previous path opened
// beyond the parents it shares with this one, open this path's new parents,
// write its leaf.
func (t *tree) emitFlat(b []byte, w *valueWriter) []byte {
	b = append(b, '{')
	prev, open := "", 0
	for n, id := range t.order {
		path := t.sks[id].s
		shared, rest := 0, path
		if n > 0 {
			for i := 0; i < len(path) && i < len(prev) && path[i] == prev[i]; i++ {
				if path[i] == '.' {
					shared++
					rest = path[i+1:]
				}
			}
			for ; open > shared; open-- {
				b = append(b, '}')
			}
			b = append(b, ',')
		}
		for {
			j := strings.IndexByte(rest, '.')
			if j < 0 {
				break
			}
			b = appendString(b, rest[:j])
			b = append(b, ':', '{')
			open++
			rest = rest[j+1:]
		}
		b = appendString(b, rest)
		b = append(b, ':')
		b = t.emitLeaf(b, w, id)
		prev = path
	}
	for ; open > 0; open-- {
		b = append(b, '}')
	}
	return append(b, '}')
}

// setEnd finds the end of the entry's current segment.
func (e *entry) setEnd() {
	if int(e.pos) > len(e.key) {
		e.end = e.pos
		return
	}
	if i := strings.IndexByte(e.key[e.pos:], '.'); i >= 0 {
		e.end = e.pos + int32(i)
	} else {
		e.end = int32(len(e.key))
	}
}

func (t *tree) segment(i int32) string {
	e := &t.ents[i]
	return e.key[e.pos:e.end]
}

func (t *tree) emitLeaf(b []byte, w *valueWriter, i int32) []byte {
	at := len(b)
	if e := &t.ents[i]; e.hasRaw {
		b = append(b, e.raw...)
	} else {
		b = w.appendValue(b, e.val)
	}
	if t.record {
		t.leaves = append(t.leaves, leafSpan{start: at, end: len(b), ent: i})
	}
	return b
}

// emitNode appends the node that the entries ids (sorted, sharing every
// segment before their pos) form.
func (t *tree) emitNode(b []byte, w *valueWriter, ids []int32) []byte {
	nLeaf := 0
	for nLeaf < len(ids) {
		if e := &t.ents[ids[nLeaf]]; int(e.pos) <= len(e.key) {
			break
		}
		nLeaf++
	}
	kids := ids[nLeaf:]
	if nLeaf == 1 && len(kids) == 0 {
		return t.emitLeaf(b, w, ids[0])
	}
	if nLeaf == 0 && t.isList(kids) {
		b = append(b, '[')
		for i := 0; i < len(kids); {
			j := t.groupEnd(kids, i)
			if i > 0 {
				b = append(b, ',')
			}
			b = t.emitGroup(b, w, kids[i:j])
			i = j
		}
		return append(b, ']')
	}
	b = append(b, '{')
	if nLeaf > 0 {
		b = appendString(b, t.valueKey(kids))
		b = append(b, ':')
		if nLeaf == 1 {
			b = t.emitLeaf(b, w, ids[0])
		} else {
			b = append(b, '[')
			for i := range nLeaf {
				if i > 0 {
					b = append(b, ',')
				}
				b = t.emitLeaf(b, w, ids[i])
			}
			b = append(b, ']')
		}
		if len(kids) > 0 {
			b = append(b, ',')
		}
	}
	for i := 0; i < len(kids); {
		j := t.groupEnd(kids, i)
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t.segment(kids[i]))
		b = append(b, ':')
		b = t.emitGroup(b, w, kids[i:j])
		i = j
	}
	return append(b, '}')
}

// groupEnd returns the end of the run of entries starting at i that share
// its next segment.
func (t *tree) groupEnd(kids []int32, i int) int {
	s := t.segment(kids[i])
	j := i + 1
	for j < len(kids) && t.segment(kids[j]) == s {
		j++
	}
	return j
}

// emitGroup moves the group's entries past their shared segment and emits them.
func (t *tree) emitGroup(b []byte, w *valueWriter, g []int32) []byte {
	for _, i := range g {
		e := &t.ents[i]
		e.pos = e.end + 1
		e.setEnd()
	}
	return t.emitNode(b, w, g)
}

// isList reports whether the children's segments are exactly 0, 1, …, n-1.
func (t *tree) isList(kids []int32) bool {
	if len(kids) == 0 {
		return false
	}
	want := 0
	for i := 0; i < len(kids); {
		s := t.segment(kids[i])
		if !isIndex(s) || (len(s) > 1 && s[0] == '0') || atoi(s) != want {
			return false
		}
		want++
		i = t.groupEnd(kids, i)
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// valueKey names the slot of a value that shares its path with keys under
// it: "_value", or with more underscores when a child already has that name.
func (t *tree) valueKey(kids []int32) string {
	const name = "________value"
	n := 1
	for i := 0; i < len(kids); i = t.groupEnd(kids, i) {
		s := t.segment(kids[i])
		if m := len(s) - len("value"); m >= n && m < len(name)-len("value") && s == name[len(name)-len(s):] {
			n = m + 1
		}
	}
	return name[len(name)-len("value")-n:]
}
