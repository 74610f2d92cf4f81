package weavecallprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/processor/weavecallprocessor/internal/metadatatest"
)

// agentTrace is a root, an agent with two LLM calls, and a tool that fails.
func agentTrace(trace string) []sp {
	return []sp{
		{trace: trace, id: "root", name: "root", start: 0, end: 900, input: "plan a trip"},
		{trace: trace, id: "agent", parent: "root", name: "agent", start: 10, end: 800, input: `{"goal":"plan a trip"}`},
		{trace: trace, id: "llm1", parent: "agent", name: "llm1", start: 20, end: 200, model: "gpt-4o", in: 100, out: 10},
		{trace: trace, id: "tool", parent: "agent", name: "tool", start: 210, end: 300, err: true},
		{trace: trace, id: "llm2", parent: "agent", name: "llm2", start: 310, end: 700, model: "gpt-4o", in: 200, out: 20},
	}
}

// TestReleasePolicy checks when a trace goes out (idle window after its
// root ended, or max_wait), with which reason, and what its calls carry.
func TestReleasePolicy(t *testing.T) {
	type step struct {
		advance   time.Duration
		wantSpans int // spans passed on so far
	}
	tests := []struct {
		name   string
		spans  []sp
		steps  []step
		reason string
		check  func(t *testing.T, calls map[string]callmap.Record)
	}{
		{
			name:   "root ended: released after the idle window",
			spans:  agentTrace("t1"),
			steps:  []step{{999 * time.Millisecond, 0}, {time.Millisecond, 5}},
			reason: reasonRootIdle,
			check: func(t *testing.T, calls map[string]callmap.Record) {
				assert.Equal(t, []string{"agent", "llm1", "llm2", "root", "tool"}, names(calls))
				for name, c := range calls {
					assert.Equal(t, calls["root"].Version, c.Version, "%s: one release, one version", name)
				}
				assert.Equal(t, callmap.StatusDescendantError, calls["root"].Status)
				assert.Equal(t, callmap.StatusDescendantError, calls["agent"].Status)
				assert.Equal(t, callmap.StatusError, calls["tool"].Status)
				assert.Equal(t, callmap.StatusSuccess, calls["llm1"].Status)
				root := summaryOf(t, calls["root"])
				assert.Equal(t, int64(300), root.Usage["gpt-4o"].InputTokens)
				assert.Equal(t, int64(4), root.StatusCounts.Success)
				assert.Equal(t, int64(1), root.StatusCounts.Error)
			},
		},
		{
			name: "a root whose parent is remote (span flags) counts as the root",
			spans: []sp{
				{id: "server", parent: "browser", remote: true, start: 0, end: 10},
				{id: "llm", parent: "server", start: 1, end: 5, thread: "conv"},
			},
			steps:  []step{{time.Second, 2}},
			reason: reasonRootIdle,
			check: func(t *testing.T, calls map[string]callmap.Record) {
				assert.Equal(t, hexID("server"), calls["llm"].TurnID)
				assert.Equal(t, hexID("browser"), calls["server"].ParentID)
			},
		},
		{
			name: "orphans: no root, released at max_wait",
			spans: []sp{
				{id: "a", parent: "missing", start: 0, end: 10, thread: "conv"},
				{id: "b", parent: "a", start: 1, end: 5, err: true},
			},
			steps:  []step{{9 * time.Second, 0}, {time.Second, 2}},
			reason: reasonMaxWait,
			check: func(t *testing.T, calls map[string]callmap.Record) {
				assert.Equal(t, callmap.StatusDescendantError, calls["a"].Status)
				assert.Equal(t, hexID("missing"), calls["a"].ParentID)
				assert.Equal(t, "conv", calls["b"].ThreadID)
				assert.Empty(t, calls["b"].TurnID, "no turn id while the root is unknown")
			},
		},
		{
			name: "a running root is never idle: released at max_wait",
			spans: []sp{
				{id: "root", start: 0, end: -1},
				{id: "child", parent: "root", start: 1, end: 5, err: true},
			},
			steps:  []step{{5 * time.Second, 0}, {5 * time.Second, 2}},
			reason: reasonMaxWait,
			check: func(t *testing.T, calls map[string]callmap.Record) {
				assert.Equal(t, callmap.StatusRunning, calls["root"].Status)
				assert.True(t, calls["root"].EndedAt.IsZero())
				assert.Equal(t, int64(1), summaryOf(t, calls["root"]).StatusCounts.Error)
				assert.Zero(t, summaryOf(t, calls["root"]).StatusCounts.Success, "running: not counted yet")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			require.NoError(t, h.consume(tt.spans...))
			for i, s := range tt.steps {
				h.advance(s.advance)
				require.Equal(t, s.wantSpans, h.sink.SpanCount(), "after step %d", i)
			}
			require.Len(t, h.sink.AllTraces(), 1, "one trace, one downstream request")
			tt.check(t, h.latest())
			metadatatest.AssertEqualProcessorWeavecallTracesReleased(t, h.tel, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", tt.reason))},
			}, metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualProcessorWeavecallSpansAnnotated(t, h.tel, []metricdata.DataPoint[int64]{{Value: int64(len(tt.spans))}}, metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualProcessorWeavecallBufferedSpans(t, h.tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
		})
	}
}

func TestMultiBatchMultiServiceOutOfOrder(t *testing.T) {
	h := newHarness(t, testConfig())
	// The backend's spans come first, from another service, in two batches,
	// interleaved with another trace; the root comes last.
	require.NoError(t, h.consume(
		sp{id: "llm2", parent: "agent", service: "backend", start: 310, end: 700, model: "gpt-4o", in: 200, out: 20, thread: "conv-9"},
		sp{trace: "t2", id: "other", service: "backend", start: 0, end: 5},
	))
	h.advance(500 * time.Millisecond)
	require.NoError(t, h.consume(
		sp{id: "llm1", parent: "agent", service: "backend", start: 20, end: 200, model: "gpt-4o", in: 100, out: 10},
		sp{id: "agent", parent: "root", service: "frontend", start: 10, end: 800},
	))
	h.advance(900 * time.Millisecond)
	// t2's root ended 1.4s ago; t1 has no root yet.
	assert.Equal(t, 1, h.sink.SpanCount())
	require.NoError(t, h.consume(sp{id: "root", service: "frontend", start: 0, end: 900}))
	h.advance(999 * time.Millisecond)
	assert.Equal(t, 1, h.sink.SpanCount())
	h.advance(time.Millisecond)
	assert.Equal(t, 5, h.sink.SpanCount())

	services := map[string]string{}
	for _, e := range h.emitted() {
		services[e.name] = e.service
	}
	assert.Equal(t, map[string]string{"llm1": "backend", "llm2": "backend", "agent": "frontend", "root": "frontend", "other": "backend"}, services,
		"each span keeps its own resource")
	calls := h.latest()
	assert.Equal(t, int64(300), inputTokens(t, calls["root"], "gpt-4o"))
	assert.Equal(t, int64(300), inputTokens(t, calls["agent"], "gpt-4o"))
	for _, n := range []string{"root", "agent", "llm1", "llm2"} {
		assert.Equal(t, "conv-9", calls[n].ThreadID, n)
		assert.Equal(t, hexID("root"), calls[n].TurnID, n)
	}
	assert.Empty(t, calls["other"].ThreadID)
	assert.Empty(t, calls["other"].TurnID)
}

func TestAggregateUsageNotCountedTwice(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.consume(
		sp{id: "root", start: 0, end: 900},
		sp{id: "agent", parent: "root", start: 1, end: 800, model: "gpt-4o", in: 300, out: 30},
		sp{id: "llm1", parent: "agent", start: 2, end: 100, model: "gpt-4o", in: 100, out: 10},
		sp{id: "llm2", parent: "agent", start: 3, end: 200, model: "gpt-4o", in: 200, out: 20},
	))
	h.advance(time.Second)
	calls := h.latest()
	assert.Equal(t, int64(300), inputTokens(t, calls["root"], "gpt-4o"))
	assert.Equal(t, int64(300), inputTokens(t, calls["agent"], "gpt-4o"))
	assert.Zero(t, calls["agent"].InputTokens, "the aggregate's own spend is zeroed")
	var sum int64
	for _, c := range calls {
		sum += c.InputTokens
	}
	assert.Equal(t, int64(300), sum, "SUM of own spend over calls")
}

func TestCycleSelfParentAndDuplicates(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.consume(
		sp{id: "root", start: 0, end: 100},
		sp{id: "self", parent: "self", start: 1, end: 2},
		sp{id: "a", parent: "b", start: 3, end: 4},
		sp{id: "b", parent: "a", start: 5, end: 6, err: true},
		sp{id: "dup", name: "dup-first", parent: "root", start: 7, end: 8, model: "m", in: 1, out: 1},
	))
	require.NoError(t, h.consume(sp{id: "dup", name: "dup-second", parent: "root", start: 7, end: 8, model: "m", in: 5, out: 5}))
	h.advance(time.Second)
	es := h.emitted()
	require.Len(t, es, 6, "every span passed on, duplicates included")
	calls := h.latest()
	assert.Equal(t, callmap.StatusSuccess, calls["self"].Status)
	assert.Equal(t, callmap.StatusDescendantError, calls["a"].Status, "cycle cut at a (earliest): b is its child")
	assert.Equal(t, int64(5), inputTokens(t, calls["root"], "m"), "the later duplicate wins the roll-up")
	assert.Equal(t, calls["dup-second"].Version-1, calls["dup-first"].Version, "the superseded copy sorts below the winner")
}

func TestMemoryLimitReleasesOldestFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit func(c *Config, oneTrace int64) // sets a limit that fits one trace, not two
	}{
		{"spans", func(c *Config, _ int64) { c.MaxBufferedSpans = 7 }},
		{"bytes", func(c *Config, oneTrace int64) { c.MaxBufferedBytes = oneTrace * 3 / 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			h := newHarness(t, cfg)
			require.NoError(t, h.consume(agentTrace("old")...))
			tc.limit(cfg, h.p.bufBytes.Load())
			h.clock.Advance(time.Millisecond)
			require.NoError(t, h.consume(agentTrace("new")...))
			require.Equal(t, 5, h.sink.SpanCount(), "the oldest trace went out at once")
			for _, e := range h.emitted() {
				assert.Equal(t, traceID("old").String(), e.rec.TraceID)
			}
			assert.LessOrEqual(t, h.p.bufSpans.Load(), cfg.MaxBufferedSpans)
			assert.LessOrEqual(t, h.p.bufBytes.Load(), cfg.MaxBufferedBytes)
			metadatatest.AssertEqualProcessorWeavecallTracesReleased(t, h.tel, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", reasonMemoryLimit))},
			}, metricdatatest.IgnoreTimestamp())
		})
	}
}

func TestShutdownFlushes(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.consume(agentTrace("t1")...))
	require.NoError(t, h.consume(sp{trace: "t2", id: "orphan", parent: "gone", start: 0, end: 1}))
	require.NoError(t, h.p.Shutdown(context.Background()))
	assert.Equal(t, 6, h.sink.SpanCount())
	assert.Len(t, h.latest(), 6)
	metadatatest.AssertEqualProcessorWeavecallTracesReleased(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", reasonShutdown))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestReleasesGoOutInChunks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release func(h *harness)
	}{
		{"timer", func(h *harness) { h.advance(time.Second) }},
		{"shutdown", func(h *harness) { require.NoError(t, h.p.Shutdown(context.Background())) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Shards = 1
			h := newHarness(t, cfg)
			const traces, per = 5, 4000
			for i := 0; i < traces; i++ {
				specs := []sp{{trace: fmt.Sprint("t", i), id: "root", start: 0, end: per + 1}}
				for j := 1; j < per; j++ {
					specs = append(specs, sp{trace: fmt.Sprint("t", i), id: fmt.Sprint("s", j), parent: "root", start: j, end: j + 1})
				}
				require.NoError(t, h.consume(specs...))
			}
			tc.release(h)
			require.Equal(t, traces*per, h.sink.SpanCount())
			reqs := h.sink.AllTraces()
			assert.Len(t, reqs, 2, "taking whole traces until 8192 spans: 3 traces, then 2")
			for _, td := range reqs {
				assert.LessOrEqual(t, td.SpanCount(), releaseChunk+per)
			}
		})
	}
}

