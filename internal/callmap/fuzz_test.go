package callmap

import (
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzMap feeds arbitrary OTLP JSON through Map and ToRecord: no panic,
// every JSON field valid JSON and valid UTF-8, and the call of a mapper
// that has seen every input before (its caches warm) the call of a fresh
// one. The seed corpus is every fixture in ../../testdata plus
// testdata/fuzz/FuzzMap.
func FuzzMap(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixturesDir, "*.otlp.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxValueBytes = minValueBytes // cut often
	m := NewMapperWithPrices(cfg, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
		if err != nil {
			return
		}
		var wants []string // every span's call, as Map gives it
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					c := m.Map(rs.Resource(), ss.Scope(), span)
					checkValidJSON(t, &c)
					got, err := c.MarshalJSON()
					if err != nil {
						t.Fatal(err)
					}
					fresh := NewMapperWithPrices(cfg, nil).Map(rs.Resource(), ss.Scope(), span)
					if want, _ := fresh.MarshalJSON(); string(got) != string(want) {
						t.Fatalf("with warm caches:\n%s\nfresh:\n%s", got, want)
					}
					if c.Summary.Status == StatusError && c.Exception == "" {
						t.Fatal("error without exception text")
					}
					wants = append(wants, string(got))
				}
			}
		}
		checkMappedInto(t, m, td, wants)
	})
}

// checkMappedInto maps td's spans into a recycled Texts twice, Reset in
// between as the exporter's blocks are, and checks every call is the one
// Map gave (wants, in span order) once all of a block is mapped: no call's
// memory is written over by the calls after it or by the block before.
func checkMappedInto(t *testing.T, m *Mapper, td ptrace.Traces, wants []string) {
	texts := NewRecycledTexts()
	for range 2 {
		var calls []Call
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					calls = append(calls, m.MapTo(texts, rs.Resource(), ss.Scope(), span))
				}
			}
		}
		for i := range calls {
			if got, _ := calls[i].MarshalJSON(); string(got) != wants[i] {
				t.Fatalf("span %d mapped into a recycled Texts:\n%s\nMap:\n%s", i, got, wants[i])
			}
		}
		texts.Reset()
	}
}
