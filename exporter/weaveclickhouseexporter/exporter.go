package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/metadata"
	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/schema"
	"github.com/callhouse/callhouse/internal/callmap"
)

// callsExporter writes the spans of each flushed batch as calls, in one
// INSERT.
type callsExporter struct {
	cfg    *Config
	logger *zap.Logger
	schema schema.Options

	telemetry *metadata.TelemetryBuilder

	addr string // for error messages
	conn driver.Conn
	// native sends the INSERTs of a native-protocol endpoint; nil over
	// HTTP, where conn does.
	native *nativeInserts
	// mapCall maps spans without an annotation into the INSERT block's
	// texts, and mapTexts the inputs, output and attributes of those the
	// processor annotated without them (see callmap.ReadCall): the
	// configured callmap.Mapper's MapTo and MapTextsTo; tests put failing
	// ones in their place.
	mapCall, mapTexts callmap.MapFunc
	insert            string
}

func newCallsExporter(cfg *Config, set component.TelemetrySettings) (*callsExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	o := cfg.schemaOptions()
	return &callsExporter{cfg: cfg, logger: set.Logger, schema: o, telemetry: tb, insert: insertStatement(o.CallsTable())}, nil
}

// start builds the mapper, connects and, with create_schema, applies the
// schema and seeds the price table.
func (e *callsExporter) start(ctx context.Context, _ component.Host) error {
	mapper, err := callmap.NewMapper(e.cfg.Mapping)
	if err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	e.mapCall, e.mapTexts = mapper.MapTo, mapper.MapTextsTo
	opts, err := e.cfg.clickhouseOptions(ctx)
	if err != nil {
		return err
	}
	if opts.Protocol == clickhouse.Native {
		if e.cfg.Timeout > 0 {
			boundWrites(opts, e.cfg.Timeout)
		}
		e.native = newNativeInserts(opts, e.cfg.Compression, e.cfg.consumers())
	}
	if opts.Protocol == clickhouse.HTTP {
		opts.TransportFunc = closeOnError
	}
	e.addr = strings.Join(opts.Addr, ",")
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return classify("connect", e.addr, err)
	}
	e.conn = conn
	if !e.cfg.CreateSchema {
		return nil
	}
	if err := schema.Migrate(ctx, conn, e.schema); err != nil {
		return classify("create schema", e.addr, err)
	}
	if err := schema.SeedPrices(ctx, conn, e.schema, mapper.Prices().All()); err != nil {
		return classify("seed llm_token_prices", e.addr, err)
	}
	return nil
}

func (e *callsExporter) shutdown(ctx context.Context) error {
	e.telemetry.Shutdown()
	if e.native != nil {
		e.native.close()
	}
	if e.conn == nil {
		return nil
	}
	err := closeWithin(ctx, poolCloseTimeout, e.conn.Close)
	if errors.Is(err, errCloseHung) {
		e.logger.Warn("leaving the ClickHouse connections to the process's exit", zap.Error(err))
		return nil
	}
	return err
}

// poolCloseTimeout bounds the wait for clickhouse-go's pool to close.
const poolCloseTimeout = 5 * time.Second

// errCloseHung says a close did not return in time.
var errCloseHung = errors.New("closing the connection pool did not finish in time")

// closeWithin runs closeFn and waits for it at most d (or until ctx ends).
// clickhouse-go's pool (v2.50.0) can deadlock in Close when its lifetime
// ticker fires at the same moment (clickhouse-go issue #1990): the
// collector's shutdown must not hang on it, and every INSERT has finished
// by then, so nothing is lost by walking away.
func closeWithin(ctx context.Context, d time.Duration, closeFn func() error) error {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fmt.Errorf("%w (%s)", errCloseHung, d)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errCloseHung, context.Cause(ctx))
	}
}

// pushTraces writes one flushed batch. A failed INSERT wrote nothing, so
// sending the batch again is safe, and a batch sent twice leaves each call
// once in the calls view (same key, same version).
func (e *callsExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	w := writers.Get().(*columnWriter)
	defer w.release()
	src, skipped := e.newBatchSource(td, w)
	if skipped > 0 {
		// Calls are keyed by span and trace id: without them a span has no
		// call to be. Counted and logged, not silently lost.
		e.telemetry.ExporterWeaveclickhouseSpansSkipped.Add(ctx, int64(skipped))
		e.logger.Warn("spans without a span id or trace id are not written as calls", zap.Int("spans", skipped))
	}
	calls := src.left
	if calls == 0 {
		return nil
	}
	start := time.Now()
	err := e.write(ctx, src)
	e.telemetry.ExporterWeaveclickhouseInsertDuration.Record(ctx, time.Since(start).Seconds())
	e.telemetry.ExporterWeaveclickhouseSpansMapped.Add(ctx, int64(src.mapped))
	if src.failed > 0 {
		e.telemetry.ExporterWeaveclickhouseSpansSkipped.Add(ctx, int64(src.failed))
	}
	if err != nil {
		return classify("insert calls", e.addr, err)
	}
	e.telemetry.ExporterWeaveclickhouseCallsWritten.Add(ctx, int64(calls-src.failed))
	return nil
}

