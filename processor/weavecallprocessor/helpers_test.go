package weavecallprocessor

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/processor/weavecallprocessor/internal/metadatatest"
)

// testEpoch is the fake wall clock's start; span times are offsets from it.
var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is the processor's clock in tests: time moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testConfig is the default config with short windows for tests.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.IdleTimeout = time.Second
	cfg.MaxWait = 10 * time.Second
	cfg.Shards = 2
	return cfg
}

// harness is a started processor with a fake clock and no background
// sweeps: tests release traces with sweepAll.
type harness struct {
	t     *testing.T
	p     *weavecallProcessor
	clock *fakeClock
	sink  *consumertest.TracesSink
	tel   *componenttest.Telemetry
}

func newHarness(t *testing.T, cfg *Config, next ...consumer.Traces) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{t: t, clock: &fakeClock{now: testEpoch}, sink: new(consumertest.TracesSink), tel: componenttest.NewTelemetry()}
	var n consumer.Traces = h.sink
	if len(next) > 0 {
		n = next[0]
	}
	p, err := newProcessor(metadatatest.NewSettings(h.tel), cfg, n)
	require.NoError(t, err)
	p.now, p.tick = h.clock.Now, 0
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	h.p = p
	t.Cleanup(func() {
		_ = p.Shutdown(context.Background())
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	return h
}

func (h *harness) consume(specs ...sp) error {
	return h.p.ConsumeTraces(context.Background(), batch(specs...))
}

// sweepAll releases what is due on every shard, as the sweepers would.
func (h *harness) sweepAll() {
	for _, s := range h.p.shards {
		for more := true; more; {
			var out ptrace.Traces
			out, more = h.p.sweep(s, h.clock.Now(), false)
			require.NoError(h.t, h.p.send(context.Background(), out))
		}
	}
}

// sweepDueAll runs one sweeper tick on every shard (held spans first).
func (h *harness) sweepDueAll() {
	for _, s := range h.p.shards {
		h.p.sweepDue(s)
	}
}

// advance moves the clock and sweeps.
func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	h.sweepAll()
}

// sp describes a test span. Ids are short names (see spanID); times are
// milliseconds after testEpoch; end < 0 means still running.
type sp struct {
	trace, id, parent string
	service, name     string
	start, end        int
	err               bool
	model             string
	input             string // input.value (OpenInference)
	in, out           int64
	thread            string
	isTurn            bool
	remote            bool // the parent is in another process (span flags)
}

func traceID(name string) pcommon.TraceID {
	var id pcommon.TraceID
	copy(id[len(id)-len(name):], name)
	return id
}

func hexID(name string) string {
	id := spanID(name)
	return hex.EncodeToString(id[:])
}

// batch builds one export request: a ResourceSpans per service, in the
// order services first appear, spans in the given order.
func batch(specs ...sp) ptrace.Traces {
	td := ptrace.NewTraces()
	bySvc := map[string]ptrace.SpanSlice{}
	for _, s := range specs {
		svc := s.service
		if svc == "" {
			svc = "app"
		}
		spans, ok := bySvc[svc]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", svc)
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("test-instrumentation")
			ss.Scope().SetVersion("1.0.0")
			spans = ss.Spans()
			bySvc[svc] = spans
		}
		fillSpan(spans.AppendEmpty(), s)
	}
	return td
}

func fillSpan(span ptrace.Span, s sp) {
	tr := s.trace
	if tr == "" {
		tr = "t1"
	}
	span.SetTraceID(traceID(tr))
	span.SetSpanID(spanID(s.id))
	span.SetParentSpanID(spanID(s.parent))
	name := s.name
	if name == "" {
		name = s.id
	}
	span.SetName(name)
	span.SetKind(ptrace.SpanKindInternal)
	if s.remote {
		span.SetFlags(flagHasIsRemote | flagIsRemote)
	}
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(testEpoch.Add(time.Duration(s.start) * time.Millisecond)))
	if s.end >= 0 {
		end := max(s.end, s.start+1)
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(testEpoch.Add(time.Duration(end) * time.Millisecond)))
	}
	a := span.Attributes()
	if s.model != "" {
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.system", "openai")
		a.PutStr("gen_ai.request.model", s.model)
		a.PutStr("gen_ai.response.model", s.model)
		a.PutInt("gen_ai.usage.input_tokens", s.in)
		a.PutInt("gen_ai.usage.output_tokens", s.out)
		a.PutStr("gen_ai.prompt.0.role", "user")
		a.PutStr("gen_ai.prompt.0.content", "What is the weather in Paris?")
		a.PutStr("gen_ai.completion.0.role", "assistant")
		a.PutStr("gen_ai.completion.0.content", "Sunny, 21°C.")
	}
	if s.thread != "" {
		a.PutStr("gen_ai.conversation.id", s.thread)
	}
	if s.input != "" {
		a.PutStr("input.value", s.input)
	}
	if s.isTurn {
		a.PutBool("wandb.is_turn", true)
	}
	if s.err {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage("tool failed")
		ev := span.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", "ValueError")
		ev.Attributes().PutStr("exception.message", "no such city")
	}
}

