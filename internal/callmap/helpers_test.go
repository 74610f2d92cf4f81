package callmap

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/pricing"
)

var (
	testStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	testTrace = pcommon.TraceID{0xAB, 0xCD, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	testSpan  = pcommon.SpanID{0xDE, 0xAD, 0xBE, 0xEF, 0, 1, 2, 3}
)

// build makes a finished span named "op" (1.5 s long) and lets f adjust it.
func build(f func(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span)) (pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ss := rs.ScopeSpans().AppendEmpty()
	span := ss.Spans().AppendEmpty()
	span.SetName("op")
	span.SetTraceID(testTrace)
	span.SetSpanID(testSpan)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(testStart))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(testStart.Add(1500 * time.Millisecond)))
	if f != nil {
		f(rs.Resource(), ss.Scope(), span)
	}
	return rs.Resource(), ss.Scope(), span
}

// attrs is a span adjustment that only sets attributes.
func attrs(f func(a pcommon.Map)) func(pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) {
	return func(_ pcommon.Resource, _ pcommon.InstrumentationScope, span ptrace.Span) { f(span.Attributes()) }
}

func testMapper(t testing.TB, cfg Config) *Mapper {
	t.Helper()
	prices, err := pricing.Load(pricing.Config{Overrides: map[string]pricing.Override{
		"test-model": {Provider: "testco", InputCostPerToken: 2e-6, OutputCostPerToken: 8e-6, CacheReadInputTokenCost: 1e-6, EffectiveDate: "2026-01-01"},
	}})
	require.NoError(t, err)
	return NewMapperWithPrices(cfg, prices)
}

func mapWith(t testing.TB, m *Mapper, f func(pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span)) Call {
	t.Helper()
	c := m.Map(build(f))
	checkValidJSON(t, &c)
	return c
}

func mapSpan(t testing.TB, f func(pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span)) Call {
	t.Helper()
	return mapWith(t, testMapper(t, DefaultConfig()), f)
}

// checkValidJSON asserts every JSON field of the call's record is valid
// JSON and valid UTF-8 (json.Valid does not check the latter).
func checkValidJSON(t testing.TB, c *Call) {
	t.Helper()
	r := c.ToRecord()
	for name, s := range map[string]string{"inputs": r.Inputs, "output": r.Output, "attributes": r.Attributes, "summary": r.Summary} {
		require.Truef(t, json.Valid([]byte(s)), "%s is not valid JSON: %.300s", name, s)
		require.Truef(t, utf8.ValidString(s), "%s is not valid UTF-8", name)
	}
}

// jsonAt decodes JSON text and follows a path of object keys.
func jsonAt(t testing.TB, text []byte, path ...string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(text, &v), "%s", text)
	for _, k := range path {
		m, ok := v.(map[string]any)
		require.Truef(t, ok, "no object at %q in %s", k, text)
		v, ok = m[k]
		require.Truef(t, ok, "no key %q in %s", k, text)
	}
	return v
}

// requireJSONAt asserts the JSON at path equals want (JSON text).
func requireJSONAt(t testing.TB, want string, text []byte, path ...string) {
	t.Helper()
	got, err := json.Marshal(jsonAt(t, text, path...))
	require.NoError(t, err)
	require.JSONEq(t, want, string(got), "at %v in %s", path, text)
}
