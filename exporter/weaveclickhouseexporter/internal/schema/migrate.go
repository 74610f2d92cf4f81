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

// priceRow is one row of llm_token_prices.
type priceRow struct {
	model, provider, mode, level            string
	date                                    time.Time
	input, output, cacheRead, cacheCreation float64
}

// priceColumns are llm_token_prices' columns in priceRow's order.
const priceColumns = "model, provider, mode, level, effective_date, input_cost_per_token, output_cost_per_token, " +
	"cache_read_cost_per_token, cache_creation_cost_per_token"

func rowOf(p pricing.Price) (priceRow, error) {
	d, err := effectiveDate(p.EffectiveDate)
	if err != nil {
		return priceRow{}, fmt.Errorf("price of %q: %w", p.Model, err)
	}
	return priceRow{p.Model, p.Provider, p.Mode, p.Level, d, p.InputCostPerToken, p.OutputCostPerToken,
		p.CacheReadCostPerToken, p.CacheCreateCostPerToken}, nil
}

// SeedPrices writes the prices that are new or changed into llm_token_prices,
// so running it again with the same table writes nothing.
func SeedPrices(ctx context.Context, conn driver.Conn, o Options, prices []pricing.Price) error {
	stored, err := storedPrices(ctx, conn, o)
	if err != nil {
		return fmt.Errorf("read llm_token_prices: %w", err)
	}
	var rows []priceRow
	for _, p := range prices {
		r, err := rowOf(p)
		if err != nil {
			return err
		}
		if old, ok := stored[priceKey{r.model, r.date}]; !ok || old != r {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := insertPrices(ctx, conn, o, rows); err != nil {
		return fmt.Errorf("write llm_token_prices: %w", err)
	}
	return nil
}

type priceKey struct {
	model string
	date  time.Time
}

func storedPrices(ctx context.Context, conn driver.Conn, o Options) (map[priceKey]priceRow, error) {
	rows, err := conn.Query(ctx, "SELECT "+priceColumns+" FROM "+o.PricesTable()+" FINAL")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[priceKey]priceRow{}
	for rows.Next() {
		var r priceRow
		if err := rows.Scan(&r.model, &r.provider, &r.mode, &r.level, &r.date, &r.input, &r.output, &r.cacheRead, &r.cacheCreation); err != nil {
			return nil, err
		}
		r.date = r.date.UTC()
		stored[priceKey{r.model, r.date}] = r
	}
	return stored, rows.Err()
}

func insertPrices(ctx context.Context, conn driver.Conn, o Options, rows []priceRow) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+o.PricesTable()+" ("+priceColumns+")")
	if err != nil {
		return err
	}
	defer func() { _ = batch.Close() }()
	for _, r := range rows {
		if err := batch.Append(r.model, r.provider, r.mode, r.level, r.date, r.input, r.output, r.cacheRead, r.cacheCreation); err != nil {
			return err
		}
	}
	return batch.Send()
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
