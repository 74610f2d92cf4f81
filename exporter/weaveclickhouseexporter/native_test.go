package weaveclickhouseexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callhouse/callhouse/internal/callmap"
)

// decodeColumn reads a column a native INSERT sends back with ch-go's own
// column of the type it declares, one value per row (nil for NULL, times
// in UTC).
func decodeColumn(t *testing.T, c recordColumn) []any {
	t.Helper()
	var buf proto.Buffer
	c.EncodeColumn(&buf)
	var col proto.ColAuto
	require.NoError(t, col.Infer(c.Type()))
	require.NoError(t, col.Data.DecodeColumn(proto.NewReader(buf.Reader()), c.Rows()))
	row := reflect.ValueOf(col.Data).MethodByName("Row")
	out := make([]any, col.Data.Rows())
	for i := range out {
		v := row.Call([]reflect.Value{reflect.ValueOf(i)})[0]
		if v.Kind() == reflect.Struct && v.FieldByName("Set").IsValid() { // proto.Nullable[T]
			if !v.FieldByName("Set").Bool() {
				continue
			}
			v = v.FieldByName("Value")
		}
		out[i] = v.Interface()
		if tm, ok := out[i].(time.Time); ok {
			out[i] = tm.UTC()
		}
	}
	return out
}

// TestNativeColumns: what a native INSERT sends for each column, read back
// with ch-go's decoders: the same values and NULLs as the HTTP fillers
// (TestColumns), LowCardinality columns as their plain type.
func TestNativeColumns(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 4, 123456789, time.UTC)
	end := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := callmap.Record{StartedAt: start, ParentID: "p", WBUserID: "u", Model: "gpt", EndedAt: end, LatencyMS: 7,
		Status: callmap.StatusSuccess, CostUSD: 0.5, HasCost: true, Inputs: `{"a":1}`, InputTokens: 3, Version: 9}
	running := callmap.Record{StartedAt: start, Status: callmap.StatusRunning, LatencyMS: 0, Model: "gpt"}
	rows := []callmap.Record{full, running}

	want := map[string]struct {
		typ    proto.ColumnType
		values []any
	}{
		"parent_id":    {"Nullable(String)", []any{"p", nil}}, // "" is NULL
		"started_at":   {"DateTime64(6, 'UTC')", []any{start.Truncate(time.Microsecond), start.Truncate(time.Microsecond)}},
		"ended_at":     {"Nullable(DateTime64(6, 'UTC'))", []any{end, nil}}, // no end time is NULL
		"latency_ms":   {"Nullable(Int64)", []any{int64(7), nil}},           // no latency while running
		"cost_usd":     {"Nullable(Float64)", []any{0.5, nil}},              // no price is NULL, not 0
		"inputs":       {"String", []any{`{"a":1}`, "{}"}},                  // absent JSON is {}
		"output":       {"String", []any{"null", "null"}},                   // absent output is null
		"model":        {"String", []any{"gpt", "gpt"}},                     // LowCardinality sent plain
		"wb_user_id":   {"Nullable(String)", []any{"u", nil}},               // LowCardinality(Nullable) sent plain
		"status":       {"String", []any{"success", "running"}},             // plain strings
		"input_tokens": {"Int64", []any{int64(3), int64(0)}},                // plain values
		"version":      {"UInt64", []any{uint64(9), uint64(0)}},             // plain values
		"exception":    {"Nullable(String)", []any{nil, nil}},               // all NULL
	}
	checked := 0
	for i := range columns {
		c := &columns[i]
		w, ok := want[c.name]
		if !ok {
			continue
		}
		checked++
		t.Run(c.name, func(t *testing.T) {
			col := recordColumn{kind: &c.kind, rows: &rows}
			assert.Equal(t, w.typ, col.Type())
			assert.Equal(t, w.values, decodeColumn(t, col))
		})
	}
	assert.Equal(t, len(want), checked, "every column named above is written")
}

