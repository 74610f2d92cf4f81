package sidebyside

import (
	"testing"
	"time"
)

func TestResultRates(t *testing.T) {
	s := func(ms int, rows uint64) Sample { return Sample{At: time.Duration(ms) * time.Millisecond, Rows: rows} }
	for _, tc := range []struct {
		name                  string
		r                     Result
		wantTotal, wantSteady float64
	}{
		{
			name:      "steady stream",
			r:         Result{Spans: 1000, Stored: 2 * time.Second, Samples: []Sample{s(0, 0), s(500, 100), s(1000, 500), s(1500, 900), s(2000, 1000)}},
			wantTotal: 500, wantSteady: 800,
		},
		{
			name:      "one step: too few to tell",
			r:         Result{Spans: 1000, Stored: 4 * time.Second, Samples: []Sample{s(0, 0), s(4000, 1000)}},
			wantTotal: 250, wantSteady: 0,
		},
		{
			name:      "never reached 90%",
			r:         Result{Spans: 1000, Stored: time.Second, Samples: []Sample{s(0, 0), s(500, 200)}},
			wantTotal: 1000, wantSteady: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.SpansPerSecond(); got != tc.wantTotal {
				t.Errorf("SpansPerSecond() = %v, want %v", got, tc.wantTotal)
			}
			if got := tc.r.SteadySpansPerSecond(); got != tc.wantSteady {
				t.Errorf("SteadySpansPerSecond() = %v, want %v", got, tc.wantSteady)
			}
		})
	}
}

func TestCollectorValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Collector
		ok   bool
	}{
		{"plain", Collector{Name: "x", Database: "otel", Table: "otel_traces", Key: []string{"TraceId", "SpanId"}}, true},
		{"with check", Collector{Name: "x", Database: "weave", Table: "call_versions", Key: []string{"id"}, Check: "calls"}, true},
		{"quoted database", Collector{Name: "x", Database: "we`ave", Table: "t", Key: []string{"id"}}, false},
		{"dotted table", Collector{Name: "x", Database: "weave", Table: "a.b", Key: []string{"id"}}, false},
		{"empty table", Collector{Name: "x", Database: "weave", Key: []string{"id"}}, false},
		{"no key", Collector{Name: "x", Database: "weave", Table: "t"}, false},
		{"bad key", Collector{Name: "x", Database: "weave", Table: "t", Key: []string{"id`)"}}, false},
		{"bad check", Collector{Name: "x", Database: "weave", Table: "t", Key: []string{"id"}, Check: "calls; DROP"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.validate(); (err == nil) != tc.ok {
				t.Errorf("validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
