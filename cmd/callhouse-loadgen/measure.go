package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/callhouse/callhouse/internal/agentsim"
)

// result is what a run measured.
type result struct {
	sent, refused   int64         // spans the collector accepted / refused
	sendTime        time.Duration // from the first send to the last answer
	visible         int64         // calls in weave.calls at the end
	allVisibleAfter time.Duration // from the first send until every accepted span was a call (0: never)
	delays          []time.Duration
	unseenProbes    int
}

// probe is a trace root whose call is looked for by id.
type probe struct {
	id     string
	sentAt time.Time
}

// pollInterval is how often probes and the call count are looked for; it
// bounds the resolution of the delays measured.
const pollInterval = 100 * time.Millisecond

func measure(ctx context.Context, o options) (result, error) {
	var r result
	ch, err := clickhouse.Open(&clickhouse.Options{Addr: []string{o.clickhouse}})
	if err != nil {
		return r, err
	}
	defer ch.Close()
	if err := ch.Ping(ctx); err != nil {
		return r, fmt.Errorf("clickhouse %s: %w", o.clickhouse, err)
	}
	conn, err := grpc.NewClient(o.otlp, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return r, err
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	// A project of its own, so counts see only this run's calls.
	gen := agentsim.NewGenerator("bench", "bench-"+randomHex(4), o.spansPerTrace)
	q := queries{db: o.database, project: gen.ProjectID()}
	if err := q.check(); err != nil {
		return r, err
	}

	probes := make(chan probe, 1024)
	pollDone := make(chan struct{})
	var delays []time.Duration
	var unseen int
	go func() {
		defer close(pollDone)
		delays, unseen = pollProbes(ctx, ch, q, probes, o.drain)
	}()

	start := time.Now()
	sent, refused := send(ctx, o, client, gen, probes)
	r.sendTime = time.Since(start)
	r.sent, r.refused = sent, refused
	close(probes)

	// Wait until every accepted span is a call, or the drain time passes.
	deadline := time.Now().Add(o.drain)
	for {
		n, err := q.count(ctx, ch)
		if err != nil {
			return r, err
		}
		r.visible = int64(n)
		if r.visible >= r.sent {
			r.allVisibleAfter = time.Since(start)
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(pollInterval)
	}
	<-pollDone
	r.delays, r.unseenProbes = delays, unseen
	return r, nil
}

// send runs o.concurrency clients, each pacing its requests to its share of
// o.rate, until o.duration passes. It returns the spans accepted and refused.
func send(ctx context.Context, o options, client ptraceotlp.GRPCClient, gen *agentsim.Generator, probes chan<- probe) (sent, refused int64) {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	tracesPerRequest := o.batch / o.spansPerTrace
	spansPerRequest := tracesPerRequest * o.spansPerTrace
	interval := time.Duration(float64(time.Second) * float64(spansPerRequest) * float64(o.concurrency) / float64(o.rate))
	probeEvery := time.Second / time.Duration(o.probesPerSecond)
	var nextProbe atomic.Int64
	nextProbe.Store(time.Now().UnixNano())

	var sentN, refusedN atomic.Int64
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Go(func() {
			// Stagger the clients over one interval.
			next := time.Now().Add(interval * time.Duration(w) / time.Duration(o.concurrency))
			for {
				if wait := time.Until(next); wait > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
				if ctx.Err() != nil {
					return
				}
				req, roots := gen.Request(tracesPerRequest)
				now := time.Now()
				isProbe := false
				if np := nextProbe.Load(); now.UnixNano() >= np && nextProbe.CompareAndSwap(np, now.Add(probeEvery).UnixNano()) {
					isProbe = true
				}
				// The request outlives the sending window: a span sent is
				// counted once the collector answered.
				rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				_, err := client.Export(rctx, req)
				rcancel()
				if err != nil {
					refusedN.Add(int64(spansPerRequest))
				} else {
					sentN.Add(int64(spansPerRequest))
					if isProbe {
						probes <- probe{id: roots[0], sentAt: now}
					}
				}
				next = next.Add(interval)
			}
		})
	}
	wg.Wait()
	return sentN.Load(), refusedN.Load()
}

// pollProbes looks for each probe's call until it is found or, once no
// more probes come, drain passes. It returns the delays found and how many
// probes were never seen.
func pollProbes(ctx context.Context, ch driver.Conn, q queries, in <-chan probe, drain time.Duration) ([]time.Duration, int) {
	pending := map[string]time.Time{}
	var delays []time.Duration
	var deadline time.Time // set once in is closed
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case p, ok := <-in:
			if !ok {
				in = nil
				deadline = time.Now().Add(drain)
				continue
			}
			pending[p.id] = p.sentAt
			continue
		case <-tick.C:
		}
		if len(pending) > 0 {
			ids := make([]string, 0, len(pending))
			for id := range pending {
				ids = append(ids, id)
			}
			found, err := q.found(ctx, ch, ids)
			seenAt := time.Now()
			if err == nil {
				for _, id := range found {
					delays = append(delays, seenAt.Sub(pending[id]))
					delete(pending, id)
				}
			}
		}
		if in == nil && (len(pending) == 0 || time.Now().After(deadline) || ctx.Err() != nil) {
			return delays, len(pending)
		}
	}
}

func (r result) print(w io.Writer, o options) {
	fmt.Fprintf(w, "\nload: %d spans/s target, %s, %d clients, %d spans per request, %d spans per trace\n",
		o.rate, o.duration, o.concurrency, o.batch/o.spansPerTrace*o.spansPerTrace, o.spansPerTrace)
	fmt.Fprintf(w, "sent:      %d spans accepted, %d refused, %.0f spans/s sent\n",
		r.sent, r.refused, float64(r.sent)/r.sendTime.Seconds())
	if r.allVisibleAfter > 0 {
		fmt.Fprintf(w, "stored:    %d calls in weave.calls after %s: %.0f spans/s end to end\n",
			r.visible, r.allVisibleAfter.Round(time.Millisecond), float64(r.sent)/r.allVisibleAfter.Seconds())
	} else {
		fmt.Fprintf(w, "stored:    only %d of %d calls in weave.calls after the %s drain\n", r.visible, r.sent, o.drain)
	}
	if len(r.delays) == 0 {
		fmt.Fprintf(w, "delay:     no probe seen (%d unseen)\n", r.unseenProbes)
		return
	}
	d := slices.Clone(r.delays)
	slices.Sort(d)
	pct := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))].Round(time.Millisecond) }
	fmt.Fprintf(w, "delay:     send → queryable in weave.calls over %d probes (%d unseen): p50 %s, p90 %s, p99 %s, max %s (poll every %s)\n",
		len(d), r.unseenProbes, pct(0.50), pct(0.90), pct(0.99), d[len(d)-1].Round(time.Millisecond), pollInterval)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