func TestSpansAfterShutdownAreNotBuffered(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.p.Shutdown(context.Background()))
	require.NoError(t, h.consume(agentTrace("t1")...))
	assert.Equal(t, 5, h.sink.SpanCount(), "annotated and passed on at once")
	assert.Len(t, h.latest(), 5)
	assert.Zero(t, h.p.bufSpans.Load())
}

func TestLateSpanUpdatesAncestors(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.consume(agentTrace("t1")...))
	h.advance(time.Second)
	first := h.latest()
	h.sink.Reset()

	h.clock.Advance(time.Second)
	require.NoError(t, h.consume(sp{id: "llm3", parent: "agent", name: "llm3", start: 750, end: 790, model: "gpt-4o", in: 1000, out: 1}))
	es := h.emitted()
	got := map[string]callmap.Record{}
	for _, e := range es {
		require.True(t, e.annotated)
		got[e.name] = e.rec
	}
	assert.Equal(t, []string{"agent", "llm3", "root"}, names(got), "the late call and its ancestors; untouched calls are not repeated")
	for _, n := range []string{"agent", "root"} {
		assert.Greater(t, got[n].Version, first[n].Version, n)
		assert.Equal(t, int64(1300), inputTokens(t, got[n], "gpt-4o"), n)
		assert.Equal(t, first[n].Status, got[n].Status, n)
		assert.Equal(t, first[n].Inputs, got[n].Inputs, "%s re-emitted whole", n)
		assert.Equal(t, first[n].Output, got[n].Output, "%s re-emitted whole", n)
		assert.Equal(t, first[n].Attributes, got[n].Attributes, "%s re-emitted whole", n)
		assert.Equal(t, first[n].StartedAt, got[n].StartedAt, n)
		assert.Equal(t, first[n].EndedAt, got[n].EndedAt, n)
	}
	for _, td := range h.sink.AllTraces() {
		eachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, _ int32, span ptrace.Span) {
			_, reemitted := span.Attributes().Get(reemittedKey)
			assert.Equal(t, span.Name() != "llm3", reemitted, "%s: only the ancestors are marked re-emitted", span.Name())
		})
	}
	assert.Equal(t, int64(5), summaryOf(t, got["root"]).StatusCounts.Success)
	assert.Equal(t, int64(4), summaryOf(t, got["agent"]).StatusCounts.Success)
	for _, e := range es {
		assert.Equal(t, "app", e.service, "%s keeps its resource", e.name)
	}
	metadatatest.AssertEqualProcessorWeavecallLateSpans(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

func TestLateRootGivesTurnIDs(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.consume(sp{id: "child", parent: "root", start: 1, end: 2, thread: "conv"}))
	h.advance(10 * time.Second)
	require.Empty(t, h.latest()["child"].TurnID)
	require.NoError(t, h.consume(sp{id: "root", start: 0, end: 3}))
	calls := h.latest()
	assert.Equal(t, hexID("root"), calls["child"].TurnID)
	assert.Equal(t, hexID("root"), calls["root"].TurnID)
	assert.Equal(t, "conv", calls["root"].ThreadID)
}

func TestBigTraceStaysWithinLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("100k spans")
	}
	cfg := testConfig()
	cfg.MaxBufferedSpans = 5000
	cfg.MaxBufferedBytes = 8 << 20
	cfg.ReleasedCacheBytes = 4 << 20
	h := newHarness(t, cfg)
	const total, per = 100_000, 1000
	specs := make([]sp, 0, per)
	for i := 0; i < total; i += per {
		specs = specs[:0]
		for j := i; j < i+per; j++ {
			specs = append(specs, sp{id: fmt.Sprintf("s%06d", j), parent: "root", start: j, end: j + 1, model: "m", in: 1, out: 1})
		}
		require.NoError(t, h.consume(specs...))
		require.LessOrEqual(t, h.p.bufSpans.Load(), cfg.MaxBufferedSpans)
		require.LessOrEqual(t, h.p.bufBytes.Load(), cfg.MaxBufferedBytes)
		for _, s := range h.p.shards {
			require.LessOrEqual(t, s.cache.bytes, s.cache.maxBytes)
		}
	}
	require.NoError(t, h.consume(sp{id: "root", start: 0, end: total + 1}))
	require.NoError(t, h.p.Shutdown(context.Background()))
	seen := map[string]bool{}
	for _, e := range h.emitted() {
		require.True(t, e.annotated)
		seen[e.rec.ID] = true
	}
	assert.Len(t, seen, total+1, "every span passed on")
}

