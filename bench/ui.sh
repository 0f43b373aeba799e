#!/usr/bin/env bash
# Web UI and the no-config default (issue 12): the release `ferrotel` run with no --config
# (addresses and data directory moved with --set), pinned to core 0; load and clients on core 1.
#   (a) cold start: spawn -> first 200 on /ui/ and on /api/services, fresh data dir, 10 runs
#   (b) 1 M spans (+ two log lines per trace) sent over OTLP/HTTP, then every API request the
#       UI's pages make (crates/webui/assets/README.md) timed with curl's time_total, 20 runs
#       each: median, p95, max. Goals: cold start < 1 s, every request < 200 ms.
#
#   bench/ui.sh             1 M spans (about 10 minutes, ~1 GB scratch)
#   bench/ui.sh --quick     100,000 spans, 5 cold starts, 10 runs per request
#
# Environment (all optional):
#   BENCH_OUT=dir  BENCH_WORK=dir   results, and scratch space (venv, data directories)
#   UI_SPANS=N  UI_COLD_RUNS=N  UI_REPEATS=N   override the sizes
#   BENCH_SKIP_BUILD=1              use the existing release binary
set -euo pipefail

NAME=ui
HELP_LINES=15
SKIP_BUILD="${BENCH_SKIP_BUILD:-}"
export BENCH_SKIP_BUILD=1 # lib.sh builds the load generator too; only ferrotel is needed
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -z "$SKIP_BUILD" ]; then cargo build --release -p ferrotel; fi

command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
if [ ! -x "$WORK/venv/bin/python" ]; then python3 -m venv "$WORK/venv"; fi
"$WORK/venv/bin/python" -c 'import opentelemetry.proto' 2>/dev/null \
  || "$WORK/venv/bin/pip" install -q "opentelemetry-proto==1.45.2"
if [ "$QUICK" = 1 ]; then
  SPANS="${UI_SPANS:-100000}" COLD="${UI_COLD_RUNS:-5}" REPEATS="${UI_REPEATS:-10}"
else
  SPANS="${UI_SPANS:-1000000}" COLD="${UI_COLD_RUNS:-10}" REPEATS="${UI_REPEATS:-20}"
fi
exec "$WORK/venv/bin/python" "$ROOT/bench/ui.py" --bin "$TARGET/release/ferrotel" \
  --python "$WORK/venv/bin/python" --out "$OUT" --work "$WORK/ui-work" \
  --spans "$SPANS" --cold-runs "$COLD" --repeats "$REPEATS"
