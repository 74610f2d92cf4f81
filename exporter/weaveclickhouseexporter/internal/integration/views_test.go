package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// TestViews checks the traces, threads and ops views on traces whose
// answers are known.
func TestViews(t *testing.T) {
	db := embeddedchtest.Database(t)
	exp := startExporter(t, testConfig(db), nil)
	conn := connectShared(t)
	ctx := context.Background()

	fail := func(r callmap.Record) callmap.Record {
		r.Status, r.Exception = callmap.StatusError, "ValueError: boom"
		return r
	}
	run := func(r callmap.Record) callmap.Record {
		r.Status, r.EndedAt, r.LatencyMS = callmap.StatusRunning, time.Time{}, 0
		return r
	}
	recs := []callmap.Record{
		// trace 1: a child failed, all ended → descendant_error
		record(1, 0, 1), fail(record(1, 1, 1)), record(1, 2, 1),
		// trace 2: the root failed → error
		fail(record(2, 0, 1)), record(2, 1, 1),
		// trace 3: a child failed and one still runs → running
		record(3, 0, 1), fail(record(3, 1, 1)), run(record(3, 2, 1)),
		// trace 4: all good, root missing → success, earliest call stands in
		record(4, 1, 1), record(4, 2, 1),
	}
	for i := range recs {
		recs[i].TurnID = recs[i].ID
		if recs[i].ParentID != "" {
			recs[i].TurnID = recs[i].ParentID
		}
	}
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(recs...)))

	type traceRow struct {
		root     string
		calls    uint64
		errors   uint64
		status   string
		duration *int64
		tokens   int64
	}
	want := map[string]traceRow{
		record(1, 0, 0).TraceID: {record(1, 0, 0).ID, 3, 1, "descendant_error", ptr(int64(3500)), 45},
		record(2, 0, 0).TraceID: {record(2, 0, 0).ID, 2, 1, "error", ptr(int64(2500)), 30},
		record(3, 0, 0).TraceID: {record(3, 0, 0).ID, 3, 1, "running", nil, 45},
		record(4, 0, 0).TraceID: {record(4, 1, 0).ID, 2, 0, "success", ptr(int64(2500)), 30},
	}
	rows, err := conn.Query(ctx, "SELECT trace_id, root_id, calls, errors, status, duration_ms, total_tokens FROM `"+db+"`.traces")
	require.NoError(t, err)
	got := map[string]traceRow{}
	for rows.Next() {
		var id string
		var r traceRow
		require.NoError(t, rows.Scan(&id, &r.root, &r.calls, &r.errors, &r.status, &r.duration, &r.tokens))
		got[id] = r
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, want, got)

	var turns, traces, calls, errors uint64
	var cost float64
	require.NoError(t, conn.QueryRow(ctx, "SELECT turns, traces, calls, errors, cost_usd FROM `"+db+"`.threads WHERE thread_id = 'thread-1'").
		Scan(&turns, &traces, &calls, &errors, &cost))
	assert.Equal(t, []uint64{4, 4, 10, 3}, []uint64{turns, traces, calls, errors}, "turns, traces, calls, errors")
	assert.InDelta(t, 10*0.0001, cost, 1e-12)

	var opCalls, opErrors uint64
	var p50, p95 *float64
	require.NoError(t, conn.QueryRow(ctx, "SELECT calls, errors, p50_latency_ms, p95_latency_ms FROM `"+db+"`.ops WHERE op_safe_name = 'chat'").
		Scan(&opCalls, &opErrors, &p50, &p95))
	assert.Equal(t, uint64(10), opCalls)
	assert.Equal(t, uint64(3), opErrors)
	require.NotNil(t, p50, "latency quantiles skip the running call")
	assert.Equal(t, 1500.0, *p50)
}

func ptr[T any](v T) *T { return &v }

// TestTraceAcrossProjects pins the documented treatment of a trace whose
// services report to two projects: a traces row per project, each counting
// its own calls, the earliest call standing in for the root where the root
// is not.
func TestTraceAcrossProjects(t *testing.T) {
	db := embeddedchtest.Database(t)
	exp := startExporter(t, testConfig(db), nil)
	conn := connectShared(t)
	ctx := context.Background()

	other := func(r callmap.Record) callmap.Record {
		r.ProjectID, r.OpName = "acme/tools", "weave:///acme/tools/op/chat:abc123"
		return r
	}
	root, child, grandchild := record(5, 0, 1), other(record(5, 1, 1)), other(record(5, 2, 1))
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(root, child, grandchild)))

	rows, err := conn.Query(ctx, "SELECT project_id, root_id, calls FROM `"+db+"`.traces WHERE trace_id = '"+root.TraceID+"' ORDER BY project_id")
	require.NoError(t, err)
	type row struct {
		project, root string
		calls         uint64
	}
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.project, &r.root, &r.calls))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []row{{"acme/agents", root.ID, 1}, {"acme/tools", child.ID, 2}}, got)

	var whole uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.calls WHERE trace_id = '"+root.TraceID+"'").Scan(&whole))
	assert.Equal(t, uint64(3), whole, "the whole trace through weave.calls")
}
