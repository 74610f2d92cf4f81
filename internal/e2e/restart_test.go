package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/callhouse/callhouse/internal/agentsim"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// TestRestartMidStream restarts the collector, with the persistent sending
// queue on, while a client streams traces and resends what was refused (as
// OTLP clients do) — and while ClickHouse is unreachable, so that the
// collector stops holding accepted spans it could not write yet. Every span
// must become exactly one call: nothing lost, nothing twice.
func TestRestartMidStream(t *testing.T) {
	const (
		tracesPerRequest = 20
		spansPerTrace    = 5
		pace             = 15 * time.Millisecond
	)
	// Requests sent in each phase: ClickHouse up; ClickHouse down; after
	// the restart (stopped while ClickHouse was down, started once it is
	// back).
	phases := []int{40, 40, 40}

	proxy := newTCPProxy(t, embeddedchtest.Addr())
	c := startCollector(t, collectorOptions{persistentQueue: true, clickhouse: proxy.addr()})
	conn := clickhouseConn(t)
	grpcConn, err := grpc.NewClient(c.ep.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer grpcConn.Close()
	client := ptraceotlp.NewGRPCClient(grpcConn)
	gen := agentsim.NewGenerator("e2e", "restart", spansPerTrace)

	var sent, resent atomic.Int64
	stream := func(requests int) {
		for range requests {
			req, _ := gen.Request(tracesPerRequest)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := client.Export(ctx, req)
				cancel()
				if err == nil {
					break
				}
				resent.Add(1) // refused (the collector is restarting): send again
				time.Sleep(50 * time.Millisecond)
			}
			sent.Add(int64(req.Traces().SpanCount()))
			time.Sleep(pace)
		}
	}

	stream(phases[0])
	proxy.cut()
	stream(phases[1])

	// Restart while the client keeps sending.
	done := make(chan struct{})
	go func() {
		defer close(done)
		stream(phases[2])
	}()
	c.stop()
	proxy.restore()
	c.start()
	<-done
	t.Logf("%d spans sent, %d requests resent while the collector restarted", sent.Load(), resent.Load())

	want := uint64(sent.Load())
	got := waitForCalls(t, conn, c.database, want)
	if got.Rows != want || got.Distinct != want {
		t.Errorf("weave.calls: %d rows, %d distinct ids; want %d of each (nothing lost, nothing twice)", got.Rows, got.Distinct, want)
	}
}
