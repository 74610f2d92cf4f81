package sidebyside

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestNewLoad checks what the timing relies on: at least the spans asked
// for, in requests of whole traces of about the size asked for, every span
// a distinct (trace, span) id whose parent is a span of the same trace.
func TestNewLoad(t *testing.T) {
	for _, tc := range []struct {
		name            string
		spans, perReq   int
		wantMinRequests int
	}{
		{name: "one span", spans: 1, perReq: 512, wantMinRequests: 1},
		{name: "sdk batches", spans: 5000, perReq: 512, wantMinRequests: 5000 / (512 + 30)},
		{name: "one trace per request", spans: 300, perReq: 1, wantMinRequests: 300 / 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLoad(context.Background(), tc.spans, tc.perReq)
			if err != nil {
				t.Fatal(err)
			}
			if l.Spans() < tc.spans {
				t.Fatalf("Spans() = %d, want at least %d", l.Spans(), tc.spans)
			}
			if l.Requests() < tc.wantMinRequests {
				t.Errorf("Requests() = %d, want at least %d", l.Requests(), tc.wantMinRequests)
			}
			type key struct {
				trace pcommon.TraceID
				span  pcommon.SpanID
			}
			seen := map[key]bool{}
			parents := map[key]bool{}
			total := 0
			for i, req := range l.requests {
				n := req.Traces().SpanCount()
				total += n
				if i < len(l.requests)-1 && n < tc.perReq {
					t.Errorf("request %d holds %d spans, want at least %d", i, n, tc.perReq)
				}
				for _, rs := range req.Traces().ResourceSpans().All() {
					if _, ok := rs.Resource().Attributes().Get("service.name"); !ok {
						t.Errorf("request %d: a resource without service.name", i)
					}
					for _, ss := range rs.ScopeSpans().All() {
						for _, s := range ss.Spans().All() {
							k := key{s.TraceID(), s.SpanID()}
							if seen[k] {
								t.Fatalf("span %s of trace %s sent twice", k.span, k.trace)
							}
							seen[k] = true
							if !s.ParentSpanID().IsEmpty() {
								parents[key{s.TraceID(), s.ParentSpanID()}] = true
							}
						}
					}
				}
			}
			if total != l.Spans() {
				t.Errorf("requests hold %d spans, Spans() = %d", total, l.Spans())
			}
			for p := range parents {
				if !seen[p] {
					t.Errorf("parent %s of trace %s is not in the load", p.span, p.trace)
				}
			}
		})
	}
}

func TestNewLoadRefusesNonPositive(t *testing.T) {
	for _, tc := range []struct{ spans, perReq int }{{0, 512}, {100, 0}, {-1, -1}} {
		if _, err := NewLoad(context.Background(), tc.spans, tc.perReq); err == nil {
			t.Errorf("NewLoad(%d, %d): no error", tc.spans, tc.perReq)
		}
	}
}
