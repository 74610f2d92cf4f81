package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/exporter/weaveclickhouseexporter/internal/schema"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
	"github.com/callhouse/callhouse/internal/pricing"
)

// TestMigrateIsIdempotent: a second start applies nothing new and records
// each migration once; every table and view exists; a TTL is in force.
func TestMigrateIsIdempotent(t *testing.T) {
	db := embeddedchtest.Database(t)
	conn := connectShared(t)
	ctx := context.Background()
	o := schema.Options{Database: db, TablePrefix: "p_", TTL: 24 * time.Hour}
	migs, err := o.Migrations()
	require.NoError(t, err)

	require.NoError(t, schema.Migrate(ctx, conn, o))
	require.NoError(t, schema.Migrate(ctx, conn, o))

	assert.Equal(t, uint64(len(migs)), count(t, conn, "SELECT count() FROM "+o.MigrationsTable()))
	applied, err := schema.AppliedVersions(ctx, conn, o)
	require.NoError(t, err)
	for _, m := range migs {
		assert.True(t, applied[m.Version], m.Name)
	}
	for _, name := range []string{"call_versions", "calls", "traces", "threads", "ops", "llm_token_prices", "schema_migrations"} {
		assert.Equal(t, uint64(1), count(t, conn, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", db, "p_"+name), name)
	}
	var ttl string
	require.NoError(t, conn.QueryRow(ctx, "SELECT engine_full FROM system.tables WHERE database = ? AND name = 'p_call_versions'", db).Scan(&ttl))
	assert.Contains(t, ttl, "TTL toDateTime(started_at) + toIntervalSecond(86400)")
	assert.Contains(t, ttl, "merge_selector_base = 10", "merges take twice as many parts (0004)")
	assert.Contains(t, ttl, "ttl_only_drop_parts = 1", "0004 keeps the settings 0001 set")

	// 0005: the JSON columns are LZ4, the other columns keep their codecs.
	rows, err := conn.Query(ctx, "SELECT name, compression_codec FROM system.columns WHERE database = ? AND table = 'p_call_versions' AND name IN ('inputs', 'output', 'attributes', 'summary', 'trace_id')", db)
	require.NoError(t, err)
	codecs := map[string]string{}
	for rows.Next() {
		var name, codec string
		require.NoError(t, rows.Scan(&name, &codec))
		codecs[name] = codec
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string]string{
		"inputs": "CODEC(LZ4)", "output": "CODEC(LZ4)", "attributes": "CODEC(LZ4)", "summary": "CODEC(LZ4)",
		"trace_id": "CODEC(ZSTD(1))",
	}, codecs)
}

// TestSeedPrices: seeding writes every price once, writes nothing when run
// again, and a changed price replaces the old one.
func TestSeedPrices(t *testing.T) {
	db := embeddedchtest.Database(t)
	conn := connectShared(t)
	ctx := context.Background()
	o := schema.Options{Database: db}
	require.NoError(t, schema.Migrate(ctx, conn, o))

	table, err := pricing.Load(pricing.Config{})
	require.NoError(t, err)
	prices := table.All()
	require.NotEmpty(t, prices, "the built-in price table")

	rows := func() uint64 { return count(t, conn, "SELECT count() FROM "+o.PricesTable()) }
	require.NoError(t, schema.SeedPrices(ctx, conn, o, prices))
	assert.Equal(t, uint64(len(prices)), rows())
	require.NoError(t, schema.SeedPrices(ctx, conn, o, prices))
	assert.Equal(t, uint64(len(prices)), rows(), "a second seed writes nothing")

	changed := append([]pricing.Price(nil), prices...)
	changed[0].InputCostPerToken *= 2
	require.NoError(t, schema.SeedPrices(ctx, conn, o, changed))
	assert.Equal(t, uint64(len(prices)+1), rows(), "only the changed price is written")
	var got float64
	require.NoError(t, conn.QueryRow(ctx, "SELECT input_cost_per_token FROM "+o.PricesTable()+" FINAL WHERE model = ?", changed[0].Model).Scan(&got))
	assert.Equal(t, changed[0].InputCostPerToken, got)

	bad := []pricing.Price{{Model: "m", EffectiveDate: "yesterday"}}
	assert.ErrorContains(t, schema.SeedPrices(ctx, conn, o, bad), `effective date "yesterday" is not YYYY-MM-DD`)
}
