package integration

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension"
	"go.uber.org/goleak"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"
	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

const restartDB = "weave_restart"

// queuedConfig writes to srv through a sending queue with batching and
// retries that outlast a server restart.
func queuedConfig(srv *childServer) *weaveclickhouseexporter.Config {
	cfg := weaveclickhouseexporter.NewFactory().CreateDefaultConfig().(*weaveclickhouseexporter.Config)
	cfg.Endpoint = "clickhouse://" + srv.addr()
	cfg.Database = restartDB
	cfg.Timeout = 3 * time.Second
	cfg.QueueConfig = batchingQueue(2, 250, 1000, 50*time.Millisecond)
	cfg.BackOffConfig.Enabled = true
	cfg.BackOffConfig.InitialInterval = 100 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = time.Second
	cfg.BackOffConfig.MaxElapsedTime = 5 * time.Minute
	return cfg
}

// batchingQueue is a sending queue of 100k calls with consumers consumers
// that batches minSize to maxSize calls, or what came within flush.
func batchingQueue(consumers int, minSize, maxSize int64, flush time.Duration) configoptional.Optional[exporterhelper.QueueBatchConfig] {
	q := exporterhelper.NewDefaultQueueConfig()
	q.Sizer = exporterhelper.RequestSizerTypeItems
	q.QueueSize = 100_000
	q.NumConsumers = consumers
	b := exporterhelper.NewDefaultBatchConfig()
	b.FlushTimeout = flush
	b.MinSize, b.MaxSize = minSize, maxSize
	q.Batch = configoptional.Some(b)
	return configoptional.Some(q)
}

// batchOf is batch number b of n calls, every call distinct.
func batchOf(b, n int) []callmap.Record {
	recs := make([]callmap.Record, n)
	for i := range recs {
		recs[i] = record(b, i, 1)
	}
	return recs
}

// waitForCalls waits until the calls view holds want calls, then checks
// each is there exactly once.
func waitForCalls(t *testing.T, srv *childServer, want uint64) {
	conn := connect(t, srv.addr())
	q := "SELECT count() FROM " + restartDB + ".calls"
	require.Eventually(t, func() bool {
		var n uint64
		return conn.QueryRow(context.Background(), q).Scan(&n) == nil && n >= want
	}, 3*time.Minute, 200*time.Millisecond, "calls never arrived")
	assert.Equal(t, want, count(t, conn, q))
	assert.Equal(t, want, count(t, conn, "SELECT uniqExact(trace_id, id) FROM "+restartDB+".calls"))
}

// TestServerStoppedMidExport: ClickHouse stops while batches are being
// exported and starts again; with the queue and retries every call arrives
// exactly once.
func TestServerStoppedMidExport(t *testing.T) {
	srv := newChildServer(t)
	srv.start()
	exp := startExporter(t, queuedConfig(srv), nil)
	ctx := context.Background()

	const batches, size = 30, 200
	for b := range batches {
		require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(b, size)...)))
		switch b {
		case 10:
			// Stop once the first inserts have landed: the rest are in the
			// queue or in flight.
			conn := connect(t, srv.addr())
			require.Eventually(t, func() bool {
				var n uint64
				return conn.QueryRow(ctx, "SELECT count() FROM "+restartDB+".calls").Scan(&n) == nil && n > 0
			}, time.Minute, 20*time.Millisecond)
			srv.stop()
		case 20:
			srv.start()
		}
	}
	waitForCalls(t, srv, batches*size)
}

// storageHost is a collector host with one storage extension.
type storageHost struct {
	component.Host
	id  component.ID
	ext extension.Extension
}

func (h storageHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{h.id: h.ext}
}

// startFileStorage starts a file_storage extension on dir, shut down at cleanup
// unless the test does it first.
func startFileStorage(t *testing.T, dir string) (storageHost, func()) {
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	cfg.Compaction.Directory = dir
	id := component.NewIDWithName(f.Type(), "weave")
	ext, err := f.Create(context.Background(), extension.Settings{
		ID: id, TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo(),
	}, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			require.NoError(t, ext.Shutdown(context.Background()))
		}
	}
	t.Cleanup(stop)
	return storageHost{Host: componenttest.NewNopHost(), id: id, ext: ext}, stop
}

// TestPersistentQueueSurvivesExporterRestart: calls queued while ClickHouse
// is down stay in the file_storage queue across an exporter (collector)
// restart and arrive once it is back.
func TestPersistentQueueSurvivesExporterRestart(t *testing.T) {
	srv := newChildServer(t)
	srv.start()
	storageDir := t.TempDir()
	ctx := context.Background()

	host, stopStorage := startFileStorage(t, storageDir)
	cfg := queuedConfig(srv)
	cfg.QueueConfig.Get().StorageID = &host.id
	exp, err := createExporter(cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, host), "creates the schema")

	srv.stop()
	const batches, size = 10, 100
	for b := range batches {
		require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(b, size)...)))
	}
	require.NoError(t, exp.Shutdown(ctx))
	stopStorage()

	srv.start()
	host2, _ := startFileStorage(t, storageDir)
	exp2, err := createExporter(cfg)
	require.NoError(t, err)
	require.NoError(t, exp2.Start(ctx, host2))
	t.Cleanup(func() { require.NoError(t, exp2.Shutdown(ctx)) })
	waitForCalls(t, srv, batches*size)
}

// TestIdleConnectionAfterRestart: the server restarts while the exporter
// has nothing to send; the next INSERT, without any retry, does not fail
// on the connection the restart closed.
func TestIdleConnectionAfterRestart(t *testing.T) {
	srv := newChildServer(t)
	srv.start()
	cfg := testConfig(restartDB)
	cfg.Endpoint = "clickhouse://" + srv.addr()
	exp := startExporter(t, cfg, nil)
	ctx := context.Background()
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(0, 10)...)))

	srv.stop()
	srv.start()
	// Longer than a connection may sit idle unchecked.
	time.Sleep(1100 * time.Millisecond)
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(1, 10)...)))
	waitForCalls(t, srv, 20)
}

