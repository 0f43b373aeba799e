-- The Go clickhouse exporter's tables (exporter/clickhouseexporter/internal/sqltemplates:
-- traces_table.sql, traces_id_ts_lookup_table.sql + _mv.sql, logs_table.sql,
-- metrics_sum_table.sql) as Debian's ClickHouse 18.16 can hold them. Changes, each forced by
-- 18.16:
--  * DateTime64(9) does not exist: Timestamp is UInt64 nanoseconds (the same 8 bytes), and
--    TimestampTime DateTime (seconds) stands for toDateTime(Timestamp) in the keys.
--  * Map(LowCardinality(String), String) does not exist: Nested(key String, value String),
--    i.e. two arrays, which is how Map is laid out on disk anyway.
--  * Nested inside Nested is refused: Events/Links keep their scalar columns
--    (Events.Timestamp, Events.Name, Links.TraceId/SpanId/TraceState) and drop their
--    attribute maps; the generated data has no events or links.
--  * No column CODECs (Delta, T64, ZSTD(1)): the server config compresses every part with
--    zstd level 1 (<compression><case><method>zstd</method><level>1</level>).
--  * No data-skipping indexes at all (bloom_filter, tokenbf_v1, ngrambf_v1, minmax: they
--    came in 19.x): trace-by-id goes through the exporter's own otel_traces_trace_id_ts
--    lookup table (ORDER BY TraceId) and the primary key, as its Grafana queries do.
--  * SimpleAggregateFunction does not exist: the lookup table is an AggregatingMergeTree
--    of AggregateFunction(min/max, DateTime) fed by the same materialized view, and is not
--    partitioned (toStartOfWeek does not exist; its data is one week anyway).
--  * Exemplars.FilteredAttributes (a Map in a Nested) is two Array(Array(String)) columns;
--    cityHash64(Attributes) in the metrics key hashes the two arrays instead.
--  * LowCardinality is experimental (allow_experimental_low_cardinality_type=1) and is kept.
--  * Boolean is UInt8; TTL and ttl_only_drop_parts do not exist and are left out.

CREATE TABLE otel_traces (
    Timestamp UInt64,
    TimestampTime DateTime MATERIALIZED toDateTime(intDiv(Timestamp, 1000000000)),
    TraceId String,
    SpanId String,
    ParentSpanId String,
    TraceState String,
    SpanName LowCardinality(String),
    SpanKind LowCardinality(String),
    ServiceName LowCardinality(String),
    ResourceAttributes Nested(key LowCardinality(String), value String),
    ScopeName String,
    ScopeVersion String,
    SpanAttributes Nested(key LowCardinality(String), value String),
    Duration UInt64,
    StatusCode LowCardinality(String),
    StatusMessage String,
    Events Nested(Timestamp UInt64, Name LowCardinality(String)),
    Links Nested(TraceId String, SpanId String, TraceState String)
) ENGINE = MergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, SpanName, TimestampTime)
ORDER BY (ServiceName, SpanName, TimestampTime, Timestamp)
SETTINGS index_granularity = 8192;

CREATE TABLE otel_traces_trace_id_ts (
    TraceId String,
    Start AggregateFunction(min, DateTime),
    End AggregateFunction(max, DateTime)
) ENGINE = AggregatingMergeTree()
ORDER BY (TraceId)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW otel_traces_trace_id_ts_mv TO otel_traces_trace_id_ts AS
SELECT TraceId, minState(TimestampTime) AS Start, maxState(TimestampTime) AS End
FROM otel_traces WHERE TraceId != '' GROUP BY TraceId;

CREATE TABLE otel_logs (
    Timestamp UInt64,
    TimestampTime DateTime MATERIALIZED toDateTime(intDiv(Timestamp, 1000000000)),
    TraceId String,
    SpanId String,
    TraceFlags UInt8,
    SeverityText LowCardinality(String),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String),
    Body String,
    ResourceSchemaUrl LowCardinality(String),
    ResourceAttributes Nested(key LowCardinality(String), value String),
    ScopeSchemaUrl LowCardinality(String),
    ScopeName String,
    ScopeVersion LowCardinality(String),
    ScopeAttributes Nested(key LowCardinality(String), value String),
    LogAttributes Nested(key LowCardinality(String), value String)
) ENGINE = MergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
SETTINGS index_granularity = 8192;

CREATE TABLE otel_metrics_sum (
    ResourceAttributes Nested(key LowCardinality(String), value String),
    ResourceSchemaUrl String,
    ScopeName String,
    ScopeVersion String,
    ScopeAttributes Nested(key LowCardinality(String), value String),
    ScopeDroppedAttrCount UInt32,
    ScopeSchemaUrl String,
    ServiceName LowCardinality(String),
    MetricName LowCardinality(String),
    MetricDescription String,
    MetricUnit String,
    Attributes Nested(key LowCardinality(String), value String),
    StartTimeUnix DateTime,
    TimeUnix DateTime,
    Value Float64,
    Flags UInt32,
    `Exemplars.FilteredAttributes.key` Array(Array(String)),
    `Exemplars.FilteredAttributes.value` Array(Array(String)),
    `Exemplars.TimeUnix` Array(DateTime),
    `Exemplars.Value` Array(Float64),
    `Exemplars.SpanId` Array(String),
    `Exemplars.TraceId` Array(String),
    AggregationTemporality Int32,
    IsMonotonic UInt8
) ENGINE = MergeTree()
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes.key, Attributes.value), TimeUnix)
SETTINGS index_granularity = 8192;
