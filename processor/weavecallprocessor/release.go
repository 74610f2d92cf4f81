package weavecallprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
)

// taken is a trace taken out of the buffer for release. The costly part of
// a release (derivation, encoding, annotation) runs outside the shard's
// lock, so callers adding spans to the shard are not held up by it.
type taken struct {
	tb *traceBuffer
	e  *releasedTrace
}

// take moves a trace from the buffer to the shard's releasing set and
// counts it released. The shard's lock is held.
func (p *weavecallProcessor) take(s *shard, tb *traceBuffer, reason string) taken {
	s.unlink(tb)
	e := &releasedTrace{id: tb.id, nodes: tb.nodes}
	s.releasing[tb.id] = e

	ctx := context.Background()
	n := int64(len(tb.nodes))
	p.addBuffered(ctx, -n, -tb.bytes)
	p.tel.ProcessorWeavecallBufferedTraces.Add(ctx, -1)
	p.tel.ProcessorWeavecallTracesReleased.Add(ctx, 1, p.reason[reason])
	return taken{tb: tb, e: e}
}

// releaseTaken derives and annotates taken traces with version v and
// returns their spans; then, under the lock, files each in the cache of
// released traces and joins the spans that came for it meanwhile as late
// spans (returned too).
func (p *weavecallProcessor) releaseTaken(s *shard, ts []taken, v uint64, now time.Time) ptrace.Traces {
	if len(ts) == 0 {
		return ptrace.NewTraces()
	}
	w := newSpanWriter()
	var annotated int64
	texts := textsPool.Get().(*callmap.Texts)
	for _, t := range ts {
		tb, e := t.tb, t.e
		e.out = make([]derived, len(tb.nodes))
		deriveTrace(tb.nodes, e.out)
		e.skel = make([]skeleton, len(tb.spans))
		for i, sp := range tb.spans {
			annotateDerived(texts, sp, tb.nodes[i].call, &e.out[i], v)
			e.skel[i] = skeletonOf(sp, tb.group[i])
			e.bytes += callBytes(tb.nodes[i].call) + e.skel[i].bytes()
		}
		e.sources = make([]source, len(tb.groups))
		for i, g := range tb.groups {
			e.sources[i] = *g.src
			dst, _ := w.scopeSpans(g.key, g.src.res, g.src.resSchema, g.src.scope)
			g.spans.MoveAndAppendTo(dst)
		}
		e.bytes += int64(len(e.sources)) * sourceOverhead
		annotated += int64(len(tb.nodes))
	}
	textsPool.Put(texts)
	p.tel.ProcessorWeavecallSpansAnnotated.Add(context.Background(), annotated)
	out := w.td

	late := newSpanWriter()
	s.mu.Lock()
	var lv uint64
	for _, t := range ts {
		e := t.e
		delete(s.releasing, e.id)
		if len(e.held) > 0 {
			if lv == 0 {
				lv = s.nextVersion(now)
			}
			e.bytes += p.joinLate(e, e.held, lv, &late)
			e.held, e.heldW = nil, spanWriter{}
		}
		if s.cache.fits(e.bytes) {
			s.cache.put(e)
		}
	}
	s.mu.Unlock()
	late.td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	return out
}
