package weavecallprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanWriter appends spans to a Traces it owns, each under a copy of its
// resource and scope. Spans from the same source scope (named by the
// caller with a key unique per batch and ScopeSpans) share one copy.
type spanWriter struct {
	td      ptrace.Traces
	lastKey scopeKey
	dstRS   ptrace.ResourceSpans // where the last span went
	dstSS   ptrace.ScopeSpans
	dst     ptrace.SpanSlice
	// earlier: where the keys before lastKey went, once there are several.
	earlier map[scopeKey]scopeDest
}

type scopeDest struct {
	rs ptrace.ResourceSpans
	ss ptrace.ScopeSpans
}

// scopeKey names a source ScopeSpans: the batch sequence number and the
// ordinal of the ScopeSpans within the batch. The zero key names none.
type scopeKey struct {
	batch uint64
	scope int32
}

func newSpanWriter() spanWriter {
	return spanWriter{td: ptrace.NewTraces()}
}

// scopeSpans returns where spans from key go, copying res and scope the
// first time key is seen (every time for the zero key). isNew reports a
// fresh copy.
func (w *spanWriter) scopeSpans(key scopeKey, res pcommon.Resource, schemaURL string, scope ptrace.ScopeSpans) (ptrace.SpanSlice, bool) {
	if key == w.lastKey && key != (scopeKey{}) {
		return w.dst, false
	}
	if d, ok := w.earlier[key]; ok {
		w.remember(key, d)
		return w.dst, false
	}
	rs := w.td.ResourceSpans().AppendEmpty()
	res.CopyTo(rs.Resource())
	rs.SetSchemaUrl(schemaURL)
	ss := rs.ScopeSpans().AppendEmpty()
	scope.Scope().CopyTo(ss.Scope())
	ss.SetSchemaUrl(scope.SchemaUrl())
	w.remember(key, scopeDest{rs, ss})
	return w.dst, true
}

// remember makes d, for key, where the next span goes.
func (w *spanWriter) remember(key scopeKey, d scopeDest) {
	if w.lastKey != (scopeKey{}) {
		if w.earlier == nil {
			w.earlier = map[scopeKey]scopeDest{}
		}
		w.earlier[w.lastKey] = scopeDest{w.dstRS, w.dstSS}
	}
	w.lastKey, w.dstRS, w.dstSS, w.dst = key, d.rs, d.ss, d.ss.Spans()
}

// move moves span into the writer under a copy of its resource and scope
// and returns it at its new place.
func (w *spanWriter) move(key scopeKey, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) ptrace.Span {
	dst, _ := w.scopeSpans(key, rs.Resource(), rs.SchemaUrl(), ss)
	moved := dst.AppendEmpty()
	span.MoveTo(moved)
	return moved
}

// eachSpan calls f for every span of td with its resource and scope spans
// and the ordinal (from 1) of the scope spans within td.
func eachSpan(td ptrace.Traces, f func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, ordinal int32, sp ptrace.Span)) {
	ordinal := int32(0)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			ordinal++
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				f(rs, ss, ordinal, spans.At(k))
			}
		}
	}
}
