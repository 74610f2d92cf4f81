package weavecallprocessor

import (
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/processor/weavecallprocessor/internal/metadata"
)

// Release reasons, the values of the `reason` attribute of the
// traces_released metric.
const (
	reasonRootIdle    = "root_idle"
	reasonMaxWait     = "max_wait"
	reasonMemoryLimit = "memory_limit"
	reasonShutdown    = "shutdown"
	reasonUngrouped   = "ungrouped"
	reasonLate        = "late"
)

// Fixed parts of the byte estimates, beyond the bytes they count. They are
// fitted to the heap the buffer really holds (TestBufferedBytesTrackTheHeap),
// so max_buffered_bytes bounds memory, not an encoding of it.
const (
	spanOverhead     = 512 // a decoded span besides its protobuf size: its structs, its place in the buffer
	attrOverhead     = 56  // an attribute in memory besides its protobuf encoding
	callOverhead     = 640 // a mapped call besides its JSON: the Call, its ids and names
	skeletonOverhead = 96  // a cached span skeleton besides its strings
	sourceOverhead   = 512 // a cached resource and scope
)

// spanBytes estimates the memory a decoded span holds.
func spanBytes(sizer *ptrace.ProtoMarshaler, sp ptrace.Span) int64 {
	attrs := sp.Attributes().Len()
	events := sp.Events()
	for i := 0; i < events.Len(); i++ {
		attrs += events.At(i).Attributes().Len()
	}
	links := sp.Links()
	for i := 0; i < links.Len(); i++ {
		attrs += links.At(i).Attributes().Len()
	}
	return int64(sizer.SpanSize(sp) + spanOverhead + attrOverhead*attrs)
}

// callBytes estimates the memory a mapped call holds.
func callBytes(c *callmap.Call) int64 {
	return int64(callOverhead + len(c.Inputs) + len(c.Output) + len(c.Attributes) + len(c.Summary.Custom) +
		len(c.Summary.Usage)*int(unsafe.Sizeof(callmap.ModelUsage{})) + len(c.Summary.Costs)*int(unsafe.Sizeof(callmap.ModelCost{})))
}

// evictBatch is how many traces one memory_limit pass releases from a shard
// before looking again for the shard with the oldest trace.
const evictBatch = 64