// emitted is one span the processor passed on, with its call.
type emitted struct {
	rec       callmap.Record
	annotated bool
	service   string
	name      string
}

// emittedSpans lists every span the sink received, in order.
func emittedSpans(t *testing.T, batches []ptrace.Traces) []emitted {
	t.Helper()
	var out []emitted
	for _, td := range batches {
		eachSpan(td, func(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, _ int32, span ptrace.Span) {
			svc, _ := rs.Resource().Attributes().Get("service.name")
			rec, ok := readCall(t, rs, ss, span)
			out = append(out, emitted{rec: rec, annotated: ok, service: svc.AsString(), name: span.Name()})
		})
	}
	return out
}

// readCall reads a span's call as the exporter does (callmap.ReadCall:
// the annotation, completed with the texts mapped from the span with the
// default mapping); ok reports that the span was annotated.
func readCall(t *testing.T, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) (callmap.Record, bool) {
	t.Helper()
	if _, annotated := callmap.FromAnnotation(span); !annotated {
		return callmap.Record{}, false
	}
	m := defaultMapper(t)
	r, _, err := callmap.ReadCall(m.MapTo, m.MapTextsTo, nil, rs.Resource(), ss.Scope(), span)
	require.NoError(t, err)
	return r, true
}

func (h *harness) emitted() []emitted { return emittedSpans(h.t, h.sink.AllTraces()) }

// latest returns the newest version of each call the sink received, by
// span name, failing on a span without annotation.
func (h *harness) latest() map[string]callmap.Record {
	h.t.Helper()
	out := map[string]callmap.Record{}
	for _, e := range h.emitted() {
		require.True(h.t, e.annotated, "span %q passed on without annotation", e.name)
		if prev, ok := out[e.name]; !ok || e.rec.Version > prev.Version {
			out[e.name] = e.rec
		}
	}
	return out
}

// summary is the part of the summary JSON the tests look at.
type summary struct {
	Usage map[string]struct {
		Requests     int64 `json:"requests"`
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
	StatusCounts struct {
		Success int64 `json:"success"`
		Error   int64 `json:"error"`
	} `json:"status_counts"`
	Weave struct {
		Status string `json:"status"`
	} `json:"weave"`
}

func summaryOf(t *testing.T, r callmap.Record) summary {
	t.Helper()
	var s summary
	require.NoError(t, json.Unmarshal([]byte(r.Summary), &s), r.Summary)
	return s
}

// inputTokens is the subtree's input tokens of a model from the summary.
func inputTokens(t *testing.T, r callmap.Record, model string) int64 {
	return summaryOf(t, r).Usage[model].InputTokens
}

func names(m map[string]callmap.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// flakyConsumer refuses, with an error a retry can fix (as a full sending
// queue does), while refuse is not 0 — the next refuse calls when it is
// positive, every call when negative — and any request of more than
// capacity spans (when set: a queue that small), and records what it
// accepts.
type flakyConsumer struct {
	consumertest.TracesSink
	mu       sync.Mutex
	refuse   int
	capacity int
}

func (f *flakyConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	f.mu.Lock()
	if f.capacity > 0 && td.SpanCount() > f.capacity {
		f.mu.Unlock()
		return errQueueFull
	}
	if f.refuse != 0 {
		if f.refuse > 0 {
			f.refuse--
		}
		f.mu.Unlock()
		return errQueueFull
	}
	f.mu.Unlock()
	return f.TracesSink.ConsumeTraces(ctx, td)
}

func (f *flakyConsumer) setRefuse(n int) {
	f.mu.Lock()
	f.refuse = n
	f.mu.Unlock()
}

var errQueueFull = errors.New("sending queue is full")

// spanCounts counts the spans in batches by trace and name ("t1/root").
func spanCounts(batches []ptrace.Traces) map[string]int {
	n := map[string]int{}
	for _, td := range batches {
		eachSpan(td, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, _ int32, span ptrace.Span) {
			tid := span.TraceID()
			n[strings.TrimLeft(string(tid[:]), "\x00")+"/"+span.Name()]++
		})
	}
	return n
}

// defaultMapper is the mapping of the default config, as an exporter with
// the default config maps the texts of annotated spans (built once: it
// loads the price table).
func defaultMapper(t *testing.T) *callmap.Mapper {
	t.Helper()
	m, err := defaultMapperOnce()
	require.NoError(t, err)
	return m
}

var defaultMapperOnce = sync.OnceValues(func() (*callmap.Mapper, error) {
	return callmap.NewMapper(callmap.DefaultConfig())
})
