package callmap

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestTreeRepeatsShape fills one tree with shapes step after step, as the
// mapper fills its trees span after span, and checks each object it emits
// against a fresh tree's: a tree that takes the last shape for entries
// repeating the last emitted ones must never take it for other paths.
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
