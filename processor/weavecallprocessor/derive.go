package weavecallprocessor

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
)

// node is one span of a trace as the derivation sees it: its ids, its start
// (to break parent cycles deterministically) and its call as mapped on its
// own (per-span usage, costs and status).
type node struct {
	id, parent pcommon.SpanID
	start      pcommon.Timestamp
	// remoteParent: the span says its parent lives in another process
	// (OTLP span flags), so it is the root of its service's part even
	// though its parent will never arrive.
	remoteParent bool
	call         *callmap.Call // shared, never modified
}

// OTLP span flags telling whether the parent is remote (bits 8 and 9).
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// newNode makes the node of a span.
func newNode(sp ptrace.Span, c *callmap.Call) node {
	f := sp.Flags()
	return node{
		id: sp.SpanID(), parent: sp.ParentSpanID(), start: sp.StartTimestamp(),
		remoteParent: f&flagHasIsRemote != 0 && f&flagIsRemote != 0,
		call:         c,
	}
}

// isLocalRoot reports a span that has no parent, or only a remote one:
// once it has ended, its process's part of the trace is complete.
func isLocalRoot(sp ptrace.Span) bool {
	f := sp.Flags()
	return sp.ParentSpanID().IsEmpty() || (f&flagHasIsRemote != 0 && f&flagIsRemote != 0)
}

// derived holds the trace-level fields deriveTrace computes for one node;
// callOf applies them to the node's own call.
type derived struct {
	status    callmap.Status
	counts    callmap.StatusCounts
	usage     []callmap.ModelUsage // over the subtree; shared read-only
	costs     []callmap.ModelCost
	threadID  string
	turnID    string
	aggregate bool // its own spend repeats its descendants': zeroed
	// superseded marks a node whose span id a later node of the trace
	// repeats: only the last one with an id is part of the tree.
	superseded bool
}

// callOf returns the call own with the derived fields applied.
func (d *derived) callOf(own *callmap.Call) callmap.Call {
	c := *own
	c.Summary.Status, c.Summary.StatusCounts = d.status, d.counts
	c.Summary.Usage, c.Summary.Costs = d.usage, d.costs
	c.ThreadID, c.TurnID = d.threadID, d.turnID
	if d.aggregate {
		c.InputTokens, c.OutputTokens, c.TotalTokens = 0, 0, 0
		c.CostUSD, c.HasCost = 0, false
	}
	return c
}

// sameAs reports whether d and o are the same trace-level fields.
func (d *derived) sameAs(o *derived) bool {
	return d.status == o.status && d.counts == o.counts &&
		d.threadID == o.threadID && d.turnID == o.turnID &&
		d.aggregate == o.aggregate && d.superseded == o.superseded &&
		slices.Equal(d.usage, o.usage) && slices.Equal(d.costs, o.costs)
}