func TestUngrouped(t *testing.T) {
	cfg := testConfig()
	cfg.GroupByTrace = false
	h := newHarness(t, cfg)
	require.NoError(t, h.consume(agentTrace("t1")...))
	require.Equal(t, 5, h.sink.SpanCount(), "annotated and passed on in the same call")
	calls := h.latest()
	assert.Equal(t, callmap.StatusSuccess, calls["root"].Status, "no trace-level derivation")
	assert.Equal(t, int64(100), calls["llm1"].InputTokens)
	assert.Equal(t, `{"input.value":"plan a trip"}`, calls["root"].Inputs, "the texts, mapped from the span as the exporter does")
	for _, td := range h.sink.AllTraces() {
		eachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, _ int32, span ptrace.Span) {
			ann, _ := span.Attributes().Get(callmap.AnnotationKey)
			assert.Equal(t, 2, ann.Map().Len(), "%s: call and summary, no texts (nothing is emitted again)", span.Name())
		})
	}
	assert.Zero(t, h.p.bufSpans.Load())
	metadatatest.AssertEqualProcessorWeavecallTracesReleased(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", reasonUngrouped))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestUnmappableSpansPassOn(t *testing.T) {
	h := newHarness(t, testConfig())
	td := batch(sp{id: "ok", start: 0, end: 1}, sp{id: "noid", start: 0, end: 1})
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetSpanID([8]byte{})
	require.NoError(t, h.p.ConsumeTraces(context.Background(), td))
	es := h.emitted()
	require.Len(t, es, 1)
	assert.False(t, es[0].annotated)
	metadatatest.AssertEqualProcessorWeavecallMappingFailures(t, h.tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestBufferKeepsNothingOfTheRequest: buffered spans are moved out of their
// request and their resource and scope copied, so the request (and the
// memory of its other spans) is not kept alive, nor read again, once
// ConsumeTraces returns: changing it afterwards changes nothing.
func TestBufferKeepsNothingOfTheRequest(t *testing.T) {
	h := newHarness(t, testConfig())
	td := batch(append(agentTrace("t1"), agentTrace("t2")...)...)
	require.NoError(t, h.p.ConsumeTraces(context.Background(), td))
	rs := td.ResourceSpans().At(0)
	rs.Resource().Attributes().PutStr("service.name", "changed")
	rs.ScopeSpans().At(0).Scope().SetName("changed")
	eachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, _ int32, span ptrace.Span) {
		assert.True(t, span.TraceID().IsEmpty(), "every span was moved out")
	})
	td.ResourceSpans().RemoveIf(func(ptrace.ResourceSpans) bool { return true })

	h.advance(time.Second)
	require.Equal(t, 10, h.sink.SpanCount())
	for _, out := range h.sink.AllTraces() {
		for i := 0; i < out.ResourceSpans().Len(); i++ {
			rs := out.ResourceSpans().At(i)
			svc, _ := rs.Resource().Attributes().Get("service.name")
			assert.Equal(t, "app", svc.Str())
			assert.Equal(t, "test-instrumentation", rs.ScopeSpans().At(0).Scope().Name())
		}
	}
}

