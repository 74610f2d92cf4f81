package callmap

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestTreeRepeatsShape fills one tree with shapes step after step, as the
// mapper fills its trees span after span, and checks each object it emits
// against a fresh tree's: a remembered shape (the last one, taken for
// entries repeating the last emitted ones, or one found by signature) must
// never be taken for other paths.
func TestTreeRepeatsShape(t *testing.T) {
	constKeys := func(n int64) func(*tree) {
		return func(tr *tree) {
			tr.add("gen_ai.request.model", 0, pcommon.NewValueStr("m"))
			tr.add("gen_ai.usage.input_tokens", 0, pcommon.NewValueInt(n))
			tr.addRaw("kind", 0, `"llm"`)
		}
	}
	// joined keys sit in the tree's arena: the same address holds other
	// bytes from one fill to the next
	joined := func(rest string) func(*tree) {
		return func(tr *tree) {
			tr.add(tr.join("model_parameters.", rest), 0, pcommon.NewValueInt(1))
			tr.addRaw("kind", 0, `"llm"`)
		}
	}
	other := func(tr *tree) {
		tr.add("gen_ai.request.model", 0, pcommon.NewValueStr("m"))
		tr.add("gen_ai.response.id", 0, pcommon.NewValueStr("r"))
		tr.addRaw("kind", 0, `"llm"`)
	}
	// paths emitNode writes: lists, a value beside keys under it, one
	// path twice, a value at the root beside keys
	messages := func(n int64) func(*tree) {
		return func(tr *tree) {
			for i, k := range []string{"0.role", "0.content", "1.role", "1.content", "1.content"} {
				tr.add(k, 0, pcommon.NewValueInt(n+int64(i)))
			}
			tr.add("a", 0, pcommon.NewValueInt(n))
			tr.add("a.b", 0, pcommon.NewValueInt(n))
		}
	}
	emptyKey := func(tr *tree) { // "" is a key here…
		tr.add("", 0, pcommon.NewValueInt(1))
		tr.add("k", 0, pcommon.NewValueInt(2))
	}
	rootValue := func(tr *tree) { // …and no key at all here
		tr.add("z", 2, pcommon.NewValueInt(1))
		tr.add("k", 0, pcommon.NewValueInt(2))
	}
	type step struct {
		fill func(*tree)
		emit bool // false: the tree is filled and reset without emitting
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"same keys, new values", []step{{constKeys(1), true}, {constKeys(2), true}, {constKeys(3), true}}},
		{"arena keys with other bytes", []step{{joined("seed"), true}, {joined("temp"), true}, {joined("topk"), true}}},
		{"other keys, then the first again", []step{{constKeys(1), true}, {other, true}, {constKeys(2), true}}},
		{"a fill never emitted", []step{{constKeys(1), true}, {other, false}, {other, true}, {constKeys(2), true}}},
		{"lists and conflicts", []step{{messages(1), true}, {messages(2), true}, {constKeys(1), true}, {messages(3), true}}},
		{"an empty key, then a root value", []step{{emptyKey, true}, {rootValue, true}, {emptyKey, true}}},
		{"fewer entries", []step{{constKeys(1), true}, {func(tr *tree) { constKeys(1)(tr); tr.ents = tr.ents[:2] }, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w valueWriter
			warm := tree{shapes: &shapeCache{}}
			for i, s := range tc.steps {
				warm.reset()
				s.fill(&warm)
				if !s.emit {
					continue
				}
				cold := tree{shapes: &shapeCache{}}
				cold.reset()
				s.fill(&cold)
				got, want := string(warm.appendObject(nil, &w)), string(cold.appendObject(nil, &w))
				if got != want {
					t.Fatalf("step %d: %s, a fresh tree: %s", i, got, want)
				}
			}
		})
	}
}
