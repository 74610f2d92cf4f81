package sidebyside

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

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

// NewLoad builds at least spans spans of agentsim's synthetic agent traces
// (an invoke_agent root over LLM and tool calls, spansPerTrace spans each;
// the load generator sends the same) in requests of whole traces of about
// spansPerRequest spans, as an SDK's batch span processor sends them.
func NewLoad(spans, spansPerRequest, spansPerTrace int) (*Load, error) {
	if spans < 1 || spansPerRequest < 1 || spansPerTrace < 1 {
		return nil, fmt.Errorf("spans (%d), spans per request (%d) and spans per trace (%d) must be positive",
			spans, spansPerRequest, spansPerTrace)
	}
	gen := agentsim.NewGenerator(agentsim.Entity, agentsim.Project, spansPerTrace)
	tracesPerRequest := max(1, spansPerRequest/spansPerTrace)
	l := &Load{}
	for l.spans < spans {
		n := min(tracesPerRequest, (spans-l.spans+spansPerTrace-1)/spansPerTrace)
		req, _ := gen.Request(n)
		l.spans += req.Traces().SpanCount()
		l.requests = append(l.requests, req)
	}
	return l, nil
}

// Sender sends a load over OTLP gRPC with a bounded number of concurrent
// requests, as fast as the collector accepts them or at a set pace.
type Sender struct {
	// Concurrency is the number of requests in flight.
	Concurrency int
	// Rate, when positive, paces the requests to about this many spans per
	// second (never faster; slower if the collector does not keep up), so
	// that runs can be compared at the same pace.
	Rate int
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
	start := time.Now()
	for range max(1, s.Concurrency) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(l.requests) || ctx.Err() != nil {
					return
				}
				if s.Rate > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Until(start.Add(due(i, l, s.Rate)))):
					}
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

// due is when request i of l may be sent at rate spans/s, after the start:
// once the spans of the requests before it (at l's mean request size) had
// their time.
func due(i int, l *Load, rate int) time.Duration {
	return time.Duration(float64(i) * float64(l.spans) / float64(len(l.requests)) / float64(rate) * float64(time.Second))
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