// TestMapperPanicPassesSpanOn: a span the mapper panics on goes on at once,
// unannotated and counted; the other spans of its trace (mapped into the
// same per-trace slice of calls) are buffered and released as usual, the
// failed one left out of the roll-ups.
func TestMapperPanicPassesSpanOn(t *testing.T) {
	h := newHarness(t, testConfig())
	mapCall := h.p.mapCall
	h.p.mapCall = func(t *callmap.Texts, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) callmap.Call {
		if span.Name() == "tool" {
			panic("mapper bug")
		}
		return mapCall(t, res, scope, span)
	}
	require.NoError(t, h.consume(append(agentTrace("t1"), agentTrace("t2")...)...))
	es := h.emitted()
	require.Len(t, es, 2, "the two tools, at once")
	for _, e := range es {
		assert.False(t, e.annotated)
		assert.Equal(t, "tool", e.name)
	}
	h.sink.Reset()
	h.advance(time.Second)
	calls := map[string]callmap.Record{}
	for _, e := range h.emitted() {
		require.True(t, e.annotated, e.name)
		assert.Equal(t, hexID(e.name), e.rec.ID, "%s carries its own call", e.name)
		calls[e.rec.TraceID+"/"+e.name] = e.rec
	}
	require.Len(t, calls, 8)
	for _, tr := range []string{"t1", "t2"} {
		root := calls[traceID(tr).String()+"/root"]
		assert.Equal(t, callmap.StatusSuccess, root.Status, "the failed tool is not part of the roll-ups")
		assert.Equal(t, int64(4), summaryOf(t, root).StatusCounts.Success)
	}
	metadatatest.AssertEqualProcessorWeavecallMappingFailures(t, h.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
}

func TestDownstreamErrors(t *testing.T) {
	boom := errors.New("downstream full")
	t.Run("late spans return the error to the caller", func(t *testing.T) {
		next := &flakyConsumer{}
		h := newHarness(t, testConfig(), next)
		require.NoError(t, h.consume(agentTrace("t1")...))
		h.clock.Advance(time.Second)
		h.sweepDueAll()
		next.setRefuse(-1)
		late := sp{trace: "t1", id: "llm3", parent: "agent", name: "llm3", start: 750, end: 790}
		assert.ErrorIs(t, h.consume(late), errQueueFull, "the caller's own spans: its sender retries")
	})
	t.Run("ungrouped returns the error", func(t *testing.T) {
		cfg := testConfig()
		cfg.GroupByTrace = false
		h := newHarness(t, cfg, consumertest.NewErr(boom))
		assert.ErrorIs(t, h.consume(agentTrace("t1")...), boom)
	})
	t.Run("timer releases refused for a while are held, then delivered once", func(t *testing.T) {
		next := &flakyConsumer{refuse: 3}
		h := newHarness(t, testConfig(), next)
		require.NoError(t, h.consume(agentTrace("t1")...))
		h.clock.Advance(time.Second)
		for range 3 {
			h.sweepDueAll()
			assert.EqualValues(t, 5, h.p.heldSpans.Load(), "refused: held")
			assert.EqualValues(t, 5, h.p.bufSpans.Load(), "held spans count in the buffer")
		}
		h.sweepDueAll()
		assert.EqualValues(t, 0, h.p.heldSpans.Load())
		assert.EqualValues(t, 0, h.p.bufSpans.Load())
		assert.EqualValues(t, 0, h.p.bufBytes.Load())
		assert.Equal(t, map[string]int{"t1/root": 1, "t1/agent": 1, "t1/llm1": 1, "t1/tool": 1, "t1/llm2": 1}, spanCounts(next.AllTraces()))
		metadatatest.AssertEqualProcessorWeavecallBufferedSpans(t, h.tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
		_, err := h.tel.GetMetric("otelcol_processor_weavecall_spans_failed")
		assert.Error(t, err, "nothing failed")
	})
	t.Run("limits hold what they release and refuse new data until the consumer takes it", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxBufferedSpans = 3
		next := &flakyConsumer{refuse: -1}
		h := newHarness(t, cfg, next)
		require.NoError(t, h.consume(agentTrace("t1")...), "t1 is buffered, released by the limit and held")
		assert.EqualValues(t, 5, h.p.heldSpans.Load())
		err := h.consume(agentTrace("t2")...)
		require.ErrorIs(t, err, errRefusing)
		assert.False(t, consumererror.IsPermanent(err), "the sender must retry")
		assert.EqualValues(t, 5, h.p.bufSpans.Load(), "the refused request was not buffered")

		next.setRefuse(0)
		h.sweepDueAll()
		require.NoError(t, h.consume(agentTrace("t2")...), "the retry is taken")
		assert.EqualValues(t, 0, h.p.heldSpans.Load())
		got := spanCounts(next.AllTraces())
		assert.Len(t, got, 10)
		for k, n := range got {
			assert.Equal(t, 1, n, k)
		}
	})
	t.Run("a release bigger than the consumer ever takes goes through in pieces", func(t *testing.T) {
		cfg := testConfig()
		cfg.Shards = 1
		next := &flakyConsumer{capacity: 100}
		h := newHarness(t, cfg, next)
		var all []sp
		for i := range 60 {
			all = append(all, agentTrace(fmt.Sprintf("t%d", i))...)
		}
		require.NoError(t, h.consume(all...))
		h.clock.Advance(time.Second)
		for i := 0; i < 20 && h.p.bufSpans.Load() > 0; i++ {
			h.sweepDueAll()
		}
		assert.EqualValues(t, 0, h.p.heldSpans.Load())
		assert.EqualValues(t, 0, h.p.bufSpans.Load())
		got := spanCounts(next.AllTraces())
		assert.Len(t, got, 300)
		for k, n := range got {
			assert.Equal(t, 1, n, k)
		}
		for _, td := range next.AllTraces() {
			assert.LessOrEqual(t, td.SpanCount(), 100)
		}
	})
	t.Run("a permanent refusal is logged and counted", func(t *testing.T) {
		h := newHarness(t, testConfig(), consumertest.NewErr(consumererror.NewPermanent(boom)))
		require.NoError(t, h.consume(agentTrace("t1")...))
		h.clock.Advance(time.Second)
		h.sweepDueAll()
		assert.EqualValues(t, 0, h.p.heldSpans.Load())
		assert.EqualValues(t, 0, h.p.bufSpans.Load())
		metadatatest.AssertEqualProcessorWeavecallSpansFailed(t, h.tel, []metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())
	})
	t.Run("shutdown reports what is still refused", func(t *testing.T) {
		h := newHarness(t, testConfig(), &flakyConsumer{refuse: -1})
		require.NoError(t, h.consume(agentTrace("t1")...))
		h.clock.Advance(time.Second)
		h.sweepDueAll()
		err := h.p.Shutdown(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "still refuses 5 released spans")
	})
	t.Run("the sweeper offers held spans again on its own", func(t *testing.T) {
		next := &flakyConsumer{refuse: 2}
		h := newHarness(t, testConfig(), next)
		h.p.tick = time.Millisecond
		require.NoError(t, h.consume(agentTrace("t1")...))
		h.clock.Advance(time.Second)
		h.p.wg.Add(1)
		go h.p.sweepLoop(h.p.shards[shardOf(traceID("t1"), len(h.p.shards))])
		require.Eventually(t, func() bool { return len(spanCounts(next.AllTraces())) == 5 }, 5*time.Second, time.Millisecond)
		require.NoError(t, h.p.Shutdown(context.Background()))
		assert.EqualValues(t, 0, h.p.bufSpans.Load())
	})
}

// TestConcurrentConsumers feeds many traces from several goroutines while
// the sweepers run, and checks every span comes out annotated exactly once.
// Each request carries spans of several traces (spread over the shards,
// released by different sweepers while the request is still being placed).
func TestConcurrentConsumers(t *testing.T) {
	cfg := testConfig()
	cfg.IdleTimeout = 0
	h := newHarness(t, cfg)
	h.p.now = time.Now
	h.p.tick = time.Millisecond
	require.NoError(t, h.p.Start(context.Background(), nil))
	const workers, traces = 4, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < traces; i += 4 {
				var children, roots []sp
				for j := i; j < i+4; j++ {
					tr := agentTrace(fmt.Sprintf("w%dt%d", w, j))
					children, roots = append(children, tr[1:]...), append(roots, tr[0])
				}
				// children first, roots in a later call
				assert.NoError(t, h.consume(children...))
				assert.NoError(t, h.consume(roots...))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, h.p.Shutdown(context.Background()))
	seen := map[string]int{}
	for _, e := range h.emitted() {
		require.True(t, e.annotated)
		seen[e.rec.TraceID+e.rec.ID]++
	}
	assert.Len(t, seen, workers*traces*5)
}

// TestSpanArrivingDuringRelease covers a span that comes while its trace is
// being derived outside the shard's lock: it is held, then joined as a
// late span when the release is done.
func TestSpanArrivingDuringRelease(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, h.consume(agentTrace("t1")...))
	s := h.p.shards[shardOf(traceID("t1"), len(h.p.shards))]
	s.mu.Lock()
	tk := h.p.take(s, s.traces[traceID("t1")], reasonRootIdle)
	v := s.nextVersion(h.clock.Now())
	s.mu.Unlock()

	require.NoError(t, h.consume(sp{id: "llm3", parent: "agent", name: "llm3", start: 750, end: 790, model: "gpt-4o", in: 1000, out: 1}))
	assert.Zero(t, h.sink.SpanCount(), "held, not passed on by the caller")

	require.NoError(t, h.p.send(context.Background(), h.p.releaseTaken(s, []taken{tk}, v, h.clock.Now())))
	assert.Equal(t, 5+3, h.sink.SpanCount(), "the trace, then llm3 with agent and root updated")
	calls := h.latest()
	assert.Equal(t, int64(1300), inputTokens(t, calls["root"], "gpt-4o"))
	assert.Greater(t, calls["root"].Version, v)
	assert.Equal(t, v, calls["llm1"].Version)
	assert.Empty(t, s.releasing)
	assert.NotNil(t, s.cache.get(traceID("t1")), "cached for later spans")
}

