package weavecallprocessor

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/callhouse/callhouse/internal/callmap"
)

// spanID turns a short name into a span id: "a" → 000000000000000a-ish
// (the name's bytes, right-aligned), "" → the empty id.
func spanID(name string) pcommon.SpanID {
	var id pcommon.SpanID
	if name == "" {
		return id
	}
	copy(id[len(id)-len(name):], name)
	return id
}

// nb builds a node as the mapper would give it.
type nb struct {
	id, parent string
	start      int64
	status     callmap.Status
	model      string
	in, out    int64
	cost       float64
	thread     string
	isTurn     bool
	remote     bool // the parent is in another process
}

func (b nb) node() node {
	id, parent := spanID(b.id), spanID(b.parent)
	c := callmap.Call{ID: hex.EncodeToString(id[:]), ThreadID: b.thread, IsTurn: b.isTurn}
	if !parent.IsEmpty() {
		c.ParentID = hex.EncodeToString(parent[:])
	}
	c.Summary.Status = b.status
	if c.Summary.Status == "" {
		c.Summary.Status = callmap.StatusSuccess
	}
	if b.model != "" {
		c.Summary.Usage = []callmap.ModelUsage{{Model: b.model, Usage: callmap.Usage{Requests: 1, InputTokens: b.in, OutputTokens: b.out, TotalTokens: b.in + b.out}}}
		c.InputTokens, c.OutputTokens, c.TotalTokens = b.in, b.out, b.in+b.out
		if b.cost > 0 {
			c.Summary.Costs = []callmap.ModelCost{{Model: b.model, Cost: callmap.Cost{PromptTokens: b.in, CompletionTokens: b.out, Requests: 1, TotalTokens: b.in + b.out, TotalCost: b.cost}}}
			c.CostUSD, c.HasCost = b.cost, true
		}
	}
	return node{id: id, parent: parent, start: pcommon.Timestamp(b.start), remoteParent: b.remote, call: &c}
}

// want is what a test checks of one derived call, by node name.
type want struct {
	status     callmap.Status
	counts     callmap.StatusCounts
	usage      map[string][2]int64 // model → input, output over the subtree
	ownTokens  int64               // Call.TotalTokens after derivation
	cost       float64             // summed TotalCost over the subtree
	thread     string
	turn       string // node name, "" = none
	superseded bool
}

