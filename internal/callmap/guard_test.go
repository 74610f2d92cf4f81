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

// TestReadCall: the exporter's reading of a span. An annotation with its
// texts is taken whole (no mapping is called); one without them (the
// processor's) gets the texts the texts mapping gives for the span, all
// else from the annotation; a span without annotation is mapped whole; a
// panicking mapping is an error, never a panic.
func TestReadCall(t *testing.T) {
	res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	mapped := Call{ProjectID: "mapped/p", OpName: "mapped", Inputs: []byte(`{"in":1}`), Output: []byte(`"out"`), Attributes: []byte(`{"a":1}`)}
	mapOK := func(*Texts, pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) Call { return mapped }
	textsOK := func(*Texts, pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) Call {
		return Call{Inputs: []byte(`{"in":2}`), Output: []byte(`"out2"`), Attributes: []byte(`{"a":2}`)}
	}
	bug := func(*Texts, pcommon.Resource, pcommon.InstrumentationScope, ptrace.Span) Call { panic("mapper bug") }
	ann := Record{ProjectID: "ann/p", OpName: "ann", Status: StatusDescendantError, Summary: `{"weave":{}}`, Version: 9}
	withTexts := ann
	withTexts.Inputs, withTexts.Output, withTexts.Attributes = `{"kept":1}`, `null`, `{}`
	for _, tc := range []struct {
		name           string
		ann            *Record // nil: no annotation
		mapFn, textsFn MapFunc
		annotated      bool
		err            bool
		want           func(r Record) bool
	}{
		{"annotation with texts, taken whole", &withTexts, bug, bug, true, false, func(r Record) bool {
			return r.ProjectID == "ann/p" && r.Inputs == `{"kept":1}` && r.Version == 9
		}},
		{"annotation without texts, texts mapped", &ann, bug, textsOK, true, false, func(r Record) bool {
			return r.ProjectID == "ann/p" && r.Status == StatusDescendantError && r.Version == 9 &&
				r.Inputs == `{"in":2}` && r.Output == `"out2"` && r.Attributes == `{"a":2}`
		}},
		{"no annotation, mapped", nil, mapOK, bug, false, false, func(r Record) bool {
			return r.ProjectID == "mapped/p" && r.Inputs == `{"in":1}` && r.Version == 0
		}},
		{"annotation without texts, mapping panics", &ann, mapOK, bug, true, true, nil},
		{"no annotation, mapping panics", nil, bug, textsOK, false, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := annotatedSpan()
			if tc.ann != nil {
				Annotate(sp, tc.ann)
			}
			r, annotated, err := ReadCall(tc.mapFn, tc.textsFn, nil, res, scope, sp)
			if annotated != tc.annotated || (err != nil) != tc.err {
				t.Fatalf("ReadCall: annotated %v, err %v", annotated, err)
			}
			if tc.want != nil && !tc.want(r) {
				t.Fatalf("ReadCall gave %+v", r)
			}
		})
	}
}
