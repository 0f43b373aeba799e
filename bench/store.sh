#!/usr/bin/env bash
# Embedded store vs ClickHouse (issue 11), same data, same run: ingest CPU-seconds per
# million spans / log lines / samples, bytes on disk, trace by id (p50/p99 over 1,000 ids),
# search by service and time range, a log text filter over every line, and rate() by label
# over 10,000 series for 1 h. The store side is crates/store/examples/store_bench.rs (core
# 0), ClickHouse is Debian's clickhouse-server 18.16 with the Go clickhouse exporter's
# tables as 18.16 can hold them (bench/store/schema.sql), on core 1, 127.0.0.1 only.
#
#   bench/store.sh            10 M spans, 10 M log lines, 10,000 series (about 20 minutes, ~13 GB scratch)
#   bench/store.sh --quick    500,000 spans and log lines, 10,000 series
#
# Environment (all optional):
#   BENCH_OUT=dir  BENCH_WORK=dir   results, and scratch space (TSV files, data dirs)
#   STORE_SIZE="--spans N --logs N --series N"   overrides the sizes
#   STORE_REPEATS=5                 runs of the log filter and rate() queries
#   STORE_KEEP_TSV=1                keep the generated TSV files and ClickHouse data dir
set -euo pipefail

NAME=store
HELP_LINES=17
export BENCH_SKIP_BUILD=1 # lib.sh builds ferrotel otherwise; only the example is needed
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v clickhouse-server >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    clickhouse-server clickhouse-client >/dev/null
fi
cargo build --release -p ferrotel-store --example store_bench
SIZE="${STORE_SIZE:-}"
if [ -z "$SIZE" ] && [ "$QUICK" = 1 ]; then SIZE="--quick"; fi
exec python3 "$ROOT/bench/store.py" --bench "$TARGET/release/examples/store_bench" \
  --out "$OUT" --work "$WORK/store-work" --repeats "${STORE_REPEATS:-5}" --size="$SIZE"
