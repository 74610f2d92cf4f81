package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callhouse/callhouse/internal/pricing"
)

// Migrate creates the database and the migrations table if needed, then
// applies, in order, every migration not recorded yet and records it. Every
// statement is idempotent (IF NOT EXISTS, OR REPLACE), so a migration cut
// short is simply applied again.
func Migrate(ctx context.Context, conn driver.Conn, o Options) error {
	boot, err := o.Bootstrap()
	if err != nil {
		return err
	}
	for _, stmt := range boot {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	applied, err := AppliedVersions(ctx, conn, o)
	if err != nil {
		return err
	}
	migs, err := o.Migrations()
	if err != nil {
		return err
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		for _, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("schema migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if err := record(ctx, conn, o, m); err != nil {
			return fmt.Errorf("record schema migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func record(ctx context.Context, conn driver.Conn, o Options, m Migration) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+o.MigrationsTable()+" (version, name, checksum)")
	if err != nil {
		return err
	}
	defer func() { _ = batch.Close() }()
	if err := batch.Append(m.Version, m.Name, m.Checksum); err != nil {
		return err
	}
	return batch.Send()
}

// AppliedVersions reads which migrations the migrations table records.
func AppliedVersions(ctx context.Context, conn driver.Conn, o Options) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+o.MigrationsTable())
	if err != nil {
		return nil, fmt.Errorf("read applied schema migrations: %w", err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// SeedPrices writes the prices that are new or changed into llm_token_prices,
// so running it again with the same table writes nothing.
func SeedPrices(ctx context.Context, conn driver.Conn, o Options, prices []pricing.Price) error {
	type key struct {
		model string
		date  time.Time
	}
	stored := map[key]pricing.Price{}
	rows, err := conn.Query(ctx, "SELECT model, effective_date, provider, input_cost_per_token, output_cost_per_token, "+
		"cache_read_cost_per_token, cache_creation_cost_per_token, level FROM "+o.PricesTable()+" FINAL")
	if err != nil {
		return fmt.Errorf("read llm_token_prices: %w", err)
	}
	for rows.Next() {
		var p pricing.Price
		var d time.Time
		if err := rows.Scan(&p.Model, &d, &p.Provider, &p.InputCostPerToken, &p.OutputCostPerToken,
			&p.CacheReadCostPerToken, &p.CacheCreateCostPerToken, &p.Level); err != nil {
			rows.Close()
			return fmt.Errorf("read llm_token_prices: %w", err)
		}
		stored[key{p.Model, d.UTC()}] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read llm_token_prices: %w", err)
	}

	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+o.PricesTable()+" (model, effective_date, provider, input_cost_per_token, "+
		"output_cost_per_token, cache_read_cost_per_token, cache_creation_cost_per_token, level)")
	if err != nil {
		return fmt.Errorf("write llm_token_prices: %w", err)
	}
	defer func() { _ = batch.Close() }()
	for _, p := range prices {
		d, err := effectiveDate(p.EffectiveDate)
		if err != nil {
			return fmt.Errorf("price of %q: %w", p.Model, err)
		}
		old, ok := stored[key{p.Model, d}]
		old.Model, old.EffectiveDate = p.Model, p.EffectiveDate
		if ok && old == p {
			continue
		}
		if err := batch.Append(p.Model, d, p.Provider, p.InputCostPerToken, p.OutputCostPerToken,
			p.CacheReadCostPerToken, p.CacheCreateCostPerToken, p.Level); err != nil {
			return fmt.Errorf("write llm_token_prices: %w", err)
		}
	}
	if batch.Rows() == 0 {
		return nil
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("write llm_token_prices: %w", err)
	}
	return nil
}

// effectiveDate parses a price's YYYY-MM-DD date; no date is 1970-01-01,
// so the price applies to every call in an ASOF JOIN.
func effectiveDate(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("effective date %q is not YYYY-MM-DD", s)
	}
	return d, nil
}
