package weavecallprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/callhouse/callhouse/internal/callmap"
)

// fuzzNodes reads a trace shape from fuzz input, three bytes per node: id
// and parent from a small alphabet (so duplicates, self-parents, cycles
// and orphans are common; parent 0 = root) and a status/usage byte.
func fuzzNodes(data []byte) []node {
	var nodes []node
	for i := 0; i+2 < len(data) && len(nodes) < 64; i += 3 {
		id, parent, st := data[i]%16+1, data[i+1]%18, data[i+2]
		n := node{id: pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id}, start: pcommon.Timestamp(st), call: new(callmap.Call)}
		if parent > 0 {
			n.parent = pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, parent}
		}
		n.remoteParent = st&0x40 != 0
		n.call.Summary.Status = []callmap.Status{callmap.StatusSuccess, callmap.StatusError, callmap.StatusRunning}[st%3]
		if st&0x10 != 0 {
			n.call.Summary.Usage = []callmap.ModelUsage{{Model: "m", Usage: callmap.Usage{Requests: 1, InputTokens: int64(st)}}}
			n.call.InputTokens = int64(st)
		}
		if st&0x20 != 0 {
			n.call.ThreadID = "t"
		}
		n.call.IsTurn = st&0x80 != 0
		nodes = append(nodes, n)
	}
	return nodes
}

// FuzzDeriveTrace checks that any parent graph derives without a panic or
// a hang, and that the roll-ups count every tree member exactly once: the
// roots' status_counts add up to the winners' own outcomes, and their
// usage to the spend SUM() over calls would see.
func FuzzDeriveTrace(f *testing.F) {
	f.Add([]byte{1, 0, 0, 2, 1, 0x10, 3, 2, 1})                // a chain
	f.Add([]byte{1, 2, 0, 2, 1, 0})                            // a cycle
	f.Add([]byte{1, 1, 0x20, 2, 1, 0x11})                      // self-parent
	f.Add([]byte{1, 0, 0x10, 2, 1, 0x10, 2, 1, 0x11, 3, 9, 2}) // duplicate, orphan
	// above linearIndexMax nodes (span ids found through a map): a chain
	// with duplicates, an orphan and a cycle
	var big []byte
	for i := byte(1); i <= 24; i++ {
		big = append(big, i%16+1, i%16, 0x10|i)
	}
	f.Add(big)
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes := fuzzNodes(data)
		out := make([]derived, len(nodes))
		deriveTrace(nodes, out)

		winner := map[pcommon.SpanID]int{}
		for i, n := range nodes {
			winner[n.id] = i
		}
		var want, got callmap.StatusCounts
		var spend, rolled int64
		for i, n := range nodes {
			d := out[i]
			c := d.callOf(n.call)
			require.Equal(t, winner[n.id] != i, d.superseded)
			require.Contains(t, []callmap.Status{callmap.StatusSuccess, callmap.StatusError, callmap.StatusRunning, callmap.StatusDescendantError}, c.Summary.Status)
			if d.superseded {
				continue
			}
			want.Add(ownCounts(n.call.Summary.Status))
			spend += c.InputTokens
			// A tree root: no parent, a parent not in the trace (or only as
			// itself), or one whose link was cut in a cycle — the last is
			// found by the counts: a node counted in no ancestor.
			if isTreeRoot(nodes, out, i, winner) {
				got.Add(c.Summary.StatusCounts)
				for _, u := range c.Summary.Usage {
					rolled += u.InputTokens
				}
			}
		}
		require.Equal(t, want, got, "status_counts over the roots")
		require.Equal(t, spend, rolled, "usage over the roots equals the own spend summed")
	})
}

// isTreeRoot reports whether winner i is a root of the derived forest:
// its parent is absent, itself, or a node whose subtree does not count it
// (a cut cycle link shows as a parent whose counts are not larger).
func isTreeRoot(nodes []node, out []derived, i int, winner map[pcommon.SpanID]int) bool {
	n := nodes[i]
	if n.parent.IsEmpty() || n.parent == n.id {
		return true
	}
	p, ok := winner[n.parent]
	if !ok {
		return true
	}
	// In a cycle exactly one member is cut: the one whose start is the
	// earliest (ties by id). Walk up from i; if the walk comes back to i,
	// i is on a cycle and is the root when it is that member.
	seen := map[int]bool{i: true}
	best := i
	for j := p; ; {
		if seen[j] {
			return j == i && best == i
		}
		seen[j] = true
		if earlier(&nodes[j], &nodes[best]) {
			best = j
		}
		q, ok := winner[nodes[j].parent]
		if nodes[j].parent.IsEmpty() || !ok || nodes[j].parent == nodes[j].id {
			return false
		}
		j = q
	}
}

// FuzzProcessor runs arbitrary trace shapes, split over two requests,
// through the processor and checks every span comes out annotated.
func FuzzProcessor(f *testing.F) {
	f.Add([]byte{1, 0, 0, 2, 1, 0x10, 3, 2, 1}, 2)
	f.Add([]byte{1, 2, 0, 2, 1, 0, 1, 0, 0x40}, 1)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		nodes := fuzzNodes(data)
		specs := make([]sp, len(nodes))
		for i, n := range nodes {
			st := n.start
			specs[i] = sp{id: string(rune('a' + n.id[7])), start: int(st), end: int(st) + 5, err: n.call.Summary.Status == callmap.StatusError, thread: n.call.ThreadID, remote: n.remoteParent}
			if n.call.Summary.Status == callmap.StatusRunning {
				specs[i].end = -1
			}
			if !n.parent.IsEmpty() {
				specs[i].parent = string(rune('a' + n.parent[7]))
			}
		}
		if split < 0 || split > len(specs) {
			split = len(specs) / 2
		}
		h := newHarness(t, testConfig())
		require.NoError(t, h.consume(specs[:split]...))
		h.advance(2 * h.p.cfg.IdleTimeout)
		require.NoError(t, h.consume(specs[split:]...))
		require.NoError(t, h.p.Shutdown(context.Background()))
		want := map[string]bool{}
		for _, s := range specs {
			want[hexID(s.id)] = true
		}
		got := map[string]bool{}
		n := 0
		for _, e := range h.emitted() {
			require.True(t, e.annotated)
			require.True(t, want[e.rec.ID], "only the input's spans come out")
			got[e.rec.ID] = true
			n++
		}
		require.Equal(t, want, got, "every span passed on")
		require.GreaterOrEqual(t, n, len(specs), "duplicates too (late ones may bring re-emitted ancestors)")
	})
}
