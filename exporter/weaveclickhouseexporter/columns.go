package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"strings"
	"time"

	"github.com/callhouse/callhouse/internal/callmap"
)

// column is one column of the storage table and how a batch of records
// fills it: values returns the whole column as one slice, appended to the
// INSERT in one call (column-oriented, no per-row reflection).
type column struct {
	name   string
	values func(rs []callmap.Record) any
}

// columns lists the columns the exporter inserts, in INSERT order. The
// schema's storage table (internal/schema/sql) defines their types.
var columns = []column{
	{"project_id", strs(func(r *callmap.Record) string { return r.ProjectID })},
	{"trace_id", strs(func(r *callmap.Record) string { return r.TraceID })},
	{"id", strs(func(r *callmap.Record) string { return r.ID })},
	{"parent_id", nullStrs(func(r *callmap.Record) string { return r.ParentID })},
	{"op_name", strs(func(r *callmap.Record) string { return r.OpName })},
	{"op_safe_name", strs(func(r *callmap.Record) string { return r.OpSafeName })},
	{"display_name", nullStrs(func(r *callmap.Record) string { return r.DisplayName })},
	{"started_at", each(func(r *callmap.Record) time.Time { return r.StartedAt })},
	{"ended_at", nullable(func(r *callmap.Record) (time.Time, bool) { return r.EndedAt, !r.EndedAt.IsZero() })},
	{"exception", nullStrs(func(r *callmap.Record) string { return r.Exception })},
	{"inputs", strs(func(r *callmap.Record) string { return jsonOr(r.Inputs, "{}") })},
	{"output", strs(func(r *callmap.Record) string { return jsonOr(r.Output, "null") })},
	{"attributes", strs(func(r *callmap.Record) string { return jsonOr(r.Attributes, "{}") })},
	{"summary", strs(func(r *callmap.Record) string { return jsonOr(r.Summary, "{}") })},
	{"thread_id", nullStrs(func(r *callmap.Record) string { return r.ThreadID })},
	{"turn_id", nullStrs(func(r *callmap.Record) string { return r.TurnID })},
	{"wb_user_id", nullStrs(func(r *callmap.Record) string { return r.WBUserID })},
	{"wb_run_id", nullStrs(func(r *callmap.Record) string { return r.WBRunID })},
	{"kind", strs(func(r *callmap.Record) string { return r.Kind })},
	{"model", strs(func(r *callmap.Record) string { return r.Model })},
	{"provider", strs(func(r *callmap.Record) string { return r.Provider })},
	{"operation", strs(func(r *callmap.Record) string { return r.Operation })},
	{"status", strs(func(r *callmap.Record) string { return string(r.Status) })},
	{"latency_ms", nullable(func(r *callmap.Record) (int64, bool) {
		return r.LatencyMS, !r.EndedAt.IsZero() && r.Status != callmap.StatusRunning
	})},
	{"input_tokens", each(func(r *callmap.Record) int64 { return r.InputTokens })},
	{"output_tokens", each(func(r *callmap.Record) int64 { return r.OutputTokens })},
	{"total_tokens", each(func(r *callmap.Record) int64 { return r.TotalTokens })},
	{"cost_usd", nullable(func(r *callmap.Record) (float64, bool) { return r.CostUSD, r.HasCost })},
	{"version", each(func(r *callmap.Record) uint64 { return r.Version })},
}

// insertStatement is the INSERT of one batch into table.
func insertStatement(table string) string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ")"
}

// each builds a column from one value per record.
func each[T any](get func(*callmap.Record) T) func([]callmap.Record) any {
	return func(rs []callmap.Record) any {
		out := make([]T, len(rs))
		for i := range rs {
			out[i] = get(&rs[i])
		}
		return out
	}
}

func strs(get func(*callmap.Record) string) func([]callmap.Record) any { return each(get) }

// nullStrs builds a Nullable(String) column: "" is NULL (callmap's
// convention for an absent optional field).
func nullStrs(get func(*callmap.Record) string) func([]callmap.Record) any {
	return nullable(func(r *callmap.Record) (string, bool) {
		s := get(r)
		return s, s != ""
	})
}

// nullable builds a Nullable column (the driver takes []*T) from one value
// per record and whether it is present. The values live in one backing
// slice, so a column costs two allocations, not one per row.
func nullable[T any](get func(*callmap.Record) (T, bool)) func([]callmap.Record) any {
	return func(rs []callmap.Record) any {
		vals := make([]T, len(rs))
		out := make([]*T, len(rs))
		for i := range rs {
			if v, ok := get(&rs[i]); ok {
				vals[i] = v
				out[i] = &vals[i]
			}
		}
		return out
	}
}

// jsonOr stores an absent JSON field as the JSON of "nothing" (an empty
// object, or null for output), so every stored value parses as JSON.
func jsonOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
