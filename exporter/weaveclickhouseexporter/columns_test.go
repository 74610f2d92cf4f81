package weaveclickhouseexporter

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/callmap"
)

// appended records what a filler hands the driver: the whole-column slice
// (Append) or the values one by one (AppendRow). Values behind pointers
// are read at once, as the driver copies them at once.
type appended struct {
	column any
	rows   []any
}

func (a *appended) Append(v any) error {
	a.column = deref(v)
	return nil
}

func (a *appended) AppendRow(v any) error {
	a.rows = append(a.rows, v)
	return nil
}

// deref turns []*T into []any of T or nil.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Type().Elem().Kind() != reflect.Pointer {
		return v
	}
	out := make([]any, rv.Len())
	for i := range out {
		if !rv.Index(i).IsNil() {
			out[i] = rv.Index(i).Elem().Interface()
		}
	}
	return out
}

func TestColumns(t *testing.T) {
	end := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := callmap.Record{ParentID: "p", WBUserID: "u", Model: "gpt", EndedAt: end, LatencyMS: 7, Status: callmap.StatusSuccess, CostUSD: 0.5, HasCost: true, Inputs: `{"a":1}`}
	running := callmap.Record{Status: callmap.StatusRunning, LatencyMS: 0, Model: "gpt"}
	w := newColumnWriter()

	// fill runs every column over rs; lowCard columns as in the schema.
	fill := func(rs []callmap.Record) map[string]*appended {
		got := map[string]*appended{}
		for i, c := range columns {
			a := &appended{}
			lowCard := c.name == "model" || c.name == "wb_user_id"
			require.NoError(t, w.fillers[i].fill(a, rs, lowCard))
			got[c.name] = a
		}
		return got
	}

	tests := []struct {
		name string
		rs   []callmap.Record
		want map[string]appended
	}{
		{
			name: "full then running",
			rs:   []callmap.Record{full, running},
			want: map[string]appended{
				"parent_id":    {column: []any{"p", nil}},                // "" is NULL
				"ended_at":     {column: []any{end, nil}},                // no end time is NULL
				"latency_ms":   {column: []any{int64(7), nil}},           // no latency while running
				"cost_usd":     {column: []any{0.5, nil}},                // no price is NULL, not 0
				"inputs":       {column: []string{`{"a":1}`, "{}"}},      // absent JSON is {}
				"output":       {column: []string{"null", "null"}},       // absent output is null
				"model":        {rows: []any{"gpt", "gpt"}},              // LowCardinality: one by one
				"wb_user_id":   {rows: []any{"u", nil}},                  // LowCardinality(Nullable): "" is NULL
				"status":       {column: []string{"success", "running"}}, // String when not LowCardinality
				"version":      {column: []uint64{0, 0}},                 // plain values
				"started_at":   {column: []time.Time{{}, {}}},            // plain values
				"id":           {column: []string{"", ""}},               // plain strings
				"exception":    {column: []any{nil, nil}},                // all NULL
				"thread_id":    {column: []any{nil, nil}},                // all NULL
				"turn_id":      {column: []any{nil, nil}},                // all NULL
				"wb_run_id":    {column: []any{nil, nil}},                // all NULL
				"attributes":   {column: []string{"{}", "{}"}},           // absent JSON is {}
				"summary":      {column: []string{"{}", "{}"}},           // absent JSON is {}
				"trace_id":     {column: []string{"", ""}},               // plain strings
				"kind":         {column: []string{"", ""}},               // unknown is ''
				"project_id":   {column: []string{"", ""}},               // plain strings
				"total_tokens": {column: []int64{0, 0}},                  // plain values
			},
		},
		{
			// The slices of the first chunk are reused: a NULL row after
			// a present one in the same position stays NULL.
			name: "second chunk reuses the slices",
			rs:   []callmap.Record{running},
			want: map[string]appended{
				"parent_id":  {column: []any{nil}},
				"ended_at":   {column: []any{nil}},
				"latency_ms": {column: []any{nil}},
				"cost_usd":   {column: []any{nil}},
				"inputs":     {column: []string{"{}"}},
				"wb_user_id": {rows: []any{nil}},
				"model":      {rows: []any{"gpt"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fill(tt.rs)
			for name, want := range tt.want {
				require.Contains(t, got, name)
				assert.Equal(t, want, *got[name], name)
			}
		})
	}

	stmt := insertStatement("`weave`.`call_versions`")
	assert.True(t, strings.HasPrefix(stmt, "INSERT INTO `weave`.`call_versions` (project_id, trace_id, id, "))
	assert.Equal(t, len(columns), strings.Count(stmt, ",")+1)
}

// TestFillerReset: a pooled writer keeps no string of the batch it wrote.
func TestFillerReset(t *testing.T) {
	w := newColumnWriter()
	rs := []callmap.Record{{ID: "a", ParentID: "p", Inputs: `{"x":1}`}}
	for i := range columns {
		require.NoError(t, w.fillers[i].fill(&appended{}, rs, false))
		w.fillers[i].reset()
	}
	for i, c := range columns {
		if v, ok := w.fillers[i].(*strValues); ok {
			if v.plain != nil {
				assert.Equal(t, make([]string, cap(v.plain.out)), v.plain.out[:cap(v.plain.out)], c.name)
			} else {
				assert.Equal(t, make([]string, len(v.null.vals)), v.null.vals, c.name)
				assert.Equal(t, make([]*string, len(v.null.out)), v.null.out, c.name)
			}
		}
	}
}
