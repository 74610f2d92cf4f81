// Package sidebyside measures otelcol-callhouse against a reference
// collector built with contrib's clickhouseexporter: both receive the same
// OTLP load (agentsim's LLM agent traces) in turn and write to the same
// ClickHouse, and each is timed from the first span sent to the last row
// visible. cmd/sidebyside runs it (`make sidebyside`).
package sidebyside

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callhouse/callhouse/internal/localstack"
)

// Collector is one collector of the comparison and where its rows land.
type Collector struct {
	// Name labels the collector in the output and names its log file.
	Name string
	// Binary and Config start it; the config reads its addresses from the
	// environment variables of localstack.Endpoints.Env.
	Binary, Config string
	// Database is the collector's own database; the harness drops it before
	// the run so that every count starts at zero.
	Database string
	// Table is counted while the load runs: one row per span stored, or
	// more when a row is written twice (an INSERT retried after a timeout
	// that had in fact succeeded) or in several versions.
	Table string
	// Key names the columns that identify a span's row in Table; once
	// Table holds as many rows as spans were sent, the distinct keys are
	// counted, and the run ends when they are all there.
	Key []string
	// Check, when set, is the relation users query; once every row is
	// visible in Table its count must equal the spans sent.
	Check string
}

// Sample is the number of rows visible at a moment of a run.
type Sample struct {
	At   time.Duration // since the first span was sent
	Rows uint64
}

// Result is one measured run.
type Result struct {
	Collector string
	// Spans is the number of spans sent (and rows expected).
	Spans int
	// Sent is the time from the first span sent until the collector had
	// accepted the last; Stored until the last row was visible.
	Sent, Stored time.Duration
	// Retries counts requests the collector refused at first.
	Retries int64
	// Samples are the row counts of Table seen while waiting.
	Samples []Sample
	// Rows is how many rows Table held at the end: more than Spans when
	// rows were written twice or in several versions.
	Rows uint64
	// CPU is what each process used over Stored.
	CPU CPU
	// CollectorPeakRSS is the collector's largest resident set, in bytes,
	// from its start to the last row visible.
	CollectorPeakRSS int64
	// Merged is the time from the first span sent until the server had
	// finished merging the run's parts (no merge of the database for a
	// while), and MergedCPU ClickHouse's CPU over that time: what the rows
	// cost the server in all, merges it put off included. Zero when the
	// harness does not wait for merges (Harness.Settle 0) or when they were
	// still going after Harness.Settle (then Unsettled is true).
	Merged, MergedCPU time.Duration
	Unsettled         bool
}

// SpansPerSecond is the sustained rate: spans over the time from the first
// span sent to the last row visible.
func (r Result) SpansPerSecond() float64 { return float64(r.Spans) / r.Stored.Seconds() }

// SteadySpansPerSecond is the rate at which rows appeared between 10% and
// 90% of the total, leaving out start-up and the last flush; 0 when the
// rows came in too few steps to tell.
func (r Result) SteadySpansPerSecond() float64 {
	lo, hi := uint64(r.Spans)/10, uint64(r.Spans)*9/10
	var from, to *Sample
	for i := range r.Samples {
		s := &r.Samples[i]
		if from == nil && s.Rows >= lo {
			from = s
		}
		if s.Rows >= hi {
			to = s
			break
		}
	}
	if from == nil || to == nil || to.At <= from.At {
		return 0
	}
	return float64(to.Rows-from.Rows) / (to.At - from.At).Seconds()
}

// Harness runs collectors against one running ClickHouse.
type Harness struct {
	// ClickHouseAddr is the native host:port of the running server both
	// collectors write to; ClickHousePID its process, whose CPU time is
	// reported (0: not reported, as for a server on another machine).
	ClickHouseAddr string
	ClickHousePID  int
	// Env is added to each collector's environment (for example
	// CALLHOUSE_CLICKHOUSE_USERNAME and _PASSWORD).
	Env []string
	// Conn counts the rows.
	Conn driver.Conn
	// Load is sent to each collector; Sender sends it.
	Load   *Load
	Sender Sender
	// Poll is how often rows are counted; it bounds the resolution of
	// the time measured.
	Poll time.Duration
	// Stall ends a run with an error when the row count has not grown for
	// this long after the last span was accepted.
	Stall time.Duration
	// LogDir receives each collector's log, appended to <Name>.log.
	LogDir string
	// Settle, when positive, is how long the harness waits after a run for
	// the server to finish merging that run's parts, before it drops the
	// run's database; otherwise merges a run put off would take the next
	// run's CPU, and be counted for it.
	Settle time.Duration
}

