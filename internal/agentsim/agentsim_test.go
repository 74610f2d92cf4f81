package agentsim

import (
	"context"
	"errors"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestRunDescribesWhatItEmits checks the Conversation against the spans the
// SDK recorded: the end-to-end tests trust it as the expected calls.
func TestRunDescribesWhatItEmits(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	agent := NewProvider(exp, AgentService)
	tools := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	conv := Run(context.Background(), Tracers{Agent: agent.Tracer("t"), Tools: tools.Tracer("t")}, "thread-1", 3, time.Unix(1_700_000_000, 0))
	// Flush, not Shutdown: the in-memory exporter forgets its spans at shutdown.
	if err := agent.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	recorded := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		recorded[s.SpanContext.SpanID().String()] = s
	}
	if len(recorded) != conv.Spans() {
		t.Fatalf("recorded %d spans, the conversation lists %d", len(recorded), conv.Spans())
	}
	failed := 0
	for i, turn := range conv.Turns {
		for j, sp := range turn.Spans {
			got, ok := recorded[sp.ID]
			if !ok {
				t.Fatalf("turn %d: span %s not recorded", i, sp.ID)
			}
			parent := ""
			if got.Parent.IsValid() {
				parent = got.Parent.SpanID().String()
			}
			if got.Name != sp.Name || parent != sp.ParentID || got.SpanContext.TraceID().String() != turn.TraceID {
				t.Errorf("turn %d span %d: recorded %q parent %q trace %s; listed %q parent %q trace %s",
					i, j, got.Name, parent, got.SpanContext.TraceID(), sp.Name, sp.ParentID, turn.TraceID)
			}
			if (got.Status.Code.String() == "Error") != sp.Failed {
				t.Errorf("turn %d %s: status %s, listed failed=%v", i, sp.Name, got.Status.Code, sp.Failed)
			}
			if sp.Failed {
				failed++
			}
		}
		if turn.Spans[0].ID != turn.RootID || turn.Spans[0].ParentID != "" {
			t.Errorf("turn %d: first span %+v is not the root %s", i, turn.Spans[0], turn.RootID)
		}
	}
	if failed != 2 { // the failing tool call and its HTTP call
		t.Errorf("%d failed spans, want 2 (turn %d)", failed, FailingTurn)
	}
}

func TestGeneratorRequest(t *testing.T) {
	for _, perTrace := range []int{1, 2, 5} {
		g := NewGenerator("e", "p", perTrace)
		req, roots := g.Request(4)
		td := req.Traces()
		if td.SpanCount() != 4*perTrace || len(roots) != 4 {
			t.Fatalf("%d per trace: %d spans, %d roots; want %d, 4", perTrace, td.SpanCount(), len(roots), 4*perTrace)
		}
		ids := map[string]bool{}
		rootsSeen := map[string]bool{}
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := range spans.Len() {
			s := spans.At(i)
			id := s.SpanID().String()
			if ids[id] {
				t.Errorf("span id %s twice", id)
			}
			ids[id] = true
			if s.ParentSpanID().IsEmpty() {
				rootsSeen[id] = true
			}
		}
		for _, r := range roots {
			if !rootsSeen[r] {
				t.Errorf("%d per trace: listed root %s is not a parentless span", perTrace, r)
			}
		}
		if len(rootsSeen) != 4 {
			t.Errorf("%d per trace: %d roots in the request, want 4", perTrace, len(rootsSeen))
		}
		if g.ProjectID() != "e/p" {
			t.Errorf("ProjectID %q", g.ProjectID())
		}
	}
}

// failingExporter refuses every export, as an unreachable collector does.
type failingExporter struct{}

func (failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("connection refused")
}
func (failingExporter) Shutdown(context.Context) error { return nil }

func TestProviderShutdownReportsFailedExports(t *testing.T) {
	tests := []struct {
		name    string
		exp     sdktrace.SpanExporter
		wantErr string
	}{
		{"exports succeed", tracetest.NewInMemoryExporter(), ""},
		{"exports fail", failingExporter{}, "exporting 1 spans: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProvider(tt.exp, AgentService)
			_, span := p.Tracer("t").Start(context.Background(), "s")
			span.End()
			err := p.Shutdown(context.Background())
			if (tt.wantErr == "") != (err == nil) || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("Shutdown: got %v, want %q", err, tt.wantErr)
			}
		})
	}
}