func TestDeriveTrace(t *testing.T) {
	ok := callmap.StatusSuccess
	s1 := callmap.StatusCounts{Success: 1}
	tests := []struct {
		name  string
		nodes []nb
		want  map[int]want // by index in nodes
	}{
		{
			name: "descendant_error propagates to every ancestor; counts cover subtrees",
			nodes: []nb{
				{id: "root", start: 1}, {id: "agent", parent: "root", start: 2},
				{id: "tool", parent: "agent", start: 3, status: callmap.StatusError},
				{id: "llm", parent: "agent", start: 4},
			},
			want: map[int]want{
				0: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 3, Error: 1}},
				1: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 2, Error: 1}},
				2: {status: callmap.StatusError, counts: callmap.StatusCounts{Error: 1}},
				3: {status: ok, counts: s1},
			},
		},
		{
			name: "error and running win over descendant_error; running counts nothing",
			nodes: []nb{
				{id: "root", start: 1, status: callmap.StatusRunning},
				{id: "mid", parent: "root", start: 2, status: callmap.StatusError},
				{id: "leaf", parent: "mid", start: 3, status: callmap.StatusError},
			},
			want: map[int]want{
				0: {status: callmap.StatusRunning, counts: callmap.StatusCounts{Error: 2}},
				1: {status: callmap.StatusError, counts: callmap.StatusCounts{Error: 2}},
			},
		},
		{
			name: "an agent repeating its LLM children's usage is an aggregate, not counted twice",
			nodes: []nb{
				{id: "root", start: 1},
				{id: "agent", parent: "root", start: 2, model: "gpt-4o", in: 300, out: 30, cost: 0.3},
				{id: "llm1", parent: "agent", start: 3, model: "gpt-4o", in: 100, out: 10, cost: 0.1},
				{id: "llm2", parent: "agent", start: 4, model: "gpt-4o", in: 200, out: 20, cost: 0.2},
				{id: "llm3", parent: "root", start: 5, model: "claude", in: 7, out: 3},
			},
			want: map[int]want{
				0: {status: ok, counts: callmap.StatusCounts{Success: 5}, usage: map[string][2]int64{"gpt-4o": {300, 30}, "claude": {7, 3}}, cost: 0.3},
				1: {status: ok, counts: callmap.StatusCounts{Success: 3}, usage: map[string][2]int64{"gpt-4o": {300, 30}}, ownTokens: 0, cost: 0.3},
				2: {status: ok, counts: s1, usage: map[string][2]int64{"gpt-4o": {100, 10}}, ownTokens: 110, cost: 0.1},
				4: {status: ok, counts: s1, usage: map[string][2]int64{"claude": {7, 3}}, ownTokens: 10},
			},
		},
		{
			name: "usage on a span whose descendants carry none is its own spend",
			nodes: []nb{
				{id: "root", start: 1, model: "m", in: 5, out: 5},
				{id: "tool", parent: "root", start: 2},
			},
			want: map[int]want{
				0: {status: ok, counts: callmap.StatusCounts{Success: 2}, usage: map[string][2]int64{"m": {5, 5}}, ownTokens: 10},
			},
		},
		{
			name: "a thread id anywhere reaches every call; turn is the root, or the nearest is_turn call",
			nodes: []nb{
				{id: "root", start: 1}, {id: "turn2", parent: "root", start: 2, isTurn: true},
				{id: "llm", parent: "turn2", start: 3, thread: "conv-1"}, {id: "tool", parent: "root", start: 4},
			},
			want: map[int]want{
				0: {status: ok, counts: callmap.StatusCounts{Success: 4}, thread: "conv-1", turn: "root"},
				1: {status: ok, counts: callmap.StatusCounts{Success: 2}, thread: "conv-1", turn: "turn2"},
				2: {status: ok, counts: s1, thread: "conv-1", turn: "turn2"},
				3: {status: ok, counts: s1, thread: "conv-1", turn: "root"},
			},
		},
		{
			name:  "no thread id: no turn id",
			nodes: []nb{{id: "root", start: 1}, {id: "c", parent: "root", start: 2}},
			want:  map[int]want{0: {status: ok, counts: callmap.StatusCounts{Success: 2}}, 1: {status: ok, counts: s1}},
		},
		{
			name: "the root's thread wins over a child's; calls keep their own",
			nodes: []nb{
				{id: "c", parent: "root", start: 2, thread: "child-thread"}, {id: "root", start: 1, thread: "root-thread"},
				{id: "d", parent: "root", start: 3},
			},
			want: map[int]want{
				0: {status: ok, counts: s1, thread: "child-thread", turn: "root"},
				1: {status: ok, counts: callmap.StatusCounts{Success: 3}, thread: "root-thread", turn: "root"},
				2: {status: ok, counts: s1, thread: "root-thread", turn: "root"},
			},
		},
		{
			name: "orphans roll up to their own top; no turn id while the root is missing",
			nodes: []nb{
				{id: "o1", parent: "gone", start: 1, thread: "t"}, {id: "c1", parent: "o1", start: 2, status: callmap.StatusError},
				{id: "o2", parent: "gone", start: 3},
			},
			want: map[int]want{
				0: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 1, Error: 1}, thread: "t"},
				1: {status: callmap.StatusError, counts: callmap.StatusCounts{Error: 1}, thread: "t"},
				2: {status: ok, counts: s1, thread: "t"},
			},
		},
		{
			name: "a span whose parent is remote is the root of its part: it gives the turn id",
			nodes: []nb{
				{id: "local", parent: "upstream", remote: true, start: 1},
				{id: "llm", parent: "local", start: 2, thread: "t"},
			},
			want: map[int]want{
				0: {status: ok, counts: callmap.StatusCounts{Success: 2}, thread: "t", turn: "local"},
				1: {status: ok, counts: s1, thread: "t", turn: "local"},
			},
		},
		{
			name: "a parent cycle is cut at its earliest-started call",
			nodes: []nb{
				{id: "a", parent: "c", start: 5}, {id: "b", parent: "a", start: 3, thread: "t"}, {id: "c", parent: "b", start: 4},
				{id: "d", parent: "a", start: 6, status: callmap.StatusError},
			},
			want: map[int]want{
				// b is earliest: b → a link cut; tree b ← c ← a ← d.
				1: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 3, Error: 1}, thread: "t", turn: "b"},
				2: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 2, Error: 1}, thread: "t", turn: "b"},
				0: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 1, Error: 1}, thread: "t", turn: "b"},
			},
		},
		{
			name:  "a span naming itself as parent is a root",
			nodes: []nb{{id: "a", parent: "a", start: 1}, {id: "b", parent: "a", start: 2, model: "m", in: 1, out: 1}},
			want: map[int]want{
				0: {status: ok, counts: callmap.StatusCounts{Success: 2}, usage: map[string][2]int64{"m": {1, 1}}},
			},
		},
		{
			name: "duplicate span ids: the later one wins the tree, the earlier is superseded",
			nodes: []nb{
				{id: "root", start: 1},
				{id: "x", parent: "root", start: 2, model: "m", in: 10, out: 1},
				{id: "x", parent: "root", start: 2, model: "m", in: 20, out: 2, status: callmap.StatusError},
			},
			want: map[int]want{
				0: {status: callmap.StatusDescendantError, counts: callmap.StatusCounts{Success: 1, Error: 1}, usage: map[string][2]int64{"m": {20, 2}}},
				1: {status: ok, counts: s1, usage: map[string][2]int64{"m": {10, 1}}, ownTokens: 11, superseded: true},
				2: {status: callmap.StatusError, counts: callmap.StatusCounts{Error: 1}, usage: map[string][2]int64{"m": {20, 2}}, ownTokens: 22},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := make([]node, len(tt.nodes))
			names := map[string]string{}
			for i, b := range tt.nodes {
				nodes[i] = b.node()
				names[b.id] = nodes[i].call.ID
			}
			out := make([]derived, len(nodes))
			deriveTrace(nodes, out)
			for i, w := range tt.want {
				c := out[i].callOf(nodes[i].call)
				name := tt.nodes[i].id
				assert.Equal(t, w.status, c.Summary.Status, "%s status", name)
				assert.Equal(t, w.counts, c.Summary.StatusCounts, "%s status_counts", name)
				assert.Equal(t, w.superseded, out[i].superseded, "%s superseded", name)
				usage := map[string][2]int64{}
				for _, u := range c.Summary.Usage {
					usage[u.Model] = [2]int64{u.InputTokens, u.OutputTokens}
				}
				if w.usage == nil {
					w.usage = map[string][2]int64{}
				}
				assert.Equal(t, w.usage, usage, "%s usage", name)
				var cost float64
				for _, m := range c.Summary.Costs {
					cost += m.TotalCost
				}
				assert.InDelta(t, w.cost, cost, 1e-9, "%s costs", name)
				assert.Equal(t, w.ownTokens, c.TotalTokens, "%s own tokens", name)
				assert.Equal(t, w.thread, c.ThreadID, "%s thread", name)
				assert.Equal(t, names[w.turn], c.TurnID, "%s turn", name)
				assert.Equal(t, nodes[i].call.ParentID, c.ParentID, "%s parent id is kept as sent", name)
			}
			// Own calls are never modified (the cache re-derives from them).
			for i, b := range tt.nodes {
				require.Equal(t, b.node().call, nodes[i].call)
			}
		})
	}
}

func TestDeriveAggregateZeroesOwnSpend(t *testing.T) {
	nodes := []node{
		nb{id: "agent", start: 1, model: "m", in: 9, out: 9, cost: 1}.node(),
		nb{id: "llm", parent: "agent", start: 2, model: "m", in: 9, out: 9, cost: 1}.node(),
	}
	out := make([]derived, 2)
	deriveTrace(nodes, out)
	a := out[0].callOf(nodes[0].call)
	assert.Zero(t, a.InputTokens+a.OutputTokens+a.TotalTokens)
	assert.Zero(t, a.CostUSD)
	assert.False(t, a.HasCost)
	l := out[1].callOf(nodes[1].call)
	assert.Equal(t, int64(18), l.TotalTokens)
	assert.True(t, l.HasCost)
	// SUM over calls of own spend equals the root's roll-up.
	assert.Equal(t, a.Summary.Usage[0].TotalTokens, a.TotalTokens+l.TotalTokens)
}
