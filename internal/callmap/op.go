package callmap

import (
	"encoding/binary"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Op names: weave:///<project_id>/op/<safe name>:<digest>. See MAPPING.md.

const (
	maxSafeName = 128       // bytes
	unnamedOp   = "unnamed" // the safe name of a span without a name
	opRefPrefix = "weave:///"
	opRefOp     = "/op/"
)

// FNV-1a, 64 bit: small, stable and allocation-free; the digest only has to
// tell op versions apart, not resist attack.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// appendHex appends the n low nibbles of h as lowercase hex.
func appendHex(b []byte, h uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(h>>(4*uint(i)))&0xf])
	}
	return b
}

// appendOpIdentity appends an op's identity, what its digest hashes: the
// span name, the instrumentation scope's name and version, and the code.*
// attributes (sorted by key, values as JSON), separated by 0 bytes.
func (st *state) appendOpIdentity(b []byte, name string, scope pcommon.InstrumentationScope) []byte {
	b = append(b, name...)
	b = append(append(b, 0), scope.Name()...)
	b = append(append(b, 0), scope.Version()...)
	slices.SortFunc(st.code, func(a, b int32) int { return strings.Compare(st.classes[a].key, st.classes[b].key) })
	for _, i := range st.code {
		b = append(append(b, 0), st.classes[i].key...)
		b = st.w.appendValue(append(b, 0), st.attrs[i].v)
	}
	return b
}

// opCache holds the digests of the op identities hashed last.
type opCache struct {
	ents [8]opCacheEnt
	next int // the entry to replace next
}

type opCacheEnt struct {
	id     []byte
	digest uint64
}

// maxCachedOpID keeps an outsized identity from pinning its bytes.
const maxCachedOpID = 1 << 10

// digest is FNV-1a over id, from the cache when id was hashed lately.
func (c *opCache) digest(id []byte) uint64 {
	for i := range c.ents {
		if e := &c.ents[i]; e.id != nil && string(e.id) == string(id) {
			return e.digest
		}
	}
	h := fnvBytes(fnvOffset, id)
	if len(id) <= maxCachedOpID {
		e := &c.ents[c.next]
		e.id, e.digest = append(e.id[:0], id...), h
		if e.id == nil { // an empty identity still marks the entry used
			e.id = []byte{}
		}
		c.next = (c.next + 1) % len(c.ents)
	}
	return h
}

// opName builds the op ref and returns it with its project id and
// safe-name parts (substrings of it: all three cost one allocation).
// entity "" means project is already "entity/project". Spans of one app
// repeat a handful of ops, so what a ref is built from is written out and
// looked up among the refs built last (a memory comparison); only a new
// one is hashed and built.
func (st *state) opName(entity, project, name string, scope pcommon.InstrumentationScope) (ref, projectID, safe string) {
	start := len(st.raw)
	b := appendLenPrefixed(st.raw, entity)
	b = appendLenPrefixed(b, project)
	b = appendLenPrefixed(b, name)
	idStart := len(b) - start
	b = st.appendOpIdentity(b, name, scope)
	key := b[start:]
	st.raw = b[:start] // the key stays readable until the arena is next written
	if e := st.refs.find(key); e != nil {
		return e.parts()
	}
	digest := st.ops.digest(key[idStart:])
	ref, projectEnd, safeStart, safeEnd := buildOpRef(entity, project, name, digest)
	e := opRefEnt{ref: ref, projectEnd: projectEnd, safeStart: safeStart, safeEnd: safeEnd}
	st.refs.add(key, e)
	return e.parts()
}

// buildOpRef builds weave:///<project_id>/op/<safe name>:<digest> and
// says where the project id ends and the safe name starts and ends.
func buildOpRef(entity, project, name string, digest uint64) (ref string, projectEnd, safeStart, safeEnd int32) {
	var tmp [256]byte
	b := append(tmp[:0], opRefPrefix...)
	if entity != "" {
		b = append(b, entity...)
		b = append(b, '/')
	}
	b = append(b, project...)
	projectEnd = int32(len(b))
	b = append(b, opRefOp...)
	safeStart = int32(len(b))
	b = appendSafeName(b, name)
	safeEnd = int32(len(b))
	b = append(b, ':')
	b = appendHex(b, digest, 16)
	return string(b), projectEnd, safeStart, safeEnd
}

// appendLenPrefixed appends s preceded by its length, so that a run of
// such fields reads back one way only.
func appendLenPrefixed(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// opRefCache holds the op refs built last, by what they were built from
// (entity, project and name length-prefixed, then the op's identity).
type opRefCache struct {
	keys [8][]byte
	ents [8]opRefEnt
	next int // the entry to replace next
}

type opRefEnt struct {
	ref                            string
	projectEnd, safeStart, safeEnd int32
}

func (e *opRefEnt) parts() (ref, projectID, safe string) {
	return e.ref, e.ref[len(opRefPrefix):e.projectEnd], e.ref[e.safeStart:e.safeEnd]
}

func (c *opRefCache) find(key []byte) *opRefEnt {
	for i := range c.keys {
		if k := c.keys[i]; k != nil && string(k) == string(key) {
			return &c.ents[i]
		}
	}
	return nil
}

// add remembers e under key, unless key is outsized (it would pin its bytes).
func (c *opRefCache) add(key []byte, e opRefEnt) {
	if len(key) > maxCachedOpID {
		return
	}
	c.keys[c.next] = append(c.keys[c.next][:0], key...)
	c.ents[c.next] = e
	c.next = (c.next + 1) % len(c.keys)
}

// appendSafeName appends the safe form of a span name: lower-cased, every
// character other than a letter, digit, '-', '_' or '.' (spaces, '/', ':'
// and the like, invalid UTF-8) turned to '_', at most maxSafeName bytes
// (longer names keep their first bytes and end in '_' and 8 hex digits of a
// hash of the whole safe name); "unnamed" for an empty name.
func appendSafeName(b []byte, name string) []byte {
	if name == "" {
		return append(b, unnamedOp...)
	}
	start := len(b)
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			default:
				c = '_'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		i += size
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b = append(b, '_')
			continue
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	if len(b)-start <= maxSafeName {
		return b
	}
	h := fnvBytes(fnvOffset, b[start:])
	keep := len(cutUTF8(string(b[start:start+maxSafeName]), maxSafeName-9))
	b = append(b[:start+keep], '_')
	return appendHex(b, h, 8)
}
