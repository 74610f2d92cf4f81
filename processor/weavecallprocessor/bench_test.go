package weavecallprocessor

import (
	"context"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/processor/weavecallprocessor/internal/metadata"
)

// benchTracesPerBatch is how many traces one export request carries, as an
// SDK batch span processor would send them.
const benchTracesPerBatch = 8

// realisticAgentTrace builds one agent turn as an OpenLLMetry-instrumented
// app sends it: a root, an agent, three LLM calls and two tool calls (the
// second failing), with prompts, completions, parameters and usage.
func realisticAgentTrace(spans ptrace.SpanSlice, tid pcommon.TraceID) {
	start := pcommon.NewTimestampFromTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	ms := func(n int) pcommon.Timestamp { return start + pcommon.Timestamp(n)*1e6 }
	id := func(n byte) pcommon.SpanID { return pcommon.SpanID{tid[15], tid[14], tid[13], tid[12], 0, 0, 0, n} }
	prompt := strings.Repeat("Plan a three-day trip to Lisbon with museums and food. ", 8)
	answer := strings.Repeat("Day 1: Belém, pastéis, MAAT. Day 2: Alfama, fado. ", 6)
	add := func(n, parent byte, name string, from, to int) ptrace.Span {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(id(n))
		if parent != 0 {
			s.SetParentSpanID(id(parent))
		}
		s.SetName(name)
		s.SetKind(ptrace.SpanKindInternal)
		s.SetStartTimestamp(ms(from))
		s.SetEndTimestamp(ms(to))
		return s
	}
	root := add(1, 0, "POST /api/chat", 0, 4200)
	root.SetKind(ptrace.SpanKindServer)
	ra := root.Attributes()
	ra.PutStr("http.request.method", "POST")
	ra.PutStr("http.route", "/api/chat")
	ra.PutInt("http.response.status_code", 200)
	ra.PutStr("session.id", "sess-7f3a9c")
	ra.PutStr("wandb.user_id", "user-42")

	agent := add(2, 1, "travel_agent.workflow", 5, 4190)
	aa := agent.Attributes()
	aa.PutStr("traceloop.span.kind", "workflow")
	aa.PutStr("traceloop.entity.name", "travel_agent")
	aa.PutStr("traceloop.entity.input", `{"question":"`+prompt[:120]+`"}`)
	aa.PutStr("traceloop.entity.output", `{"answer":"`+answer[:120]+`"}`)

	llm := func(n byte, from, to int, in, out int64) {
		s := add(n, 2, "openai.chat", from, to)
		s.SetKind(ptrace.SpanKindClient)
		a := s.Attributes()
		a.PutStr("gen_ai.system", "openai")
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("llm.request.type", "chat")
		a.PutStr("gen_ai.request.model", "gpt-4o-mini")
		a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutInt("gen_ai.request.max_tokens", 1024)
		a.PutStr("gen_ai.prompt.0.role", "system")
		a.PutStr("gen_ai.prompt.0.content", "You are a helpful travel planner.")
		a.PutStr("gen_ai.prompt.1.role", "user")
		a.PutStr("gen_ai.prompt.1.content", prompt)
		a.PutStr("gen_ai.completion.0.role", "assistant")
		a.PutStr("gen_ai.completion.0.content", answer)
		a.PutStr("gen_ai.completion.0.finish_reason", "stop")
		a.PutInt("gen_ai.usage.input_tokens", in)
		a.PutInt("gen_ai.usage.output_tokens", out)
		a.PutInt("llm.usage.total_tokens", in+out)
		a.PutStr("gen_ai.response.id", "chatcmpl-9xYzAbCdEf")
	}
	tool := func(n byte, from, to int, name string, fail bool) {
		s := add(n, 2, name+".tool", from, to)
		a := s.Attributes()
		a.PutStr("traceloop.span.kind", "tool")
		a.PutStr("traceloop.entity.name", name)
		a.PutStr("traceloop.entity.input", `{"city":"Lisbon","days":3}`)
		if fail {
			s.Status().SetCode(ptrace.StatusCodeError)
			s.Status().SetMessage("upstream timeout")
			ev := s.Events().AppendEmpty()
			ev.SetName("exception")
			ev.SetTimestamp(ms(to))
			ev.Attributes().PutStr("exception.type", "TimeoutError")
			ev.Attributes().PutStr("exception.message", "weather API did not answer in 2s")
			ev.Attributes().PutStr("exception.stacktrace", strings.Repeat("  at fetchWeather (weather.ts:42:7)\n", 6))
			return
		}
		a.PutStr("traceloop.entity.output", `{"museums":["MAAT","Gulbenkian","Azulejo"]}`)
	}
	llm(3, 10, 1200, 412, 96)
	tool(4, 1210, 1500, "search_attractions", false)
	tool(5, 1510, 3510, "get_weather", true)
	llm(6, 3520, 3900, 688, 140)
	llm(7, 3910, 4180, 850, 310)
}

