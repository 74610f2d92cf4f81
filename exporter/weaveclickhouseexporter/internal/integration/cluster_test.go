package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"
	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/schema"
	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch"
)

// clusterName is the cluster the two test shards form.
const clusterName = "weave_cluster"

// twoShards is two embedded servers named in one config file as the two
// shards (one replica each) of clusterName.
type twoShards struct {
	servers [2]*childServer
	conns   [2]driver.Conn
}

func startTwoShards(t *testing.T) *twoShards {
	ports, err := embeddedch.FreePorts(4)
	require.NoError(t, err)
	config := filepath.Join(t.TempDir(), "cluster.xml")
	require.NoError(t, os.WriteFile(config, fmt.Appendf(nil, `<clickhouse><remote_servers><%s>
<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>
<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>
</%[1]s></remote_servers></clickhouse>`, clusterName, ports[0], ports[2]), 0o644))
	c := &twoShards{}
	for i := range c.servers {
		s := newChildServer(t)
		s.tcpPort, s.httpPort, s.args = ports[2*i], ports[2*i+1], []string{"--config", config}
		s.start()
		c.servers[i] = s
		c.conns[i] = connect(t, s.addr())
	}
	return c
}

// ddlOnEveryNode renders the exporter's cluster schema and makes it
// runnable without a Keeper: ON CLUSTER is dropped (the test runs each
// statement on every node instead, which is what ON CLUSTER does) and each
// Replicated engine becomes its plain form (one replica per shard replicates
// nothing). The Distributed table, the sharding key and the views are the
// product's DDL unchanged.
func ddlOnEveryNode(t *testing.T, o schema.Options) []string {
	t.Helper()
	onCluster := regexp.MustCompile(" ON CLUSTER `" + regexp.QuoteMeta(o.Cluster) + "`")
	replicated := regexp.MustCompile(`Replicated(\w*MergeTree)\('/clickhouse/tables/[^']*', '\{replica\}', `)
	stmts, err := o.Bootstrap()
	require.NoError(t, err)
	migs, err := o.Migrations()
	require.NoError(t, err)
	for _, m := range migs {
		stmts = append(stmts, m.Statements...)
	}
	var engines int
	for i, s := range stmts {
		require.Regexp(t, onCluster, s, "every cluster statement runs ON CLUSTER")
		s = onCluster.ReplaceAllString(s, "")
		engines += len(replicated.FindAllString(s, -1))
		s = replicated.ReplaceAllString(s, "$1(")
		require.NotContains(t, s, "Replicated")
		stmts[i] = s
	}
	require.Equal(t, 3, engines, "schema_migrations, call_versions_local and llm_token_prices are Replicated")
	return stmts
}

// disjointFixtures are the golden fixtures whose calls share no
// (trace, span) key with an earlier one, with the calls they map to.
func disjointFixtures(t *testing.T) (names []string, calls []callmap.Record) {
	all := fixtures(t)
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[[2]string]bool{}
	var kept []string
	for _, name := range names {
		recs := mapped(t, all[name])
		if len(recs) == 0 || sharesKey(recs, seen) {
			continue
		}
		for _, r := range recs {
			seen[[2]string{r.TraceID, r.ID}] = true
		}
		kept = append(kept, name)
		calls = append(calls, recs...)
	}
	return kept, calls
}

func sharesKey(recs []callmap.Record, seen map[[2]string]bool) bool {
	for _, r := range recs {
		if r.ID == "" || seen[[2]string{r.TraceID, r.ID}] {
			return true
		}
	}
	return false
}

