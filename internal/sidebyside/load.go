package sidebyside

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/callhouse/callhouse/internal/agentsim"
)

// Load is a fixed set of OTLP export requests, built before the clock
// starts so that both collectors receive byte for byte the same spans.
type Load struct {
	requests []ptraceotlp.ExportRequest
	spans    int
}

// Spans is how many spans the load holds.
func (l *Load) Spans() int { return l.spans }

// Requests is how many export requests the load is cut into.
func (l *Load) Requests() int { return len(l.requests) }

// templateTurns is the length of the agentsim conversation the load
// repeats: four turns cover every kind of turn agentsim emits (the failing
// tool call is in one of them).
const templateTurns = 4

// NewLoad builds at least spans spans (whole traces, so a few more) of
// agentsim conversations, in requests of about spansPerRequest spans as an
// SDK's batch span processor sends them. Every copy of the template gets
// trace and span ids of its own, so every span is a row of its own.
func NewLoad(ctx context.Context, spans, spansPerRequest int) (*Load, error) {
	if spans < 1 || spansPerRequest < 1 {
		return nil, fmt.Errorf("spans (%d) and spans per request (%d) must be positive", spans, spansPerRequest)
	}
	tmpl, err := template(ctx)
	if err != nil {
		return nil, err
	}
	traces := splitByTrace(tmpl)
	l := &Load{}
	req := ptrace.NewTraces()
	for copyNo := uint64(1); l.spans+req.SpanCount() < spans; copyNo++ {
		for _, t := range traces {
			renumber(t, copyNo).ResourceSpans().MoveAndAppendTo(req.ResourceSpans())
			if req.SpanCount() >= spansPerRequest {
				l.spans += req.SpanCount()
				l.requests = append(l.requests, ptraceotlp.NewExportRequestFromTraces(req))
				req = ptrace.NewTraces()
			}
		}
	}
	if req.SpanCount() > 0 {
		l.spans += req.SpanCount()
		l.requests = append(l.requests, ptraceotlp.NewExportRequestFromTraces(req))
	}
	return l, nil
}

// template runs agentsim once through an OTLP exporter whose client keeps
// the protobuf it would have sent: the same OTLP an instrumented agent sends.
func template(ctx context.Context) (ptrace.Traces, error) {
	c := &capture{}
	agentExp, err := otlptrace.New(ctx, c)
	if err != nil {
		return ptrace.Traces{}, err
	}
	toolsExp, err := otlptrace.New(ctx, c)
	if err != nil {
		return ptrace.Traces{}, err
	}
	agent := agentsim.NewProvider(agentExp, agentsim.AgentService)
	tools := agentsim.NewProvider(toolsExp, agentsim.ToolService)
	conv := agentsim.Run(ctx, agentsim.Tracers{Agent: agent.Tracer("sidebyside"), Tools: tools.Tracer("sidebyside")},
		"sidebyside-thread", templateTurns, time.Now().Add(-time.Minute))
	if err := errors.Join(agent.Shutdown(ctx), tools.Shutdown(ctx)); err != nil {
		return ptrace.Traces{}, err
	}
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: c.spans})
	if err != nil {
		return ptrace.Traces{}, err
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return ptrace.Traces{}, err
	}
	if got := req.Traces().SpanCount(); got != conv.Spans() {
		return ptrace.Traces{}, fmt.Errorf("agentsim emitted %d spans, %d captured", conv.Spans(), got)
	}
	return req.Traces(), nil
}

// capture is an otlptrace.Client that keeps what it is given.
type capture struct {
	mu    sync.Mutex
	spans []*tracepb.ResourceSpans
}

func (c *capture) Start(context.Context) error { return nil }
func (c *capture) Stop(context.Context) error  { return nil }
func (c *capture) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans = append(c.spans, rs...)
	return nil
}

// splitByTrace returns one Traces per trace id of td, keeping resources and
// scopes, so that a request holds whole traces (as the SDK of one service
// sends them, a trace's spans of both services arrive together here).
func splitByTrace(td ptrace.Traces) []ptrace.Traces {
	var order []pcommon.TraceID
	byTrace := map[pcommon.TraceID]ptrace.Traces{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out, ok := byTrace[s.TraceID()]
				if !ok {
					out = ptrace.NewTraces()
					byTrace[s.TraceID()] = out
					order = append(order, s.TraceID())
				}
				// One resource and scope per (trace, resource, scope).
				dstRS := findOrAddResource(out, rs)
				dstSS := findOrAddScope(dstRS, ss)
				s.CopyTo(dstSS.Spans().AppendEmpty())
			}
		}
	}
	traces := make([]ptrace.Traces, len(order))
	for i, id := range order {
		traces[i] = byTrace[id]
	}
	return traces
}

