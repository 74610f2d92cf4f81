package weavecallprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.records.json from the processor's output")

// goldenRecord is a Record with its JSON fields embedded as JSON, so the
// golden files read as documents.
type goldenRecord struct {
	callmap.Record
	Inputs     json.RawMessage
	Output     json.RawMessage
	Attributes json.RawMessage
	Summary    json.RawMessage
	// Unannotated names a span passed on without a call (mapping failure).
	Unannotated string `json:",omitempty"`
}

func rawJSON(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// TestGolden runs every fixture of the repository's testdata through the
// processor (one batch, released at shutdown) and compares the annotated
// calls, read as the exporter reads them, with
// testdata/golden/<case>.records.json: with the cache of released traces,
// which annotates calls whole, and without it, which leaves their texts to
// the exporter (keepsTexts) — the same calls either way.
func TestGolden(t *testing.T) {
	noCache := testConfig()
	noCache.ReleasedCacheTraces = 0
	for name, cfg := range map[string]*Config{"whole": testConfig(), "no-texts": noCache} {
		t.Run(name, func(t *testing.T) {
			annotations := 5
			if name == "no-texts" {
				annotations = 2
			}
			testGolden(t, cfg, annotations)
		})
	}
}

func testGolden(t *testing.T, cfg *Config, annotationEntries int) {
	fixtures, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*.otlp.json"))
	require.NoError(t, err)
	for _, path := range fixtures {
		name := strings.TrimSuffix(filepath.Base(path), ".otlp.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
			require.NoError(t, err)
			spans := td.SpanCount()

			h := newHarness(t, cfg)
			require.NoError(t, h.p.ConsumeTraces(context.Background(), td))
			require.NoError(t, h.p.Shutdown(context.Background()))
			require.Equal(t, spans, h.sink.SpanCount(), "every span passed on")
			for _, out := range h.sink.AllTraces() {
				eachSpan(out, func(_ ptrace.ResourceSpans, _ ptrace.ScopeSpans, _ int32, span ptrace.Span) {
					if ann, ok := span.Attributes().Get(callmap.AnnotationKey); ok {
						require.Equal(t, annotationEntries, ann.Map().Len(), "entries of %s's annotation", span.Name())
					}
				})
			}

			var recs []goldenRecord
			for _, e := range h.emitted() {
				g := goldenRecord{Record: e.rec, Inputs: rawJSON(e.rec.Inputs), Output: rawJSON(e.rec.Output),
					Attributes: rawJSON(e.rec.Attributes), Summary: rawJSON(e.rec.Summary)}
				if !e.annotated {
					g.Unannotated = e.name
				}
				recs = append(recs, g)
			}
			sort.SliceStable(recs, func(i, j int) bool {
				a, b := recs[i], recs[j]
				if a.TraceID != b.TraceID {
					return a.TraceID < b.TraceID
				}
				if !a.StartedAt.Equal(b.StartedAt) {
					return a.StartedAt.Before(b.StartedAt)
				}
				return a.ID < b.ID
			})
			got, err := json.MarshalIndent(recs, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')

			golden := filepath.Join("testdata", "golden", name+".records.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file: run go test -run TestGolden -update")
			if !bytes.Equal(want, got) {
				t.Fatalf("%s differs from the processor's output (run go test -run TestGolden -update if the change is intended):\n%s",
					golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts with some context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	from := max(0, i-3)
	var b strings.Builder
	for j := from; j < i; j++ {
		fmt.Fprintf(&b, "  %d   %s\n", j+1, w[j])
	}
	if i < len(w) {
		fmt.Fprintf(&b, "  %d - %s\n", i+1, w[i])
	}
	if i < len(g) {
		fmt.Fprintf(&b, "  %d + %s\n", i+1, g[i])
	}
	return b.String()
}
