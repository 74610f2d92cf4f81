-- The price table the calls were costed with, one row per model and the date
-- its price took effect, so SQL can re-price history (ASOF JOIN on the date).
-- Seeded at start from the exporter's price table; a changed price replaces
-- the row of the same model and date (the newest `updated_at` wins).
-- In cluster mode every node holds the whole table (one replica set for all
-- shards), so joins with it stay local.
CREATE TABLE IF NOT EXISTS {{table "llm_token_prices"}}{{onCluster}}
(
    model                         LowCardinality(String),
    effective_date                Date,
    provider                      LowCardinality(String),
    mode                          LowCardinality(String),
    input_cost_per_token          Float64,
    output_cost_per_token         Float64,
    cache_read_cost_per_token     Float64,
    cache_creation_cost_per_token Float64,
    level                         LowCardinality(String),
    updated_at                    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{engineEveryShard "ReplacingMergeTree" "updated_at"}}
ORDER BY (model, effective_date);
