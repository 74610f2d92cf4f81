package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/callhouse/callhouse/internal/callmap"
)

// batchSource reads a flushed batch's spans as records, one INSERT block
// at a time, into its writer's chunk: the processor's annotation when a
// span has one (with the inputs, output and attributes mapped from the
// span), the shared mapping otherwise. A block's records, their
// texts and the calls mapped for them (written into the same recycled
// texts) are dead once the block is encoded, so the next block reuses
// their memory: an INSERT holds one block of records, whatever the
// batch's size, and mapping a span allocates nothing.
type batchSource struct {
	e *callsExporter
	w *columnWriter

	rss     ptrace.ResourceSpansSlice
	i, j, k int // the next span: resource, scope, span
	// left counts the spans with ids not read yet; spans without a span
	// or trace id have no call to be and are skipped.
	left   int
	mapped int // spans mapped here (no annotation) so far
	failed int // spans the mapping failed on: not written (see next)
}

// newBatchSource starts reading td into w; skipped counts its spans
// without ids.
func (e *callsExporter) newBatchSource(td ptrace.Traces, w *columnWriter) (src *batchSource, skipped int) {
	src = &batchSource{e: e, w: w, rss: td.ResourceSpans()}
	for i := 0; i < src.rss.Len(); i++ {
		sss := src.rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if callmap.Keyed(spans.At(k)) {
					src.left++
				} else {
					skipped++
				}
			}
		}
	}
	return src, skipped
}

// next returns the next block's records, overwriting the previous block's:
// chunkRows records, fewer once their fields reach chunkBytes, at least
// one; none when every span has been read.
func (s *batchSource) next() []callmap.Record {
	w := s.w
	clear(w.chunk)
	w.chunk = w.chunk[:0]
	w.texts.Reset()
	for size := 0; s.left > 0 && len(w.chunk) < chunkRows && size < chunkBytes; {
		rs := s.rss.At(s.i)
		sss := rs.ScopeSpans()
		if s.j >= sss.Len() {
			s.i, s.j = s.i+1, 0
			continue
		}
		ss := sss.At(s.j)
		spans := ss.Spans()
		if s.k >= spans.Len() {
			s.j, s.k = s.j+1, 0
			continue
		}
		span := spans.At(s.k)
		s.k++
		if !callmap.Keyed(span) {
			continue
		}
		r, annotated, err := callmap.ReadCall(s.e.mapCall, s.e.mapTexts, w.texts, rs.Resource(), ss.Scope(), span)
		if err != nil {
			// A panic in the mapper (a bug met on odd input) must not take
			// the collector down: the span is left out, logged and counted
			// as skipped.
			s.e.logger.Error("a span is not written as a call", zap.Error(err))
			s.failed++
			s.left--
			continue
		}
		if !annotated {
			s.mapped++
		}
		w.chunk = append(w.chunk, r)
		size += fieldBytes(&w.chunk[len(w.chunk)-1])
		s.left--
	}
	return w.chunk
}

// fieldBytes is the size of r's text fields, which make up nearly all of
// its encoded size.
func fieldBytes(r *callmap.Record) int {
	return len(r.ID) + len(r.TraceID) + len(r.ParentID) + len(r.ProjectID) + len(r.OpName) + len(r.OpSafeName) +
		len(r.DisplayName) + len(r.Exception) + len(r.Inputs) + len(r.Output) + len(r.Attributes) + len(r.Summary) +
		len(r.ThreadID) + len(r.TurnID) + len(r.WBUserID) + len(r.WBRunID) + len(r.Kind) + len(r.Model) +
		len(r.Provider) + len(r.Operation) + len(r.Status)
}
