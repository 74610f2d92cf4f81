package callmap

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/pricing"
)

// realisticSpan is a chat span as GenAI-instrumented apps send it: 30
// attributes, about 2 KB of messages.
func realisticSpan() (pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "support-bot")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ra.PutStr("telemetry.sdk.language", "python")
	ra.PutStr("telemetry.sdk.version", "1.38.0")
	ra.PutStr("wandb.entity", "acme")
	ra.PutStr("wandb.project", "support")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	ss.Scope().SetVersion("2.1b0")
	span := ss.Spans().AppendEmpty()
	span.SetName("chat gpt-4o-mini")
	span.SetKind(ptrace.SpanKindClient)
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	span.SetParentSpanID(pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1})
	start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1234 * time.Millisecond)))
	a := span.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "openai")
	a.PutStr("gen_ai.request.model", "gpt-4o-mini")
	a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
	a.PutDouble("gen_ai.request.temperature", 0.7)
	a.PutInt("gen_ai.request.max_tokens", 512)
	a.PutDouble("gen_ai.request.top_p", 1)
	a.PutInt("gen_ai.request.seed", 42)
	a.PutStr("gen_ai.response.id", "chatcmpl-AbCdEf0123456789")
	a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	a.PutInt("gen_ai.usage.input_tokens", 412)
	a.PutInt("gen_ai.usage.output_tokens", 96)
	a.PutInt("gen_ai.usage.cache_read.input_tokens", 128)
	a.PutStr("gen_ai.conversation.id", "conv-42")
	a.PutStr("gen_ai.system_instructions", `[{"type":"text","content":"You are a helpful support agent for Acme. Answer briefly and cite the manual."}]`)
	a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+strings.Repeat("My router keeps dropping the connection every few minutes. ", 20)+`"}]},{"role":"assistant","parts":[{"type":"text","content":"Which model is it?"}]},{"role":"user","parts":[{"type":"text","content":"The AX-3000."}]}]`)
	a.PutStr("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+strings.Repeat("Update the firmware first. ", 12)+`"}],"finish_reason":"stop"}]`)
	a.PutStr("server.address", "api.openai.com")
	a.PutInt("server.port", 443)
	a.PutStr("openai.response.service_tier", "default")
	a.PutStr("openai.request.service_tier", "auto")
	a.PutStr("user.id", "u-981")
	a.PutDouble("weave.summary.accuracy", 0.95)
	a.PutStr("weave.summary.grader", "exact")
	a.PutStr("code.function.name", "answer")
	a.PutStr("code.file.path", "bot/answer.py")
	a.PutInt("code.line.number", 88)
	a.PutStr("http.request.method", "POST")
	a.PutBool("gen_ai.request.stream", false)
	a.PutStr("deployment.environment.name", "prod")
	return rs.Resource(), ss.Scope(), span
}

func benchMapper(b testing.TB) *Mapper {
	prices, err := pricing.Load(pricing.Config{Overrides: map[string]pricing.Override{
		"gpt-4o-mini-2024-07-18": {Provider: "openai", InputCostPerToken: 0.15e-6, OutputCostPerToken: 0.6e-6, CacheReadInputTokenCost: 0.075e-6, EffectiveDate: "2024-07-18"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return NewMapperWithPrices(DefaultConfig(), prices)
}

// BenchmarkMap maps the realistic span as the exporter does and as the
// processor does, Map and ToRecord (the summary text) each time:
//
//   - exporter: the call's JSON and summary are written into a recycled
//     Texts, Reset every exporterBlock calls as the exporter's is after each
//     INSERT block: the mapping reuses its memory;
//   - processor: the call's JSON is an allocation of its own (Map), as the
//     processor keeps each call until its trace is released and, with its
//     cache of released traces (the default), after that; the summary goes
//     into a Texts that is never Reset, as a release's does;
//   - processor-facts: MapFactsTo instead, the call without its inputs,
//     output and attributes texts (the exporter maps those from the span),
//     as the processor maps without that cache or ungrouped;
//   - exporter-texts: MapTextsTo into a recycled Texts, those texts alone,
//     as the exporter maps them for a span annotated without them (the
//     summary comes with the annotation: no ToRecord).
func BenchmarkMap(b *testing.B) {
	m := benchMapper(b)
	res, scope, span := realisticSpan()
	if n := span.Attributes().Len(); n != 30 {
		b.Fatalf("realistic span has %d attributes, want 30", n)
	}
	b.Run("exporter", func(b *testing.B) {
		texts := NewRecycledTexts()
		benchMap(b, func(i int) {
			c := m.MapTo(texts, res, scope, span)
			_ = texts.Record(&c)
			if i%exporterBlock == exporterBlock-1 {
				texts.Reset()
			}
		})
	})
	b.Run("processor", func(b *testing.B) {
		var texts Texts
		benchMap(b, func(int) {
			c := m.Map(res, scope, span)
			_ = texts.Record(&c)
		})
	})
	b.Run("exporter-texts", func(b *testing.B) {
		texts := NewRecycledTexts()
		benchMap(b, func(i int) {
			_ = m.MapTextsTo(texts, res, scope, span)
			if i%exporterBlock == exporterBlock-1 {
				texts.Reset()
			}
		})
	})
	b.Run("processor-facts", func(b *testing.B) {
		var texts Texts
		benchMap(b, func(int) {
			c := m.MapFactsTo(nil, res, scope, span)
			_ = texts.Record(&c)
		})
	})
}

// exporterBlock is the exporter's chunkRows: the records of one INSERT
// block, whose texts die together.
const exporterBlock = 256

// benchMap runs op(i) b.N times and reports, beside the wall time, the
// CPU time per op: the machines these run on are shared, and the process's
// CPU time (the garbage collector's included) is steadier than wall time
// when others are busy.
func benchMap(b *testing.B, op func(i int)) {
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		op(i)
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMapLongPrompt is BenchmarkMap with a retrieval-sized prompt:
// 16 KB of context in the user message instead of 1.2 KB. Long texts are
// where the 32-byte scan (an x86-64-v3 build) pays.
func BenchmarkMapLongPrompt(b *testing.B) {
	m := benchMapper(b)
	res, scope, span := realisticSpan()
	span.Attributes().PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+strings.Repeat("Section 4.2: the AX-3000 reconnects after a firmware update. ", 256)+`"}]}]`)
	var texts Texts
	benchMap(b, func(int) {
		c := m.Map(res, scope, span)
		_ = texts.Record(&c)
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkToRecord encodes the realistic span's call (the summary with
// its usage and costs is the part written here): into a Texts, as the
// processor and the exporter do, and on its own (ToRecord).
func BenchmarkToRecord(b *testing.B) {
	c := benchMapper(b).Map(realisticSpan())
	b.Run("texts", func(b *testing.B) {
		var texts Texts
		b.ReportAllocs()
		for b.Loop() {
			r := texts.Record(&c)
			_ = r
		}
	})
	b.Run("own", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := c.ToRecord()
			_ = r
		}
	})
}

// BenchmarkAnnotate measures the processor→exporter hand-over of one call:
// the annotation written on the span and read back.
func BenchmarkAnnotate(b *testing.B) {
	m := benchMapper(b)
	res, scope, span := realisticSpan()
	c := m.Map(res, scope, span)
	r := c.ToRecord()
	b.ReportAllocs()
	for b.Loop() {
		Annotate(span, &r)
		got, ok := FromAnnotation(span)
		if !ok || got.Summary != r.Summary {
			b.Fatal("annotation did not round-trip")
		}
	}
}
