package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// TestTelemetryAndSkippedSpans: annotated spans are written as they are,
// plain spans are mapped, spans without ids are left out — and each is
// counted in the exporter's own metrics.
func TestTelemetryAndSkippedSpans(t *testing.T) {
	db := embeddedchtest.Database(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp, err := createExporterWith(testConfig(db), tel.NewTelemetrySettings())
	require.NoError(t, err)
	start(t, exp, nil)

	td := annotatedTraces(record(1, 0, 1), record(1, 1, 1))
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	plain := spans.AppendEmpty()
	plain.SetName("plain span")
	plain.SetTraceID(pcommon.TraceID{9, 9})
	plain.SetSpanID(pcommon.SpanID{9})
	plain.SetStartTimestamp(1_700_000_000_000_000_000)
	plain.SetEndTimestamp(1_700_000_001_000_000_000)
	noID := spans.AppendEmpty()
	noID.SetName("no span id")
	noID.SetTraceID(pcommon.TraceID{8})
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))

	conn := connectShared(t)
	assert.Equal(t, uint64(3), count(t, conn, "SELECT count() FROM `"+db+"`.calls"))
	assert.Equal(t, uint64(0), count(t, conn, "SELECT count() FROM `"+db+"`.calls WHERE trace_id = ?", pcommon.TraceID{8}.String()))

	assert.Equal(t, int64(3), sumOf(t, tel, "otelcol_exporter_weaveclickhouse_calls_written"))
	assert.Equal(t, int64(1), sumOf(t, tel, "otelcol_exporter_weaveclickhouse_spans_mapped"))
	assert.Equal(t, int64(1), sumOf(t, tel, "otelcol_exporter_weaveclickhouse_spans_skipped"))
	m, err := tel.GetMetric("otelcol_exporter_weaveclickhouse_insert_duration")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), m.Data.(metricdata.Histogram[float64]).DataPoints[0].Count, "one INSERT for the batch")
}

func sumOf(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}
