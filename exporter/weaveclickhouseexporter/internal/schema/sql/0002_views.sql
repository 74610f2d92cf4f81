-- traces: one row per trace. The root is the call without a parent (the
-- earliest call when the root has not arrived). Status follows the Weave
-- order: the root failed › still running › a descendant failed › success.
CREATE OR REPLACE VIEW {{table "traces"}}{{onCluster}} AS
SELECT
    project_id,
    trace_id,
    if(countIf(parent_id IS NULL) > 0, argMinIf(id, started_at, parent_id IS NULL), argMin(id, started_at)) AS root_id,
    if(countIf(parent_id IS NULL) > 0, argMinIf(op_name, started_at, parent_id IS NULL), argMin(op_name, started_at)) AS root_op_name,
    if(countIf(parent_id IS NULL) > 0, argMinIf(op_safe_name, started_at, parent_id IS NULL), argMin(op_safe_name, started_at)) AS root_op_safe_name,
    if(countIf(parent_id IS NULL) > 0, argMinIf(display_name, started_at, parent_id IS NULL), argMin(display_name, started_at)) AS root_display_name,
    min(started_at) AS started_at,
    if(countIf(ended_at IS NULL) > 0, NULL, max(ended_at)) AS ended_at,
    dateDiff('millisecond', min(started_at), if(countIf(ended_at IS NULL) > 0, NULL, max(ended_at))) AS duration_ms,
    count() AS calls,
    countIf(status = 'error') AS errors,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd,
    multiIf(
        countIf(status = 'error' AND parent_id IS NULL) > 0, 'error',
        countIf(ended_at IS NULL) > 0, 'running',
        countIf(status = 'error') > 0, 'descendant_error',
        'success') AS status,
    any(thread_id) AS thread_id,
    any(wb_user_id) AS wb_user_id
FROM {{table "calls"}}
GROUP BY project_id, trace_id;

-- threads: one row per conversation thread.
CREATE OR REPLACE VIEW {{table "threads"}}{{onCluster}} AS
SELECT
    project_id,
    assumeNotNull(thread_id) AS thread_id,
    uniqExact(turn_id) AS turns,
    uniqExact(trace_id) AS traces,
    count() AS calls,
    countIf(status = 'error') AS errors,
    min(started_at) AS first_activity_at,
    max(coalesce(ended_at, started_at)) AS last_activity_at,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd
FROM {{table "calls"}}
WHERE thread_id IS NOT NULL
GROUP BY project_id, thread_id;

-- ops: one row per op version (op_name is the versioned ref; op_safe_name
-- groups the versions of one op). Latency quantiles skip running calls.
CREATE OR REPLACE VIEW {{table "ops"}}{{onCluster}} AS
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
FROM {{table "calls"}}
GROUP BY project_id, op_name;