func TestReleasedCacheBounds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set        func(*Config)
		remembered []string // traces a late span still finds
	}{
		{"by traces: the least recently used is forgotten", func(c *Config) { c.ReleasedCacheTraces = 2 }, []string{"t2", "t3"}},
		{"by bytes: nothing fits", func(c *Config) { c.ReleasedCacheBytes = 100 }, nil},
		{"off", func(c *Config) { c.ReleasedCacheTraces = 0 }, nil},
		{"roomy", func(c *Config) {}, []string{"t1", "t2", "t3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Shards = 1
			tc.set(cfg)
			h := newHarness(t, cfg)
			for _, tr := range []string{"t1", "t2", "t3"} {
				require.NoError(t, h.consume(agentTrace(tr)...))
				h.advance(time.Second)
			}
			var remembered []string
			for _, tr := range []string{"t1", "t2", "t3"} {
				if h.p.shards[0].cache.get(traceID(tr)) != nil {
					remembered = append(remembered, tr)
				}
			}
			assert.Equal(t, tc.remembered, remembered)
			s := h.p.shards[0]
			assert.LessOrEqual(t, s.cache.bytes, s.cache.maxBytes)

			// A late span of t1: with t1 remembered, its ancestors come
			// again; without, it waits in a group of its own.
			h.sink.Reset()
			require.NoError(t, h.consume(sp{trace: "t1", id: "llm3", parent: "agent", start: 750, end: 790}))
			if len(tc.remembered) == 3 {
				assert.Equal(t, 3, h.sink.SpanCount())
			} else {
				assert.Zero(t, h.sink.SpanCount())
				assert.Equal(t, int64(1), h.p.bufSpans.Load())
			}
		})
	}
}