// benchBatch builds one export request of benchTracesPerBatch traces
// from one service, with trace ids from seq.
func benchBatch(seq *atomic.Uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	r := rs.Resource().Attributes()
	r.PutStr("service.name", "travel-agent")
	r.PutStr("service.version", "2.3.1")
	r.PutStr("deployment.environment.name", "production")
	r.PutStr("telemetry.sdk.language", "python")
	r.PutStr("wandb.project", "travel")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai.v1")
	ss.Scope().SetVersion("0.40.2")
	for i := 0; i < benchTracesPerBatch; i++ {
		var tid pcommon.TraceID
		n := seq.Add(1)
		binary.BigEndian.PutUint64(tid[8:], n*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(tid[:8], n)
		realisticAgentTrace(ss.Spans(), tid)
	}
	return td
}

// BenchmarkProcessor measures the processor end to end: export requests
// from parallel callers, grouped, released by the sweepers once the roots
// are idle (idle_timeout 0), mapped, derived, annotated and handed to a
// counting consumer. Building each request is inside the loop, as a
// receiver's decoding would be.
func BenchmarkProcessor(b *testing.B) {
	for _, mode := range []struct {
		name    string
		grouped bool
		cache   int
	}{{"grouped", true, defaultReleasedCacheTraces}, {"grouped-nocache", true, 0}, {"ungrouped", false, 0}} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.GroupByTrace = mode.grouped
			cfg.ReleasedCacheTraces = mode.cache
			cfg.IdleTimeout = 0
			var got atomic.Int64
			sink, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
				got.Add(int64(td.SpanCount()))
				return nil
			})
			require.NoError(b, err)
			p, err := newProcessor(processortest.NewNopSettings(metadata.Type), cfg, sink)
			require.NoError(b, err)
			require.NoError(b, p.Start(context.Background(), nil))
			var seq atomic.Uint64
			var sent atomic.Int64
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					td := benchBatch(&seq)
					sent.Add(int64(td.SpanCount()))
					if err := p.ConsumeTraces(context.Background(), td); err != nil {
						b.Error(err)
					}
				}
			})
			for deadline := time.Now().Add(time.Minute); got.Load() < sent.Load() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			require.NoError(b, p.Shutdown(context.Background()))
			require.Equal(b, sent.Load(), got.Load())
			// spans/s is wall-clock throughput (shared machines: noisy);
			// cpu-ns/span is the CPU the process spent per span, the
			// figure to size with: 2 cores give 2e9/cpu-ns/span spans/s.
			b.ReportMetric(float64(sent.Load())/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(sent.Load()), "cpu-ns/span")
		})
	}
}

// BenchmarkDerive measures the trace-level derivation alone on the
// realistic trace.
func BenchmarkDerive(b *testing.B) {
	p, err := newProcessor(processortest.NewNopSettings(metadata.Type), createDefaultConfig().(*Config), consumer.Traces(nil))
	require.NoError(b, err)
	var seq atomic.Uint64
	td := benchBatch(&seq)
	rs := td.ResourceSpans().At(0)
	ss := rs.ScopeSpans().At(0)
	nodes := make([]node, 7)
	for i := range nodes {
		s := ss.Spans().At(i)
		c := new(callmap.Call)
		p.mapSpan(rs.Resource(), ss.Scope(), s, c)
		nodes[i] = newNode(s, c)
	}
	out := make([]derived, len(nodes))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		deriveTrace(nodes, out)
	}
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuildRequest measures building the benchmark's input alone, to
// be taken off BenchmarkProcessor's CPU per span (a receiver's decoding
// would stand in its place).
func BenchmarkBuildRequest(b *testing.B) {
	var seq atomic.Uint64
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = benchBatch(&seq)
		}
	})
	b.StopTimer()
	spans := float64(seq.Load()) * 7
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/spans, "cpu-ns/span")
}
