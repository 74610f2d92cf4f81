package integration

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// record is a complete synthetic call: trace t, span s, version v.
func record(trace, span int, version uint64) callmap.Record {
	start := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC).Add(time.Duration(span) * time.Second)
	r := callmap.Record{
		ID:          fmt.Sprintf("%016x", uint64(span)+1),
		TraceID:     fmt.Sprintf("%032x", uint64(trace)+1),
		ProjectID:   "acme/agents",
		OpName:      "weave:///acme/agents/op/chat:abc123",
		OpSafeName:  "chat",
		DisplayName: fmt.Sprintf("v%d", version),
		StartedAt:   start,
		EndedAt:     start.Add(1500 * time.Millisecond),
		Inputs:      `{"input.value":"hi"}`,
		Output:      `{"output.value":"hello"}`,
		Attributes:  `{"kind":"llm","model":"gpt-4o"}`,
		Summary:     `{"usage":{"gpt-4o":{"requests":1,"input_tokens":10,"output_tokens":5,"total_tokens":15}},"weave":{"status":"success","latency_ms":1500}}`,
		ThreadID:    "thread-1",
		TurnID:      fmt.Sprintf("%016x", uint64(1)),
		WBUserID:    "user-1",
		Kind:        "llm",
		Model:       "gpt-4o",
		Provider:    "openai",
		Operation:   "chat",
		Status:      callmap.StatusSuccess,
		LatencyMS:   1500,
		InputTokens: 10, OutputTokens: 5, TotalTokens: 15,
		CostUSD: 0.0001, HasCost: true,
		Version: version,
	}
	if span > 0 {
		r.ParentID = fmt.Sprintf("%016x", uint64(1))
	}
	return r
}

// annotatedTraces is the processor's output for the records: one span each,
// annotated.
func annotatedTraces(recs ...callmap.Record) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range recs {
		r := &recs[i]
		s := spans.AppendEmpty()
		s.SetName(r.OpSafeName)
		s.SetTraceID(pcommon.TraceID(mustHex(r.TraceID, 16)))
		s.SetSpanID(pcommon.SpanID(mustHex(r.ID, 8)))
		if r.ParentID != "" {
			s.SetParentSpanID(pcommon.SpanID(mustHex(r.ParentID, 8)))
		}
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(r.StartedAt))
		if !r.EndedAt.IsZero() {
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(r.EndedAt))
		}
		callmap.Annotate(s, r)
	}
	return td
}

func mustHex(s string, n int) []byte {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		panic(fmt.Sprintf("bad hex id %q", s))
	}
	return b
}

