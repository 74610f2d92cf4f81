package weavecallprocessor

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// outbox holds a shard's released spans that the next consumer refused for
// a reason a retry can fix (the exporter's sending queue is full, say),
// oldest first. A release made by a sweeper or by the buffer limits has no
// caller to hand the refusal back to, and its spans were accepted from
// their senders long before: dropping them would lose data the senders
// count as delivered, so they wait here and are offered again.
type outbox struct {
	mu   sync.Mutex
	held []heldRelease
}

type heldRelease struct {
	td           ptrace.Traces
	spans, bytes int64
}

// errRefusing is what ConsumeTraces answers while released spans wait in
// an outbox and the buffer is at its limits: the sender retries later,
// rather than the processor buffering without bound or dropping.
var errRefusing = errors.New("weavecall: the next consumer is refusing data and the buffer is at " +
	"max_buffered_spans/max_buffered_bytes; retry later")

// refusing reports whether new data must wait (see errRefusing).
func (p *weavecallProcessor) refusing() bool {
	return p.heldSpans.Load() > 0 && p.overLimits()
}

// deliver hands spans released from s to the next consumer. Refused for a
// reason a retry can fix, they are held in s's outbox, still counted in
// the buffer's totals, and deliver reports false: the caller stops
// releasing until the outbox empties. A permanent refusal is logged and
// counted as failed; nothing can take those spans.
func (p *weavecallProcessor) deliver(ctx context.Context, s *shard, td ptrace.Traces) bool {
	err := p.send(ctx, td)
	if err == nil {
		return true
	}
	n := int64(td.SpanCount())
	if consumererror.IsPermanent(err) {
		p.failed(ctx, n, err)
		return true
	}
	h := heldRelease{td: td, spans: n}
	eachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, _ int32, sp ptrace.Span) {
		h.bytes += spanBytes(&p.sizer, sp)
	})
	s.out.mu.Lock()
	s.out.held = append(s.out.held, h)
	s.out.mu.Unlock()
	if p.heldSpans.Add(n) == n {
		p.logger.Warn("weavecall: the next consumer refused released spans; holding them and offering them again",
			zap.Int64("spans", n), zap.Error(err))
	}
	p.addBuffered(ctx, h.spans, h.bytes)
	return false
}

// redeliver offers s's held releases again, oldest first, and reports
// whether none is left. Only s's sweeper (or Shutdown, after the sweepers)
// calls it; deliver only appends, so the front stays put while it is sent
// without the lock.
func (p *weavecallProcessor) redeliver(ctx context.Context, s *shard) bool {
	for {
		s.out.mu.Lock()
		if len(s.out.held) == 0 {
			s.out.held = nil
			s.out.mu.Unlock()
			return true
		}
		h := s.out.held[0]
		s.out.mu.Unlock()
		err := p.send(ctx, h.td)
		if err != nil && !consumererror.IsPermanent(err) {
			p.halveFront(s)
			return false
		}
		if err != nil {
			p.failed(ctx, h.spans, err)
		}
		s.out.mu.Lock()
		s.out.held[0] = heldRelease{}
		s.out.held = s.out.held[1:]
		s.out.mu.Unlock()
		p.addBuffered(ctx, -h.spans, -h.bytes)
		if p.heldSpans.Add(-h.spans) == 0 {
			p.logger.Info("weavecall: the next consumer accepts released spans again")
		}
	}
}

// splitFloor: a held release of at least twice this many spans is halved
// each time it is refused, so that one bigger than the next consumer can
// ever take at once (a sending queue smaller than the release) still gets
// through, in pieces, while a long outage does not crumble releases into
// tiny requests.
const splitFloor = 64

// halveFront splits s's oldest held release in two, both held, first half
// first, when it is large enough (see splitFloor).
func (p *weavecallProcessor) halveFront(s *shard) {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	h := s.out.held[0]
	if h.spans < 2*splitFloor {
		return
	}
	n := h.spans / 2
	a, b := splitSpans(h.td, int(n))
	first := heldRelease{td: a, spans: n, bytes: h.bytes * n / h.spans}
	rest := heldRelease{td: b, spans: h.spans - n, bytes: h.bytes - first.bytes}
	s.out.held = append(s.out.held, heldRelease{})
	copy(s.out.held[2:], s.out.held[1:])
	s.out.held[0], s.out.held[1] = first, rest
}

// splitSpans splits td after its first n spans, keeping their order; each
// side holds copies of the resources and scopes of its spans.
func splitSpans(td ptrace.Traces, n int) (first, rest ptrace.Traces) {
	a, b := newSpanWriter(), newSpanWriter()
	i := 0
	eachSpan(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, ordinal int32, sp ptrace.Span) {
		w := &b
		if i < n {
			w = &a
		}
		i++
		w.move(scopeKey{batch: 1, scope: ordinal}, rs, ss, sp)
	})
	return a.td, b.td
}

// addBuffered counts spans entering (positive) or leaving the buffer, an
// outbox included, in its totals and gauges.
func (p *weavecallProcessor) addBuffered(ctx context.Context, spans, bytes int64) {
	p.bufSpans.Add(spans)
	p.bufBytes.Add(bytes)
	p.tel.ProcessorWeavecallBufferedSpans.Add(ctx, spans)
	p.tel.ProcessorWeavecallBufferedBytes.Add(ctx, bytes)
}

// failed logs and counts spans the next consumer refused for good.
func (p *weavecallProcessor) failed(ctx context.Context, spans int64, err error) {
	p.tel.ProcessorWeavecallSpansFailed.Add(ctx, spans)
	p.logger.Error("weavecall: the next consumer refused released spans for good", zap.Int64("spans", spans), zap.Error(err))
}