// writers are the column writers of INSERTs in flight, one per INSERT;
// pooled so their block of records, texts and column slices outlive a
// batch.
var writers = sync.Pool{New: func() any { return newColumnWriter() }}

// release returns w to the pool, without the batch's strings.
func (w *columnWriter) release() {
	clear(w.chunk)
	w.chunk = w.chunk[:0]
	w.texts.Reset()
	for _, f := range w.fillers {
		f.reset()
	}
	writers.Put(w)
}

// write sends the batch's records in one INSERT, block by block, column by
// column: natively with ch-go, over HTTP with clickhouse-go's batch.
func (e *callsExporter) write(ctx context.Context, src *batchSource) error {
	if e.conn == nil {
		return errors.New("not started")
	}
	if e.native != nil {
		return e.native.insert(ctx, e.insert, src.next)
	}
	batch, err := e.conn.PrepareBatch(ctx, e.insert)
	if err != nil {
		return err
	}
	defer func() { _ = batch.Close() }()
	for {
		// A block is sent before the next is read: reading it reuses the
		// records and texts the batch's columns were filled from.
		if err := src.w.append(batch, src.next()); err != nil {
			return err
		}
		if src.left == 0 {
			return batch.Send()
		}
		if err := batch.Flush(); err != nil {
			return err
		}
	}
}

// chunkRows is how many rows go to the server in one block of an INSERT.
// A batch larger than that is sent in several blocks of the same INSERT,
// so the connection's buffer is refilled instead of grown for the whole
// batch. The server joins the blocks into one part (up to
// min_insert_block_size_rows, a million rows by default), and an INSERT
// that fails midway writes nothing. 256 measured best of 64–4096 at 1k
// and 10k-row batches (clickhouse-go, whose buffers are new for every
// INSERT, paid most for large blocks).
const chunkRows = 256

// append appends the records to the INSERT, column by column.
func (w *columnWriter) append(batch driver.Batch, records []callmap.Record) error {
	types := batch.Columns()
	if len(types) != len(columns) {
		return fmt.Errorf("schema mismatch: the INSERT has %d columns, the exporter writes %d", len(types), len(columns))
	}
	for i, c := range columns {
		lowCard := strings.HasPrefix(string(types[i].Type()), "LowCardinality(")
		if err := w.fillers[i].fill(batch.Column(i), records, lowCard); err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	return nil
}

// boundWrites makes clickhouse-go's native connections (the schema
// statements; INSERTs go through ch-go, which bounds writes by the
// context) fail a write that the server does not take within timeout:
// clickhouse-go writes outside its context watchdog (which covers only
// Send), so without a bound a server that stops reading would hold the
// statement forever. TLS goes on top of the bounded connection, as the
// driver's own dialer would do it.
func boundWrites(opts *clickhouse.Options, timeout time.Duration) {
	opts.DialContext = dialer(opts, timeout)
}

// dialer connects to an address of opts, with its dial timeout and TLS,
// and bounds every write by timeout (0: unbounded).
func dialer(opts *clickhouse.Options, timeout time.Duration) func(ctx context.Context, addr string) (net.Conn, error) {
	tcp := &net.Dialer{}
	tlsCfg := opts.TLS
	return func(ctx context.Context, addr string) (net.Conn, error) {
		if opts.DialTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, opts.DialTimeout)
			defer cancel()
		}
		raw, err := tcp.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		var conn net.Conn = raw
		if timeout > 0 {
			conn = &writeBound{Conn: raw, timeout: timeout}
		}
		if tlsCfg == nil {
			return conn, nil
		}
		cfg := tlsCfg
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return tc, nil
	}
}

// writeBound is a connection whose every write must finish within timeout.
type writeBound struct {
	net.Conn
	timeout time.Duration
}

func (c *writeBound) Write(p []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// SyscallConn keeps the driver's check that a pooled connection is still
// open before it reuses it.
func (c *writeBound) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
