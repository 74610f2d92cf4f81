package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// generator builds OTLP requests of agent traces: an invoke_agent root and
// children that alternate LLM calls (with token usage) and tool calls.
type generator struct {
	project       string
	spansPerTrace int
	traces        atomic.Uint64
}

const benchEntity = "bench"

func newGenerator(project string, spansPerTrace int) *generator {
	return &generator{project: project, spansPerTrace: spansPerTrace}
}

// projectID is the Weave project of the generated calls.
func (g *generator) projectID() string { return benchEntity + "/" + g.project }

var models = []string{"gpt-4o", "claude-sonnet-4-20250514"}

// request builds n traces that ended just now and returns the request and
// the span id (hex) of its first trace's root.
func (g *generator) request(n int) (ptraceotlp.ExportRequest, string) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "callhouse-loadgen")
	res.PutStr("wandb.entity", benchEntity)
	res.PutStr("wandb.project", g.project)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("callhouse-loadgen")
	spans := ss.Spans()
	spans.EnsureCapacity(n * g.spansPerTrace)

	end := time.Now()
	var firstRoot string
	for range n {
		k := g.traces.Add(1)
		tid := traceID()
		rootID := spanID()
		if firstRoot == "" {
			firstRoot = rootID.String()
		}
		step := 50 * time.Millisecond
		start := end.Add(-time.Duration(g.spansPerTrace) * step)

		root := spans.AppendEmpty()
		fill(root, tid, rootID, pcommon.SpanID{}, "invoke_agent bench-agent", start, end)
		a := root.Attributes()
		a.PutStr("gen_ai.operation.name", "invoke_agent")
		a.PutStr("gen_ai.agent.name", "bench-agent")
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("bench-thread-%d", k%1000))
		a.PutStr("input.value", "Plan a three-day trip to Lisbon.")
		a.PutStr("output.value", "Day 1: Alfama. Day 2: Belém. Day 3: Sintra.")

		for c := 1; c < g.spansPerTrace; c++ {
			s := spans.AppendEmpty()
			cs := start.Add(time.Duration(c-1) * step)
			if c%2 == 1 {
				model := models[(c/2)%len(models)]
				fill(s, tid, spanID(), rootID, "chat "+model, cs, cs.Add(step))
				a := s.Attributes()
				a.PutStr("gen_ai.operation.name", "chat")
				a.PutStr("gen_ai.request.model", model)
				a.PutInt("gen_ai.usage.input_tokens", 1000+int64(k%500))
				a.PutInt("gen_ai.usage.output_tokens", 200)
				a.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Plan a three-day trip to Lisbon."}]}]`)
			} else {
				fill(s, tid, spanID(), rootID, "execute_tool search", cs, cs.Add(step))
				a := s.Attributes()
				a.PutStr("gen_ai.operation.name", "execute_tool")
				a.PutStr("gen_ai.tool.name", "search")
				a.PutStr("gen_ai.tool.call.arguments", `{"query":"Lisbon sights"}`)
				a.PutStr("gen_ai.tool.call.result", `{"results":["Alfama","Belém","Sintra"]}`)
			}
		}
	}
	return ptraceotlp.NewExportRequestFromTraces(td), firstRoot
}

func fill(s ptrace.Span, tid pcommon.TraceID, id, parent pcommon.SpanID, name string, start, end time.Time) {
	s.SetTraceID(tid)
	s.SetSpanID(id)
	s.SetParentSpanID(parent)
	s.SetName(name)
	s.SetKind(ptrace.SpanKindInternal)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	s.Status().SetCode(ptrace.StatusCodeOk)
}

func traceID() pcommon.TraceID {
	var t pcommon.TraceID
	binary.BigEndian.PutUint64(t[:8], rand.Uint64())
	binary.BigEndian.PutUint64(t[8:], rand.Uint64())
	return t
}

func spanID() pcommon.SpanID {
	var s pcommon.SpanID
	binary.BigEndian.PutUint64(s[:], rand.Uint64()|1) // never the all-zero "no parent" id
	return s
}
