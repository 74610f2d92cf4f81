package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callhouse/callhouse/internal/callmap"
)

// column is one column of the storage table and how records fill it.
type column struct {
	name string
	kind
}

// kind is how a column's values come from the records, for both ways of
// writing an INSERT.
type kind struct {
	// newFiller returns the column's filler for clickhouse-go (HTTP): it
	// appends a chunk of records to the INSERT and keeps its slices for
	// the next chunk.
	newFiller func() filler
	// nativeType is the type a native INSERT sends the column as:
	// LowCardinality columns go as their plain type, and the server turns
	// them back into LowCardinality (see nativeSettings).
	nativeType proto.ColumnType
	// encode writes the column of a chunk of records in the native format
	// straight from the records.
	encode func(b *proto.Buffer, rs []callmap.Record)
}

// filler appends one column of a chunk of records to an INSERT. lowCard
// says the table's column is LowCardinality (read from the INSERT's
// header, so a schema change of a column's type needs no change here).
type filler interface {
	fill(dst driver.BatchColumn, rs []callmap.Record, lowCard bool) error
	// reset drops the values of the last chunk, so that a pooled filler
	// holds on to no batch's strings.
	reset()
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
	{"started_at", each(func(r *callmap.Record) time.Time { return r.StartedAt }, dateTime64, putTime)},
	{"ended_at", nullable(func(r *callmap.Record) (time.Time, bool) { return r.EndedAt, !r.EndedAt.IsZero() }, dateTime64, putTime)},
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
	}, "Int64", (*proto.Buffer).PutInt64)},
	{"input_tokens", each(func(r *callmap.Record) int64 { return r.InputTokens }, "Int64", (*proto.Buffer).PutInt64)},
	{"output_tokens", each(func(r *callmap.Record) int64 { return r.OutputTokens }, "Int64", (*proto.Buffer).PutInt64)},
	{"total_tokens", each(func(r *callmap.Record) int64 { return r.TotalTokens }, "Int64", (*proto.Buffer).PutInt64)},
	{"cost_usd", nullable(func(r *callmap.Record) (float64, bool) { return r.CostUSD, r.HasCost }, "Float64", (*proto.Buffer).PutFloat64)},
	{"version", each(func(r *callmap.Record) uint64 { return r.Version }, "UInt64", (*proto.Buffer).PutUInt64)},
}

// insertStatement is the INSERT of one batch into table.
func insertStatement(table string) string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ")"
}

// columnWriter holds an INSERT block's records and their texts, and one
// filler per column; an INSERT borrows one (from a pool), so the records,
// texts and column slices are reused from block to block and from batch
// to batch instead of allocated anew.
type columnWriter struct {
	chunk   []callmap.Record // the block being sent (see batchSource)
	texts   *callmap.Texts   // its records' texts: hex ids, mapped calls' JSON and summaries (recycled block to block)
	fillers []filler
}

func newColumnWriter() *columnWriter {
	w := &columnWriter{chunk: make([]callmap.Record, 0, chunkRows), texts: callmap.NewRecycledTexts(), fillers: make([]filler, len(columns))}
	for i, c := range columns {
		w.fillers[i] = c.newFiller()
	}
	return w
}

// values fills and returns a slice of one value per record. T values go
// to the driver as one []T (column-oriented, no per-row reflection).
type values[T any] struct {
	get func(*callmap.Record) T
	out []T
}

// each is a column of one T per record, sent natively as typ with put.
func each[T any](get func(*callmap.Record) T, typ proto.ColumnType, put func(*proto.Buffer, T)) kind {
	return kind{
		newFiller:  func() filler { return &values[T]{get: get} },
		nativeType: typ,
		encode: func(b *proto.Buffer, rs []callmap.Record) {
			for i := range rs {
				put(b, get(&rs[i]))
			}
		},
	}
}

func (v *values[T]) build(rs []callmap.Record) []T {
	v.out = v.out[:0]
	for i := range rs {
		v.out = append(v.out, v.get(&rs[i]))
	}
	return v.out
}

func (v *values[T]) reset() { clear(v.out[:cap(v.out)]) }

func (v *values[T]) fill(dst driver.BatchColumn, rs []callmap.Record, _ bool) error {
	return dst.Append(v.build(rs))
}

// nullValues fills a Nullable column (the driver takes []*T) from one
// value per record and whether it is present. The values live in one
// backing slice, reused like the pointers.
type nullValues[T any] struct {
	get  func(*callmap.Record) (T, bool)
	vals []T
	out  []*T
}

