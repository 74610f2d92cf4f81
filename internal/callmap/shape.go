package callmap

import "encoding/binary"

// Spans from one instrumentation carry the same attribute keys in the same
// order, span after span. For such a tree the sorted order and every byte of
// the emitted object other than the leaf values are the same each time, so
// a tree with shapes enabled remembers, per list of paths, the object's
// skeleton (the JSON without its leaf values) and where each entry's value
// goes, and then only writes the values. Whatever the paths (lists, a
// value beside keys under it, one path twice), the object is a function of
// the paths in insertion order, which the signature holds.

// maxShapes bounds the shapes one tree remembers (least recently used go).
const maxShapes = 8

type shape struct {
	sig  []byte     // the paths in insertion order, length-prefixed
	skel []byte     // the object without its leaf values
	cuts []shapeCut // where the values go, in skeleton order
	used uint64
}

// shapeCut says: entry ent's value goes at skeleton offset at.
type shapeCut struct{ at, ent int32 }

type shapeCache struct {
	shapes []shape
	tick   uint64
	probe  []byte // the signature of the last entries looked up
}

// appendSignature appends the entries' paths, each preceded by its length
// plus one; a value at the root itself (no path, not even an empty one) is
// a lone 0.
func appendSignature(sig []byte, ents []entry) []byte {
	for i := range ents {
		e := &ents[i]
		if int(e.pos) > len(e.key) {
			sig = append(sig, 0)
			continue
		}
		p := e.key[e.pos:]
		sig = binary.AppendUvarint(sig, uint64(len(p))+1)
		sig = append(sig, p...)
	}
	return sig
}

// find returns the index of the remembered shape of the entries' paths,
// or -1. The entries' signature is written once and compared whole with
// each shape's (one memory comparison beats decoding a signature entry by
// entry).
func (c *shapeCache) find(ents []entry) int {
	c.probe = appendSignature(c.probe[:0], ents)
	for i := range c.shapes {
		if string(c.shapes[i].sig) == string(c.probe) {
			return c.touch(i)
		}
	}
	return -1
}

// touch marks shape i used and returns i.
func (c *shapeCache) touch(i int) int {
	c.tick++
	c.shapes[i].used = c.tick
	return i
}

// remember stores the shape of an emission and returns its index: out
// is the object emitted for the entries ents, leaves[k] the span of out
// holding the value of entry ents[k].
func (c *shapeCache) remember(ents []entry, out []byte, leaves []leafSpan) int {
	at := len(c.shapes)
	if at < maxShapes {
		c.shapes = append(c.shapes, shape{})
	} else {
		at = 0
		for i := range c.shapes {
			if c.shapes[i].used < c.shapes[at].used {
				at = i
			}
		}
	}
	s := &c.shapes[at]
	c.tick++
	s.used = c.tick
	s.sig = append(s.sig[:0], c.probe...) // remember follows a find that missed
	s.skel, s.cuts = s.skel[:0], s.cuts[:0]
	prev := 0
	for _, l := range leaves {
		s.skel = append(s.skel, out[prev:l.start]...)
		s.cuts = append(s.cuts, shapeCut{at: int32(len(s.skel)), ent: l.ent})
		prev = l.end
	}
	s.skel = append(s.skel, out[prev:]...)
	return at
}

// leafSpan is where emitLeaf wrote entry ent's value: out[start:end].
type leafSpan struct {
	start, end int
	ent        int32
}

// emit writes the remembered object with the tree's current values.
func (s *shape) emit(b []byte, t *tree, w *valueWriter) []byte {
	prev := int32(0)
	for _, c := range s.cuts {
		b = append(b, s.skel[prev:c.at]...)
		b = t.emitLeaf(b, w, c.ent)
		prev = c.at
	}
	return append(b, s.skel[prev:]...)
}
