package callmap

import "unsafe"

// Texts is where records' encoded texts (the summary, the annotation's
// "call" object) are written when many are made together, as a release or
// an export does: each text is written in place into a shared chunk, with no
// copy and no allocation of its own. A chunk lives as long as any text in it,
// so the texts of one release or export, which are dropped together, should
// share one Texts.
//
// The zero Texts is ready to use; a nil *Texts gives every text an exact
// allocation of its own (for a text kept on its own, or long). A Texts is not
// safe for concurrent use.
type Texts struct {
	free []byte // the current chunk past the texts written: len 0, its room in cap
}

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
		t.free = make([]byte, 0, textChunk)
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
