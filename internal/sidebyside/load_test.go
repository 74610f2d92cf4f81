package sidebyside

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestNewLoad checks what the timing relies on: at least the spans asked
// for, in requests of whole traces of about the size asked for, every span
// a distinct (trace, span) id whose parent is a span of the same trace.
func TestNewLoad(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		spans, perReq, perTrace int
		wantSpans, wantRequests int
	}{
		{name: "one span", spans: 1, perReq: 512, perTrace: 5, wantSpans: 5, wantRequests: 1},
		{name: "sdk batches", spans: 5000, perReq: 512, perTrace: 5, wantSpans: 5000, wantRequests: 10},
		{name: "a partial last request", spans: 1100, perReq: 500, perTrace: 10, wantSpans: 1100, wantRequests: 3},
		{name: "rounded up to whole traces", spans: 101, perReq: 500, perTrace: 10, wantSpans: 110, wantRequests: 1},
		{name: "one trace per request", spans: 300, perReq: 1, perTrace: 7, wantSpans: 301, wantRequests: 43},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLoad(tc.spans, tc.perReq, tc.perTrace)
			if err != nil {
				t.Fatal(err)
			}
			if l.Spans() != tc.wantSpans || l.Requests() != tc.wantRequests {
				t.Fatalf("%d spans in %d requests, want %d in %d", l.Spans(), l.Requests(), tc.wantSpans, tc.wantRequests)
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
				if n%tc.perTrace != 0 || (i < len(l.requests)-1 && n < tc.perReq/tc.perTrace*tc.perTrace) {
					t.Errorf("request %d holds %d spans, want whole traces of %d, about %d", i, n, tc.perTrace, tc.perReq)
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
	for _, tc := range []struct{ spans, perReq, perTrace int }{{0, 512, 5}, {100, 0, 5}, {100, 512, 0}, {-1, -1, -1}} {
		if _, err := NewLoad(tc.spans, tc.perReq, tc.perTrace); err == nil {
			t.Errorf("NewLoad(%d, %d, %d): no error", tc.spans, tc.perReq, tc.perTrace)
		}
	}
}

// TestDue: paced requests are spread evenly over spans/rate seconds.
func TestDue(t *testing.T) {
	l, err := NewLoad(5000, 500, 5) // 10 requests of 500
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		i, rate int
		want    time.Duration
	}{
		{0, 1000, 0},
		{1, 1000, 500 * time.Millisecond},
		{9, 1000, 4500 * time.Millisecond},
		{4, 100_000, 20 * time.Millisecond},
	} {
		if got := due(tc.i, l, tc.rate); got != tc.want {
			t.Errorf("due(%d, rate %d) = %s, want %s", tc.i, tc.rate, got, tc.want)
		}
	}
}