// stopTimeout bounds a collector's shutdown.
const stopTimeout = 30 * time.Second

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c Collector) validate() error {
	var errs []error
	for _, id := range []struct{ what, v string }{{"database", c.Database}, {"table", c.Table}} {
		if !identifier.MatchString(id.v) {
			errs = append(errs, fmt.Errorf("%s: %s %q is not a plain identifier", c.Name, id.what, id.v))
		}
	}
	if len(c.Key) == 0 {
		errs = append(errs, fmt.Errorf("%s: no key columns", c.Name))
	}
	for _, k := range c.Key {
		if !identifier.MatchString(k) {
			errs = append(errs, fmt.Errorf("%s: key column %q is not a plain identifier", c.Name, k))
		}
	}
	if c.Check != "" && !identifier.MatchString(c.Check) {
		errs = append(errs, fmt.Errorf("%s: check relation %q is not a plain identifier", c.Name, c.Check))
	}
	return errors.Join(errs...)
}

func (c Collector) countQuery(rel string) string {
	return fmt.Sprintf("SELECT count() FROM `%s`.`%s`", c.Database, rel)
}

func (c Collector) distinctQuery() string {
	return fmt.Sprintf("SELECT uniqExact(`%s`) FROM `%s`.`%s`", strings.Join(c.Key, "`, `"), c.Database, c.Table)
}

// Measure starts c on free loopback ports, sends the load, waits until
// every span is a visible row, stops c, and returns the timings. A timing
// is never an error; a collector that fails, refuses the load for good or
// loses rows is.
func (h *Harness) Measure(ctx context.Context, c Collector) (Result, error) {
	res := Result{Collector: c.Name, Spans: h.Load.Spans()}
	if err := c.validate(); err != nil {
		return res, err
	}
	if err := h.Conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s` SYNC", c.Database)); err != nil {
		return res, fmt.Errorf("dropping %s: %w", c.Database, err)
	}
	ep, err := localstack.FreeEndpoints()
	if err != nil {
		return res, err
	}
	logPath := filepath.Join(h.LogDir, c.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return res, err
	}
	defer logFile.Close()
	proc, err := localstack.Collector{
		Binary: c.Binary, Config: c.Config, Health: ep.Health, Out: logFile,
		Env: append(ep.Env(h.ClickHouseAddr, c.Database), h.Env...),
	}.Start(ctx)
	if err != nil {
		return res, fmt.Errorf("%s: %w (log: %s)", c.Name, err, logPath)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = proc.Stop(stopTimeout)
		}
	}()

	sendDone := make(chan time.Time, 1)
	type polled struct {
		samples []Sample
		err     error
	}
	pollDone := make(chan polled, 1)
	// A failed poll (the collector died, rows lost) ends the sending too.
	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	clock := cpuClock{collector: proc.Pid(), clickhouse: h.ClickHousePID}
	cpuStart, err := clock.read()
	if err != nil {
		return res, err
	}
	start := time.Now()
	go func() {
		s, err := h.poll(ctx, c, start, sendDone, proc.Done())
		if err != nil {
			cancelSend()
		}
		pollDone <- polled{s, err}
	}()
	stats, sendErr := h.Sender.Send(sendCtx, ep.OTLPGRPC, h.Load)
	res.Sent, res.Retries = time.Since(start), stats.Retries
	sendDone <- time.Now()
	p := <-pollDone
	res.Samples = p.samples
	if p.err != nil {
		return res, fmt.Errorf("%s: %w (log: %s)", c.Name, p.err, logPath)
	}
	if sendErr != nil {
		return res, fmt.Errorf("%s: sending: %w (log: %s)", c.Name, sendErr, logPath)
	}
	res.Stored = p.samples[len(p.samples)-1].At
	res.Rows = p.samples[len(p.samples)-1].Rows
	cpuEnd, err := clock.read()
	if err != nil {
		return res, err
	}
	res.CPU = cpuEnd.sub(cpuStart)
	if res.CollectorPeakRSS, err = peakRSS(proc.Pid()); err != nil {
		return res, err
	}

	if c.Check != "" {
		var n uint64
		if err := h.Conn.QueryRow(ctx, c.countQuery(c.Check)).Scan(&n); err != nil {
			return res, fmt.Errorf("%s: counting %s: %w", c.Name, c.Check, err)
		}
		if n != uint64(res.Spans) {
			return res, fmt.Errorf("%s: %s.%s holds %d rows, %d spans were sent", c.Name, c.Database, c.Check, n, res.Spans)
		}
	}
	stopped = true
	if err := proc.Stop(stopTimeout); err != nil {
		return res, fmt.Errorf("%s: stopping: %w (log: %s)", c.Name, err, logPath)
	}
	if h.Settle <= 0 {
		return res, nil
	}
	mergedAt, settled, err := h.settle(ctx, c)
	if err != nil {
		return res, fmt.Errorf("%s: waiting for merges: %w", c.Name, err)
	}
	if !settled {
		res.Unsettled = true
	} else if h.ClickHousePID != 0 {
		res.Merged = mergedAt.Sub(start)
		chEnd, err := cpuTime(h.ClickHousePID)
		if err != nil {
			return res, err
		}
		res.MergedCPU = chEnd - cpuStart.ClickHouse
	}
	if err := h.Conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s` SYNC", c.Database)); err != nil {
		return res, fmt.Errorf("dropping %s: %w", c.Database, err)
	}
	return res, nil
}

