package callmap

import (
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Texts is where records' encoded texts (the summary, the annotation's
// "call" object, the hex ids read back from an annotation, the ids and JSON
// of calls mapped with MapTo) are written when many are made together, as
// a release or an export does: each text is
// written in place into a shared chunk, with no copy and no allocation of
// its own. A chunk lives as long as any text in it, so texts dropped at
// about the same time (one release, the releases after it, one export
// batch) should share one Texts.
//
// The zero Texts is ready to use; a nil *Texts gives every text an exact
// allocation of its own (for a text kept on its own, or long). A Texts is not
// safe for concurrent use.
type Texts struct {
	chunk []byte // the current chunk, from its start
	free  []byte // the current chunk past the texts written: len 0, its room in cap

	// With recycle (NewRecycledTexts), the chunks left full since the last
	// Reset (filled) and those Reset gave back (spare), reused before any
	// new one: a Texts that is Reset block after block then allocates
	// nothing once it has as many chunks as a block needs.
	recycle       bool
	filled, spare [][]byte

	// With recycle, the mapped calls' usage and cost entries too (MapTo),
	// in blocks reused after Reset; spendNext is the next one to hand out.
	spends    []*[spendBlock]spend
	spendNext int
}

// spendBlock is how many calls' usage and cost entries a recycled Texts
// allocates at a time.
const spendBlock = 64

// NewRecycledTexts returns a Texts whose Reset gives every chunk it has
// filled to the texts after it, not only the current one, and the usage
// and cost entries of the calls mapped into it (MapTo) too. For a Texts
// whose texts and calls all die at each Reset, as an exporter's INSERT
// block's do; it keeps the memory of its largest block.
func NewRecycledTexts() *Texts { return &Texts{recycle: true} }

const (
	// textChunk is the size of a chunk: a few dozen calls' texts.
	textChunk = 32 << 10
	// textMinRoom: below this room a chunk is left for a new one; what it
	// wastes is at most this share of the chunk (6%).
	textMinRoom = 2 << 10
)

// text returns what appendTo writes.
func (t *Texts) text(appendTo func([]byte) []byte) string {
	if t == nil {
		return pooledString(appendTo)
	}
	if cap(t.free) < textMinRoom {
		t.nextChunk()
	}
	b := appendTo(t.free)
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(t.free) {
		// It did not fit: append moved it to a larger array of its own.
		// Keep an exact copy and leave the chunk's room to the next text.
		return string(b)
	}
	t.free = b[len(b):]
	return unsafe.String(&b[0], len(b))
}

// nextChunk moves on to a fresh chunk: a spare one when t recycles.
func (t *Texts) nextChunk() {
	if !t.recycle {
		t.chunk = make([]byte, 0, textChunk)
		t.free = t.chunk
		return
	}
	if t.chunk != nil {
		t.filled = append(t.filled, t.chunk)
	}
	if n := len(t.spare); n > 0 {
		t.chunk, t.spare = t.spare[n-1], t.spare[:n-1]
	} else {
		t.chunk = make([]byte, 0, textChunk)
	}
	t.free = t.chunk[:0]
}

// Reset gives the current chunk's memory to the next texts, and with
// recycle every chunk filled since the last Reset too. Only for a Texts
// whose texts are all dead: an exporter's INSERT block, once encoded,
// reuses the chunks of the block before instead of new ones.
func (t *Texts) Reset() {
	t.free = t.chunk[:0]
	if t.recycle {
		t.spare = append(t.spare, t.filled...)
		clear(t.filled)
		t.filled = t.filled[:0]
		// cleared, so that a pooled Texts does not keep the strings of the
		// spans they named (model names) alive
		for i := 0; i < t.spendNext; i += spendBlock {
			clear(t.spends[i/spendBlock][:min(spendBlock, t.spendNext-i)])
		}
		t.spendNext = 0
	}
}

// recycles reports whether t is a recycled Texts (NewRecycledTexts).
func (t *Texts) recycles() bool { return t != nil && t.recycle }

// spend returns room for a call's usage and cost entries: the next one of
// a recycled Texts's blocks, a new one otherwise.
func (t *Texts) spend() *spend {
	if !t.recycles() {
		return new(spend)
	}
	i := t.spendNext
	if i/spendBlock == len(t.spends) {
		t.spends = append(t.spends, new([spendBlock]spend))
	}
	t.spendNext++
	return &t.spends[i/spendBlock][i%spendBlock]
}

// bytes returns a copy of b written in t: in the current chunk, or a new
// one when b does not fit; an exact allocation of its own for a nil t or a
// b too long to share a chunk.
func (t *Texts) bytes(b []byte) []byte {
	if t == nil || len(b) > textChunk/4 {
		// append, not make and copy: the new array is not zeroed first
		return append([]byte(nil), b...)
	}
	if cap(t.free) < len(b) {
		t.nextChunk()
	}
	out := append(t.free, b...)
	t.free = out[len(out):]
	return out[:len(out):len(out)]
}

// hexIDs returns the ids as lowercase hex (parent "" when empty), the three
// in one text.
func (t *Texts) hexIDs(trace pcommon.TraceID, span, parent pcommon.SpanID) (string, string, string) {
	var b [64]byte
	for i, x := range trace {
		b[2*i], b[2*i+1] = hexDigits[x>>4], hexDigits[x&0xf]
	}
	for i, x := range span {
		b[32+2*i], b[33+2*i] = hexDigits[x>>4], hexDigits[x&0xf]
	}
	n := 48
	if !parent.IsEmpty() {
		for i, x := range parent {
			b[48+2*i], b[49+2*i] = hexDigits[x>>4], hexDigits[x&0xf]
		}
		n = 64
	}
	var s string
	if t == nil {
		s = string(b[:n])
	} else {
		s = t.text(func(dst []byte) []byte { return append(dst, b[:n]...) })
	}
	if n == 48 {
		return s[:32], s[32:48], ""
	}
	return s[:32], s[32:48], s[48:64]
}
