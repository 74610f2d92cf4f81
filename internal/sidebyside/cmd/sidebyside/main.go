// Command sidebyside pushes the same OTLP load through otelcol-callhouse
// (the shipped pipeline, and the exporter alone) and through a reference
// collector built with contrib's clickhouseexporter
// (internal/sidebyside/builder-config.yaml), one after the other, into one
// embedded ClickHouse, and prints each one's sustained spans/s and its ratio
// to contrib's. `make sidebyside` builds everything and runs it.
//
// It exits non-zero only on an error (a collector that fails, loses rows or
// refuses the load for good), never because of the figures.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callhouse/callhouse/internal/localstack"
	"github.com/callhouse/callhouse/internal/sidebyside"
)

// Bounds of a run, so that a typo cannot start an hour of load.
const (
	maxSpans       = 5_000_000
	maxConcurrency = 64
	maxRounds      = 10
)

type options struct {
	launcher, dir              string
	callhouse, callhouseConfig string
	contrib, contribConfig     string
	// exporterConfig, when set, runs otelcol-callhouse a second time in
	// each round with weaveclickhouse alone: the exporter-to-exporter side.
	exporterConfig string
	// candidate, when set, is a second otelcol-callhouse (another build or
	// config) measured in the same rounds, for an A/B against callhouse.
	candidate, candidateConfig string
	spans, batch, perTrace     int
	concurrency, rounds, rate  int
	poll, stall, settle        time.Duration
}

func (o options) validate() error {
	var errs []error
	if o.spans < 1 || o.spans > maxSpans {
		errs = append(errs, fmt.Errorf("-spans %d is not in 1..%d", o.spans, maxSpans))
	}
	if o.perTrace < 2 || o.perTrace > 100 {
		errs = append(errs, fmt.Errorf("-spans-per-trace %d is not in 2..100", o.perTrace))
	}
	if o.batch < o.perTrace || o.batch > 10_000 {
		errs = append(errs, fmt.Errorf("-batch %d is not in %d..10000", o.batch, o.perTrace))
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("-concurrency %d is not in 1..%d", o.concurrency, maxConcurrency))
	}
	if o.rounds < 1 || o.rounds > maxRounds {
		errs = append(errs, fmt.Errorf("-rounds %d is not in 1..%d", o.rounds, maxRounds))
	}
	if o.poll <= 0 || o.stall <= 0 {
		errs = append(errs, errors.New("-poll and -stall must be positive"))
	}
	if o.settle < 0 || o.rate < 0 {
		errs = append(errs, errors.New("-settle and -rate must not be negative"))
	}
	return errors.Join(errs...)
}

