package weavecallprocessor

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
)

// shard holds the buffered traces whose ids hash to it, and the cache of
// its recently released ones, under one lock.
type shard struct {
	mu     sync.Mutex
	traces map[pcommon.TraceID]*traceBuffer
	byAge  list.List // *traceBuffer, by first arrival (max_wait, memory_limit)
	idle   list.List // *traceBuffer whose root ended, by last arrival (root_idle)
	cache  releasedCache
	// releasing holds traces taken out of the buffer whose release runs
	// outside the lock; spans arriving for them meanwhile wait there.
	releasing map[pcommon.TraceID]*releasedTrace
	// lastVersion is the last call version handed out; versions only grow.
	lastVersion uint64
	// out holds released spans the next consumer refused for now; it has
	// its own lock, as delivering runs outside mu.
	out outbox
}

// traceBuffer is one trace being grouped: its spans and their calls. The
// spans are moved out of their requests on arrival into one slice per
// source scope (so a request is not kept alive by the traces it carried);
// their resource and scope are one copy per request scope, shared by all
// the traces the request carried, and copied for the output only at
// release, once per scope for all the traces released together.
type traceBuffer struct {
	id     pcommon.TraceID
	nodes  []node
	spans  []ptrace.Span // spans[i] is nodes[i]'s span, inside groups[group[i]]
	group  []int32
	groups []spanGroup
	first  time.Time // arrival of the first span
	last   time.Time // arrival of the latest span
	bytes  int64
	byAge  *list.Element
	idle   *list.Element
}

// spanGroup is a buffered trace's spans from one source scope.
type spanGroup struct {
	key   scopeKey
	src   *source
	spans ptrace.SpanSlice
}

// arrival is one incoming span, mapped, not yet placed; src is the shared
// copy of its resource and scope.
type arrival struct {
	key   scopeKey
	rs    ptrace.ResourceSpans
	ss    ptrace.ScopeSpans
	src   *source
	span  ptrace.Span
	call  *callmap.Call
	slab  int32 // of the request's callSlabs, until mapped
	bytes int64
}

func newShard(cacheTraces int, cacheBytes int64) *shard {
	return &shard{
		traces:    map[pcommon.TraceID]*traceBuffer{},
		releasing: map[pcommon.TraceID]*releasedTrace{},
		cache:     newReleasedCache(cacheTraces, cacheBytes),
	}
}

// nextVersion returns a version larger by at least 2 than any handed out
// before (superseded duplicates get version-1), close to now in ns so
// versions also grow across restarts.
func (s *shard) nextVersion(now time.Time) uint64 {
	s.lastVersion = versionAfter(s.lastVersion, now)
	return s.lastVersion
}

// versionAfter is the next version after last at now: now in ns, or last+2
// when the clock has not moved past last.
func versionAfter(last uint64, now time.Time) uint64 {
	return max(uint64(now.UnixNano()), last+2)
}

// add appends a span to its buffered trace and restarts the trace's idle
// window (which opens once its root has ended).
func (s *shard) add(tb *traceBuffer, a *arrival, now time.Time) {
	g := len(tb.groups) - 1
	if g < 0 || tb.groups[g].key != a.key {
		g = slices.IndexFunc(tb.groups, func(sg spanGroup) bool { return sg.key == a.key })
		if g < 0 {
			g = len(tb.groups)
			tb.groups = append(tb.groups, spanGroup{key: a.key, src: a.src, spans: ptrace.NewSpanSlice()})
		}
	}
	moved := tb.groups[g].spans.AppendEmpty()
	a.span.MoveTo(moved)
	tb.nodes = append(tb.nodes, newNode(moved, a.call))
	tb.spans = append(tb.spans, moved)
	tb.group = append(tb.group, int32(g))
	tb.bytes += a.bytes
	tb.last = now
	switch {
	case tb.idle != nil:
		s.idle.MoveToBack(tb.idle)
	case isLocalRoot(moved) && moved.EndTimestamp() != 0: // the root ended: idle from now on
		tb.idle = s.idle.PushBack(tb)
	}
}

// start begins buffering a new trace; hint is how many spans the request
// at hand still has for the shard.
func (s *shard) start(id pcommon.TraceID, now time.Time, hint int) *traceBuffer {
	// Room for a typical agent turn without regrowing, unless the request
	// has fewer spans left.
	n := min(hint, 8)
	tb := &traceBuffer{
		id: id, first: now, last: now,
		nodes: make([]node, 0, n), spans: make([]ptrace.Span, 0, n), group: make([]int32, 0, n),
	}
	tb.byAge = s.byAge.PushBack(tb)
	s.traces[id] = tb
	return tb
}

// unlink takes a trace out of the buffer.
func (s *shard) unlink(tb *traceBuffer) {
	delete(s.traces, tb.id)
	s.byAge.Remove(tb.byAge)
	if tb.idle != nil {
		s.idle.Remove(tb.idle)
	}
}

// oldest is the first arrival of the shard's oldest buffered trace.
func (s *shard) oldest() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.byAge.Front(); f != nil {
		return f.Value.(*traceBuffer).first, true
	}
	return time.Time{}, false
}

// hold keeps a span that arrived while its trace was being released; it is
// joined as a late span when the release is done.
func (e *releasedTrace) hold(a *arrival) {
	if e.heldW.td == (ptrace.Traces{}) {
		e.heldW = newSpanWriter()
	}
	moved := e.heldW.move(a.key, a.rs, a.ss, a.span)
	e.held = append(e.held, &arrival{key: a.key, rs: e.heldW.dstRS, ss: e.heldW.dstSS, src: a.src, span: moved, call: a.call, bytes: a.bytes})
}

// copySource copies the resource of rs and the scope of ss; the copy is
// only read from then on (by releases and the cache), from any shard.
func copySource(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans) *source {
	src := &source{res: pcommon.NewResource(), resSchema: rs.SchemaUrl(), scope: ptrace.NewScopeSpans()}
	rs.Resource().CopyTo(src.res)
	ss.Scope().CopyTo(src.scope.Scope())
	src.scope.SetSchemaUrl(ss.SchemaUrl())
	return src
}

func skeletonOf(sp ptrace.Span, src int32) skeleton {
	return skeleton{
		name: sp.Name(), kind: sp.Kind(), end: sp.EndTimestamp(),
		code: sp.Status().Code(), msg: sp.Status().Message(), flags: sp.Flags(), source: src,
	}
}

// reemittedKey marks a span the processor sent again to carry a newer
// version of its call: a tracing backend has it already and a pipeline
// can filter it out (filter processor: attributes["callhouse.reemitted"]).
const reemittedKey = "callhouse.reemitted"

// reemit writes a span standing for cached node i, without annotation.
func (e *releasedTrace) reemit(w *spanWriter, i int) ptrace.Span {
	sk := &e.skel[i]
	src := &e.sources[sk.source]
	dst, _ := w.scopeSpans(scopeKey{batch: 1, scope: sk.source + 1}, src.res, src.resSchema, src.scope)
	sp := dst.AppendEmpty()
	n := &e.nodes[i]
	sp.SetTraceID(e.id)
	sp.SetSpanID(n.id)
	sp.SetParentSpanID(n.parent)
	sp.SetName(sk.name)
	sp.SetKind(sk.kind)
	sp.SetStartTimestamp(n.start)
	sp.SetEndTimestamp(sk.end)
	sp.SetFlags(sk.flags)
	sp.Status().SetCode(sk.code)
	sp.Status().SetMessage(sk.msg)
	sp.Attributes().PutBool(reemittedKey, true)
	return sp
}
