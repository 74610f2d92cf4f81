package embeddedchtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/embeddedch"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func open(t testing.TB, addr string) clickhouse.Conn {
	t.Helper()
	o := Options()
	o.Addr = []string{addr}
	conn, err := clickhouse.Open(o)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestDatabaseRoundTrip(t *testing.T) {
	db := Database(t)
	conn := open(t, Addr())
	ctx := context.Background()
	require.NoError(t, conn.Exec(ctx, "CREATE TABLE `"+db+"`.t (id UInt64, name String) ENGINE = MergeTree ORDER BY id"))
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO `"+db+"`.t")
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, batch.Append(uint64(i), "n"+strconv.Itoa(i)))
	}
	require.NoError(t, batch.Send())
	var n, sum uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(), sum(id) FROM `"+db+"`.t").Scan(&n, &sum))
	require.Equal(t, uint64(10), n)
	require.Equal(t, uint64(45), sum)
	var engine string
	require.NoError(t, conn.QueryRow(ctx, "SELECT engine FROM system.databases WHERE name = ?", db).Scan(&engine))
	require.Equal(t, "Atomic", engine)
}

func TestDatabaseUniqueAndDroppedAtCleanup(t *testing.T) {
	var first, second string
	t.Run("make", func(t *testing.T) {
		first, second = Database(t), Database(t)
		require.NotEqual(t, first, second)
		require.Equal(t, 2, countDatabases(t, first, second))
	})
	require.Equal(t, 0, countDatabases(t, first, second), "dropped when the subtest ended")
}

func countDatabases(t *testing.T, names ...string) int {
	var n uint64
	require.NoError(t, open(t, Addr()).QueryRow(context.Background(),
		"SELECT count() FROM system.databases WHERE has(?, name)", names).Scan(&n))
	return int(n)
}

func TestDatabaseName(t *testing.T) {
	for _, name := range []string{"TestX", "TestX/sub case:ü", "Test" + string(make([]byte, 100))} {
		got := databaseName(name)
		require.Regexp(t, `^test_[a-z0-9_]{0,40}_[0-9a-f]{8}$`, got, name)
	}
	require.Regexp(t, `^test_testx_sub_case_[0-9a-f]{8}$`, databaseName("TestX/sub case:ü"))
}

func TestHTTPAddrAnswers(t *testing.T) {
	require.NotEmpty(t, HTTPAddr())
	c, err := net.DialTimeout("tcp", HTTPAddr(), 5*time.Second)
	require.NoError(t, err)
	c.Close()
}

func TestParseReady(t *testing.T) {
	tests := []struct {
		line, tcp, http, wantErr string
	}{
		{"ready tcp=127.0.0.1:9000 http=127.0.0.1:8123", "127.0.0.1:9000", "127.0.0.1:8123", ""},
		{"ready http=[::1]:8123 tcp=[::1]:9000", "[::1]:9000", "[::1]:8123", ""},
		{"ready tcp=127.0.0.1:9000", "", "", "unexpected ready line"},
		{"ready", "", "", "unexpected ready line"},
	}
	for _, tt := range tests {
		tcp, http, err := parseReady(tt.line)
		if tt.wantErr != "" {
			require.ErrorContains(t, err, tt.wantErr, tt.line)
			continue
		}
		require.NoError(t, err, tt.line)
		require.Equal(t, tt.tcp, tcp)
		require.Equal(t, tt.http, http)
	}
}

func TestReadyWatcherSplitWrites(t *testing.T) {
	w := &readyWatcher{line: make(chan string, 1)}
	for _, part := range []string{"noise\nrea", "dy tcp=a:1 http", "=b:2\nready again\n"} {
		n, err := w.Write([]byte(part))
		require.NoError(t, err)
		require.Equal(t, len(part), n)
	}
	require.Equal(t, "ready tcp=a:1 http=b:2", <-w.line)
	require.Empty(t, w.line, "only the first ready line")
}

// stopAtCleanup stops srv after the connections the test opens later are
// closed (cleanups run last first): with a client still connected,
// ClickHouse waits 5 s and then exits with status 1.
func stopAtCleanup(t *testing.T, srv *server) {
	t.Cleanup(func() { require.NoError(t, srv.stop(), "a clean stop") })
}

