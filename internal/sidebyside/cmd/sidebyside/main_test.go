package main

import (
	"bytes"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/callhouse/callhouse/internal/sidebyside"
)

func TestRoundOrder(t *testing.T) {
	names := func(cs []sidebyside.Collector) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.Name)
		}
		return strings.Join(s, ",")
	}
	two := []sidebyside.Collector{{Name: "contrib"}, {Name: "callhouse"}}
	three := append(two[:2:2], sidebyside.Collector{Name: "candidate"})
	for _, tc := range []struct {
		cs    []sidebyside.Collector
		round int
		want  string
	}{
		{two, 0, "contrib,callhouse"},
		{two, 1, "callhouse,contrib"},
		{two, 2, "contrib,callhouse"},
		{three, 0, "contrib,callhouse,candidate"},
		{three, 1, "callhouse,candidate,contrib"},
		{three, 2, "candidate,contrib,callhouse"},
		{three, 3, "contrib,callhouse,candidate"},
	} {
		if got := names(roundOrder(tc.cs, tc.round)); got != tc.want {
			t.Errorf("%d collectors, round %d: %s, want %s", len(tc.cs), tc.round, got, tc.want)
		}
	}
	if names(two) != "contrib,callhouse" {
		t.Errorf("roundOrder changed its input: %s", names(two))
	}
}

// TestPrintVersus: one side is compared with another round by round, and
// the median is of those ratios, not a ratio of medians.
func TestPrintVersus(t *testing.T) {
	res := func(stored time.Duration) sidebyside.Result {
		return sidebyside.Result{Spans: 1000, Stored: stored, CPU: sidebyside.CPU{Collector: 10 * time.Millisecond, ClickHouse: 20 * time.Millisecond}}
	}
	ours := []sidebyside.Result{res(time.Second), res(2 * time.Second), res(time.Second)}
	candidate := []sidebyside.Result{res(time.Second / 2), res(2 * time.Second), res(time.Second * 4 / 5)}
	var b bytes.Buffer
	printVersus(&b, "candidate", "callhouse", candidate, ours)
	want := "candidate/callhouse, spans/s by round: 2.00 1.00 1.25 (median 1.25)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestPrintSummary: every side of ours is named by its config and compared
// with contrib; the exporter-alone side is left out when not measured.
func TestPrintSummary(t *testing.T) {
	res := func(stored, collector, merged time.Duration) sidebyside.Result {
		return sidebyside.Result{Spans: 1000, Stored: stored, MergedCPU: merged,
			CPU: sidebyside.CPU{Collector: collector, ClickHouse: 20 * time.Millisecond}}
	}
	ms := time.Millisecond
	results := map[string][]sidebyside.Result{
		"contrib":   {res(time.Second, 6*ms, 25*ms), res(time.Second, 6*ms, 27*ms)},
		"callhouse": {res(2*time.Second, 12*ms, 30*ms), res(time.Second, 12*ms, 0)}, // one run did not settle
		"exporter":  {res(time.Second/2, 5*ms, 30*ms), res(time.Second, 5*ms, 32*ms)},
	}
	for _, tc := range []struct {
		name     string
		exporter string
		want     []string
		notWant  []string
	}{
		{"three sides", "exp.yaml", []string{
			"contrib   (c.yaml, clickhouseexporter v0.161.0 → otel.otel_traces)      1000\n",
			"callhouse (o.yaml → weave.calls)       750   ratio callhouse/contrib 0.75\n",
			"exporter  (exp.yaml → weave.calls)      1500   ratio exporter/contrib 1.50\n",
			"  contrib                         6.0         20.0         26.0\n",
			"  callhouse                      12.0         20.0   -\n",
			"  exporter                        5.0         20.0         31.0\n",
			"callhouse/contrib, spans/s by round: 0.50 1.00 (median 0.75)\n",
			"exporter/contrib, spans/s by round: 2.00 1.00 (median 1.50)\n",
		}, nil},
		{"without the exporter alone", "", []string{
			"ratio callhouse/contrib 0.75\n",
		}, []string{"exporter/contrib", "  exporter  "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := maps.Clone(results)
			if tc.exporter == "" {
				delete(rs, "exporter") // not measured: no results either
			}
			var b bytes.Buffer
			printSummary(&b, options{callhouseConfig: "o.yaml", contribConfig: "c.yaml", exporterConfig: tc.exporter}, rs)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in\n%s", w, b.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("unexpected %q in\n%s", w, b.String())
				}
			}
		})
	}
}