// nullable is a Nullable(typ) column: a value per record and whether it
// is present.
func nullable[T any](get func(*callmap.Record) (T, bool), typ proto.ColumnType, put func(*proto.Buffer, T)) kind {
	return kind{
		newFiller:  func() filler { return &nullValues[T]{get: get} },
		nativeType: "Nullable(" + typ + ")",
		encode: func(b *proto.Buffer, rs []callmap.Record) {
			// The native Nullable layout: the null map, then a value for
			// every row (the zero value where NULL).
			for i := range rs {
				_, ok := get(&rs[i])
				b.PutBool(!ok)
			}
			for i := range rs {
				v, ok := get(&rs[i])
				if !ok {
					var zero T
					v = zero
				}
				put(b, v)
			}
		},
	}
}

func (v *nullValues[T]) build(rs []callmap.Record) []*T {
	if cap(v.vals) < len(rs) {
		// The pointers below point into vals: it must not move while
		// they are taken.
		v.vals, v.out = make([]T, len(rs)), make([]*T, len(rs))
	}
	vals, out := v.vals[:len(rs)], v.out[:len(rs)]
	for i := range rs {
		out[i] = nil
		if val, ok := v.get(&rs[i]); ok {
			vals[i] = val
			out[i] = &vals[i]
		}
	}
	return out
}

func (v *nullValues[T]) reset() {
	clear(v.vals)
	clear(v.out)
}

func (v *nullValues[T]) fill(dst driver.BatchColumn, rs []callmap.Record, _ bool) error {
	return dst.Append(v.build(rs))
}

// strValues is a String column, or a Nullable(String) one where "" is
// NULL (callmap's convention for an absent optional field).
type strValues struct {
	plain *values[string]
	null  *nullValues[string]
	// boxed holds each distinct value of a LowCardinality column as an
	// interface value: the driver takes LowCardinality values one by one
	// as `any`, and boxing a string allocates, so each value is boxed once.
	boxed map[string]any
}

// maxBoxed bounds boxed: a column with more distinct values than this is
// not low-cardinality data, and its boxes start over.
const maxBoxed = 4096

// strs is a String column (or LowCardinality(String)).
func strs(get func(*callmap.Record) string) kind {
	k := each(get, "String", (*proto.Buffer).PutString)
	k.newFiller = func() filler { return &strValues{plain: &values[string]{get: get}} }
	return k
}

// nullStrs is a Nullable(String) column (or LowCardinality of it) where ""
// is NULL.
func nullStrs(get func(*callmap.Record) string) kind {
	present := func(r *callmap.Record) (string, bool) {
		s := get(r)
		return s, s != ""
	}
	k := nullable(present, "String", (*proto.Buffer).PutString)
	k.newFiller = func() filler { return &strValues{null: &nullValues[string]{get: present}} }
	return k
}

func (v *strValues) fill(dst driver.BatchColumn, rs []callmap.Record, lowCard bool) error {
	switch {
	case lowCard:
		return v.fillLowCard(dst, rs)
	case v.null != nil:
		return dst.Append(v.null.build(rs))
	default:
		return dst.Append(v.plain.build(rs))
	}
}

func (v *strValues) reset() {
	if v.null != nil {
		v.null.reset()
	} else {
		v.plain.reset()
	}
}

func (v *strValues) fillLowCard(dst driver.BatchColumn, rs []callmap.Record) error {
	if v.boxed == nil || len(v.boxed) > maxBoxed {
		v.boxed = make(map[string]any)
	}
	for i := range rs {
		var s string
		if v.null != nil {
			val, ok := v.null.get(&rs[i])
			if !ok {
				if err := dst.AppendRow(nil); err != nil {
					return err
				}
				continue
			}
			s = val
		} else {
			s = v.plain.get(&rs[i])
		}
		box, ok := v.boxed[s]
		if !ok {
			// A copy: the box outlives the batch, and s may share memory
			// with the whole request it came in.
			s = strings.Clone(s)
			box = s
			v.boxed[s] = box
		}
		if err := dst.AppendRow(box); err != nil {
			return err
		}
	}
	return nil
}

// dateTime64 is the type of the time columns.
const dateTime64 proto.ColumnType = "DateTime64(6, 'UTC')"

// putTime writes t as a DateTime64(6), as clickhouse-go converts it.
func putTime(b *proto.Buffer, t time.Time) {
	b.PutInt64(int64(proto.ToDateTime64(t, proto.PrecisionMicro)))
}

// jsonOr stores an absent JSON field as the JSON of "nothing" (an empty
// object, or null for output), so every stored value parses as JSON.
func jsonOr(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}