// settleQuiet is how long no merge of a database may run, its active parts
// unchanged, before its merges count as done: the server's merge scheduler
// looks for work a few times a second.
const settleQuiet = 1500 * time.Millisecond

// settle waits until c's database has had no merge running and the same
// active parts for settleQuiet, and returns when that quiet began; false
// when it did not happen within h.Settle.
func (h *Harness) settle(ctx context.Context, c Collector) (time.Time, bool, error) {
	q := fmt.Sprintf("SELECT (SELECT count() FROM system.merges WHERE database = '%[1]s'), "+
		"(SELECT count() FROM system.parts WHERE database = '%[1]s' AND active)", c.Database)
	deadline := time.Now().Add(h.Settle)
	var quietSince time.Time
	var lastParts uint64
	for {
		var merges, parts uint64
		if err := h.Conn.QueryRow(ctx, q).Scan(&merges, &parts); err != nil {
			return time.Time{}, false, err
		}
		now := time.Now()
		switch {
		case merges > 0 || parts != lastParts:
			quietSince, lastParts = time.Time{}, parts
		case quietSince.IsZero():
			quietSince = now
		case now.Sub(quietSince) >= settleQuiet:
			return quietSince, true, nil
		}
		if now.After(deadline) {
			return time.Time{}, false, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, false, ctx.Err()
		case <-time.After(h.Poll * 5):
		}
	}
}

// poll counts c's rows every h.Poll until every span has its row. It fails
// when the collector exits, or when the count has not grown for h.Stall
// since both the last growth and the end of sending.
func (h *Harness) poll(ctx context.Context, c Collector, start time.Time, sendDone <-chan time.Time, exited <-chan struct{}) ([]Sample, error) {
	want := uint64(h.Load.Spans())
	count, distinct := c.countQuery(c.Table), c.distinctQuery()
	var samples []Sample
	var last uint64
	lastGrowth := start
	var sentAt time.Time
	tick := time.NewTicker(h.Poll)
	defer tick.Stop()
	for {
		var n uint64
		if err := h.Conn.QueryRow(ctx, count).Scan(&n); err != nil {
			return samples, fmt.Errorf("counting %s.%s: %w", c.Database, c.Table, err)
		}
		// Only worth a scan once there can be a row for every span.
		var spans uint64
		if n >= want {
			if err := h.Conn.QueryRow(ctx, distinct).Scan(&spans); err != nil {
				return samples, fmt.Errorf("counting %s.%s: %w", c.Database, c.Table, err)
			}
		}
		now := time.Now()
		samples = append(samples, Sample{At: now.Sub(start), Rows: n})
		if spans > want {
			return samples, fmt.Errorf("%s.%s holds %d distinct spans, more than the %d sent", c.Database, c.Table, spans, want)
		}
		if spans == want {
			return samples, nil
		}
		if n > last {
			last, lastGrowth = n, now
		}
		if !sentAt.IsZero() && now.Sub(lastGrowth) > h.Stall && now.Sub(sentAt) > h.Stall {
			return samples, fmt.Errorf("only %d rows for %d spans after no growth for %s", n, want, h.Stall)
		}
		select {
		case <-ctx.Done():
			return samples, ctx.Err()
		case <-exited:
			return samples, errors.New("the collector exited during the run")
		case sentAt = <-sendDone:
			sendDone = nil
		case <-tick.C:
		}
	}
}
