package callmap

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// resFacts is what a call takes from its resource.
type resFacts struct {
	entity, project, service, thread, user, run string
	json                                        string // the otel.resource object; "" without attributes
}

// resCache keeps the facts of the last resource seen by a pooled state:
// the spans of one batch share a few resources, and the resource's JSON is
// otherwise rebuilt for every span. A snapshot of the attributes (strings
// held, so compared by content, never by address) decides a hit; resources
// holding lists, maps or bytes are not cached.
type resCache struct {
	snap    []resAttr
	dropped uint32
	valid   bool
	facts   resFacts
	buf     []byte // holds facts.json
	slots   slots
	gen     uint64 // counts the facts built: equal generations, equal facts
}

type resAttr struct {
	k string
	t pcommon.ValueType
	s string
	n uint64
}

// snapshotOf fills a with attribute k=v; false for values not snapshotted
// (lists, maps, bytes). It fills a in place: returned, the struct was
// copied out on every attribute of every span.
func snapshotOf(a *resAttr, k string, v pcommon.Value) bool {
	*a = resAttr{k: k, t: v.Type()}
	switch a.t {
	case pcommon.ValueTypeStr:
		a.s = v.Str()
	case pcommon.ValueTypeInt:
		a.n = uint64(v.Int())
	case pcommon.ValueTypeDouble:
		a.n = math.Float64bits(v.Double())
	case pcommon.ValueTypeBool:
		if v.Bool() {
			a.n = 1
		}
	case pcommon.ValueTypeEmpty:
	default:
		return false
	}
	return true
}

// hit reports whether res is the cached resource.
func (c *resCache) hit(res pcommon.Resource) bool {
	attrs := res.Attributes()
	if !c.valid || attrs.Len() != len(c.snap) || res.DroppedAttributesCount() != c.dropped {
		return false
	}
	i, same := 0, true
	attrs.Range(func(k string, v pcommon.Value) bool {
		var a resAttr
		same = snapshotOf(&a, k, v) && a == c.snap[i]
		i++
		return same
	})
	return same
}

// resourceFacts returns the facts of res, from the cache when it is the
// same resource as last time.
func (st *state) resourceFacts(res pcommon.Resource) *resFacts {
	c := &st.resCache
	if c.hit(res) {
		return &c.facts
	}
	c.valid = true
	c.gen++
	c.snap = c.snap[:0]
	c.dropped = res.DroppedAttributesCount()
	c.slots = slots{}
	res.Attributes().Range(func(k string, v pcommon.Value) bool {
		var a resAttr
		c.valid = snapshotOf(&a, k, v) && c.valid
		c.snap = append(c.snap, a)
		if r, known := exactKeys[k]; known {
			c.slots.set(r.slot, v)
		} else if k == "service.name" {
			c.slots.set(slotServiceName, v)
		}
		return true
	})
	s := &c.slots
	c.facts = resFacts{
		entity:  s.firstStr([]slot{sEntity}),
		project: s.firstStr([]slot{sProject}),
		service: s.firstStr([]slot{slotServiceName}),
		thread:  s.firstStr(threadSlots[:]),
		user:    s.firstStr([]slot{sUserID}),
		run:     s.firstStr(runIDSlots[:]),
	}
	clear(s.v[:]) // the values point into the resource; the facts are strings
	c.buf = c.buf[:0]
	if res.Attributes().Len() > 0 {
		st.sub.reset()
		res.Attributes().Range(func(k string, v pcommon.Value) bool {
			st.sub.add(k, 0, v)
			return true
		})
		c.buf = st.sub.appendObject(c.buf, &st.w)
	}
	c.facts.json = arenaString(c.buf)
	if !c.valid {
		c.snap = c.snap[:0]
	}
	return &c.facts
}