// TestConnectOrder: native connections try the endpoint's addresses from
// the one the DSN's connection_open_strategy picks, then the others in
// turn, and report every failure.
func TestConnectOrder(t *testing.T) {
	addrs := []string{"a:9000", "b:9000", "c:9000"}
	tests := []struct {
		strategy clickhouse.ConnOpenStrategy
		want     [][]string // addresses tried by each of three connects
	}{
		{clickhouse.ConnOpenInOrder, [][]string{addrs, addrs, addrs}},
		{clickhouse.ConnOpenRoundRobin, [][]string{
			{"a:9000", "b:9000", "c:9000"}, {"b:9000", "c:9000", "a:9000"}, {"c:9000", "a:9000", "b:9000"},
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.strategy), func(t *testing.T) {
			var tried []string
			n := newNativeInserts(&clickhouse.Options{Addr: addrs, ConnOpenStrategy: tt.strategy}, compressionLZ4, 1)
			n.dial = func(_ context.Context, addr string) (net.Conn, error) {
				tried = append(tried, addr)
				return nil, errors.New("refused by " + addr)
			}
			for _, want := range tt.want {
				tried = nil
				_, err := n.connect(context.Background())
				require.Error(t, err)
				assert.Equal(t, want, tried)
				for _, a := range addrs {
					assert.ErrorContains(t, err, "refused by "+a)
				}
			}
		})
	}
	n := newNativeInserts(&clickhouse.Options{}, compressionLZ4, 1)
	_, err := n.connect(context.Background())
	assert.ErrorContains(t, err, "no address")
}

// BenchmarkEncodeBlock encodes one native INSERT block (chunkRows records
// with every optional field set), as the exporter sends it.
func BenchmarkEncodeBlock(b *testing.B) {
	end := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rs := make([]callmap.Record, chunkRows)
	for i := range rs {
		rs[i] = callmap.Record{
			ProjectID: "acme/agents", TraceID: "0123456789abcdef0123456789abcdef", ID: "0123456789abcdef",
			ParentID: "fedcba9876543210", OpName: "weave:///acme/agents/op/chat:abc", OpSafeName: "chat",
			DisplayName: "chat gpt", StartedAt: end.Add(-time.Second), EndedAt: end, Inputs: `{"messages":[{"role":"user","content":"What is the capital of France?"}]}`,
			Output: `"Paris"`, Attributes: `{}`, Summary: `{}`, ThreadID: "t", TurnID: "u", WBUserID: "w",
			WBRunID: "r", Kind: "llm", Model: "gpt", Provider: "openai", Operation: "chat",
			Status: callmap.StatusSuccess, LatencyMS: 1000, InputTokens: 1, OutputTokens: 2, TotalTokens: 3,
			CostUSD: 0.5, HasCost: true, Version: 1,
		}
	}
	var buf proto.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		for i := range columns {
			recordColumn{kind: &columns[i].kind, rows: &rs}.EncodeColumn(&buf)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/row")
}

// TestLoginRejected: a server that answers the native login with an
// authentication exception (code 516, as ClickHouse does for a wrong
// password) makes the INSERT a permanent error that says so. The embedded
// test server aborts on a failed native login, so the server here answers
// with ch-go's own encoding of the exception.
func TestLoginRejected(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = conn.Read(make([]byte, 4096)) // the client's hello
		var b proto.Buffer
		proto.ServerCodeException.Encode(&b)
		exc := proto.Exception{Code: 516, Name: "DB::Exception", Message: "DB::Exception: default: Authentication failed: password is incorrect"}
		exc.EncodeAware(&b, 0)
		_, _ = conn.Write(b.Buf)
	}()

	n := newNativeInserts(&clickhouse.Options{Addr: []string{l.Addr().String()}, Auth: clickhouse.Auth{Password: "wrong"}}, compressionLZ4, 1)
	t.Cleanup(n.close)
	err = classify("insert calls", l.Addr().String(), n.insert(context.Background(), insertStatement("weave.call_versions"), func() []callmap.Record { return []callmap.Record{{}} }))
	<-served
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), "authentication failed")
	assert.Contains(t, err.Error(), "check username and password")
}

