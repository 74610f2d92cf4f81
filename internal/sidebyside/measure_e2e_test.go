package sidebyside

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// Binaries of the two collectors, as the Makefile builds them.
var (
	callhouseBinary = filepath.Join(repoRoot, "build", "otelcol-callhouse", "otelcol-callhouse")
	contribBinary   = filepath.Join(repoRoot, "build", "otelcol-contrib-ref", "otelcol-contrib-ref")
)

// ensureBuilt runs `make target` when binary is missing (`make sidebyside`
// builds both first, so this is usually a no-op).
func ensureBuilt(t *testing.T, binary, target string) {
	t.Helper()
	if _, err := os.Stat(binary); err == nil {
		return
	}
	cmd := exec.Command("make", "-C", repoRoot, target)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s is missing and `make %s` failed: %v\n%s", binary, target, err, out)
	}
}

func testCollectors(t *testing.T) (contrib, callhouse Collector) {
	ensureBuilt(t, contribBinary, "contrib-ref")
	ensureBuilt(t, callhouseBinary, "collector")
	return Collector{Name: "contrib", Binary: contribBinary, Config: filepath.Join("config", "contrib.yaml"),
			Database: "otel", Table: "otel_traces", Key: []string{"TraceId", "SpanId"}},
		Collector{Name: "callhouse", Binary: callhouseBinary, Config: filepath.Join(repoRoot, "config", "callhouse.yaml"),
			Database: "weave", Table: "call_versions", Key: []string{"trace_id", "id"}, Check: "calls"}
}

// TestMeasure runs a small load through both real collectors into the
// embedded ClickHouse: every span becomes exactly one visible row, and the
// result's timings and samples agree with each other; and a check relation
// that does not hold one row per span (weave.traces: one per trace) is
// reported as lost rows.
func TestMeasure(t *testing.T) {
	conn, err := clickhouse.Open(embeddedchtest.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	load, err := NewLoad(2000, 500, 5)
	if err != nil {
		t.Fatal(err)
	}
	h := &Harness{
		ClickHouseAddr: embeddedchtest.Addr(), Env: collectorEnv(), Conn: conn, Load: load,
		Sender: Sender{Concurrency: 2, RetryFor: 30 * time.Second},
		Poll:   20 * time.Millisecond, Stall: 30 * time.Second, LogDir: t.TempDir(),
	}
	contrib, callhouse := testCollectors(t)
	ctx := context.Background()

	for _, c := range []Collector{contrib, callhouse} {
		t.Run(c.Name, func(t *testing.T) {
			c.Database = embeddedchtest.Database(t) // its own, on a shared server too
			r, err := h.Measure(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			last := r.Samples[len(r.Samples)-1]
			if r.Spans != load.Spans() || last.Rows != r.Rows || r.Rows < uint64(load.Spans()) || last.At != r.Stored {
				t.Errorf("spans %d, rows %d, last sample %+v, stored %s; want %d spans, rows at the stored time", r.Spans, r.Rows, last, r.Stored, load.Spans())
			}
			if r.Sent <= 0 || r.Stored < r.Samples[0].At {
				t.Errorf("sent in %s, stored in %s, first sample at %s", r.Sent, r.Stored, r.Samples[0].At)
			}
			var spans uint64
			if err := conn.QueryRow(ctx, c.distinctQuery()).Scan(&spans); err != nil {
				t.Fatal(err)
			}
			if spans != uint64(load.Spans()) {
				t.Errorf("%s.%s holds %d distinct spans after the run, want %d", c.Database, c.Table, spans, load.Spans())
			}
		})
	}

	t.Run("lost rows", func(t *testing.T) {
		c := callhouse
		c.Database = embeddedchtest.Database(t)
		c.Check = "traces"
		_, err := h.Measure(ctx, c)
		if err == nil || !strings.Contains(err.Error(), c.Database+".traces holds 400 rows, 2000 spans were sent") {
			t.Fatalf("Measure with a check of one row per trace: %v, want the lost rows reported", err)
		}
	})
}