func findOrAddResource(td ptrace.Traces, src ptrace.ResourceSpans) ptrace.ResourceSpans {
	for _, rs := range td.ResourceSpans().All() {
		if rs.Resource().Attributes().Equal(src.Resource().Attributes()) {
			return rs
		}
	}
	rs := td.ResourceSpans().AppendEmpty()
	src.Resource().CopyTo(rs.Resource())
	rs.SetSchemaUrl(src.SchemaUrl())
	return rs
}

func findOrAddScope(rs ptrace.ResourceSpans, src ptrace.ScopeSpans) ptrace.ScopeSpans {
	for _, ss := range rs.ScopeSpans().All() {
		if ss.Scope().Name() == src.Scope().Name() && ss.Scope().Version() == src.Scope().Version() {
			return ss
		}
	}
	ss := rs.ScopeSpans().AppendEmpty()
	src.Scope().CopyTo(ss.Scope())
	ss.SetSchemaUrl(src.SchemaUrl())
	return ss
}

// renumber is a copy of t whose trace and span ids carry copyNo in their
// first eight bytes, so copies never collide and parent links stay inside
// the copy.
func renumber(t ptrace.Traces, copyNo uint64) ptrace.Traces {
	out := ptrace.NewTraces()
	t.CopyTo(out)
	for _, rs := range out.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				tid := s.TraceID()
				binary.BigEndian.PutUint64(tid[:8], copyNo)
				s.SetTraceID(tid)
				s.SetSpanID(renumberSpan(s.SpanID(), copyNo))
				if !s.ParentSpanID().IsEmpty() {
					s.SetParentSpanID(renumberSpan(s.ParentSpanID(), copyNo))
				}
			}
		}
	}
	return out
}

// renumberSpan replaces the first half of id with the low half of copyNo;
// the template's span ids are random, so their second halves are distinct.
func renumberSpan(id pcommon.SpanID, copyNo uint64) pcommon.SpanID {
	binary.BigEndian.PutUint32(id[:4], uint32(copyNo))
	return id
}

// Sender sends a load over OTLP gRPC with a bounded number of concurrent
// requests, as fast as the collector accepts them.
type Sender struct {
	// Concurrency is the number of requests in flight.
	Concurrency int
	// RetryFor bounds how long a refused request (the memory limiter or a
	// full queue answers Unavailable or ResourceExhausted) is retried.
	RetryFor time.Duration
}

// SendStats is what sending took.
type SendStats struct {
	// Retries counts refused requests that were sent again.
	Retries int64
}

// retryPause is the wait before a refused request is sent again.
const retryPause = 20 * time.Millisecond

// Send sends every request of l to endpoint (host:port) and returns once the
// collector accepted them all, or with the first error that retrying cannot
// fix.
func (s Sender) Send(ctx context.Context, endpoint string, l *Load) (SendStats, error) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return SendStats{}, err
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, retries atomic.Int64
	var wg sync.WaitGroup
	for range max(1, s.Concurrency) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(l.requests) || ctx.Err() != nil {
					return
				}
				n, err := s.export(ctx, client, l.requests[i])
				retries.Add(n)
				if err != nil {
					cancel(fmt.Errorf("request %d of %d: %w", i+1, len(l.requests), err))
					return
				}
			}
		})
	}
	wg.Wait()
	return SendStats{Retries: retries.Load()}, context.Cause(ctx)
}

// export sends req, retrying while the collector refuses it for now; it
// returns how many times it retried.
func (s Sender) export(ctx context.Context, client ptraceotlp.GRPCClient, req ptraceotlp.ExportRequest) (int64, error) {
	deadline := time.Now().Add(s.RetryFor)
	for retries := int64(0); ; retries++ {
		_, err := client.Export(ctx, req)
		if err == nil {
			return retries, nil
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
			if time.Now().After(deadline) {
				return retries, fmt.Errorf("still refused after %s: %w", s.RetryFor, err)
			}
			select {
			case <-ctx.Done():
				return retries, ctx.Err()
			case <-time.After(retryPause):
			}
		default:
			return retries, err
		}
	}
}
