package weaveclickhouseexporter

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/callmap"
)

func TestColumns(t *testing.T) {
	end := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := callmap.Record{ParentID: "p", EndedAt: end, LatencyMS: 7, Status: callmap.StatusSuccess, CostUSD: 0.5, HasCost: true, Inputs: `{"a":1}`}
	running := callmap.Record{Status: callmap.StatusRunning, LatencyMS: 0}
	rs := []callmap.Record{full, running}

	got := map[string]any{}
	for _, c := range columns {
		v := c.values(rs)
		got[c.name] = v
	}
	parent := got["parent_id"].([]*string)
	require.NotNil(t, parent[0])
	assert.Equal(t, "p", *parent[0])
	assert.Nil(t, parent[1], `"" is NULL`)

	ended := got["ended_at"].([]*time.Time)
	assert.Equal(t, end, *ended[0])
	assert.Nil(t, ended[1], "no end time is NULL")

	latency := got["latency_ms"].([]*int64)
	assert.Equal(t, int64(7), *latency[0])
	assert.Nil(t, latency[1], "no latency while running")

	cost := got["cost_usd"].([]*float64)
	assert.Equal(t, 0.5, *cost[0])
	assert.Nil(t, cost[1], "no price is NULL, not 0")

	assert.Equal(t, []string{`{"a":1}`, "{}"}, got["inputs"])
	assert.Equal(t, []string{"null", "null"}, got["output"])

	stmt := insertStatement("`weave`.`call_versions`")
	assert.True(t, strings.HasPrefix(stmt, "INSERT INTO `weave`.`call_versions` (project_id, trace_id, id, "))
	assert.Equal(t, len(columns), strings.Count(stmt, ",")+1)
}
