package sidebyside

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"
	"github.com/callhouse/callhouse/internal/agentsim"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
	"github.com/callhouse/callhouse/processor/weavecallprocessor"
)

// BenchmarkPipeline runs our pipeline after the receiver in this process —
// the weaveclickhouse exporter alone (it maps the spans itself) and behind
// the weavecall processor — into an embedded ClickHouse (a process of its
// own). One op is one request of 100 spans of agentsim's synthetic
// traces; the time runs until every span is a row. cpu-ns/span is this
// process's CPU per span, the figure to compare with the collectors' CPU
// per span that cmd/sidebyside prints; run with -cpuprofile to see where it
// goes. ch-cpu-ns/span is the embedded server's over the same time: its
// INSERT work and the merges that ran meanwhile (not those still due), for
// comparing what a change costs ClickHouse.
func BenchmarkPipeline(b *testing.B) {
	conn, err := clickhouse.Open(embeddedchtest.Options())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, tc := range []struct {
		name string
		// processor: weavecall in front; cache: its cache of released
		// traces (the default), with which it annotates calls whole;
		// without it the exporter maps the calls' texts from the spans.
		processor, cache bool
	}{
		{"exporter", false, false},
		{"weavecall+exporter", true, true},
		{"weavecall-nocache+exporter", true, false},
	} {
		b.Run(tc.name, func(b *testing.B) { benchPipeline(b, conn, tc.processor, tc.cache) })
	}
}

const benchTracesPerRequest = 20 // of 5 spans

func benchPipeline(b *testing.B, conn driver.Conn, withProcessor, cache bool) {
	ctx := context.Background()
	db := embeddedchtest.Database(b)

	ef := weaveclickhouseexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*weaveclickhouseexporter.Config)
	ecfg.Endpoint = "tcp://" + embeddedchtest.Addr()
	ecfg.Username = embeddedchtest.Options().Auth.Username
	ecfg.Password = configopaque.String(embeddedchtest.Options().Auth.Password)
	ecfg.Database = db
	// A full queue waits instead of refusing: the benchmark sends faster
	// than any receiver would.
	ecfg.QueueConfig.Get().BlockOnOverflow = true
	exp, err := ef.CreateTraces(ctx, exportertest.NewNopSettings(ef.Type()), ecfg)
	if err != nil {
		b.Fatal(err)
	}
	components := []component.Component{exp}
	var next consumer.Traces = exp
	if withProcessor {
		pf := weavecallprocessor.NewFactory()
		pcfg := pf.CreateDefaultConfig().(*weavecallprocessor.Config)
		pcfg.IdleTimeout = 0 // released as soon as the sweeper sees the ended root
		if !cache {
			pcfg.ReleasedCacheTraces = 0
		}
		p, err := pf.CreateTraces(ctx, processortest.NewNopSettings(pf.Type()), pcfg, exp)
		if err != nil {
			b.Fatal(err)
		}
		components = append(components, p)
		next = p
	}
	for _, c := range components {
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
	}

	gen := agentsim.NewGenerator(agentsim.Entity, agentsim.Project, 5)
	sent := 0
	cpu0, err := cpuTime(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	chCPU0, err := serverCPU()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req, _ := gen.Request(benchTracesPerRequest)
		sent += req.Traces().SpanCount()
		if err := next.ConsumeTraces(ctx, req.Traces()); err != nil {
			b.Fatal(err)
		}
	}
	// Shut down from the front: the processor releases what it holds, the
	// exporter drains its queue.
	for i := len(components) - 1; i >= 0; i-- {
		if err := components[i].Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var rows uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM `"+db+"`.`call_versions`").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu1, err := cpuTime(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	chCPU1, err := serverCPU()
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpu1 - cpu0
	if rows != uint64(sent) {
		b.Fatalf("%d rows for %d spans sent", rows, sent)
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sent), "cpu-ns/span")
	if embeddedchtest.PID() != 0 {
		b.ReportMetric(float64((chCPU1-chCPU0).Nanoseconds())/float64(sent), "ch-cpu-ns/span")
	}
}

// serverCPU is the CPU time the embedded test server has used so far; 0
// for an external server, whose CPU this machine cannot see.
func serverCPU() (time.Duration, error) {
	if embeddedchtest.PID() == 0 {
		return 0, nil
	}
	return cpuTime(embeddedchtest.PID())
}