// TestChunks: an INSERT's blocks hold chunkRows calls, fewer when their
// fields pass chunkBytes (so that a batch of large calls does not leave
// the connection holding buffers of 256 of them), and at least one; spans
// without ids are skipped, and a block's records are read back as they
// were annotated even though each block reuses the last one's memory.
func TestChunks(t *testing.T) {
	sized := func(sizes ...int) ptrace.Traces {
		td := ptrace.NewTraces()
		spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
		for i, n := range sizes {
			sp := spans.AppendEmpty()
			if n < 0 { // no ids
				continue
			}
			sp.SetTraceID(pcommon.TraceID{1})
			sp.SetSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 1})
			callmap.Annotate(sp, &callmap.Record{ProjectID: "p/q", OpName: "op", Status: callmap.StatusSuccess, Inputs: strings.Repeat("x", n)})
		}
		return td
	}
	repeat := func(n, size int) []int { return slices.Repeat([]int{size}, n) }
	for _, tc := range []struct {
		name    string
		td      ptrace.Traces
		want    []int // rows per block
		skipped int
	}{
		{"small calls", sized(repeat(600, 1000)...), []int{256, 256, 88}, 0},
		{"exactly one block", sized(repeat(256, 1000)...), []int{256}, 0},
		{"large calls", sized(repeat(10, chunkBytes/4+1)...), []int{4, 4, 2}, 0},
		{"one call over the bound", sized(100, 5*chunkBytes, 100), []int{2, 1}, 0},
		{"spans without ids", sized(append(repeat(300, 10), -1, -1)...), []int{256, 44}, 2},
		{"none", sized(), nil, 0},
		{"empty resources and scopes between", func() ptrace.Traces {
			td := ptrace.NewTraces()
			td.ResourceSpans().AppendEmpty()                            // no scopes
			td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty() // no spans
			sized(repeat(300, 10)...).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
			sized(repeat(3, 10)...).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			return td
		}(), []int{256, 47}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &callsExporter{}
			src, skipped := e.newBatchSource(tc.td, newColumnWriter())
			assert.Equal(t, tc.skipped, skipped)
			var got []int
			for chunk := src.next(); len(chunk) > 0; chunk = src.next() {
				got = append(got, len(chunk))
				for _, r := range chunk {
					require.Equal(t, "p/q", r.ProjectID)
					require.Len(t, r.ID, 16)
				}
			}
			assert.Equal(t, tc.want, got)
			assert.Zero(t, src.mapped)
		})
	}
}

// TestMappingPanicSkipsSpan: a span the mapper panics on (a bug met on
// odd input) is left out of the INSERT, logged and counted, and the
// others of its batch are written; the collector does not go down.
func TestMappingPanicSkipsSpan(t *testing.T) {
	bugOnBad := func(_ *callmap.Texts, _ pcommon.Resource, _ pcommon.InstrumentationScope, sp ptrace.Span) callmap.Call {
		if sp.Name() == "bad" {
			panic("mapper bug")
		}
		return callmap.Call{ID: sp.SpanID().String(), ProjectID: "p/q", OpName: "op", Inputs: []byte(`{"in":1}`)}
	}
	never := func(*callmap.Texts, pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) callmap.Call {
		panic("the wrong mapping was called")
	}
	for _, tc := range []struct {
		name              string
		annotated         bool // the processor's annotation, without the texts
		mapCall, mapTexts callmap.MapFunc
		mapped            int
	}{
		{"unannotated: the span is mapped whole", false, bugOnBad, never, 2},
		{"annotated: the texts are mapped", true, never, bugOnBad, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
			for i, name := range []string{"ok", "bad", "ok"} {
				sp := spans.AppendEmpty()
				sp.SetName(name)
				sp.SetTraceID(pcommon.TraceID{1})
				sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
				if tc.annotated {
					callmap.Annotate(sp, &callmap.Record{ProjectID: "p/q", OpName: "op", Status: callmap.StatusSuccess, Summary: "{}"})
				}
			}
			core, logs := observer.New(zap.ErrorLevel)
			e := &callsExporter{logger: zap.New(core), mapCall: tc.mapCall, mapTexts: tc.mapTexts}
			src, skipped := e.newBatchSource(td, newColumnWriter())
			require.Zero(t, skipped)
			var ids []string
			for chunk := src.next(); len(chunk) > 0; chunk = src.next() {
				for _, r := range chunk {
					ids = append(ids, r.ID)
					assert.Equal(t, `{"in":1}`, r.Inputs)
				}
			}
			assert.Equal(t, []string{pcommon.SpanID{1}.String(), pcommon.SpanID{3}.String()}, ids)
			assert.Equal(t, 1, src.failed)
			assert.Equal(t, tc.mapped, src.mapped)
			require.Equal(t, 1, logs.Len())
			assert.Contains(t, logs.All()[0].ContextMap()["error"], "mapper bug")
		})
	}
}

// TestNativeTimeouts: native connections take the DSN's (or the
// exporter's) dial and read timeouts, and clickhouse-go's defaults (30s to
// connect, 5m per answer) when there are none, e.g. with timeout: 0. The
// handshake is bounded like the dial (which uses the same value).
func TestNativeTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name               string
		dial, read         time.Duration
		wantDial, wantRead time.Duration
	}{
		{"none", 0, 0, 30 * time.Second, 5 * time.Minute},
		{"set", 2 * time.Second, 7 * time.Second, 2 * time.Second, 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNativeInserts(&clickhouse.Options{Addr: []string{"h:9000"}, DialTimeout: tc.dial, ReadTimeout: tc.read}, compressionLZ4, 1)
			assert.Equal(t, tc.wantDial, n.opts.HandshakeTimeout, "handshake")
			assert.Equal(t, tc.wantRead, n.opts.ReadTimeout, "read")
		})
	}
}
