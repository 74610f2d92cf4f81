package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"
	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/metadata"
	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

func TestMain(m *testing.M) { os.Exit(embeddedchtest.Run(m)) }

// testConfig is the exporter config for database db on the shared server:
// no queue and no retry, so ConsumeTraces returns the INSERT's own result.
func testConfig(db string) *weaveclickhouseexporter.Config {
	cfg := weaveclickhouseexporter.NewFactory().CreateDefaultConfig().(*weaveclickhouseexporter.Config)
	cfg.Endpoint = "clickhouse://" + embeddedchtest.Addr()
	auth := embeddedchtest.Options().Auth
	cfg.Username, cfg.Password = auth.Username, configopaque.String(auth.Password)
	cfg.Database = db
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	return cfg
}

// startExporter creates and starts an exporter, shut down at cleanup.
func startExporter(t testing.TB, cfg *weaveclickhouseexporter.Config, host component.Host) exporter.Traces {
	t.Helper()
	exp, err := createExporter(cfg)
	require.NoError(t, err)
	start(t, exp, host)
	return exp
}

// start starts exp on host (a host without extensions when nil) and shuts
// it down at cleanup.
func start(t testing.TB, exp component.Component, host component.Host) {
	t.Helper()
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
}

func createExporter(cfg *weaveclickhouseexporter.Config) (exporter.Traces, error) {
	return createExporterWith(cfg, componenttest.NewNopTelemetrySettings())
}

// createExporterWith creates an exporter reporting its own telemetry to tel.
func createExporterWith(cfg *weaveclickhouseexporter.Config, tel component.TelemetrySettings) (exporter.Traces, error) {
	f := weaveclickhouseexporter.NewFactory()
	set := exportertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel
	// A fixed id: the persistent queue is found again by the exporter's id.
	set.ID = component.NewID(metadata.Type)
	if os.Getenv("WEAVECH_DEBUG") != "" {
		set.Logger, _ = zap.NewDevelopment()
	}
	return f.CreateTraces(context.Background(), set, cfg)
}

// connectShared opens a client on the test binary's server, closed at cleanup.
func connectShared(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(embeddedchtest.Options())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// connect opens a client on addr, closed at cleanup.
func connect(t testing.TB, addr string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// fixtures are the golden OTLP inputs at the repository root.
func fixtures(t testing.TB) map[string]ptrace.Traces {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "testdata", "*.otlp.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "golden fixtures testdata/*.otlp.json")
	out := map[string]ptrace.Traces{}
	var u ptrace.JSONUnmarshaler
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		td, err := u.UnmarshalTraces(b)
		require.NoError(t, err, p)
		out[filepath.Base(p)] = td
	}
	return out
}

// mapped is what the exporter must store for td: per span, the processor's
// annotation (its texts mapped from the span when it has none) or else the
// shared mapping, with default settings.
func mapped(t testing.TB, td ptrace.Traces) []callmap.Record {
	t.Helper()
	m, err := callmap.NewMapper(callmap.DefaultConfig())
	require.NoError(t, err)
	var out []callmap.Record
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				r, _, err := callmap.ReadCall(m.MapTo, m.MapTextsTo, nil, rss.At(i).Resource(), sss.At(j).Scope(), spans.At(k))
				require.NoError(t, err)
				out = append(out, r)
			}
		}
	}
	return out
}

// asStored is r as ClickHouse gives it back: times at microsecond
// precision, absent JSON as {} (null for output), no latency while running,
// no cost without a price.
func asStored(r callmap.Record) callmap.Record {
	r.StartedAt = r.StartedAt.Truncate(time.Microsecond).UTC()
	if !r.EndedAt.IsZero() {
		r.EndedAt = r.EndedAt.Truncate(time.Microsecond).UTC()
	}
	for _, f := range []*string{&r.Inputs, &r.Attributes, &r.Summary} {
		if *f == "" {
			*f = "{}"
		}
	}
	if r.Output == "" {
		r.Output = "null"
	}
	if r.EndedAt.IsZero() || r.Status == callmap.StatusRunning {
		r.LatencyMS = 0
	}
	if !r.HasCost {
		r.CostUSD = 0
	}
	return r
}

// readCalls reads calls back through the calls view (every Call field and
// the typed columns), ordered by trace and id.
func readCalls(t testing.TB, conn driver.Conn, db, where string, args ...any) []callmap.Record {
	t.Helper()
	q := "SELECT id, trace_id, parent_id, project_id, op_name, op_safe_name, display_name, started_at, ended_at, " +
		"exception, inputs, output, attributes, summary, thread_id, turn_id, wb_user_id, wb_run_id, deleted_at, " +
		"kind, model, provider, operation, status, latency_ms, input_tokens, output_tokens, total_tokens, cost_usd, version " +
		"FROM `" + db + "`.calls"
	if where != "" {
		q += " WHERE " + where
	}
	rows, err := conn.Query(context.Background(), q+" ORDER BY trace_id, id", args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []callmap.Record
	for rows.Next() {
		var (
			r                                                   callmap.Record
			parent, display, exception, thread, turn, user, run *string
			ended, deleted                                      *time.Time
			latency                                             *int64
			cost                                                *float64
			status                                              string
		)
		require.NoError(t, rows.Scan(&r.ID, &r.TraceID, &parent, &r.ProjectID, &r.OpName, &r.OpSafeName, &display,
			&r.StartedAt, &ended, &exception, &r.Inputs, &r.Output, &r.Attributes, &r.Summary, &thread, &turn, &user, &run,
			&deleted, &r.Kind, &r.Model, &r.Provider, &r.Operation, &status, &latency, &r.InputTokens, &r.OutputTokens,
			&r.TotalTokens, &cost, &r.Version))
		require.Nil(t, deleted, "calls never shows a soft-deleted call")
		r.ParentID, r.DisplayName, r.Exception = deref(parent), deref(display), deref(exception)
		r.ThreadID, r.TurnID, r.WBUserID, r.WBRunID = deref(thread), deref(turn), deref(user), deref(run)
		r.StartedAt = r.StartedAt.UTC()
		if ended != nil {
			r.EndedAt = ended.UTC()
		}
		r.Status = callmap.Status(status)
		if latency != nil {
			r.LatencyMS = *latency
		}
		if cost != nil {
			r.CostUSD, r.HasCost = *cost, true
		}
		for _, s := range []*string{parent, display, exception, thread, turn, user, run} {
			require.True(t, s == nil || *s != "", "an absent optional field is NULL, never ''")
		}
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// count runs a SELECT count() style query.
func count(t testing.TB, conn driver.Conn, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}
