-- bootstrap
-- Run on every start before the migrations: the database and the table that
-- records which migrations were applied.
CREATE DATABASE IF NOT EXISTS `weave` ENGINE = Atomic;

CREATE TABLE IF NOT EXISTS `weave`.`schema_migrations`
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version;

-- migration calls
-- The storage table: every version of every call. A ReplacingMergeTree keyed
-- by the call keeps the newest version (the largest `version`; equal versions
-- are the same row); the `calls` view reads it with FINAL.
--
-- ORDER BY (project_id, trace_id, id): calls are read by project, a trace's
-- calls sit together, and the key names the call (span ids are unique within
-- a trace). Lookups by call id, parent or thread use the bloom filters.
CREATE TABLE IF NOT EXISTS `weave`.`call_versions`
(
    project_id    LowCardinality(String),
    trace_id      String CODEC(ZSTD(1)),
    id            String CODEC(ZSTD(1)),
    parent_id     Nullable(String) CODEC(ZSTD(1)),
    op_name       LowCardinality(String),
    op_safe_name  LowCardinality(String),
    display_name  Nullable(String) CODEC(ZSTD(1)),
    started_at    DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    ended_at      Nullable(DateTime64(6, 'UTC')) CODEC(Delta(8), ZSTD(1)),
    exception     Nullable(String) CODEC(ZSTD(1)),
    inputs        String CODEC(ZSTD(1)),
    output        String CODEC(ZSTD(1)),
    attributes    String CODEC(ZSTD(1)),
    summary       String CODEC(ZSTD(1)),
    thread_id     Nullable(String) CODEC(ZSTD(1)),
    turn_id       Nullable(String) CODEC(ZSTD(1)),
    wb_user_id    LowCardinality(Nullable(String)),
    wb_run_id     LowCardinality(Nullable(String)),
    deleted_at    Nullable(DateTime64(6, 'UTC')),
    kind          LowCardinality(String),
    model         LowCardinality(String),
    provider      LowCardinality(String),
    operation     LowCardinality(String),
    status        LowCardinality(String),
    latency_ms    Nullable(Int64) CODEC(T64, ZSTD(1)),
    input_tokens  Int64 CODEC(T64, ZSTD(1)),
    output_tokens Int64 CODEC(T64, ZSTD(1)),
    total_tokens  Int64 CODEC(T64, ZSTD(1)),
    cost_usd      Nullable(Float64) CODEC(ZSTD(1)),
    version       UInt64 CODEC(T64, ZSTD(1)),

    INDEX idx_trace_id  trace_id  TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_id        id        TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_parent_id parent_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_thread_id thread_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (project_id, trace_id, id);

-- weave.calls: the Weave Call model column for column, newest version only,
-- soft-deleted calls left out, then the typed analysis columns.
CREATE OR REPLACE VIEW `weave`.`calls` AS
SELECT
    id,
    project_id,
    op_name,
    display_name,
    trace_id,
    parent_id,
    started_at,
    ended_at,
    exception,
    attributes,
    inputs,
    output,
    summary,
    wb_user_id,
    wb_run_id,
    deleted_at,
    thread_id,
    turn_id,
    op_safe_name,
    kind,
    model,
    provider,
    operation,
    status,
    latency_ms,
    input_tokens,
    output_tokens,
    total_tokens,
    cost_usd,
    version
FROM `weave`.`call_versions` FINAL
WHERE deleted_at IS NULL;

-- migration views
-- traces: one row per trace. The root is the call without a parent (the
-- earliest call when the root has not arrived). Status follows the Weave
-- order: the root failed › still running › a descendant failed › success.
-- Columns are read as c.<name> because output aliases of the same name
-- shadow them.
CREATE OR REPLACE VIEW `weave`.`traces` AS
SELECT
    c.project_id AS project_id,
    c.trace_id AS trace_id,
    if(countIf(c.parent_id IS NULL) > 0, argMinIf(c.id, c.started_at, c.parent_id IS NULL), argMin(c.id, c.started_at)) AS root_id,
    if(countIf(c.parent_id IS NULL) > 0, argMinIf(c.op_name, c.started_at, c.parent_id IS NULL), argMin(c.op_name, c.started_at)) AS root_op_name,
    if(countIf(c.parent_id IS NULL) > 0, argMinIf(c.op_safe_name, c.started_at, c.parent_id IS NULL), argMin(c.op_safe_name, c.started_at)) AS root_op_safe_name,
    if(countIf(c.parent_id IS NULL) > 0, argMinIf(c.display_name, c.started_at, c.parent_id IS NULL), argMin(c.display_name, c.started_at)) AS root_display_name,
    min(c.started_at) AS started_at,
    if(countIf(c.ended_at IS NULL) > 0, NULL, max(c.ended_at)) AS ended_at,
    dateDiff('millisecond', started_at, ended_at) AS duration_ms,
    count() AS calls,
    countIf(c.status = 'error') AS errors,
    sum(c.input_tokens) AS input_tokens,
    sum(c.output_tokens) AS output_tokens,
    sum(c.total_tokens) AS total_tokens,
    sum(c.cost_usd) AS cost_usd,
    multiIf(
        countIf(c.status = 'error' AND c.parent_id IS NULL) > 0, 'error',
        countIf(c.ended_at IS NULL) > 0, 'running',
        errors > 0, 'descendant_error',
        'success') AS status,
    any(c.thread_id) AS thread_id,
    any(c.wb_user_id) AS wb_user_id
FROM `weave`.`calls` AS c
GROUP BY c.project_id, c.trace_id;

-- threads: one row per conversation thread.
CREATE OR REPLACE VIEW `weave`.`threads` AS
SELECT
    project_id,
    assumeNotNull(thread_id) AS thread_id,
    uniqExactIf((trace_id, assumeNotNull(turn_id)), turn_id IS NOT NULL) AS turns,
    uniqExact(trace_id) AS traces,
    count() AS calls,
    countIf(status = 'error') AS errors,
    min(started_at) AS first_activity_at,
    max(coalesce(ended_at, started_at)) AS last_activity_at,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd
FROM `weave`.`calls`
WHERE thread_id IS NOT NULL
GROUP BY project_id, thread_id;

-- ops: one row per op version (op_name is the versioned ref; op_safe_name
-- groups the versions of one op). Latency quantiles skip running calls.
CREATE OR REPLACE VIEW `weave`.`ops` AS
SELECT
    project_id,
    op_name,
    any(op_safe_name) AS op_safe_name,
    count() AS calls,
    countIf(status = 'error') AS errors,
    quantile(0.5)(latency_ms) AS p50_latency_ms,
    quantile(0.95)(latency_ms) AS p95_latency_ms,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd,
    min(started_at) AS first_seen_at,
    max(started_at) AS last_seen_at
FROM `weave`.`calls`
GROUP BY project_id, op_name;

-- migration llm_token_prices
-- The price table the calls were costed with, one row per model and the date
-- its price took effect, so SQL can re-price history (ASOF JOIN on the date).
-- Seeded at start from the exporter's price table; a changed price replaces
-- the row of the same model and date (the newest `updated_at` wins).
-- In cluster mode every node holds the whole table (one replica set for all
-- shards), so joins with it stay local.
CREATE TABLE IF NOT EXISTS `weave`.`llm_token_prices`
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
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (model, effective_date);

-- migration merge_selector_base
-- Merge wider: each merge of the calls table takes about twice as many parts
-- (merge_selector_base 10 instead of ClickHouse's 5), so every row is
-- rewritten fewer times on its way into large parts. Calls are wide rows
-- (their JSON) and arrive in many INSERTs, and merges were half of the
-- server's CPU. Measured on the embedded server with 1M real calls in 100
-- INSERTs of 10,000 while merges ran: 11.6-12.0 µs of server CPU per call
-- instead of 14.3-14.8, active parts during the load 13 instead of 9-17, 4
-- when merges were done (as before), `count() ... FINAL` over them as fast.
-- (merge_selector_base 20 saved more, 9 µs, at 21 parts during the load
-- and a FINAL scan a quarter slower.) A table setting, so it changes an
-- existing table in place.
ALTER TABLE `weave`.`call_versions` MODIFY SETTING merge_selector_base = 10;

-- migration json_lz4
-- LZ4 for the four JSON columns instead of ZSTD(1): the server compresses
-- them on every INSERT and again on every merge, and they are most of a
-- call's bytes. Measured on the embedded server with 1M real calls in 100
-- INSERTs of 10,000: 7.9 µs of server CPU per call with merges instead of
-- 9.4 (the INSERTs alone 3.1 instead of 4.3), for 92 MiB on disk instead of
-- 59. LZ4 also decompresses faster for queries that read the JSON. A codec
-- change is metadata only: existing parts keep ZSTD until they are merged.
ALTER TABLE `weave`.`call_versions`
    MODIFY COLUMN inputs String CODEC(LZ4),
    MODIFY COLUMN output String CODEC(LZ4),
    MODIFY COLUMN attributes String CODEC(LZ4),
    MODIFY COLUMN summary String CODEC(LZ4);

