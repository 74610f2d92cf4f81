// Command callhouse-loadgen measures callhouse end to end: it sends agent
// traces over OTLP gRPC at a steady rate to a collector on loopback, then
// reports the spans per second that reached weave.calls and the delay from
// sending a span to its call being queryable (probes polled by id).
//
// With -stack it starts its own embedded ClickHouse and collector on free
// ports (`make bench`); without, it measures a running stack (`make run`).
// Every run is bounded: at most 10 minutes and 1,000,000 spans/s, and only
// loopback addresses are accepted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/callhouse/callhouse/internal/localstack"
)

// Bounds of a run.
const (
	maxRate        = 1_000_000
	maxDuration    = 10 * time.Minute
	maxConcurrency = 64
)

// options of one run.
type options struct {
	otlp, clickhouse, database string
	rate                       int
	duration, drain            time.Duration
	concurrency, batch         int
	spansPerTrace              int
	probesPerSecond            int
}

func (o options) validate() error {
	var errs []error
	if o.rate < 1 || o.rate > maxRate {
		errs = append(errs, fmt.Errorf("-rate %d is not in 1..%d", o.rate, maxRate))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		errs = append(errs, fmt.Errorf("-duration %s is not in (0, %s]", o.duration, maxDuration))
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("-concurrency %d is not in 1..%d", o.concurrency, maxConcurrency))
	}
	if o.spansPerTrace < 2 || o.spansPerTrace > 100 {
		errs = append(errs, fmt.Errorf("-spans-per-trace %d is not in 2..100", o.spansPerTrace))
	}
	if o.batch < o.spansPerTrace || o.batch > 10_000 {
		errs = append(errs, fmt.Errorf("-batch %d is not in %d..10000", o.batch, o.spansPerTrace))
	}
	if o.probesPerSecond < 1 || o.probesPerSecond > 1000 {
		errs = append(errs, fmt.Errorf("-probes %d is not in 1..1000", o.probesPerSecond))
	}
	for _, a := range []struct{ flag, addr string }{{"-otlp", o.otlp}, {"-clickhouse", o.clickhouse}} {
		if err := loopbackOnly(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.flag, err))
		}
	}
	return errors.Join(errs...)
}

// loopbackOnly refuses an address that is not on this machine: a load
// generator must not be pointed at someone else's service.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.otlp, "otlp", "127.0.0.1:4317", "collector OTLP gRPC address (loopback); set by -stack")
	flag.StringVar(&o.clickhouse, "clickhouse", "127.0.0.1:9000", "ClickHouse native address (loopback); set by -stack")
	flag.StringVar(&o.database, "database", "weave", "database of the calls")
	flag.IntVar(&o.rate, "rate", 20_000, "spans per second to send")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send")
	flag.DurationVar(&o.drain, "drain", 2*time.Minute, "how long to wait for every call after sending stops")
	flag.IntVar(&o.concurrency, "concurrency", 4, "concurrent OTLP clients")
	flag.IntVar(&o.batch, "batch", 500, "spans per OTLP request (whole traces)")
	flag.IntVar(&o.spansPerTrace, "spans-per-trace", 5, "spans per trace (an agent span and its children)")
	flag.IntVar(&o.probesPerSecond, "probes", 20, "traces per second whose delay to weave.calls is measured")
	stack := flag.Bool("stack", false, "start an embedded ClickHouse and a collector on free ports for the run")
	launcher := flag.String("launcher", "build/clickhouse-embedded", "clickhouse-embedded launcher, with -stack")
	collector := flag.String("collector", "build/otelcol-callhouse/otelcol-callhouse", "collector binary, with -stack")
	config := flag.String("config", "config/callhouse.yaml", "collector configuration, with -stack")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, *stack, *launcher, *collector, *config); err != nil {
		fmt.Fprintln(os.Stderr, "callhouse-loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stack bool, launcher, collector, config string) (err error) {
	if stack {
		var dir string
		if dir, err = os.MkdirTemp("", "callhouse-bench-"); err != nil {
			return err
		}
		// Keep the data and the log of a failed run, to look into.
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			}
		}()
		logPath := filepath.Join(dir, "stack.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			return err
		}
		defer logFile.Close()
		fmt.Printf("starting an embedded ClickHouse and the collector (log: %s)\n", logPath)
		s, err := localstack.StartStack(ctx, launcher, collector, config, filepath.Join(dir, "clickhouse"), o.database, logFile)
		if err != nil {
			return fmt.Errorf("%w (see %s)", err, logPath)
		}
		defer s.Stop(localstack.StopTimeout)
		o.otlp, o.clickhouse = s.Endpoints.OTLPGRPC, s.ClickHouse.NativeAddr()
	}
	if err := o.validate(); err != nil {
		return err
	}
	r, err := measure(ctx, o)
	if err != nil {
		return err
	}
	r.print(os.Stdout, o)
	return nil
}