// TestConnectionDroppedWhileIdle: the connections are closed by the other
// side right after an INSERT (a server restart, a load balancer); the next
// INSERT, at once and without any retry, goes on a new connection instead
// of failing on the closed one, as with clickhouse-go, which checked a
// pooled connection before reusing it.
func TestConnectionDroppedWhileIdle(t *testing.T) {
	db := embeddedchtest.Database(t)
	proxy := newCountingProxy(t, embeddedchtest.Addr())
	cfg := testConfig(db)
	cfg.Endpoint = "clickhouse://" + proxy.Addr().String()
	exp := startExporter(t, cfg, nil)
	ctx := context.Background()
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(0, 10)...)))
	proxy.drop()
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(1, 10)...)))
	assert.Equal(t, uint64(20), count(t, connectShared(t), "SELECT count() FROM `"+db+"`.calls"))
}

// countingWriter counts the bytes written to it as they pass.
type countingWriter struct {
	io.Writer
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// countingProxy forwards connections to addr and counts them: every one
// accepted, and those still open.
type countingProxy struct {
	net.Listener
	accepted, open atomic.Int64
	sent           atomic.Int64 // bytes from the clients to addr

	mu    sync.Mutex
	conns []net.Conn // both ends of every connection, for drop
}

// drop closes every connection made so far, as a server restart or a
// middlebox would.
func (p *countingProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func newCountingProxy(t *testing.T, addr string) *countingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &countingProxy{Listener: l}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			out, err := net.Dial("tcp", addr)
			if err != nil {
				_ = in.Close()
				continue
			}
			p.open.Add(1)
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			var copies sync.WaitGroup
			copies.Go(func() { _, _ = io.Copy(countingWriter{out, &p.sent}, in); _ = out.Close() })
			copies.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
			go func() { copies.Wait(); p.open.Add(-1) }()
		}
	}()
	return p
}

// TestConnectionReuse: INSERTs one after another share one connection;
// with conn_max_lifetime in the DSN a connection older than that is
// replaced.
func TestConnectionReuse(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		want int64
	}{{"", 1}, {"?conn_max_lifetime=1ms", 3}} {
		t.Run(tc.dsn, func(t *testing.T) {
			db := embeddedchtest.Database(t)
			proxy := newCountingProxy(t, embeddedchtest.Addr())
			cfg := testConfig(db)
			cfg.Endpoint = "clickhouse://" + proxy.Addr().String() + tc.dsn
			exp := startExporter(t, cfg, nil)
			// The schema was created at start through clickhouse-go's
			// own connections.
			before := proxy.accepted.Load()
			for b := range 3 {
				time.Sleep(2 * time.Millisecond) // older than 1ms
				require.NoError(t, exp.ConsumeTraces(context.Background(), annotatedTraces(batchOf(b, 5)...)))
			}
			assert.Equal(t, tc.want, proxy.accepted.Load()-before)
		})
	}
}

// TestConcurrentConsumers: four queue consumers insert at once, each on a
// connection of its own and no more; shutdown closes every connection and
// leaves no goroutine behind.
func TestConcurrentConsumers(t *testing.T) {
	db := embeddedchtest.Database(t)
	proxy := newCountingProxy(t, embeddedchtest.Addr())
	conn := connectShared(t)
	leaks := goleak.IgnoreCurrent()

	cfg := testConfig(db)
	cfg.Endpoint = "clickhouse://" + proxy.Addr().String()
	const consumers = 4
	cfg.QueueConfig = batchingQueue(consumers, 50, 100, 10*time.Millisecond)
	exp, err := createExporter(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	schemaConns := proxy.open.Load() // clickhouse-go's, kept idle after the schema

	const senders, requests, size = 8, 25, 20
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for r := range requests {
				assert.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(s*requests+r, size)...)))
			}
		})
	}
	wg.Wait()
	want := uint64(senders * requests * size)
	require.Eventually(t, func() bool {
		return count(t, conn, "SELECT count() FROM `"+db+"`.calls") == want
	}, time.Minute, 20*time.Millisecond)
	assert.LessOrEqual(t, proxy.open.Load()-schemaConns, int64(consumers), "one connection per consumer at most")

	require.NoError(t, exp.Shutdown(ctx))
	require.Eventually(t, func() bool { return proxy.open.Load() == 0 }, 10*time.Second, 10*time.Millisecond,
		"connections left open after shutdown: %d", proxy.open.Load())
	goleak.VerifyNone(t, leaks)
}

// TestFailover: with two hosts, INSERTs go to the first while it answers
// and, once it is gone (its connections closed, nothing listening), to the
// second at once, without a retry.
func TestFailover(t *testing.T) {
	db := embeddedchtest.Database(t)
	first := newCountingProxy(t, embeddedchtest.Addr())
	second := newCountingProxy(t, embeddedchtest.Addr())
	cfg := testConfig(db)
	cfg.Endpoint = "clickhouse://" + first.Addr().String() + "," + second.Addr().String()
	exp := startExporter(t, cfg, nil)
	ctx := context.Background()
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(0, 10)...)))
	assert.Zero(t, second.accepted.Load(), "the first host while it answers")

	require.NoError(t, first.Close())
	first.drop()
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(batchOf(1, 10)...)))
	assert.Equal(t, int64(1), second.accepted.Load())
	assert.Equal(t, uint64(20), count(t, connectShared(t), "SELECT count() FROM `"+db+"`.calls"))
}