func main() {
	var o options
	flag.StringVar(&o.launcher, "launcher", "build/clickhouse-embedded", "clickhouse-embedded launcher (`make clickhouse`)")
	flag.StringVar(&o.dir, "dir", "build/sidebyside-run", "work directory: ClickHouse data (emptied first) and the collectors' logs")
	flag.StringVar(&o.callhouse, "callhouse", "build/otelcol-callhouse/otelcol-callhouse", "otelcol-callhouse binary")
	flag.StringVar(&o.callhouseConfig, "callhouse-config", "config/callhouse.yaml", "otelcol-callhouse configuration")
	flag.StringVar(&o.contrib, "contrib", "build/otelcol-contrib-ref/otelcol-contrib-ref", "reference collector binary")
	flag.StringVar(&o.contribConfig, "contrib-config", "internal/sidebyside/config/contrib.yaml", "reference collector configuration")
	flag.StringVar(&o.exporterConfig, "exporter-config", "internal/sidebyside/config/callhouse-exporter.yaml",
		"otelcol-callhouse configuration with weaveclickhouse alone, measured as a third side (empty: not measured)")
	flag.StringVar(&o.candidate, "candidate", "", "a second otelcol-callhouse binary to compare with -callhouse in the same rounds (optional)")
	flag.StringVar(&o.candidateConfig, "candidate-config", "", "the candidate's configuration (default: -callhouse-config)")
	flag.IntVar(&o.spans, "spans", 200_000, "spans sent to each collector (whole traces, so a few more)")
	flag.IntVar(&o.batch, "batch", 512, "spans per OTLP request (the SDK batch span processor's default)")
	flag.IntVar(&o.perTrace, "spans-per-trace", 5, "spans per trace: an invoke_agent root over LLM and tool calls")
	flag.IntVar(&o.concurrency, "concurrency", 4, "OTLP requests in flight")
	flag.IntVar(&o.rate, "rate", 0, "spans per second to send at most (0: as fast as accepted), to compare runs at the same pace")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds; the order of the collectors rotates, the median is reported")
	flag.DurationVar(&o.poll, "poll", 50*time.Millisecond, "how often rows are counted")
	flag.DurationVar(&o.stall, "stall", time.Minute, "a run fails when rows stop growing this long after sending")
	flag.DurationVar(&o.settle, "settle", 2*time.Minute,
		"after a run, wait up to this long for the server to finish merging its parts (counted for it, not the next run); 0: do not wait")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) (err error) {
	if err := o.validate(); err != nil {
		return err
	}
	load, err := sidebyside.NewLoad(o.spans, o.batch, o.perTrace)
	if err != nil {
		return fmt.Errorf("building the load: %w", err)
	}

	dataDir := filepath.Join(o.dir, "clickhouse")
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	chLog, err := os.Create(filepath.Join(o.dir, "clickhouse.log"))
	if err != nil {
		return err
	}
	defer chLog.Close()
	tcp, err := localstack.FreePort()
	if err != nil {
		return err
	}
	httpPort, err := localstack.FreePort()
	if err != nil {
		return err
	}
	ch := localstack.ClickHouse{Launcher: o.launcher, Path: dataDir, TCPPort: tcp, HTTPPort: httpPort, Out: chLog}
	fmt.Fprintf(out, "starting the embedded ClickHouse (logs in %s)\n", o.dir)
	server, err := ch.Start(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, server.Stop(stopTimeout)) }()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.NativeAddr()}})
	if err != nil {
		return err
	}
	defer conn.Close()

	h := &sidebyside.Harness{
		ClickHouseAddr: ch.NativeAddr(), ClickHousePID: server.Pid(), Conn: conn, Load: load,
		Sender: sidebyside.Sender{Concurrency: o.concurrency, Rate: o.rate, RetryFor: o.stall},
		Poll:   o.poll, Stall: o.stall, Settle: o.settle, LogDir: o.dir,
	}
	contrib := sidebyside.Collector{Name: "contrib", Binary: o.contrib, Config: o.contribConfig,
		Database: "otel", Table: "otel_traces", Key: []string{"TraceId", "SpanId"}}
	ours := sidebyside.Collector{Name: "callhouse", Binary: o.callhouse, Config: o.callhouseConfig,
		Database: "weave", Table: "call_versions", Key: []string{"trace_id", "id"}, Check: "calls"}

	pace := "as fast as accepted"
	if o.rate > 0 {
		pace = fmt.Sprintf("at most %d spans/s", o.rate)
	}
	fmt.Fprintf(out, "load: %d spans of agent traces (%d spans each) in %d OTLP/gRPC requests, %d in flight, %s\n\n",
		load.Spans(), o.perTrace, load.Requests(), o.concurrency, pace)
	collectors := []sidebyside.Collector{contrib, ours}
	if o.exporterConfig != "" {
		exporter := ours
		exporter.Name, exporter.Config = "exporter", o.exporterConfig
		collectors = append(collectors, exporter)
	}
	if o.candidate != "" {
		candidate := ours
		candidate.Name, candidate.Binary, candidate.Config = "candidate", o.candidate, cmp.Or(o.candidateConfig, o.callhouseConfig)
		collectors = append(collectors, candidate)
	}
	results := map[string][]sidebyside.Result{}
	for round := range o.rounds {
		for _, c := range roundOrder(collectors, round) {
			r, err := h.Measure(ctx, c)
			if err != nil {
				return err
			}
			results[c.Name] = append(results[c.Name], r)
			printRun(out, round, r)
		}
	}
	printSummary(out, o, results)
	if o.candidate != "" {
		cand := results["candidate"]
		printVersus(out, "candidate", "callhouse", cand, results[ours.Name])
		fmt.Fprintf(out, "  candidate CPU µs per span (median): collector %.1f, ClickHouse %.1f\n", median(cand, collectorCPU), median(cand, serverCPU))
	}
	return nil
}

// roundOrder rotates the collectors by one place each round (with two, it
// alternates them), so that none always runs first on a cold server.
func roundOrder(cs []sidebyside.Collector, round int) []sidebyside.Collector {
	k := round % len(cs)
	return append(slices.Clone(cs[k:]), cs[:k]...)
}

// stopTimeout bounds the ClickHouse shutdown.
const stopTimeout = 30 * time.Second

