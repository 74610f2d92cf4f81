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
			// A collector's binary alone keeps tens of MiB resident.
			if r.CollectorPeakRSS < 16<<20 || r.CPU.CollectorSys > r.CPU.Collector {
				t.Errorf("collector peak RSS %d bytes, CPU %s of which %s in the kernel", r.CollectorPeakRSS, r.CPU.Collector, r.CPU.CollectorSys)
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

	// A sending queue of 500 spans refuses every release of the 2000-span
	// load (about 1000 spans per shard): the processor holds what it
	// released, offers it again in halves, and pushes back on the sender,
	// which retries. Every span still arrives, exactly once.
	t.Run("a sending queue smaller than the releases loses nothing", func(t *testing.T) {
		shipped, err := os.ReadFile(callhouse.Config)
		if err != nil {
			t.Fatal(err)
		}
		const anchor = "    create_schema: true\n"
		if !strings.Contains(string(shipped), anchor) {
			t.Fatalf("%s has no %q to add the queue after", callhouse.Config, anchor)
		}
		tiny := strings.Replace(string(shipped), anchor, anchor+
			"    sending_queue:\n      queue_size: 500\n      batch:\n        min_size: 400\n        max_size: 500\n", 1)
		c := callhouse
		c.Name = "callhouse-tiny-queue"
		c.Config = filepath.Join(t.TempDir(), "tiny-queue.yaml")
		if err := os.WriteFile(c.Config, []byte(tiny), 0o644); err != nil {
			t.Fatal(err)
		}
		c.Database = embeddedchtest.Database(t)
		if _, err := h.Measure(ctx, c); err != nil {
			t.Fatal(err)
		}
		log, err := os.ReadFile(filepath.Join(h.LogDir, c.Name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(log), "holding them and offering them again") {
			t.Errorf("the queue never refused a release: the test did not exercise holding (log: %s)", filepath.Join(h.LogDir, c.Name+".log"))
		}
	})

	// With Settle, the harness waits for the server to merge what the run
	// wrote, charges the run with that CPU, then drops the run's database
	// so that nothing it left carries into the next run. The collector is
	// the side-by-side's exporter-alone config, which this also starts.
	t.Run("merges settled and counted, database dropped", func(t *testing.T) {
		h := *h
		h.Settle, h.ClickHousePID = time.Minute, embeddedchtest.PID()
		c := callhouse
		c.Name, c.Config = "exporter", filepath.Join("config", "callhouse-exporter.yaml")
		c.Database = embeddedchtest.Database(t)
		r, err := h.Measure(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Unsettled {
			t.Fatalf("merges of %d rows still running after %s", r.Rows, h.Settle)
		}
		if h.ClickHousePID != 0 && (r.Merged < r.Stored || r.MergedCPU < r.CPU.ClickHouse) {
			t.Errorf("merged %s (ClickHouse CPU %s) after the first span, but stored in %s (CPU %s): the settled figures must include the run's",
				r.Merged, r.MergedCPU, r.Stored, r.CPU.ClickHouse)
		}
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", c.Database).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still there after the settled run", c.Database)
		}
	})

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
