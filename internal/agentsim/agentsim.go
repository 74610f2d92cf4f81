// Package agentsim emits the traces of a realistic agent conversation with
// the OpenTelemetry Go API, as an instrumented agent application would: a
// thread of turns (gen_ai.conversation.id), per turn an invoke_agent span,
// LLM calls to two models with token usage, tool calls executed by a second
// service (a cross-service parent), one failing tool call, custom summary
// values (weave.summary.*) and a wandb.display_name. `make demo` sends it,
// and the end-to-end tests send it and check the calls it becomes against
// the Conversation it returns. Generator makes simpler synthetic agent
// traces directly as pdata, for the load generator and volume tests.
package agentsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Models used by the agent, as reported in gen_ai.response.model.
const (
	ModelGPT    = "gpt-4o"
	ModelClaude = "claude-sonnet-4-20250514"
)

// Resource attributes the services should carry (service.name aside).
const (
	Entity       = "demo"
	Project      = "travel-agent"
	AgentService = "travel-agent"
	ToolService  = "travel-tools"
)

// Tracers are the two services of the conversation: the agent, and the tool
// service it calls (whose spans are children of the agent's).
type Tracers struct {
	Agent, Tools trace.Tracer
}

// Span is one emitted span, as the call it should become.
type Span struct {
	ID, ParentID, Name, Service string
	Failed                      bool
	Exception                   string // "type: message" of its exception event, if any
	Model                       string // LLM calls only
	InputTokens, OutputTokens   int64
}

// Turn is one trace of the conversation.
type Turn struct {
	TraceID, RootID, Question string
	DisplayName               string
	Spans                     []Span // root first
}

// Conversation is what Run emitted.
type Conversation struct {
	ThreadID string
	Turns    []Turn
}

// Spans counts the spans of every turn.
func (c Conversation) Spans() int {
	n := 0
	for _, t := range c.Turns {
		n += len(t.Spans)
	}
	return n
}

var questions = []string{
	"Find me a flight from Berlin to Lisbon next Friday.",
	"Book a hotel near the old town for two nights.",
	"What is the weather going to be like?",
	"Summarise the plan and the total cost.",
}

// FailingTurn is the index of the turn whose hotel booking tool fails.
const FailingTurn = 1

// Run emits turns turns of thread threadID, the first starting at start;
// times are laid out as a real run would take them, without waiting.
func Run(ctx context.Context, tr Tracers, threadID string, turns int, start time.Time) Conversation {
	conv := Conversation{ThreadID: threadID}
	at := start
	for i := range turns {
		var turn Turn
		turn, at = runTurn(ctx, tr, threadID, i, at)
		conv.Turns = append(conv.Turns, turn)
		at = at.Add(5 * time.Second) // the user reads and types
	}
	return conv
}

// clock hands out the times of one turn's spans.
type clock struct{ t time.Time }

func (c *clock) next(d time.Duration) time.Time {
	c.t = c.t.Add(d)
	return c.t
}

