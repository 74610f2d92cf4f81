package callmap

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestKeyed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trace pcommon.TraceID
		span  pcommon.SpanID
		want  bool
	}{
		{"both ids", pcommon.TraceID{1}, pcommon.SpanID{2}, true},
		{"no span id", pcommon.TraceID{1}, pcommon.SpanID{}, false},
		{"no trace id", pcommon.TraceID{}, pcommon.SpanID{2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := ptrace.NewSpan()
			sp.SetTraceID(tc.trace)
			sp.SetSpanID(tc.span)
			if got := Keyed(sp); got != tc.want {
				t.Errorf("Keyed = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMapGuarded: a mapping that returns gives its call; one that panics
// gives an error naming the span and the panic, and does not panic.
func TestMapGuarded(t *testing.T) {
	sp := ptrace.NewSpan()
	sp.SetTraceID(pcommon.TraceID{1})
	sp.SetSpanID(pcommon.SpanID{2})
	var c Call
	ok := func(*Texts, pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) Call {
		return Call{OpName: "op"}
	}
	if err := MapGuarded(ok, nil, pcommon.NewResource(), pcommon.NewInstrumentationScope(), sp, &c); err != nil || c.OpName != "op" {
		t.Fatalf("MapGuarded = %v, call %+v", err, c)
	}
	bug := func(*Texts, pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) Call { panic("mapper bug") }
	err := MapGuarded(bug, nil, pcommon.NewResource(), pcommon.NewInstrumentationScope(), sp, &c)
	if err == nil || !strings.Contains(err.Error(), "mapper bug") || !strings.Contains(err.Error(), sp.SpanID().String()) {
		t.Fatalf("MapGuarded of a panicking mapping = %v", err)
	}
}
