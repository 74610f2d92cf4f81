package callmap

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// BenchmarkTree un-flattens the realistic span's attributes (without the
// long message values) into one object: the mapper's inner loop.
func BenchmarkTree(b *testing.B) {
	_, _, span := realisticSpan()
	var keys []string
	var vals []pcommon.Value
	span.Attributes().Range(func(k string, v pcommon.Value) bool {
		if v.Type() != pcommon.ValueTypeStr || len(v.Str()) < 100 {
			keys, vals = append(keys, k), append(vals, v)
		}
		return true
	})
	var t tree
	var w valueWriter
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		t.reset()
		for i, k := range keys {
			t.add(k, 0, vals[i])
		}
		buf = t.appendObject(buf[:0], &w)
	}
}

// TestFlatMatchesNested checks the one-pass emitter against the general one
// on the same plain paths.
func TestFlatMatchesNested(t *testing.T) {
	keys := []string{"gen_ai.request.model", "gen_ai.request.max_tokens", "gen_ai.response.id", "a", "ab.c", "a/b.c",
		"z.y.x.w", "z.y.v", "z.u", "é.ü", "gen_ai.usage.input_tokens", "m.n1", "m.n10", "m.n2"}
	var w valueWriter
	emit := func(forceNested bool) string {
		var tr tree
		for i, k := range keys {
			v := pcommon.NewValueInt(int64(i))
			tr.add(k, 0, v)
		}
		if forceNested {
			tr.odd++
		} else if tr.odd != 0 {
			t.Fatal("the keys are meant to be plain")
		}
		return string(tr.appendObject(nil, &w))
	}
	flat, nested := emit(false), emit(true)
	if flat != nested {
		t.Fatalf("flat %s\nnested %s", flat, nested)
	}
	if want := `{"a":3,"a/b":{"c":5},"ab":{"c":4},`; flat[:len(want)] != want {
		t.Fatalf("order: %s", flat)
	}
}

// TestShapesKeepValuesApart maps spans of one shape with different values,
// and spans with the same keys in another order.
func TestShapesKeepValuesApart(t *testing.T) {
	m := testMapper(t, DefaultConfig())
	for i := range 3 {
		c := m.Map(build(attrs(func(a pcommon.Map) {
			a.PutInt("b.x", int64(i))
			a.PutStr("a", strconv.Itoa(i*10))
		})))
		requireJSONAt(t, strconv.Itoa(i), c.Attributes, "b", "x")
		requireJSONAt(t, `"`+strconv.Itoa(i*10)+`"`, c.Attributes, "a")
	}
	c := m.Map(build(attrs(func(a pcommon.Map) {
		a.PutStr("a", "first")
		a.PutInt("b.x", 7)
	})))
	requireJSONAt(t, `7`, c.Attributes, "b", "x")
	requireJSONAt(t, `"first"`, c.Attributes, "a")
}