// deriveTrace computes the trace-level fields of every call of one trace
// (DESIGN §3–§4) from the nodes in arrival order, into out (len(nodes)):
//
//   - status: error › running › descendant_error › success;
//   - status_counts over each subtree, the call itself included;
//   - usage and costs rolled up over each subtree; a call that carries
//     usage or costs while its descendants do too is an aggregate: its own
//     figures are not added again and its own-spend fields are zeroed;
//   - a thread id seen in the trace is given to every call without one;
//   - turn id, for calls with a thread id: the nearest ancestor-or-self
//     marked IsTurn, else the root of the call's tree; none while that
//     root is an orphan (its parent has not been seen), unless its parent
//     is remote (span flags), which makes it the root of this part.
//
// Duplicate span ids: the last node with an id wins its place in the tree;
// earlier ones keep their own per-span figures and are marked superseded.
// A span naming itself as parent, and one link of each parent cycle (the
// one out of the cycle's earliest-started node), are ignored: that node is a
// root for the roll-ups. ParentID stays as the span sent it, since the
// exporter takes parent ids from the span.
func deriveTrace(nodes []node, out []derived) {
	n := len(nodes)
	idx := make(map[pcommon.SpanID]int32, n)
	for i := range nodes {
		own := nodes[i].call
		out[i] = derived{
			status: own.Summary.Status, counts: ownCounts(own.Summary.Status),
			usage: own.Summary.Usage, costs: own.Summary.Costs, threadID: own.ThreadID,
		}
		if prev, ok := idx[nodes[i].id]; ok {
			out[prev].superseded = true
		}
		idx[nodes[i].id] = int32(i)
	}

	// parent[i]: index of i's parent within the trace, -1 for a root of
	// the derivation (no parent, a self-parent, a cut cycle link, an orphan).
	// Flags: orphan: i names a parent that is not in the trace; onPath and
	// done: the cycle search's marks.
	parent := make([]int32, n)
	flags := make([]uint8, n)
	const (
		orphan uint8 = 1 << iota
		onPath
		done
	)
	for i := range nodes {
		parent[i] = -1
		if nodes[i].parent.IsEmpty() {
			continue
		}
		switch p, ok := idx[nodes[i].parent]; {
		case !ok:
			flags[i] |= orphan
		case p == int32(i) || nodes[i].parent == nodes[i].id:
			// a self-parent (also one naming a duplicate of itself): a root
		default:
			parent[i] = p
		}
	}
	// Superseded nodes hang off their parent but nothing hangs off them
	// (idx points at the winner), so they cannot be part of a cycle.
	var path []int32
	for i := range nodes {
		path = path[:0]
		j := int32(i)
		for j >= 0 && flags[j]&(onPath|done) == 0 {
			flags[j] |= onPath
			path = append(path, j)
			j = parent[j]
		}
		if j >= 0 && flags[j]&onPath != 0 {
			// j is on the current path: the path from j on is a cycle.
			k := 0
			for path[k] != j {
				k++
			}
			m := path[k]
			for _, c := range path[k+1:] {
				if earlier(&nodes[c], &nodes[m]) {
					m = c
				}
			}
			parent[m] = -1
		}
		for _, c := range path {
			flags[c] = flags[c]&^onPath | done
		}
	}

	// Children in CSR form, winners only; then a parents-first order.
	first := make([]int32, n+1)
	for i := range nodes {
		if p := parent[i]; p >= 0 && !out[i].superseded {
			first[p+1]++
		}
	}
	for i := 0; i < n; i++ {
		first[i+1] += first[i]
	}
	children := make([]int32, first[n])
	fill := make([]int32, n)
	copy(fill, first[:n])
	for i := range nodes {
		if p := parent[i]; p >= 0 && !out[i].superseded {
			children[fill[p]] = int32(i)
			fill[p]++
		}
	}
	order := fill[:0] // reuse: parents before children
	for i := range nodes {
		if parent[i] < 0 && !out[i].superseded {
			order = append(order, int32(i))
		}
	}
	for k := 0; k < len(order); k++ {
		i := order[k]
		order = append(order, children[first[i]:first[i+1]]...)
	}

	// Roll-ups, children before parents.
	errBelow := make([]bool, n)
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		o := &out[i]
		var usage []callmap.ModelUsage
		var costs []callmap.ModelCost
		for _, ch := range children[first[i]:first[i+1]] {
			oc := &out[ch]
			o.counts.Add(oc.counts)
			usage = callmap.MergeUsage(usage, oc.usage)
			costs = callmap.MergeCosts(costs, oc.costs)
			if oc.status == callmap.StatusError || errBelow[ch] {
				errBelow[i] = true
			}
		}
		if len(usage) > 0 || len(costs) > 0 {
			// Descendants carry spend: if this call carries some too, it
			// is an aggregate repeating theirs.
			o.aggregate = len(o.usage) > 0 || len(o.costs) > 0
			o.usage, o.costs = usage, costs
		}
		if errBelow[i] && (o.status == callmap.StatusSuccess || o.status == "") {
			o.status = callmap.StatusDescendantError
		}
	}

	thread := traceThread(nodes, out, func(i int) bool {
		return parent[i] < 0 && (flags[i]&orphan == 0 || nodes[i].remoteParent)
	})
	if thread == "" {
		return
	}
	// Turn ids, parents first; superseded nodes take their parent's.
	turn := make([]string, n)
	turnOf := func(i int32) string {
		switch c := nodes[i].call; {
		case c.IsTurn:
			return c.ID
		case parent[i] >= 0:
			return turn[parent[i]]
		case flags[i]&orphan != 0 && !nodes[i].remoteParent:
			return ""
		default:
			return c.ID
		}
	}
	for _, i := range order {
		turn[i] = turnOf(i)
	}
	for i := range nodes {
		if out[i].superseded {
			turn[i] = turnOf(int32(i))
		}
		if out[i].threadID == "" {
			out[i].threadID = thread
		}
		out[i].turnID = turn[i]
	}
}

// ownCounts is the status_counts of a call alone: a running call is counted
// once it ends.
func ownCounts(s callmap.Status) callmap.StatusCounts {
	switch s {
	case callmap.StatusError:
		return callmap.StatusCounts{Error: 1}
	case callmap.StatusRunning:
		return callmap.StatusCounts{}
	default:
		return callmap.StatusCounts{Success: 1}
	}
}

// traceThread picks the thread id of a trace: the earliest-started root's
// if a root has one, else the earliest-started call's that has one.
func traceThread(nodes []node, out []derived, isRoot func(int) bool) string {
	best, bestRoot := -1, false
	for i := range nodes {
		if out[i].threadID == "" || out[i].superseded {
			continue
		}
		r := isRoot(i)
		if best < 0 || (r && !bestRoot) || (r == bestRoot && earlier(&nodes[i], &nodes[best])) {
			best, bestRoot = i, r
		}
	}
	if best < 0 {
		return ""
	}
	return out[best].threadID
}

// earlier orders nodes by start time, then span id, so choices between
// nodes do not depend on arrival order.
func earlier(a, b *node) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	return string(a.id[:]) < string(b.id[:])
}
