package callmap

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// annotatedSpan is a span with ids and times, for annotation round trips.
func annotatedSpan() ptrace.Span {
	span := ptrace.NewSpan()
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	start := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
	span.Attributes().PutStr("gen_ai.request.model", "m")
	return span
}

// withSpanFacts is r with the ids and times FromAnnotation takes from the
// span of annotatedSpan.
func withSpanFacts(r Record) Record {
	r.TraceID, r.ID = "0102030405060708090a0b0c0d0e0f10", "0102030405060708"
	r.StartedAt = time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	r.EndedAt = r.StartedAt.Add(time.Second)
	return r
}

func TestAnnotationRoundTrip(t *testing.T) {
	full := Record{
		ProjectID: "acme/support", OpName: "weave:///acme/support/op/chat:0123", OpSafeName: "chat",
		DisplayName: `say "hi"`, Exception: "ValueError: bad\nline two\t\u00e9\u2028",
		Inputs: `{"a":1}`, Output: `"x"`, Attributes: `{}`, Summary: `{"weave":{}}`,
		ThreadID: "t", TurnID: "u", WBUserID: "w", WBRunID: "r",
		Kind: "llm", Model: "gpt-4o", Provider: "openai", Operation: "chat",
		Status: StatusError, LatencyMS: 1000, InputTokens: 1, OutputTokens: 2, TotalTokens: 3,
		CostUSD: 0.0001098, HasCost: true, Version: math.MaxUint64,
	}
	minimal := Record{ProjectID: "p", OpName: "o", Status: StatusRunning, Inputs: "{}", Output: "null", Attributes: "{}", Summary: "{}"}
	nan := full
	nan.CostUSD = math.NaN()
	inf := full
	inf.CostUSD = math.Inf(-1)
	zeroCost := minimal
	zeroCost.HasCost = true
	for name, r := range map[string]Record{"full": full, "minimal": minimal, "zero cost": zeroCost, "-Inf cost": inf} {
		t.Run(name, func(t *testing.T) {
			span := annotatedSpan()
			Annotate(span, &r)
			got, ok := FromAnnotation(span)
			require.True(t, ok)
			assert.Equal(t, withSpanFacts(r), got)
			assert.Equal(t, 2, span.Attributes().Len(), "one annotation next to the span's attribute")
		})
	}
	t.Run("without texts, as the processor writes it", func(t *testing.T) {
		r := full
		r.Inputs, r.Output, r.Attributes = "", "", ""
		require.True(t, r.NeedsTexts())
		span := annotatedSpan()
		Annotate(span, &r)
		ann, _ := span.Attributes().Get(AnnotationKey)
		assert.Equal(t, 2, ann.Map().Len(), "call and summary only")
		got, ok := FromAnnotation(span)
		require.True(t, ok)
		assert.True(t, got.NeedsTexts())
		assert.Equal(t, withSpanFacts(r), got)
	})
	t.Run("NaN cost", func(t *testing.T) {
		span := annotatedSpan()
		Annotate(span, &nan)
		got, ok := FromAnnotation(span)
		require.True(t, ok)
		assert.True(t, got.HasCost)
		assert.True(t, math.IsNaN(got.CostUSD))
	})
	t.Run("replaces an earlier annotation", func(t *testing.T) {
		span := annotatedSpan()
		Annotate(span, &full)
		Annotate(span, &minimal)
		got, ok := FromAnnotation(span)
		require.True(t, ok)
		assert.Equal(t, withSpanFacts(minimal), got)
	})
}

