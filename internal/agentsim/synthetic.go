package agentsim

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

// Generator builds synthetic agent traces as pdata, fast, for load and
// volume: an invoke_agent root and children that alternate LLM calls (with
// token usage) and tool calls. It is safe for concurrent use.
type Generator struct {
	entity, project string
	spansPerTrace   int
	traces          atomic.Uint64
}

// NewGenerator makes traces of spansPerTrace spans (at least 1) for the
// W&B entity and project.
func NewGenerator(entity, project string, spansPerTrace int) *Generator {
	return &Generator{entity: entity, project: project, spansPerTrace: max(1, spansPerTrace)}
}

// ProjectID is the Weave project of the generated calls.
func (g *Generator) ProjectID() string { return g.entity + "/" + g.project }

var syntheticModels = []string{ModelGPT, ModelClaude}

// Request builds n traces that ended just now and returns them as an OTLP
// request with the span ids (hex) of their roots.
func (g *Generator) Request(n int) (ptraceotlp.ExportRequest, []string) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "callhouse-synthetic-agent")
	res.PutStr("wandb.entity", g.entity)
	res.PutStr("wandb.project", g.project)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("callhouse-synthetic-agent")
	spans := ss.Spans()
	spans.EnsureCapacity(n * g.spansPerTrace)

	end := time.Now()
	roots := make([]string, 0, n)
	for range n {
		k := g.traces.Add(1)
		tid := traceID()
		rootID := spanID()
		roots = append(roots, rootID.String())
		step := 50 * time.Millisecond
		start := end.Add(-time.Duration(g.spansPerTrace) * step)

		root := spans.AppendEmpty()
		fill(root, tid, rootID, pcommon.SpanID{}, "invoke_agent synthetic-agent", start, end)
		a := root.Attributes()
		a.PutStr("gen_ai.operation.name", "invoke_agent")
		a.PutStr("gen_ai.agent.name", "synthetic-agent")
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("synthetic-thread-%d", k%1000))
		a.PutStr("input.value", "Plan a three-day trip to Lisbon.")
		a.PutStr("output.value", "Day 1: Alfama. Day 2: Belém. Day 3: Sintra.")

		for c := 1; c < g.spansPerTrace; c++ {
			s := spans.AppendEmpty()
			cs := start.Add(time.Duration(c-1) * step)
			if c%2 == 1 {
				model := syntheticModels[(c/2)%len(syntheticModels)]
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
	return ptraceotlp.NewExportRequestFromTraces(td), roots
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
