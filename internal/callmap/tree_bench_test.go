package callmap

import (
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