// TestAnnotationOfAnotherLayout: what is not this release's layout is
// refused (the exporter then maps the span itself), never half read.
func TestAnnotationOfAnotherLayout(t *testing.T) {
	good := `{"version":1,"project_id":"p","op_name":"o","op_safe_name":"o","status":"success","latency_ms":0,"input_tokens":0,"output_tokens":0,"total_tokens":0}`
	tests := map[string]func(m pcommon.Map){
		"not a map": nil,
		"older layout": func(m pcommon.Map) {
			m.PutInt("version", 1)
			m.PutStr("project_id", "p")
			m.PutStr("op_name", "o")
			m.PutStr("status", "success")
		},
		"call missing":   func(m pcommon.Map) { putParts(m) },
		"a part missing": func(m pcommon.Map) { m.PutStr(annCall, good); m.PutStr(annInputs, "{}") },
		"two of the three texts": func(m pcommon.Map) {
			putParts(m)
			m.Remove(annOutput)
			m.PutStr(annCall, good)
		},
		"summary missing, no texts": func(m pcommon.Map) { m.PutStr(annCall, good) },
		"call not a string":         func(m pcommon.Map) { putParts(m); m.PutInt(annCall, 1) },
		"unknown field": func(m pcommon.Map) {
			putParts(m)
			m.PutStr(annCall, strings.Replace(good, `"status"`, `"colour":"red","status"`, 1))
		},
		"string as number": func(m pcommon.Map) {
			putParts(m)
			m.PutStr(annCall, strings.Replace(good, `"latency_ms":0`, `"latency_ms":"0"`, 1))
		},
		"number as string": func(m pcommon.Map) {
			putParts(m)
			m.PutStr(annCall, strings.Replace(good, `"status":"success"`, `"status":1`, 1))
		},
		"trailing text": func(m pcommon.Map) { putParts(m); m.PutStr(annCall, good+" ") },
		"cut short":     func(m pcommon.Map) { putParts(m); m.PutStr(annCall, good[:len(good)-1]) },
		"no project":    func(m pcommon.Map) { putParts(m); m.PutStr(annCall, strings.Replace(good, `"project_id":"p",`, "", 1)) },
		"bad escape": func(m pcommon.Map) {
			putParts(m)
			m.PutStr(annCall, strings.Replace(good, `"op_name":"o"`, `"op_name":"\q"`, 1))
		},
	}
	for name, fill := range tests {
		t.Run(name, func(t *testing.T) {
			span := annotatedSpan()
			if fill == nil {
				span.Attributes().PutStr(AnnotationKey, good)
			} else {
				fill(span.Attributes().PutEmptyMap(AnnotationKey))
			}
			_, ok := FromAnnotation(span)
			assert.False(t, ok)
		})
	}
	t.Run("the good one is read", func(t *testing.T) {
		span := annotatedSpan()
		m := span.Attributes().PutEmptyMap(AnnotationKey)
		putParts(m)
		m.PutStr(annCall, good)
		r, ok := FromAnnotation(span)
		assert.True(t, ok)
		assert.False(t, r.NeedsTexts())
	})
	t.Run("the good one without texts is read", func(t *testing.T) {
		span := annotatedSpan()
		m := span.Attributes().PutEmptyMap(AnnotationKey)
		m.PutStr(annSummary, "{}")
		m.PutStr(annCall, good)
		r, ok := FromAnnotation(span)
		assert.True(t, ok)
		assert.True(t, r.NeedsTexts())
	})
}

func putParts(m pcommon.Map) {
	for _, k := range []string{annInputs, annOutput, annAttributes, annSummary} {
		m.PutStr(k, "{}")
	}
}

// FuzzAnnotation: an annotation arrives over the wire from another
// collector, so any "call" text is read without a panic, in either layout
// (with the three texts or without), and what the reader accepts, written
// again, reads back the same.
func FuzzAnnotation(f *testing.F) {
	f.Add(`{"version":1,"project_id":"p","op_name":"o","op_safe_name":"o","status":"success","latency_ms":0,"input_tokens":0,"output_tokens":0,"total_tokens":0,"cost_usd":1e-7}`, true)
	f.Add(`{"version":1,"project_id":"p\u00e9\"","op_name":"o","status":"error","cost_usd":"NaN"}`, true)
	f.Add(`{"version":2,"project_id":"p","op_name":"o","op_safe_name":"o","status":"descendant_error","latency_ms":3,"input_tokens":1,"output_tokens":2,"total_tokens":3}`, false)
	f.Fuzz(func(t *testing.T, call string, texts bool) {
		span := annotatedSpan()
		m := span.Attributes().PutEmptyMap(AnnotationKey)
		putParts(m)
		if !texts {
			m.Remove(annInputs)
			m.Remove(annOutput)
			m.Remove(annAttributes)
		}
		m.PutStr(annCall, call)
		r, ok := FromAnnotation(span)
		if !ok {
			return
		}
		require.Equal(t, !texts, r.NeedsTexts(), "the layout read")
		again := annotatedSpan()
		Annotate(again, &r)
		r2, ok := FromAnnotation(again)
		require.True(t, ok)
		if math.IsNaN(r.CostUSD) {
			require.True(t, math.IsNaN(r2.CostUSD))
			r.CostUSD, r2.CostUSD = 0, 0
		}
		require.Equal(t, r, r2)
	})
}

// TestOpCache: a digest from the cache is the digest of the bytes, also
// after evictions and when the caller reuses its buffer.
func TestOpCache(t *testing.T) {
	var c opCache
	buf := make([]byte, 0, 64)
	for round := range 3 {
		for i := range 12 { // more identities than entries: evictions
			buf = append(buf[:0], "chat\x00scope\x00v"...)
			buf = append(buf, byte('a'+i))
			want := fnvBytes(fnvOffset, buf)
			require.Equal(t, want, c.digest(buf), "round %d, identity %d", round, i)
			buf[0] = 'X' // the caller's scratch is reused: the cache keeps its own copy
		}
	}
	require.Equal(t, fnvBytes(fnvOffset, nil), c.digest(nil))
	require.Equal(t, fnvBytes(fnvOffset, []byte{}), c.digest([]byte{}))
}
