package callmap

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzMap feeds arbitrary OTLP JSON through Map and ToRecord: no panic,
// every JSON field valid JSON and valid UTF-8, and the call of a mapper
// that has seen every input before (its caches warm) the call of a fresh
// one; MapFactsTo's call and the record read back from its annotation
// agree with Map's (checkFacts). The seed corpus is every fixture in ../../testdata plus
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
					checkFacts(t, m, rs.Resource(), ss.Scope(), span, &c)
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

// checkFacts checks both sides of the hand-over against Map's call c of
// the same span: MapFactsTo gives c without its three texts, MapTextsTo
// those texts alone, and the record of the facts, annotated on the span
// and read back as the exporter reads it (ReadCall, the texts mapped from
// the span), is c's record.
func checkFacts(t *testing.T, m *Mapper, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span, c *Call) {
	t.Helper()
	facts := m.MapFactsTo(nil, res, scope, span)
	want := *c
	want.Inputs, want.Output, want.Attributes, want.NoTexts = nil, nil, nil, true
	require.Equal(t, want, facts, "MapFactsTo is Map without the texts")

	texts := m.MapTextsTo(nil, res, scope, span)
	require.Equal(t, Call{Kind: c.Kind, Inputs: c.Inputs, Output: c.Output, Attributes: c.Attributes}, texts,
		"MapTextsTo is Map's texts (and kind) alone")

	rec := facts.ToRecord()
	require.True(t, rec.NeedsTexts())
	rec.Version = 7
	annotated := ptrace.NewSpan()
	span.CopyTo(annotated)
	Annotate(annotated, &rec)
	got, ok, err := ReadCall(m.MapTo, m.MapTextsTo, nil, res, scope, annotated)
	require.NoError(t, err)
	require.True(t, ok, "the annotation is read")
	wantRec := c.ToRecord()
	wantRec.Version = 7
	if !wantRec.StartedAt.Equal(got.StartedAt) || !wantRec.EndedAt.Equal(got.EndedAt) {
		t.Fatalf("times: %v %v, want %v %v", got.StartedAt, got.EndedAt, wantRec.StartedAt, wantRec.EndedAt)
	}
	got.StartedAt, got.EndedAt = wantRec.StartedAt, wantRec.EndedAt
	require.Equal(t, wantRec, got, "the record read back with the texts mapped from the span")
}
