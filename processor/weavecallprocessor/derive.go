package weavecallprocessor

import (
	"slices"
	"sync"

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
	sc := getScratch(n)
	defer putScratch(sc)
	idx := sc.index(nodes)
	for i := range nodes {
		own := nodes[i].call
		out[i] = derived{
			status: own.Summary.Status, counts: ownCounts(own.Summary.Status),
			usage: own.Summary.Usage, costs: own.Summary.Costs, threadID: own.ThreadID,
		}
		if w, _ := idx.find(nodes[i].id); w != int32(i) {
			out[i].superseded = true
		}
	}

	// parent[i]: index of i's parent within the trace, -1 for a root of
	// the derivation (no parent, a self-parent, a cut cycle link, an orphan).
	// Flags: orphan: i names a parent that is not in the trace; onPath and
	// done: the cycle search's marks; errBelow: a descendant failed.
	parent, first, children, fill := sc.parent, sc.first, sc.children, sc.fill
	flags := sc.flags
	const (
		orphan uint8 = 1 << iota
		onPath
		done
		errBelow
	)
	for i := range nodes {
		parent[i] = -1
		if nodes[i].parent.IsEmpty() {
			continue
		}
		switch p, ok := idx.find(nodes[i].parent); {
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
	path := sc.path[:0]
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
	sc.path = path // keep what it grew to

	// Children in CSR form, winners only; then a parents-first order.
	for i := range nodes {
		if p := parent[i]; p >= 0 && !out[i].superseded {
			first[p+1]++
		}
	}
	for i := 0; i < n; i++ {
		first[i+1] += first[i]
	}
	children = children[:first[n]]
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
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		o := &out[i]
		var usage rollup[callmap.ModelUsage]
		var costs rollup[callmap.ModelCost]
		for _, ch := range children[first[i]:first[i+1]] {
			oc := &out[ch]
			o.counts.Add(oc.counts)
			usage.add(oc.usage, callmap.MergeUsage)
			costs.add(oc.costs, callmap.MergeCosts)
			if oc.status == callmap.StatusError || flags[ch]&errBelow != 0 {
				flags[i] |= errBelow
			}
		}
		if len(usage.sum) > 0 || len(costs.sum) > 0 {
			// Descendants carry spend: if this call carries some too, it
			// is an aggregate repeating theirs.
			o.aggregate = len(o.usage) > 0 || len(o.costs) > 0
			o.usage, o.costs = usage.sum, costs.sum
		}
		if flags[i]&errBelow != 0 && (o.status == callmap.StatusSuccess || o.status == "") {
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
	turn := sc.turns(n)
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

// rollup adds up the children's usage (or costs) of one node. The first
// child's slice is taken as it is, shared read-only like every derived
// slice; a second one makes it a copy of its own, which later children
// are merged into. A node whose spend comes from one child (most of them)
// allocates nothing.
type rollup[T any] struct {
	sum   []T
	owned bool
}

func (r *rollup[T]) add(child []T, merge func(dst, src []T) []T) {
	switch {
	case len(child) == 0:
	case len(r.sum) == 0:
		r.sum = child
	case !r.owned:
		r.sum = merge(append(make([]T, 0, len(r.sum)+len(child)), r.sum...), child)
		r.owned = true
	default:
		r.sum = merge(r.sum, child)
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

// deriveScratch is deriveTrace's working memory, pooled: a release derives
// many small traces, and allocating each one's index and arrays anew was
// a good part of its cost.
type deriveScratch struct {
	ints                          []int32 // backs parent, first, children and fill
	parent, first, children, fill []int32
	flags                         []uint8
	path                          []int32
	turn                          []string
	idx                           spanIndex
}

var scratchPool = sync.Pool{New: func() any { return new(deriveScratch) }}

// maxPooledNodes: scratch grown for a larger trace is dropped, not kept.
const maxPooledNodes = 4096

// getScratch returns scratch for n nodes: parent, first (n+1), children
// and fill sized, first and flags zeroed.
func getScratch(n int) *deriveScratch {
	sc := scratchPool.Get().(*deriveScratch)
	need := 4*n + 1
	if cap(sc.ints) < need {
		sc.ints = make([]int32, need)
	}
	ints := sc.ints[:need]
	// Full slice expressions: order appends into fill's capacity.
	sc.parent, sc.first = ints[:n:n], ints[n:2*n+1:2*n+1]
	sc.children, sc.fill = ints[2*n+1:3*n+1:3*n+1], ints[3*n+1:need:need]
	clear(sc.first)
	if cap(sc.flags) < n {
		sc.flags = make([]uint8, n)
	}
	sc.flags = sc.flags[:n]
	clear(sc.flags)
	return sc
}

func putScratch(sc *deriveScratch) {
	if cap(sc.ints) > 4*maxPooledNodes+1 {
		return
	}
	clear(sc.turn) // holds call ids
	scratchPool.Put(sc)
}

// turns returns n empty turn ids.
func (sc *deriveScratch) turns(n int) []string {
	if cap(sc.turn) < n {
		sc.turn = make([]string, n)
	}
	sc.turn = sc.turn[:n]
	clear(sc.turn)
	return sc.turn
}

// linearIndexMax: up to this many nodes, finding a span id by scanning
// beats building a map (an agent turn has a handful of spans).
const linearIndexMax = 16

// spanIndex finds the node that holds a span id: the last one with it (the
// winner among duplicates).
type spanIndex struct {
	nodes []node
	m     map[pcommon.SpanID]int32 // for traces above linearIndexMax
}

func (sc *deriveScratch) index(nodes []node) spanIndex {
	x := spanIndex{nodes: nodes}
	if len(nodes) > linearIndexMax {
		x.m = make(map[pcommon.SpanID]int32, len(nodes))
		for i := range nodes {
			x.m[nodes[i].id] = int32(i)
		}
	}
	return x
}

func (x *spanIndex) find(id pcommon.SpanID) (int32, bool) {
	if x.m != nil {
		i, ok := x.m[id]
		return i, ok
	}
	for i := len(x.nodes) - 1; i >= 0; i-- {
		if x.nodes[i].id == id {
			return int32(i), true
		}
	}
	return -1, false
}
