-- traces: one row per trace. The root is the call without a parent (the
-- earliest call when the root has not arrived). Status follows the Weave
-- order: the root failed › still running › a descendant failed › success.
-- Columns are read as c.<name> because output aliases of the same name
-- shadow them.
CREATE OR REPLACE VIEW {{table "traces"}}{{onCluster}} AS
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
FROM {{table "calls"}} AS c
GROUP BY c.project_id, c.trace_id;

-- threads: one row per conversation thread.
CREATE OR REPLACE VIEW {{table "threads"}}{{onCluster}} AS
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