func TestVersions(t *testing.T) {
	db := embeddedchtest.Database(t)
	exp := startExporter(t, testConfig(db), nil)
	conn := connectShared(t)
	ctx := context.Background()
	push := func(recs ...callmap.Record) { require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(recs...))) }

	t.Run("a newer version replaces the old one", func(t *testing.T) {
		push(record(1, 0, 1), record(1, 1, 1))
		push(record(1, 1, 2))
		got := readCalls(t, conn, db, "trace_id = ?", record(1, 0, 0).TraceID)
		require.Len(t, got, 2)
		assert.Equal(t, asStored(record(1, 0, 1)), got[0])
		assert.Equal(t, asStored(record(1, 1, 2)), got[1])
	})

	t.Run("an older version arriving late does not win", func(t *testing.T) {
		push(record(2, 0, 5))
		push(record(2, 0, 3))
		got := readCalls(t, conn, db, "trace_id = ?", record(2, 0, 0).TraceID)
		require.Len(t, got, 1)
		assert.Equal(t, "v5", got[0].DisplayName)
	})

	t.Run("the same batch twice is stored once", func(t *testing.T) {
		batch := annotatedTraces(record(3, 0, 1), record(3, 1, 1), record(3, 2, 1))
		require.NoError(t, exp.ConsumeTraces(ctx, batch))
		require.NoError(t, exp.ConsumeTraces(ctx, batch))
		tid := record(3, 0, 0).TraceID
		assert.Len(t, readCalls(t, conn, db, "trace_id = ?", tid), 3)
		assert.Equal(t, uint64(3), count(t, conn, "SELECT count() FROM `"+db+"`.calls WHERE trace_id = ?", tid))
	})

	t.Run("a soft delete hides the call", func(t *testing.T) {
		push(record(4, 0, 1), record(4, 1, 1))
		victim := record(4, 1, 1)
		sql := readmeSQL(t, "soft-delete", db)
		params := clickhouse.WithParameters(clickhouse.Parameters{"project_id": victim.ProjectID, "id": victim.ID})
		require.NoError(t, conn.Exec(clickhouse.Context(ctx, params), sql))
		got := readCalls(t, conn, db, "trace_id = ?", victim.TraceID)
		require.Len(t, got, 1)
		assert.Equal(t, record(4, 0, 0).ID, got[0].ID)
		var deleted time.Time
		require.NoError(t, conn.QueryRow(ctx, "SELECT assumeNotNull(deleted_at) FROM `"+db+"`.call_versions FINAL WHERE id = ? AND trace_id = ?",
			victim.ID, victim.TraceID).Scan(&deleted))
		assert.False(t, deleted.IsZero(), "the newest stored version carries deleted_at")

		push(record(4, 1, 9))
		assert.Len(t, readCalls(t, conn, db, "trace_id = ?", victim.TraceID), 1,
			"a later version from ingestion does not bring a deleted call back")
	})
}

// TestVersionsInOneInsert: two versions of a call in one INSERT are both
// stored until a merge (the exporter sends optimize_on_insert = 0, so the
// server skips collapsing them while writing) unless the DSN asks for the
// server's default; weave.calls shows the newest either way.
func TestVersionsInOneInsert(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint func() string
		stored   uint64 // rows in call_versions before any merge
	}{
		{"native", func() string { return "clickhouse://" + embeddedchtest.Addr() }, 2},
		{"http", httpEndpoint, 2},
		{"dsn asks for optimize_on_insert", func() string { return "clickhouse://" + embeddedchtest.Addr() + "?optimize_on_insert=1" }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := embeddedchtest.Database(t)
			cfg := testConfig(db)
			cfg.Endpoint = tc.endpoint()
			exp := startExporter(t, cfg, nil)
			conn := connectShared(t)
			ctx := context.Background()
			require.NoError(t, conn.Exec(ctx, "SYSTEM STOP MERGES `"+db+"`.call_versions"))
			require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(record(1, 0, 1), record(1, 0, 2))))
			assert.Equal(t, tc.stored, count(t, conn, "SELECT count() FROM `"+db+"`.call_versions"))
			got := readCalls(t, conn, db, "")
			require.Len(t, got, 1)
			assert.Equal(t, asStored(record(1, 0, 2)), got[0])
		})
	}
}

// TestHTTPEndpoint: the same writes and reads over ClickHouse's HTTP
// interface, with each compression.
func TestHTTPEndpoint(t *testing.T) {
	for _, compression := range []string{"lz4", "zstd", "none"} {
		t.Run(compression, func(t *testing.T) {
			db := embeddedchtest.Database(t)
			cfg := testConfig(db)
			cfg.Endpoint = httpEndpoint()
			cfg.Compression = compression
			exp := startExporter(t, cfg, nil)
			recs := []callmap.Record{record(1, 0, 1), record(1, 1, 1)}
			require.NoError(t, exp.ConsumeTraces(context.Background(), annotatedTraces(recs...)))
			got := readCalls(t, connectShared(t), db, "")
			require.Len(t, got, 2)
			assert.Equal(t, asStored(recs[0]), got[0])
			assert.Equal(t, asStored(recs[1]), got[1])
		})
	}
}
