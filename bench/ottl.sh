#!/usr/bin/env bash
# OTTL benchmark (issue 10): OTLP logs through a `transform` with five typical statements vs
# the same pipeline without it (throughput, same run, ferrotel pinned to core 0), and
# `tail_sampling` with four policies at a fixed span rate (memory, losses).
#
#   bench/ottl.sh            3 runs per mode, 15 s windows (about 4 minutes)
#   bench/ottl.sh --quick    1 run per mode, 6 s windows
#
# Environment (all optional):
#   BENCH_OUT=dir          results and logs (default $BENCH_WORK/ottl-<timestamp>)
#   BENCH_WORK=dir         default /tmp/ferrotel-bench
#   OTTL_RUNS=3 OTTL_WINDOW=15
#   TAIL_RATE=50000        spans/s offered to tail_sampling
#   TAIL_NUM_TRACES=50000  its num_traces
#   BENCH_SKIP_BUILD=1     use the existing release binaries
#   BENCH_NICE=-10         nice value of every benchmarked process
set -euo pipefail

NAME=ottl
HELP_LINES=16
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS="${OTTL_RUNS:-3}"; WINDOW="${OTTL_WINDOW:-15}"
if [ "$QUICK" = 1 ]; then RUNS="${OTTL_RUNS:-1}"; WINDOW="${OTTL_WINDOW:-6}"; fi
exec python3 "$ROOT/bench/ottl.py" --loadgen "$TARGET/release/ferrotel-loadgen" \
  --ferrotel "$TARGET/release/ferrotel" --out "$OUT" --runs "$RUNS" --window "$WINDOW" \
  --rate "${TAIL_RATE:-50000}" --num-traces "${TAIL_NUM_TRACES:-50000}" --nice "${BENCH_NICE:--10}"
