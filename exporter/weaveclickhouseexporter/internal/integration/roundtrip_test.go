package integration

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/agentsim"
	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// TestRoundTripFixtures writes every golden fixture through the exporter,
// both as plain OTLP (the exporter maps the spans) and as the processor's
// annotated output, and reads every Call field back through the calls view.
func TestRoundTripFixtures(t *testing.T) {
	for name, td := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			want := mapped(t, td)
			for _, r := range want {
				require.NotEmpty(t, r.ID, "the mapping produced a call for every span")
				require.NotEmpty(t, r.ProjectID)
				require.NotEmpty(t, r.OpName)
			}
			t.Run("mapped by the exporter", func(t *testing.T) {
				roundTrip(t, td, want)
			})
			versioned := slices.Clone(want)
			for i := range versioned {
				versioned[i].Version = 7
			}
			t.Run("annotated by the processor", func(t *testing.T) {
				annotated := ptrace.NewTraces()
				td.CopyTo(annotated)
				annotate(annotated, want, 7, false)
				roundTrip(t, annotated, versioned)
			})
			t.Run("annotated with the texts, as earlier releases did", func(t *testing.T) {
				annotated := ptrace.NewTraces()
				td.CopyTo(annotated)
				annotate(annotated, want, 7, true)
				roundTrip(t, annotated, versioned)
			})
		})
	}
}

// TestRoundTripManyBlocks: a batch of many INSERT blocks, whose every
// block reuses the last one's records and texts (the ids, the summaries
// the exporter maps), round-trips every field over both protocols, mapped
// by the exporter and annotated by the processor.
func TestRoundTripManyBlocks(t *testing.T) {
	req, _ := agentsim.NewGenerator("acme", "support", 5).Request(200) // 1,000 spans: 4 blocks
	td := req.Traces()
	want := mapped(t, td)
	annotated := ptrace.NewTraces()
	td.CopyTo(annotated)
	annotate(annotated, want, 7, false)
	for name, endpoint := range map[string]string{"native": "", "http": httpEndpoint()} {
		t.Run(name+"/mapped by the exporter", func(t *testing.T) {
			roundTripTo(t, endpoint, td, want)
		})
		t.Run(name+"/annotated by the processor", func(t *testing.T) {
			versioned := slices.Clone(want)
			for i := range versioned {
				versioned[i].Version = 7
			}
			roundTripTo(t, endpoint, annotated, versioned)
		})
	}
}

func roundTrip(t *testing.T, td ptrace.Traces, want []callmap.Record) {
	roundTripTo(t, "", td, want)
}

// roundTripTo is roundTrip through endpoint ("" = the test server's
// native protocol).
func roundTripTo(t *testing.T, endpoint string, td ptrace.Traces, want []callmap.Record) {
	db := embeddedchtest.Database(t)
	cfg := testConfig(db)
	if endpoint != "" {
		cfg.Endpoint = endpoint
	}
	exp := startExporter(t, cfg, nil)
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))

	expected := make([]callmap.Record, len(want))
	for i, r := range want {
		expected[i] = asStored(r)
	}
	sort.Slice(expected, func(i, j int) bool {
		if expected[i].TraceID != expected[j].TraceID {
			return expected[i].TraceID < expected[j].TraceID
		}
		return expected[i].ID < expected[j].ID
	})
	got := readCalls(t, connectShared(t), db, "")
	require.Len(t, got, len(expected))
	for i := range expected {
		assert.Equal(t, expected[i], got[i], "call %s", expected[i].ID)
	}
}

// annotate stores records (in span order) on td's spans with the given
// version: as the processor does, without the inputs, output and
// attributes (the exporter maps them from the span), or with them as
// earlier releases did.
func annotate(td ptrace.Traces, records []callmap.Record, version uint64, texts bool) {
	i := 0
	forEachSpan(td, func(s ptrace.Span) {
		r := records[i]
		r.Version = version
		if !texts {
			r.Inputs, r.Output, r.Attributes = "", "", ""
		}
		callmap.Annotate(s, &r)
		i++
	})
}

func forEachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				f(spans.At(k))
			}
		}
	}
}

// TestCompression: native INSERTs send what compression names (lz4, zstd,
// or none: several times the bytes of the others for these calls) and the
// server stores the same calls either way.
func TestCompression(t *testing.T) {
	db := embeddedchtest.Database(t)
	startExporter(t, testConfig(db), nil) // the schema
	recs := benchRecords(2000, 0)
	sent := map[string]int64{}
	for i, compression := range []string{"none", "lz4", "zstd"} {
		for j := range recs {
			recs[j].Version = uint64(i + 1)
		}
		proxy := newCountingProxy(t, embeddedchtest.Addr())
		cfg := testConfig(db)
		cfg.Endpoint = "clickhouse://" + proxy.Addr().String()
		cfg.CreateSchema = false
		cfg.Compression = compression
		exp, err := createExporter(cfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, exp.ConsumeTraces(context.Background(), annotatedTraces(recs...)), compression)
		require.NoError(t, exp.Shutdown(context.Background()))
		require.Eventually(t, func() bool { return proxy.open.Load() == 0 }, 10*time.Second, 10*time.Millisecond)
		sent[compression] = proxy.sent.Load()

		got := readCalls(t, connectShared(t), db, "")
		require.Len(t, got, len(recs))
		for j := range recs {
			require.Equal(t, asStored(recs[j]), got[j], "%s: call %d", compression, j)
		}
	}
	t.Logf("bytes sent: %v", sent)
	assert.Greater(t, sent["none"], payloadBytes(recs), "none sends the fields as they are")
	assert.Less(t, 3*sent["lz4"], sent["none"])
	assert.Less(t, 3*sent["zstd"], sent["none"])
}
