-- The storage table: every version of every call. A ReplacingMergeTree keyed
-- by the call keeps the newest version (the largest `version`; equal versions
-- are the same row); the `calls` view reads it with FINAL.
--
-- ORDER BY (project_id, trace_id, id): calls are read by project, a trace's
-- calls sit together, and the key names the call (span ids are unique within
-- a trace). Lookups by call id, parent or thread use the bloom filters.
CREATE TABLE IF NOT EXISTS {{table .StorageTable}}{{onCluster}}
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
ENGINE = {{engine "ReplacingMergeTree" "version"}}
PARTITION BY toYYYYMM(started_at)
ORDER BY (project_id, trace_id, id)
{{- if .TTLSeconds}}
TTL toDateTime(started_at) + toIntervalSecond({{.TTLSeconds}})
SETTINGS ttl_only_drop_parts = 1
{{- end}};
{{if .Cluster}}
-- Cluster mode: inserts and reads go through this Distributed table. Sharding
-- by trace keeps every version of a call (and a whole trace) on one shard, so
-- FINAL on each shard sees all versions.
CREATE TABLE IF NOT EXISTS {{table "call_versions"}}{{onCluster}}
AS {{table .StorageTable}}
ENGINE = Distributed({{literal .Cluster}}, {{literal .Database}}, {{literal (name .StorageTable)}}, cityHash64(trace_id));
{{end}}
-- weave.calls: the Weave Call model column for column, newest version only,
-- soft-deleted calls left out, then the typed analysis columns.
CREATE OR REPLACE VIEW {{table "calls"}}{{onCluster}} AS
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
FROM {{table "call_versions"}} FINAL
WHERE deleted_at IS NULL;