// A server stopped by SIGTERM exits cleanly, and a new one on the same data
// directory sees what the first stored.
func TestRestartKeepsData(t *testing.T) {
	launcher, lib, err := prepare()
	require.NoError(t, err)
	dir := t.TempDir()
	ctx := context.Background()

	srv, err := startFree(launcher, lib, dir)
	require.NoError(t, err)
	conn := open(t, srv.tcpAddr)
	require.NoError(t, conn.Exec(ctx, "CREATE DATABASE kept ENGINE = Atomic"))
	require.NoError(t, conn.Exec(ctx, "CREATE TABLE kept.t (id UInt64) ENGINE = MergeTree ORDER BY id"))
	require.NoError(t, conn.Exec(ctx, "INSERT INTO kept.t SELECT number FROM numbers(1000)"))
	conn.Close()
	require.NoError(t, srv.stop(), "a clean stop")

	srv, err = startFree(launcher, lib, dir)
	require.NoError(t, err)
	stopAtCleanup(t, srv)
	var n, sum uint64
	require.NoError(t, open(t, srv.tcpAddr).QueryRow(ctx, "SELECT count(), sum(id) FROM kept.t").Scan(&n, &sum))
	require.Equal(t, uint64(1000), n)
	require.Equal(t, uint64(499500), sum)
}

// A second server runs next to the test binary's one (parallel test
// binaries, two-node setups); each is its own instance.
func TestTwoServersAtOnce(t *testing.T) {
	launcher, lib, err := prepare()
	require.NoError(t, err)
	srv, err := startFree(launcher, lib, t.TempDir())
	require.NoError(t, err)
	stopAtCleanup(t, srv)

	ctx := context.Background()
	db := Database(t)
	var onSecond uint64
	require.NoError(t, open(t, srv.tcpAddr).QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&onSecond))
	require.Zero(t, onSecond, "the second server has its own catalogue")
	_, port, _ := net.SplitHostPort(srv.tcpAddr)
	var tcpPort uint16
	require.NoError(t, open(t, srv.tcpAddr).QueryRow(ctx, "SELECT tcpPort()").Scan(&tcpPort))
	require.Equal(t, port, strconv.Itoa(int(tcpPort)))
}

// A taken port is a clear error, not a hang.
func TestStartWithPortInUse(t *testing.T) {
	launcher, lib, err := prepare()
	require.NoError(t, err)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	free, err := embeddedch.FreePorts(1)
	require.NoError(t, err)
	takenPort := taken.Addr().(*net.TCPAddr).Port

	_, err = startServer(launcher, lib, t.TempDir(), takenPort, free[0])
	require.ErrorContains(t, err, fmt.Sprintf("tcp port: 127.0.0.1:%d is in use", takenPort))
}

// BenchmarkStartToReady: from starting the launcher to both protocols answering.
func BenchmarkStartToReady(b *testing.B) {
	launcher, lib, err := prepare()
	require.NoError(b, err)
	for b.Loop() {
		srv, err := startFree(launcher, lib, b.TempDir())
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, srv.stop())
		b.StartTimer()
	}
}

// BenchmarkInsert200kRows: one clickhouse-go batch of 200k call-like rows.
func BenchmarkInsert200kRows(b *testing.B) {
	const rows = 200_000
	db := Database(b)
	conn := open(b, Addr())
	ctx := context.Background()
	require.NoError(b, conn.Exec(ctx, "CREATE TABLE `"+db+"`.t (id String, trace_id String, op LowCardinality(String), "+
		"started_at DateTime64(6), tokens UInt64, cost Float64, attributes String) ENGINE = MergeTree ORDER BY (op, started_at)"))
	now := time.Now()
	for b.Loop() {
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO `"+db+"`.t")
		require.NoError(b, err)
		for i := range rows {
			require.NoError(b, batch.Append(strconv.Itoa(i), "trace-"+strconv.Itoa(i/10), "openai.chat",
				now.Add(time.Duration(i)*time.Millisecond), uint64(i%4000), float64(i)*1e-6, `{"gen_ai.system":"openai"}`))
		}
		require.NoError(b, batch.Send())
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
