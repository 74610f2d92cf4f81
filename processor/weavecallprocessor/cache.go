package weavecallprocessor

import (
	"container/list"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// releasedTrace is what is kept of a released trace so that a late span can
// be placed in it: every node (own call as mapped), the derived calls as last
// emitted, and enough of each span to re-emit it with a newer version.
type releasedTrace struct {
	id      pcommon.TraceID
	nodes   []node
	out     []derived
	skel    []skeleton
	sources []source // resource and scope copies the skeletons refer to
	bytes   int64    // estimate: calls, skeletons and sources
	elem    *list.Element
	// held: spans that came while the trace was being released (see hold).
	held  []*arrival
	heldW spanWriter
}

// skeleton is the identity of a released span: what a re-emitted span needs
// besides its annotation (ids and times are read from the span itself).
type skeleton struct {
	name   string
	kind   ptrace.SpanKind
	end    pcommon.Timestamp
	code   ptrace.StatusCode
	msg    string
	flags  uint32
	source int32 // index into releasedTrace.sources
}

// bytes estimates the memory a skeleton holds.
func (sk *skeleton) bytes() int64 { return int64(skeletonOverhead + len(sk.name) + len(sk.msg)) }

// source is a resource and scope (copies owned by the cache).
type source struct {
	res       pcommon.Resource
	resSchema string
	scope     ptrace.ScopeSpans // holds no spans: only scope and schema URL
}

// releasedCache is a bounded LRU of released traces, one per shard; the
// shard's lock guards it.
type releasedCache struct {
	maxTraces int
	maxBytes  int64
	bytes     int64
	byID      map[pcommon.TraceID]*releasedTrace
	lru       list.List // front: least recently used
}

func newReleasedCache(maxTraces int, maxBytes int64) releasedCache {
	return releasedCache{maxTraces: maxTraces, maxBytes: maxBytes, byID: map[pcommon.TraceID]*releasedTrace{}}
}

func (c *releasedCache) enabled() bool { return cacheEnabled(c.maxTraces, c.maxBytes) }

// cacheEnabled reports whether a cache of released traces with these
// bounds keeps anything: both must be positive.
func cacheEnabled(maxTraces int, maxBytes int64) bool { return maxTraces > 0 && maxBytes > 0 }

// get returns the cached trace and marks it recently used.
func (c *releasedCache) get(id pcommon.TraceID) *releasedTrace {
	e := c.byID[id]
	if e != nil {
		c.lru.MoveToBack(e.elem)
	}
	return e
}

// fits reports whether a trace of this many bytes may be cached at all.
func (c *releasedCache) fits(bytes int64) bool { return c.enabled() && bytes <= c.maxBytes }

// put adds (or replaces) a trace, then forgets the least recently used
// traces until the cache is within its bounds.
func (c *releasedCache) put(e *releasedTrace) {
	if old := c.byID[e.id]; old != nil {
		c.remove(old)
	}
	e.elem = c.lru.PushBack(e)
	c.byID[e.id] = e
	c.bytes += e.bytes
	c.trim()
}

// resize records that a cached trace grew or shrank to bytes.
func (c *releasedCache) resize(e *releasedTrace, bytes int64) {
	c.bytes += bytes - e.bytes
	e.bytes = bytes
	c.trim()
}

func (c *releasedCache) trim() {
	for c.lru.Len() > 0 && (c.lru.Len() > c.maxTraces || c.bytes > c.maxBytes) {
		c.remove(c.lru.Front().Value.(*releasedTrace))
	}
}

func (c *releasedCache) remove(e *releasedTrace) {
	c.lru.Remove(e.elem)
	delete(c.byID, e.id)
	c.bytes -= e.bytes
}