func runTurn(ctx context.Context, tr Tracers, threadID string, i int, start time.Time) (Turn, time.Time) {
	q := questions[i%len(questions)]
	turn := Turn{Question: q, DisplayName: fmt.Sprintf("Turn %d: %s", i+1, q)}
	clk := &clock{t: start}
	rec := func(s trace.Span, parent trace.Span, name, service, model string, in, out int64, failed bool) {
		turn.Spans = append(turn.Spans, Span{
			ID: s.SpanContext().SpanID().String(), ParentID: parent.SpanContext().SpanID().String(),
			Name: name, Service: service, Failed: failed, Model: model, InputTokens: in, OutputTokens: out,
		})
	}

	ctx, root := tr.Agent.Start(ctx, "invoke_agent travel-planner", trace.WithTimestamp(clk.t),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "invoke_agent"),
			attribute.String("gen_ai.agent.name", "travel-planner"),
			attribute.String("gen_ai.conversation.id", threadID),
			attribute.String("wandb.display_name", turn.DisplayName),
			attribute.String("gen_ai.input.messages", messages("user", q)),
		))
	turn.TraceID = root.SpanContext().TraceID().String()
	turn.RootID = root.SpanContext().SpanID().String()
	// The root is recorded first so Spans starts with it; its parent is none.
	turn.Spans = append(turn.Spans, Span{ID: turn.RootID, Name: "invoke_agent travel-planner", Service: AgentService})

	// Plan with GPT-4o.
	in, out := int64(1200+100*i), int64(150)
	_, llm := tr.Agent.Start(ctx, "chat "+ModelGPT, trace.WithTimestamp(clk.next(20*time.Millisecond)),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(llmAttrs("openai", ModelGPT, in, out, q, "I will search for options.")...))
	llm.End(trace.WithTimestamp(clk.next(1800 * time.Millisecond)))
	rec(llm, root, "chat "+ModelGPT, AgentService, ModelGPT, in, out, false)

	// Tools run in the tool service.
	tool := func(name string, args, result map[string]any, fail error) {
		tctx, ts := tr.Tools.Start(ctx, "execute_tool "+name, trace.WithTimestamp(clk.next(10*time.Millisecond)),
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "execute_tool"),
				attribute.String("gen_ai.tool.name", name),
				attribute.String("gen_ai.tool.call.id", fmt.Sprintf("call_%s_%d", name, i)),
				attribute.String("gen_ai.tool.call.arguments", mustJSON(args)),
			))
		_, call := tr.Tools.Start(tctx, "GET "+name+"-api", trace.WithTimestamp(clk.next(5*time.Millisecond)),
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("server.address", name+".example.com")))
		if fail != nil {
			call.SetStatus(codes.Error, "504 Gateway Timeout")
			call.SetAttributes(attribute.Int("http.response.status_code", 504))
		}
		call.End(trace.WithTimestamp(clk.next(300 * time.Millisecond)))
		if fail != nil {
			// As a Python tool would record it (RecordError would name the
			// Go type).
			ts.AddEvent("exception", trace.WithTimestamp(clk.next(time.Millisecond)), trace.WithAttributes(
				attribute.String("exception.type", "TimeoutError"),
				attribute.String("exception.message", fail.Error()),
			))
			ts.SetStatus(codes.Error, fail.Error())
		} else {
			ts.SetAttributes(attribute.String("gen_ai.tool.call.result", mustJSON(result)))
		}
		ts.End(trace.WithTimestamp(clk.next(5 * time.Millisecond)))
		rec(ts, root, "execute_tool "+name, ToolService, "", 0, 0, fail != nil)
		if fail != nil {
			turn.Spans[len(turn.Spans)-1].Exception = "TimeoutError: " + fail.Error()
		}
		rec(call, ts, "GET "+name+"-api", ToolService, "", 0, 0, fail != nil)
	}
	tool("search_flights", map[string]any{"from": "BER", "to": "LIS", "day": "friday"},
		map[string]any{"flights": []any{map[string]any{"id": "TP541", "price_eur": 129}}}, nil)
	if i == FailingTurn {
		tool("book_hotel", map[string]any{"city": "Lisbon", "nights": 2}, nil, errors.New("hotel booking API timed out"))
	}

	// Answer with Claude.
	in, out = int64(800+50*i), int64(220)
	_, llm = tr.Agent.Start(ctx, "chat "+ModelClaude, trace.WithTimestamp(clk.next(10*time.Millisecond)),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(llmAttrs("anthropic", ModelClaude, in, out, q, "Here is your plan.")...))
	llm.SetAttributes(attribute.Int64("gen_ai.usage.cache_read.input_tokens", 300))
	llm.End(trace.WithTimestamp(clk.next(2500 * time.Millisecond)))
	rec(llm, root, "chat "+ModelClaude, AgentService, ModelClaude, in, out, false)

	root.SetAttributes(
		attribute.String("gen_ai.output.messages", messages("assistant", "Here is your plan.")),
		attribute.Float64("weave.summary.user_satisfaction", 0.9),
		attribute.Int("weave.summary.turn_number", i+1),
	)
	end := clk.next(20 * time.Millisecond)
	root.End(trace.WithTimestamp(end))
	return turn, end
}

func llmAttrs(provider, model string, in, out int64, prompt, answer string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", provider),
		attribute.String("gen_ai.request.model", model),
		attribute.String("gen_ai.response.model", model),
		attribute.Float64("gen_ai.request.temperature", 0.2),
		attribute.Int64("gen_ai.usage.input_tokens", in),
		attribute.Int64("gen_ai.usage.output_tokens", out),
		attribute.String("gen_ai.input.messages", messages("user", prompt)),
		attribute.String("gen_ai.output.messages", messages("assistant", answer)),
	}
}

// messages is a one-message list in the GenAI semantic conventions' shape.
func messages(role, text string) string {
	return mustJSON([]any{map[string]any{"role": role, "parts": []any{map[string]any{"type": "text", "content": text}}}})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only literal maps of this file are marshalled
	}
	return string(b)
}

// Provider is a tracer provider whose Shutdown also reports the exports
// that failed: the SDK's batching hands those to the global error handler
// and its Shutdown alone would say nothing of them.
type Provider struct {
	*sdktrace.TracerProvider
	exp *recordingExporter
}

// NewProvider is a tracer provider for service that exports with exp, with
// the W&B entity and project on its resource.
func NewProvider(exp sdktrace.SpanExporter, service string) *Provider {
	rec := &recordingExporter{SpanExporter: exp}
	return &Provider{
		TracerProvider: sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(rec),
			sdktrace.WithResource(resource.NewSchemaless(
				attribute.String("service.name", service),
				attribute.String("wandb.entity", Entity),
				attribute.String("wandb.project", Project),
			)),
		),
		exp: rec,
	}
}

// Shutdown flushes every span and stops the provider; it fails if any
// export failed.
func (p *Provider) Shutdown(ctx context.Context) error {
	return errors.Join(p.TracerProvider.Shutdown(ctx), p.exp.failed())
}

// recordingExporter remembers the first failed export.
type recordingExporter struct {
	sdktrace.SpanExporter
	mu  sync.Mutex
	err error
}

func (r *recordingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := r.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = fmt.Errorf("exporting %d spans: %w", len(spans), err)
		}
		r.mu.Unlock()
	}
	return err
}

func (r *recordingExporter) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