// weavecallProcessor is the weavecall processor (see README.md).
type weavecallProcessor struct {
	cfg    *Config
	next   consumer.Traces
	logger *zap.Logger
	tel    *metadata.TelemetryBuilder
	mapper *callmap.Mapper
	// mapCall maps one span, called with no Texts (each call keeps its own
	// memory until its trace is released); replaced in tests (a mapper
	// that panics). See keepsTexts for which mapping.
	mapCall callmap.MapFunc
	sizer   ptrace.ProtoMarshaler

	now  func() time.Time // injectable for tests
	tick time.Duration    // sweep period; 0: no background sweeps (tests sweep)

	shards   []*shard
	batchSeq atomic.Uint64
	// Totals over all shards, checked against the limits; they include the
	// spans held in the shards' outboxes.
	bufSpans, bufBytes atomic.Int64
	// heldSpans counts the spans held in outboxes (see deliver).
	heldSpans atomic.Int64
	// lastVersion serves the ungrouped mode, which has no shards.
	lastVersion atomic.Uint64

	reason   map[string]metric.AddOption
	stopped  atomic.Bool // Shutdown has begun: nothing is buffered any more
	done     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

var _ processor.Traces = (*weavecallProcessor)(nil)

func newProcessor(set processor.Settings, cfg *Config, next consumer.Traces) (*weavecallProcessor, error) {
	mapper, err := callmap.NewMapper(cfg.Mapping)
	if err != nil {
		return nil, fmt.Errorf("weavecall: mapping: %w", err)
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	n := cfg.Shards
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &weavecallProcessor{
		cfg: cfg, next: next, logger: set.Logger, tel: tel, mapper: mapper,
		now: time.Now, tick: sweepPeriod(cfg), done: make(chan struct{}),
		reason: map[string]metric.AddOption{},
	}
	p.mapCall = mapper.MapFactsTo
	if keepsTexts(cfg) {
		p.mapCall = mapper.MapTo
	}
	for _, r := range []string{reasonRootIdle, reasonMaxWait, reasonMemoryLimit, reasonShutdown, reasonUngrouped, reasonLate} {
		p.reason[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	p.shards = make([]*shard, n)
	for i := range p.shards {
		p.shards[i] = newShard(ceilDiv(cfg.ReleasedCacheTraces, n), int64(ceilDiv(int(cfg.ReleasedCacheBytes), n)))
	}
	return p, nil
}

// keepsTexts reports whether the processor maps and annotates calls
// whole, with their inputs, output and attributes: when it keeps released
// traces to update after late spans. A call it emits again then stands on
// a skeleton of its span (the original is gone downstream), so its texts
// must come from the cache. Otherwise it maps only the rest (MapFactsTo):
// the texts restate the span, which travels on with the annotation, and
// the exporter maps them from it (callmap.ReadCall); the buffer holds less
// and the annotation does not double the span.
func keepsTexts(cfg *Config) bool {
	return cfg.GroupByTrace && cacheEnabled(cfg.ReleasedCacheTraces, cfg.ReleasedCacheBytes)
}

// sweepPeriod is how often each shard looks for traces to release: a
// quarter of the idle window, within [5ms, 500ms].
func sweepPeriod(cfg *Config) time.Duration {
	return min(max(min(cfg.IdleTimeout, cfg.MaxWait)/4, 5*time.Millisecond), 500*time.Millisecond)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (p *weavecallProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// Start starts one sweeper per shard.
func (p *weavecallProcessor) Start(context.Context, component.Host) error {
	if !p.cfg.GroupByTrace || p.tick <= 0 {
		return nil
	}
	for _, s := range p.shards {
		p.wg.Add(1)
		go p.sweepLoop(s)
	}
	return nil
}

// Shutdown stops the sweepers and releases every buffered trace.
func (p *weavecallProcessor) Shutdown(ctx context.Context) error {
	p.stopped.Store(true)
	p.stopOnce.Do(func() { close(p.done) })
	p.wg.Wait()
	var errs []error
	now := p.now()
	for _, s := range p.shards {
		if !p.redeliver(ctx, s) {
			s.out.mu.Lock()
			for _, h := range s.out.held {
				errs = append(errs, fmt.Errorf("weavecall: at shutdown the next consumer still refuses %d released spans", h.spans))
			}
			s.out.mu.Unlock()
		}
		for more := true; more; {
			var out ptrace.Traces
			out, more = p.sweep(s, now, true)
			errs = append(errs, p.send(ctx, out))
		}
	}
	p.tel.Shutdown()
	return errors.Join(errs...)
}

func (p *weavecallProcessor) sweepLoop(s *shard) {
	defer p.wg.Done()
	t := time.NewTicker(p.tick)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.sweepDue(s)
		}
	}
}

// sweepDue is one tick of a shard's sweeper: what its outbox holds goes
// first, then the traces due now; while the next consumer refuses, they
// stay buffered.
func (p *weavecallProcessor) sweepDue(s *shard) {
	ctx := context.Background()
	if !p.redeliver(ctx, s) {
		return
	}
	now := p.now()
	for more := true; more; {
		var out ptrace.Traces
		out, more = p.sweep(s, now, false)
		if !p.deliver(ctx, s, out) {
			return
		}
	}
}

// releaseChunk bounds the spans one release hands on in one request, so a
// backlog (after a stall, at shutdown) goes out in digestible pieces.
const releaseChunk = 8192

// sweep releases the shard's traces due at now — every trace when all is
// set (shutdown) — up to about releaseChunk spans; more reports that it
// stopped at that bound and should be called again.
func (p *weavecallProcessor) sweep(s *shard, now time.Time, all bool) (out ptrace.Traces, more bool) {
	var ts []taken
	spans := 0
	s.mu.Lock()
	takeFrom := func(l *list.List, reason string, due func(*traceBuffer) bool) {
		for f := l.Front(); f != nil && spans < releaseChunk; f = l.Front() {
			tb := f.Value.(*traceBuffer)
			if !due(tb) {
				return
			}
			spans += len(tb.nodes)
			ts = append(ts, p.take(s, tb, reason))
		}
	}
	if all {
		takeFrom(&s.byAge, reasonShutdown, func(*traceBuffer) bool { return true })
	} else {
		takeFrom(&s.idle, reasonRootIdle, func(tb *traceBuffer) bool { return now.Sub(tb.last) >= p.cfg.IdleTimeout })
		takeFrom(&s.byAge, reasonMaxWait, func(tb *traceBuffer) bool { return now.Sub(tb.first) >= p.cfg.MaxWait })
	}
	var v uint64
	if len(ts) > 0 {
		v = s.nextVersion(now)
	}
	s.mu.Unlock()
	return p.releaseTaken(s, ts, v, now), spans >= releaseChunk
}

// annotate stores the call on its span with version v, its texts written
// in t.
func annotate(t *callmap.Texts, sp ptrace.Span, c *callmap.Call, v uint64) {
	rec := t.Record(c)
	rec.Version = v
	t.Annotate(sp, &rec)
}

// annotateDerived stores a node's call with its trace-level fields; a
// superseded duplicate gets a version just below the winner's, so storage
// keeps the winner.
func annotateDerived(t *callmap.Texts, sp ptrace.Span, own *callmap.Call, d *derived, v uint64) {
	c := d.callOf(own)
	if d.superseded {
		v--
	}
	annotate(t, sp, &c, v)
}

// textsPool lends the Texts that annotations are written in: the spans
// released or annotated together share chunks, and a chunk's room is used
// by the next release rather than left empty.
var textsPool = sync.Pool{New: func() any { return new(callmap.Texts) }}

// send passes released spans on; nothing to send is no call.
func (p *weavecallProcessor) send(ctx context.Context, td ptrace.Traces) error {
	if td.ResourceSpans().Len() == 0 {
		return nil
	}
	return p.next.ConsumeTraces(ctx, td)
}

// callSlabs hands out the calls of one request: one slice per trace, sized
// by a first pass over the request, instead of one allocation per call. A
// trace's slice is referenced by that trace's nodes only, so it lives as
// long as the trace (buffered, then cached), not as long as the request.
type callSlabs struct {
	byTrace map[pcommon.TraceID]int32
	slabs   []callSlab
}

type callSlab struct {
	calls []callmap.Call
	used  int
}

func newCallSlabs() callSlabs { return callSlabs{byTrace: map[pcommon.TraceID]int32{}} }

// count adds a span of trace id and returns the index of its slab.
func (c *callSlabs) count(id pcommon.TraceID) int32 {
	i, ok := c.byTrace[id]
	if !ok {
		i = int32(len(c.slabs))
		c.byTrace[id] = i
		c.slabs = append(c.slabs, callSlab{})
	}
	c.slabs[i].used++ // counts until the first next
	return i
}

// next returns slab i's next free call.
func (c *callSlabs) next(i int32) *callmap.Call {
	s := &c.slabs[i]
	if s.calls == nil {
		s.calls, s.used = make([]callmap.Call, s.used), 0
	}
	s.used++
	return &s.calls[s.used-1]
}

// unused gives back the call next returned last (its mapping failed).
func (c *callSlabs) unused(i int32) { c.slabs[i].used-- }

// mapSpan maps one span into c. A panic in the mapper (a bug met on odd
// input) must not take the collector down: the span is then passed on as
// it is (see callmap.MapGuarded).
func (p *weavecallProcessor) mapSpan(res pcommon.Resource, scope pcommon.InstrumentationScope, sp ptrace.Span, c *callmap.Call) bool {
	if !callmap.Keyed(sp) {
		return false
	}
	if err := callmap.MapGuarded(p.mapCall, nil, res, scope, sp, c); err != nil {
		p.logger.Error("weavecall: passing a span on unannotated", zap.Error(err))
		return false
	}
	return true
}

// ConsumeTraces maps the spans and either annotates them at once
// (group_by_trace: false) or buffers them by trace. After Shutdown, when
// nothing would release a buffer any more, spans are annotated at once.
// While released spans wait for the next consumer and the buffer is at its
// limits, the request is refused with errRefusing (retryable).
func (p *weavecallProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if !p.cfg.GroupByTrace || p.stopped.Load() {
		return p.consumeUngrouped(ctx, td)
	}
	if p.refusing() {
		return errRefusing
	}
	now := p.now()
	batch := p.batchSeq.Add(1)
	arrivals := make([]arrival, 0, td.SpanCount())
	pass := newSpanWriter() // spans that cannot be mapped go on as they are
	failed := int64(0)
	var src *source // the shared copy of the current scope's resource and scope
	srcOrdinal := int32(0)
	slabs := newCallSlabs()
	eachSpan(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, ordinal int32, sp ptrace.Span) {
		key := scopeKey{batch: batch, scope: ordinal}
		if !callmap.Keyed(sp) {
			failed++
			pass.move(key, rs, ss, sp)
			return
		}
		if srcOrdinal != ordinal {
			src, srcOrdinal = copySource(rs, ss), ordinal
		}
		arrivals = append(arrivals, arrival{key: key, rs: rs, ss: ss, src: src, span: sp, slab: slabs.count(sp.TraceID())})
	})
	byShard := make([][]int32, len(p.shards)) // indexes into arrivals, of the mapped ones
	for i := range arrivals {
		a := &arrivals[i]
		c := slabs.next(a.slab)
		if !p.mapSpan(a.rs.Resource(), a.ss.Scope(), a.span, c) {
			slabs.unused(a.slab)
			failed++
			pass.move(a.key, a.rs, a.ss, a.span)
			continue
		}
		a.call = c
		a.bytes = spanBytes(&p.sizer, a.span) + callBytes(c)
		sh := shardOf(a.span.TraceID(), len(p.shards))
		byShard[sh] = append(byShard[sh], int32(i))
	}
	if failed > 0 {
		p.tel.ProcessorWeavecallMappingFailures.Add(ctx, failed)
	}
	late := newSpanWriter()
	for sh, idx := range byShard {
		if len(idx) > 0 {
			p.place(p.shards[sh], arrivals, idx, now, &late)
		}
	}
	pass.td.ResourceSpans().MoveAndAppendTo(late.td.ResourceSpans())
	err := p.send(ctx, late.td)
	p.enforceLimits(ctx, now)
	return err
}

// place buffers a shard's share of a batch (arrivals[idx...]); spans of traces released
// already and still cached are handled as late spans, written to late.
func (p *weavecallProcessor) place(s *shard, arrivals []arrival, idx []int32, now time.Time, late *spanWriter) {
	var lateOf map[*releasedTrace][]*arrival
	var lateOrder []*releasedTrace
	var spans, bytes, traces int64
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, i := range idx {
		a := &arrivals[i]
		tid := a.span.TraceID()
		tb := s.traces[tid]
		if tb == nil {
			if e := s.releasing[tid]; e != nil {
				e.hold(a)
				continue
			}
			if e := s.cache.get(tid); e != nil {
				if lateOf == nil {
					lateOf = map[*releasedTrace][]*arrival{}
				}
				if lateOf[e] == nil {
					lateOrder = append(lateOrder, e)
				}
				lateOf[e] = append(lateOf[e], a)
				continue
			}
			tb = s.start(tid, now, len(idx)-k)
			traces++
		}
		s.add(tb, a, now)
		spans++
		bytes += a.bytes
	}
	ctx := context.Background()
	p.addBuffered(ctx, spans, bytes)
	p.tel.ProcessorWeavecallBufferedTraces.Add(ctx, traces)
	if len(lateOrder) == 0 {
		return
	}
	v := s.nextVersion(now)
	for _, e := range lateOrder {
		s.cache.resize(e, e.bytes+p.joinLate(e, lateOf[e], v, late))
	}
}

// joinLate adds late spans to a released trace, re-derives it and writes
// the late spans and every call whose trace-level fields changed (their
// ancestors' roll-ups, most often) with version v. It returns the bytes
// the cached trace grew by. The shard's lock is held.
func (p *weavecallProcessor) joinLate(e *releasedTrace, arr []*arrival, v uint64, late *spanWriter) (bytes int64) {
	old := len(e.nodes)
	moved := make([]ptrace.Span, len(arr))
	var lastKey scopeKey
	for i, a := range arr {
		if a.key != lastKey {
			e.sources = append(e.sources, *a.src)
			bytes += sourceOverhead
			lastKey = a.key
		}
		sp := late.move(a.key, a.rs, a.ss, a.span)
		moved[i] = sp
		e.nodes = append(e.nodes, newNode(sp, a.call))
		e.skel = append(e.skel, skeletonOf(sp, int32(len(e.sources)-1)))
		bytes += callBytes(a.call) + e.skel[len(e.skel)-1].bytes()
	}
	d := make([]derived, len(e.nodes))
	deriveTrace(e.nodes, d)
	reemit := newSpanWriter()
	annotated := int64(len(arr))
	texts := textsPool.Get().(*callmap.Texts)
	for i := range d {
		switch {
		case i >= old:
			annotateDerived(texts, moved[i-old], e.nodes[i].call, &d[i], v)
		case !d[i].sameAs(&e.out[i]):
			annotateDerived(texts, e.reemit(&reemit, i), e.nodes[i].call, &d[i], v)
			annotated++
		}
	}
	textsPool.Put(texts)
	e.out = d
	reemit.td.ResourceSpans().MoveAndAppendTo(late.td.ResourceSpans())

	ctx := context.Background()
	p.tel.ProcessorWeavecallLateSpans.Add(ctx, int64(len(arr)))
	p.tel.ProcessorWeavecallSpansAnnotated.Add(ctx, annotated)
	p.tel.ProcessorWeavecallTracesReleased.Add(ctx, 1, p.reason[reasonLate])
	return bytes
}

func (p *weavecallProcessor) overLimits() bool {
	return p.bufSpans.Load() > p.cfg.MaxBufferedSpans || p.bufBytes.Load() > p.cfg.MaxBufferedBytes
}

// enforceLimits releases the oldest traces while the buffer is above its
// limits, in the caller's goroutine. The released spans are not the
// caller's (they came earlier), so a refusal does not go back to the
// caller: deliver holds them, and releasing stops until the next consumer
// takes data again (new requests are refused meanwhile, see refusing).
func (p *weavecallProcessor) enforceLimits(ctx context.Context, now time.Time) {
	for p.overLimits() && p.heldSpans.Load() == 0 {
		var oldest *shard
		var first time.Time
		for _, s := range p.shards {
			if t, ok := s.oldest(); ok && (oldest == nil || t.Before(first)) {
				oldest, first = s, t
			}
		}
		if oldest == nil {
			break
		}
		var ts []taken
		oldest.mu.Lock()
		for f := oldest.byAge.Front(); f != nil && len(ts) < evictBatch && p.overLimits(); f = oldest.byAge.Front() {
			ts = append(ts, p.take(oldest, f.Value.(*traceBuffer), reasonMemoryLimit))
		}
		v := oldest.nextVersion(now)
		oldest.mu.Unlock()
		if !p.deliver(ctx, oldest, p.releaseTaken(oldest, ts, v, now)) {
			break
		}
	}
}

// consumeUngrouped maps and annotates each span on its own, in place.
func (p *weavecallProcessor) consumeUngrouped(ctx context.Context, td ptrace.Traces) error {
	v := p.nextVersion(p.now())
	var annotated, failed int64
	traces := map[pcommon.TraceID]struct{}{}
	texts := textsPool.Get().(*callmap.Texts)
	defer textsPool.Put(texts)
	eachSpan(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, _ int32, sp ptrace.Span) {
		var c callmap.Call
		if !p.mapSpan(rs.Resource(), ss.Scope(), sp, &c) {
			failed++
			return
		}
		annotate(texts, sp, &c, v)
		annotated++
		traces[sp.TraceID()] = struct{}{}
	})
	p.tel.ProcessorWeavecallSpansAnnotated.Add(ctx, annotated)
	p.tel.ProcessorWeavecallTracesReleased.Add(ctx, int64(len(traces)), p.reason[reasonUngrouped])
	if failed > 0 {
		p.tel.ProcessorWeavecallMappingFailures.Add(ctx, failed)
	}
	return p.next.ConsumeTraces(ctx, td)
}

// nextVersion is shard.nextVersion for the ungrouped mode, lock-free.
func (p *weavecallProcessor) nextVersion(now time.Time) uint64 {
	for {
		last := p.lastVersion.Load()
		if v := versionAfter(last, now); p.lastVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// shardOf spreads trace ids over n shards: the random right half of the id
// (W3C), mixed so that hand-made sequential ids spread too.
func shardOf(id pcommon.TraceID, n int) int {
	h := binary.LittleEndian.Uint64(id[8:]) ^ binary.LittleEndian.Uint64(id[:8])
	h *= 0x9e3779b97f4a7c15
	return int((h >> 32) % uint64(n))
}
