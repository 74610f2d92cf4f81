package main

import (
	"bytes"
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

// TestPrintCandidate: the candidate is compared with callhouse round by
// round, and the median is of those ratios, not a ratio of medians.
func TestPrintCandidate(t *testing.T) {
	res := func(stored time.Duration) sidebyside.Result {
		return sidebyside.Result{Spans: 1000, Stored: stored, CPU: sidebyside.CPU{Collector: 10 * time.Millisecond, ClickHouse: 20 * time.Millisecond}}
	}
	ours := []sidebyside.Result{res(time.Second), res(2 * time.Second), res(time.Second)}
	candidate := []sidebyside.Result{res(time.Second / 2), res(2 * time.Second), res(time.Second * 4 / 5)}
	var b bytes.Buffer
	printCandidate(&b, ours, candidate)
	want := "candidate/callhouse, spans/s by round: 2.00 1.00 1.25 (median 1.25)\n" +
		"  candidate CPU µs per span (median): collector 10.0, ClickHouse 20.0\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