// TestTwoShardCluster runs the exporter in cluster mode against two embedded
// servers forming a two-shard cluster and reads the calls back on each node.
func TestTwoShardCluster(t *testing.T) {
	c := startTwoShards(t)
	ctx := context.Background()
	const db = "weave_cluster_test"
	clusterConfig := func(createSchema bool) *weaveclickhouseexporter.Config {
		cfg := testConfig(db)
		cfg.Endpoint = "clickhouse://" + c.servers[0].addr()
		cfg.Username, cfg.Password = "default", configopaque.String("")
		cfg.ClusterName = clusterName
		cfg.CreateSchema = createSchema
		return cfg
	}

	// The embedded engine (clickhouse-local in libchdb) runs no Keeper and
	// no distributed-DDL worker: ON CLUSTER is refused before any Keeper is
	// asked. create_schema then fails the start with the server's reason.
	t.Run("create_schema needs ON CLUSTER, which the embedded engine refuses", func(t *testing.T) {
		exp, err := createExporter(clusterConfig(true))
		require.NoError(t, err)
		err = exp.Start(ctx, componenttest.NewNopHost())
		require.ErrorContains(t, err, "Replicated DDL queries are disabled")
		require.ErrorContains(t, err, "create schema")
		require.NoError(t, exp.Shutdown(ctx))
	})

	o := schema.Options{Database: db, Cluster: clusterName}
	for _, stmt := range ddlOnEveryNode(t, o) {
		for _, conn := range c.conns {
			require.NoError(t, conn.Exec(ctx, stmt), stmt)
		}
	}
	exp := startExporter(t, clusterConfig(false), nil)

	// Fixtures as plain OTLP (the exporter maps them), then 200 synthetic
	// traces of 5 calls, then a second version of one call in each.
	names, want := disjointFixtures(t)
	require.GreaterOrEqual(t, len(names), 10, "fixtures with disjoint call keys")
	all := fixtures(t)
	for _, name := range names {
		require.NoError(t, exp.ConsumeTraces(ctx, all[name]), name)
	}
	var synthetic, second []callmap.Record
	for trace := 1000; trace < 1200; trace++ {
		for span := range 5 {
			synthetic = append(synthetic, record(trace, span, 1))
		}
		second = append(second, record(trace, 1, 2))
	}
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(synthetic...)))
	require.NoError(t, exp.ConsumeTraces(ctx, annotatedTraces(second...)))
	// The Distributed table forwards to the other shard in the background
	// (distributed_foreground_insert = 0, the default); flushing makes every
	// acknowledged INSERT visible on its shard before the reads.
	require.NoError(t, c.conns[0].Exec(ctx, "SYSTEM FLUSH DISTRIBUTED "+o.CallsTable()))

	for _, r := range synthetic {
		if r.ID != record(0, 1, 0).ID {
			want = append(want, r)
		}
	}
	want = append(want, second...)
	for i := range want {
		want[i] = asStored(want[i])
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].TraceID != want[j].TraceID {
			return want[i].TraceID < want[j].TraceID
		}
		return want[i].ID < want[j].ID
	})

	t.Run("both shards hold calls, each trace on one shard only", func(t *testing.T) {
		var traces [2]map[string]bool
		for i, conn := range c.conns {
			traces[i] = map[string]bool{}
			rows, err := conn.Query(ctx, "SELECT DISTINCT trace_id FROM `"+db+"`.call_versions_local")
			require.NoError(t, err)
			for rows.Next() {
				var id string
				require.NoError(t, rows.Scan(&id))
				traces[i][id] = true
			}
			require.NoError(t, rows.Err())
			rows.Close()
			assert.NotEmpty(t, traces[i], "shard %d holds calls", i+1)
			t.Logf("shard %d: %d traces, %d stored call versions", i+1, len(traces[i]),
				count(t, conn, "SELECT count() FROM `"+db+"`.call_versions_local"))
		}
		var onBoth []string
		for id := range traces[0] {
			if traces[1][id] {
				onBoth = append(onBoth, id)
			}
		}
		assert.Empty(t, onBoth, "traces stored on both shards")
		assert.Equal(t, uniqueTraces(want), len(traces[0])+len(traces[1]))
	})

	for i, conn := range c.conns {
		t.Run(fmt.Sprintf("calls read on node %d has every call once, newest version", i+1), func(t *testing.T) {
			got := readCalls(t, conn, db, "")
			require.Equal(t, len(want), len(got), "calls read")
			for j := range want {
				assert.Equal(t, want[j], got[j], "call %s/%s", want[j].TraceID, want[j].ID)
			}
			assert.Equal(t, uint64(len(second)), count(t, conn, "SELECT countIf(version = 2) FROM `"+db+"`.calls"))
		})

		t.Run(fmt.Sprintf("views read on node %d span both shards", i+1), func(t *testing.T) {
			// One row per trace and project (a fixture trace can span projects).
			assert.Equal(t, uint64(uniqueProjectTraces(want)), count(t, conn, "SELECT count() FROM `"+db+"`.traces"))
			var calls, tokens uint64
			require.NoError(t, conn.QueryRow(ctx, "SELECT toUInt64(sum(calls)), toUInt64(sum(total_tokens)) FROM `"+db+"`.traces").
				Scan(&calls, &tokens))
			assert.Equal(t, uint64(len(want)), calls, "traces counts every call once")
			assert.Equal(t, uint64(sumTokens(want)), tokens)
			// The synthetic calls are one thread of 200 traces (one turn
			// id) and one op.
			var turns, threadTraces, threadCalls uint64
			require.NoError(t, conn.QueryRow(ctx, "SELECT turns, traces, calls FROM `"+db+"`.threads WHERE thread_id = 'thread-1'").
				Scan(&turns, &threadTraces, &threadCalls))
			assert.Equal(t, []uint64{200, 200, 1000}, []uint64{turns, threadTraces, threadCalls}, "turns, traces, calls")
			assert.Equal(t, uint64(1000), count(t, conn, "SELECT calls FROM `"+db+"`.ops WHERE op_name = ?", record(0, 0, 0).OpName))
		})
	}
}

func uniqueTraces(recs []callmap.Record) int {
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.TraceID] = true
	}
	return len(ids)
}

func uniqueProjectTraces(recs []callmap.Record) int {
	ids := map[[2]string]bool{}
	for _, r := range recs {
		ids[[2]string{r.ProjectID, r.TraceID}] = true
	}
	return len(ids)
}

func sumTokens(recs []callmap.Record) int64 {
	var n int64
	for _, r := range recs {
		n += r.TotalTokens
	}
	return n
}
