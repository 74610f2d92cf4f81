package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// benchRecords is a batch of n LLM calls with realistic JSON sizes (a few
// chat messages in, a reply out), in traces of 10 calls.
func benchRecords(n, seed int) []callmap.Record {
	inputs := `{"gen_ai.prompt":[{"role":"system","content":"You are a helpful assistant that answers briefly."},` +
		`{"role":"user","content":"` + strings.Repeat("What is the capital of France? ", 8) + `"}]}`
	output := `{"gen_ai.completion":[{"role":"assistant","content":"` + strings.Repeat("Paris is the capital. ", 10) + `"}]}`
	recs := make([]callmap.Record, n)
	for i := range recs {
		r := record(seed*n/10+i/10, i%10, 1)
		r.Inputs, r.Output = inputs, output
		recs[i] = r
	}
	return recs
}

func payloadBytes(recs []callmap.Record) int64 {
	var n int
	for _, r := range recs {
		n += len(r.ID) + len(r.TraceID) + len(r.ParentID) + len(r.ProjectID) + len(r.OpName) + len(r.OpSafeName) +
			len(r.DisplayName) + len(r.Inputs) + len(r.Output) + len(r.Attributes) + len(r.Summary) + len(r.ThreadID) +
			len(r.TurnID) + len(r.WBUserID) + len(r.Kind) + len(r.Model) + len(r.Provider) + len(r.Operation) + len(r.Status) +
			8*8 // times, tokens, cost, latency, version
	}
	return int64(n)
}

// BenchmarkInsert measures the exporter's INSERT path (annotation decode,
// column build, one native INSERT) into the embedded ClickHouse by batch
// size. MB/s counts the calls' uncompressed field bytes.
func BenchmarkInsert(b *testing.B) {
	type variant struct {
		size        int
		compression string
	}
	variants := []variant{{100, "lz4"}, {1_000, "lz4"}, {10_000, "lz4"}, {10_000, "zstd"}, {10_000, "none"}}
	for _, v := range variants {
		size := v.size
		b.Run(fmt.Sprintf("batch=%d/compression=%s", size, v.compression), func(b *testing.B) {
			db := embeddedchtest.Database(b)
			cfg := testConfig(db)
			cfg.Compression = v.compression
			exp := startExporter(b, cfg, nil)
			batches := make([]ptrace.Traces, 8)
			for i := range batches {
				batches[i] = annotatedTraces(benchRecords(size, i)...)
			}
			b.SetBytes(payloadBytes(benchRecords(size, 0)))
			b.ReportAllocs()
			cpu0, server0 := processCPU(b), childrenCPU(b)
			for i := 0; b.Loop(); i++ {
				if err := exp.ConsumeTraces(context.Background(), batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			// The exporter's own CPU (the server is another process): the
			// figure that a busy machine disturbs least.
			b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(size*b.N), "cpu-ns/call")
			// The embedded server's CPU (a child process; not reported with
			// an external server), background merges included: work the
			// exporter leaves to the server shows here.
			if server1 := childrenCPU(b); server1 > 0 {
				b.ReportMetric(float64((server1-server0).Nanoseconds())/float64(size*b.N), "server-cpu-ns/call")
			}
		})
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the CPU time (user and system) that the running child
// processes of this process have used, from /proc (Linux; 0 elsewhere).
func childrenCPU(b *testing.B) time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total time.Duration
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // the process has ended
		}
		// The fields after the command name, which may hold spaces:
		// state, ppid, …, utime (11th after it), stime (12th).
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		if len(f) < 13 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		for _, v := range f[11:13] {
			ticks, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("%s: %v", p, err)
			}
			total += time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100
		}
	}
	return total
}

// newestVersion are the ways to read only the newest version of each call
// that the calls view could use.
var newestVersion = map[string]string{
	"final": "SELECT * FROM %[1]s.call_versions FINAL",
	"argmax": "SELECT project_id, trace_id, id, argMax(tuple(op_name, status, total_tokens, cost_usd, deleted_at), version) AS t " +
		"FROM %[1]s.call_versions GROUP BY project_id, trace_id, id",
	"limit1by": "SELECT * FROM %[1]s.call_versions ORDER BY version DESC LIMIT 1 BY project_id, trace_id, id",
}

// BenchmarkNewestVersion compares the three on 200k calls written twice
// (two versions each), for a whole-table aggregate and a one-trace lookup.
func BenchmarkNewestVersion(b *testing.B) {
	db := embeddedchtest.Database(b)
	exp := startExporter(b, testConfig(db), nil)
	ctx := context.Background()
	for i := range 20 {
		recs := benchRecords(10_000, i)
		require.NoError(b, exp.ConsumeTraces(ctx, annotatedTraces(recs...)))
		for j := range recs {
			recs[j].Version = 2
		}
		require.NoError(b, exp.ConsumeTraces(ctx, annotatedTraces(recs...)))
	}
	conn := connectShared(b)
	trace := record(12_345, 0, 0).TraceID
	for _, name := range []string{"final", "argmax", "limit1by"} {
		from := fmt.Sprintf(newestVersion[name], "`"+db+"`")
		queries := map[string]string{
			"scan":  "SELECT count(), uniqExact(id) FROM (" + from + ")",
			"trace": "SELECT count() FROM (" + from + ") WHERE trace_id = '" + trace + "'",
		}
		for _, q := range []string{"scan", "trace"} {
			b.Run(name+"/"+q, func(b *testing.B) {
				for b.Loop() {
					var n, u uint64
					row := conn.QueryRow(ctx, queries[q])
					if q == "scan" {
						require.NoError(b, row.Scan(&n, &u))
						require.Equal(b, uint64(200_000), n)
					} else {
						require.NoError(b, row.Scan(&n))
						require.Equal(b, uint64(10), n)
					}
				}
			})
		}
	}
}
