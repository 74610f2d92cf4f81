-- Run on every start before the migrations: the database and the table that
-- records which migrations were applied.
CREATE DATABASE IF NOT EXISTS {{db}}{{onCluster}} ENGINE = Atomic;

CREATE TABLE IF NOT EXISTS {{table "schema_migrations"}}{{onCluster}}
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{engine "ReplacingMergeTree" "applied_at"}}
ORDER BY version;
