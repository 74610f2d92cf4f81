package callmap

import (
	"bytes"
	"encoding/binary"
)

// Spans from one instrumentation carry the same attribute keys in the same
// order, span after span. For such a tree the sorted order and every byte of
// the emitted object other than the leaf values are the same each time, so
// a tree with shapes enabled remembers, per set of paths, the object's
// skeleton (the JSON without its leaf values) and where each entry's value
// goes, and then only writes the values. Only trees of plain paths without
// conflicts are remembered (those emitFlat writes).

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
	sig    []byte // the current tree's signature (scratch)
	tick   uint64
}

// signature writes the tree's paths into c.sig.
func (c *shapeCache) signature(ents []entry) []byte {
	c.sig = c.sig[:0]
	for i := range ents {
		p := ents[i].key[min(int(ents[i].pos), len(ents[i].key)):]
		c.sig = binary.AppendUvarint(c.sig, uint64(len(p)))
		c.sig = append(c.sig, p...)
	}
	return c.sig
}

// find returns the remembered shape of the signature, or nil.
func (c *shapeCache) find(sig []byte) *shape {
	for i := range c.shapes {
		if bytes.Equal(c.shapes[i].sig, sig) {
			c.tick++
			c.shapes[i].used = c.tick
			return &c.shapes[i]
		}
	}
	return nil
}

// remember stores the shape of a flat emission: out is the object emitted
// for the signature c.sig, leaves[k] the span of out holding the value of
// entry ents[k].
func (c *shapeCache) remember(out []byte, leaves []leafSpan) {
	var s *shape
	if len(c.shapes) < maxShapes {
		c.shapes = append(c.shapes, shape{})
		s = &c.shapes[len(c.shapes)-1]
	} else {
		s = &c.shapes[0]
		for i := range c.shapes {
			if c.shapes[i].used < s.used {
				s = &c.shapes[i]
			}
		}
	}
	c.tick++
	s.used = c.tick
	s.sig = append(s.sig[:0], c.sig...)
	s.skel, s.cuts = s.skel[:0], s.cuts[:0]
	prev := 0
	for _, l := range leaves {
		s.skel = append(s.skel, out[prev:l.start]...)
		s.cuts = append(s.cuts, shapeCut{at: int32(len(s.skel)), ent: l.ent})
		prev = l.end
	}
	s.skel = append(s.skel, out[prev:]...)
}

// leafSpan is where emitFlat wrote entry ent's value: out[start:end].
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