// TestSplitSpans splits after the first n spans, in order: each side keeps
// the resources and scopes of its spans, and none is left empty.
func TestSplitSpans(t *testing.T) {
	build := func() ptrace.Traces {
		td := ptrace.NewTraces()
		for r := range 2 {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc%d", r))
			rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
			for s := range 2 {
				ss := rs.ScopeSpans().AppendEmpty()
				ss.Scope().SetName(fmt.Sprintf("scope%d", s))
				for i := range 3 {
					ss.Spans().AppendEmpty().SetName(fmt.Sprintf("r%d.s%d.%d", r, s, i))
				}
			}
		}
		return td
	}
	// where names each span: resource service, scope and name.
	where := func(td ptrace.Traces) []string {
		var out []string
		for _, rs := range td.ResourceSpans().All() {
			svc, _ := rs.Resource().Attributes().Get("service.name")
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					out = append(out, svc.Str()+"/"+ss.Scope().Name()+"/"+span.Name())
				}
			}
		}
		return out
	}
	spanCount := func(rs ptrace.ResourceSpans) int {
		c := 0
		for _, ss := range rs.ScopeSpans().All() {
			c += ss.Spans().Len()
		}
		return c
	}
	want := where(build())
	for n := 1; n < 12; n++ {
		first, td := splitSpans(build(), n)
		assert.Equal(t, n, first.SpanCount(), "n=%d", n)
		assert.Equal(t, 12-n, td.SpanCount(), "n=%d", n)
		assert.Equal(t, want, append(where(first), where(td)...), "n=%d: order, resources and scopes kept", n)
		for _, part := range []ptrace.Traces{first, td} {
			for _, rs := range part.ResourceSpans().All() {
				assert.Equal(t, "https://opentelemetry.io/schemas/1.26.0", rs.SchemaUrl())
				assert.Positive(t, spanCount(rs), "no empty resource left behind (n=%d)", n)
			}
		}
	}
}