func printRun(w io.Writer, round int, r sidebyside.Result) {
	steady := "too few steps to tell"
	if s := r.SteadySpansPerSecond(); s > 0 {
		steady = fmt.Sprintf("%.0f spans/s", s)
	}
	fmt.Fprintf(w, "round %d  %-9s  accepted in %6s, stored in %6s: %7.0f spans/s (10%%→90%% of rows: %s; %d refused requests retried)\n",
		round+1, r.Collector, r.Sent.Round(time.Millisecond), r.Stored.Round(time.Millisecond), r.SpansPerSecond(), steady, r.Retries)
	perSpan := func(d time.Duration) string {
		return fmt.Sprintf("%5.2fs = %4.1fµs/span", d.Seconds(), cpuPerSpan(r, d))
	}
	if r.Rows > uint64(r.Spans) {
		fmt.Fprintf(w, "         %-9s  %d rows for %d spans: %d written twice or in several versions\n", "", r.Rows, r.Spans, r.Rows-uint64(r.Spans))
	}
	fmt.Fprintf(w, "         %-9s  CPU used meanwhile: collector %s (%.0f%% in the kernel, peak RSS %d MiB), ClickHouse %s, load sender %.2fs\n",
		"", perSpan(r.CPU.Collector), 100*r.CPU.CollectorSys.Seconds()/max(r.CPU.Collector.Seconds(), 1e-9), r.CollectorPeakRSS>>20,
		perSpan(r.CPU.ClickHouse), r.CPU.Sender.Seconds())
	switch {
	case r.Unsettled:
		fmt.Fprintf(w, "         %-9s  merges still running when the harness stopped waiting (-settle)\n", "")
	case r.Merged > 0:
		fmt.Fprintf(w, "         %-9s  merges done %s after the first span: ClickHouse %s in all\n",
			"", r.Merged.Round(100*time.Millisecond), perSpan(r.MergedCPU))
	}
}

// printSummary names each side by its configuration file: what ours runs
// (weavecall or not) is whatever its config says. Each of ours is compared
// with contrib twice: the ratio of the medians, and round by round.
func printSummary(w io.Writer, opts options, results map[string][]sidebyside.Result) {
	rate := func(r sidebyside.Result) float64 { return r.SpansPerSecond() }
	contrib := results["contrib"]
	c := median(contrib, rate)
	ours := []struct{ name, config string }{{"callhouse", opts.callhouseConfig}}
	if opts.exporterConfig != "" {
		ours = append(ours, struct{ name, config string }{"exporter", opts.exporterConfig})
	}
	fmt.Fprintf(w, "\nsustained spans/s (first span sent → last row visible, median of %d):\n", len(contrib))
	fmt.Fprintf(w, "  contrib   (%s, clickhouseexporter v0.161.0 → otel.otel_traces)  %8.0f\n", opts.contribConfig, c)
	for _, s := range ours {
		fmt.Fprintf(w, "  %-9s (%s → weave.calls)  %8.0f   ratio %s/contrib %.2f\n", s.name, s.config, median(results[s.name], rate), s.name, median(results[s.name], rate)/c)
	}

	// CPU per span does not depend on what else the machine runs.
	fmt.Fprintf(w, "CPU µs per span (median):   collector   ClickHouse   ClickHouse with the merges after\n")
	for _, name := range []string{"contrib", "callhouse", "exporter"} {
		if rs := results[name]; len(rs) > 0 {
			fmt.Fprintf(w, "  %-9s                 %9.1f   %10.1f   %s\n", name, median(rs, collectorCPU), median(rs, serverCPU), mergedCPU(rs))
		}
	}
	for _, s := range ours {
		printVersus(w, s.name, "contrib", results[s.name], contrib)
	}
}

// printVersus compares side a with side b round by round: the two ran
// minutes apart on the same machine, so their ratio in a round is steadier
// than either rate (contrib's own moves by ±10 % between runs).
func printVersus(w io.Writer, a, b string, as, bs []sidebyside.Result) {
	ratios := make([]float64, len(as))
	for i := range as {
		ratios[i] = as[i].SpansPerSecond() / bs[i].SpansPerSecond()
	}
	fmt.Fprintf(w, "%s/%s, spans/s by round:", a, b)
	for _, r := range ratios {
		fmt.Fprintf(w, " %.2f", r)
	}
	fmt.Fprintf(w, " (median %.2f)\n", medianOf(ratios))
}

// collectorCPU and serverCPU are a result's CPU µs per span, the
// collector's and ClickHouse's.
func collectorCPU(r sidebyside.Result) float64 { return cpuPerSpan(r, r.CPU.Collector) }
func serverCPU(r sidebyside.Result) float64    { return cpuPerSpan(r, r.CPU.ClickHouse) }

// mergedCPU is the median of ClickHouse's CPU per span with the merges a
// run put off, or why there is none.
func mergedCPU(rs []sidebyside.Result) string {
	for _, r := range rs {
		if r.MergedCPU == 0 {
			return "-"
		}
	}
	return fmt.Sprintf("%10.1f", median(rs, func(r sidebyside.Result) float64 { return cpuPerSpan(r, r.MergedCPU) }))
}

func cpuPerSpan(r sidebyside.Result, d time.Duration) float64 {
	return float64(d.Nanoseconds()) / 1e3 / float64(r.Spans)
}

func median(rs []sidebyside.Result, f func(sidebyside.Result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
